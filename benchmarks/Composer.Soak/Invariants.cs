using System.Collections.Concurrent;
using Composer.Tests.Infrastructure;

namespace Composer.Soak;

/// <summary>A change of desired state made on the platform, to be reported back by Composer (status, and health for a redeploy).</summary>
internal sealed class DesiredChange(string connectorId, string kind, DateTimeOffset at)
{
    public string ConnectorId { get; } = connectorId;
    public string Kind { get; } = kind;
    public DateTimeOffset At { get; } = at;
    public DateTimeOffset? ReportedAt { get; set; }
    public bool Superseded { get; set; }
    public bool Dropped { get; set; }
    public bool Open => ReportedAt is null && !Superseded && !Dropped;
}

/// <summary>A connector's container the soak killed; Composer must report something about that connector after it.</summary>
internal sealed class Crash(string connectorId, DateTimeOffset at, int statusReportsBefore)
{
    public string ConnectorId { get; } = connectorId;
    public DateTimeOffset At { get; } = at;
    public int StatusReportsBefore { get; } = statusReportsBefore;
    public DateTimeOffset? ReportedAt { get; set; }
    public bool Dropped { get; set; }
    public bool Open => ReportedAt is null && !Dropped;
}

/// <summary>
/// The invariants, checked every second against the private engine (directly on its socket, not through the relay
/// Composer uses) and the platform stand-in:
/// never two workloads for one connector id; no workload of a wanted connector removed (except by the soak itself,
/// or a refresh on a config change); every change of desired state and every crash eventually reported; and, after
/// the faults stop, convergence.
/// </summary>
internal sealed class Invariants(PrivateEngine engine, PlatformStandIn platform, string managerId)
{
    private readonly Lock _gate = new();
    private readonly List<DesiredChange> _changes = [];
    private readonly List<Crash> _crashes = [];
    private readonly HashSet<string> _removedBySoak = [];
    private readonly HashSet<string> _seenRunning = [];
    private Dictionary<string, EngineContainer> _previous = [];
    private readonly ConcurrentQueue<string> _violations = new();
    private readonly List<TimeSpan> _changeLatencies = [];
    private readonly List<TimeSpan> _crashLatencies = [];

    public ConcurrentDictionary<string, int> Counts { get; } = new(StringComparer.Ordinal);

    public IReadOnlyCollection<string> Violations => _violations;

    public void Count(string what, int by = 1) => Counts.AddOrUpdate(what, by, (_, n) => n + by);

    public void Violation(string what)
    {
        if (_violations.Count < 200) _violations.Enqueue($"{DateTimeOffset.UtcNow:HH:mm:ss.f} {what}");
        if (_violations.Count <= 30) Console.WriteLine($"soak: INVARIANT BROKEN at {DateTimeOffset.UtcNow:HH:mm:ss.f}: {what}");
    }

    public void RecordChange(string connectorId, string kind)
    {
        lock (_gate)
        {
            foreach (var earlier in _changes.Where(c => c.ConnectorId == connectorId && c.Open)) earlier.Superseded = true;
            if (kind != "remove") _changes.Add(new DesiredChange(connectorId, kind, DateTimeOffset.UtcNow));
        }
    }

    /// <summary>Kills a connector's container (docker kill) and records the crash when the engine did it.</summary>
    public async Task<bool> CrashAsync(EngineContainer victim)
    {
        var before = platform.StatusReports.Count;
        var at = DateTimeOffset.UtcNow;
        if (!await engine.KillAsync(victim.Id)) return false;
        lock (_gate) _crashes.Add(new Crash(victim.ConnectorId, at, before));
        return true;
    }

    public void RecordRemovedBySoak(string containerId)
    {
        lock (_gate) _removedBySoak.Add(containerId);
    }

    public int OpenReports
    {
        get { lock (_gate) return _changes.Count(c => c.Open) + _crashes.Count(c => c.Open); }
    }

    public string OpenReportsText()
    {
        lock (_gate)
        {
            return string.Join("; ", _changes.Where(c => c.Open).Select(c => $"{c.Kind} of {c.ConnectorId} at {c.At:HH:mm:ss} not reported")
                .Concat(_crashes.Where(c => c.Open).Select(c => $"crash of {c.ConnectorId} at {c.At:HH:mm:ss} not reported")).Take(20));
        }
    }

    /// <summary>One round of the continuous checks; false when the engine did not answer (the round is skipped).</summary>
    public async Task<bool> CheckAsync()
    {
        var containers = await engine.ListAsync(managerId);
        if (containers is null)
        {
            Count("check rounds skipped (engine down)");
            return false;
        }
        var listed = platform.Connectors.ToDictionary(c => c.Id, StringComparer.Ordinal);
        Count("check rounds");
        CheckDuplicates(containers);
        CheckVanished(containers, listed);
        ResolveReports(listed);
        return true;
    }

    private void CheckDuplicates(List<EngineContainer> containers)
    {
        foreach (var group in containers.GroupBy(c => c.ConnectorId))
        {
            Count("duplicate-workload checks (connector x round)");
            var canonical = group.Where(c => !c.Aside).ToList();
            if (canonical.Count > 1)
            {
                Violation($"two workloads for connector {group.Key}: {string.Join(", ", canonical.Select(c => $"{c.Name} ({c.Id[..12]}, {c.State})"))}");
            }
            var running = group.Where(c => c.Running).ToList();
            if (running.Count > 1)
            {
                Violation($"two running workloads for connector {group.Key}: {string.Join(", ", running.Select(c => $"{c.Name} ({c.Id[..12]})"))}");
            }
        }
    }

    private void CheckVanished(List<EngineContainer> containers, Dictionary<string, StandInConnector> listed)
    {
        var current = containers.ToDictionary(c => c.Id, StringComparer.Ordinal);
        lock (_gate)
        {
            foreach (var c in containers.Where(c => c.State == "running")) _seenRunning.Add(c.Id);
            foreach (var (id, gone) in _previous)
            {
                if (current.ContainsKey(id)) continue;
                Count("wanted-removed checks (containers gone)");
                if (_removedBySoak.Contains(id)) { Count("  gone: removed by the soak"); continue; }
                if (!listed.TryGetValue(gone.ConnectorId, out var wanted)) { Count("  gone: connector removed from the platform"); continue; }
                if (gone.Aside) { Count("  gone: put aside by a refresh"); continue; }
                if (gone.Hash != wanted.Hash) { Count("  gone: redeployed on a config change"); continue; }
                var asideBeside = _previous.Values.Any(o => o.ConnectorId == gone.ConnectorId && o.Aside);
                if (asideBeside && !_seenRunning.Contains(id)) { Count("  gone: a refresh rolled back"); continue; }
                Violation($"workload of wanted connector {gone.ConnectorId} removed: {gone.Name} ({id[..12]}, last seen {gone.State}, hash {gone.Hash} = wanted hash)");
            }
            _previous = current;
        }
    }

    private void ResolveReports(Dictionary<string, StandInConnector> listed)
    {
        var health = platform.HealthArrivals;
        var statuses = platform.StatusReports;
        var now = DateTimeOffset.UtcNow;
        lock (_gate)
        {
            foreach (var change in _changes.Where(c => c.Open))
            {
                if (!listed.TryGetValue(change.ConnectorId, out var wanted)) { change.Dropped = true; continue; }
                if (wanted.CurrentStatus != Expected(wanted)) continue;
                if (change.Kind == "reconfigure" && !health.Any(h => h.Report.ConnectorId == change.ConnectorId && h.ReceivedAt > change.At)) continue;
                change.ReportedAt = now;
                _changeLatencies.Add(now - change.At);
            }
            foreach (var crash in _crashes.Where(c => c.Open))
            {
                if (!listed.ContainsKey(crash.ConnectorId)) { crash.Dropped = true; continue; }
                var reported = health.Any(h => h.Report.ConnectorId == crash.ConnectorId && h.ReceivedAt > crash.At)
                               || statuses.Skip(crash.StatusReportsBefore).Any(s => s.ConnectorId == crash.ConnectorId);
                if (!reported) continue;
                crash.ReportedAt = now;
                _crashLatencies.Add(now - crash.At);
            }
        }
    }

    public static string Expected(StandInConnector c) => c.RequestedStatus == "starting" ? "started" : "stopped";

    /// <summary>Why the engine and the platform do not yet show the desired state; null when they do.</summary>
    public async Task<string?> NotConvergedAsync()
    {
        var containers = await engine.ListAsync(managerId);
        if (containers is null) return "the engine does not answer";
        var listed = platform.Connectors;
        var problems = new List<string>();
        foreach (var wanted in listed)
        {
            var mine = containers.Where(c => c.ConnectorId == wanted.Id).ToList();
            var running = wanted.RequestedStatus == "starting";
            if (mine.Count != 1) problems.Add($"{wanted.Name}: {mine.Count} containers");
            else if (mine[0].Aside) problems.Add($"{wanted.Name}: only an aside container");
            else if (mine[0].Hash != wanted.Hash) problems.Add($"{wanted.Name}: hash {mine[0].Hash}, wanted {wanted.Hash}");
            else if (mine[0].State == "running" != running) problems.Add($"{wanted.Name}: {mine[0].State}, wanted {wanted.RequestedStatus}");
            else if (wanted.CurrentStatus != Expected(wanted)) problems.Add($"{wanted.Name}: platform shows {wanted.CurrentStatus ?? "nothing"}, wanted {Expected(wanted)}");
        }
        var ids = listed.Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var stray in containers.Where(c => !ids.Contains(c.ConnectorId))) problems.Add($"{stray.Name}: not wanted, still there ({stray.State})");
        return problems.Count == 0 ? null : string.Join("; ", problems.Take(12)) + (problems.Count > 12 ? $" (+{problems.Count - 12})" : "");
    }

    public string LatencySummary()
    {
        lock (_gate)
        {
            static string Stats(List<TimeSpan> list) => list.Count == 0 ? "none" :
                $"median {list.Order().ElementAt(list.Count / 2).TotalSeconds:0.0} s, max {list.Max().TotalSeconds:0.0} s";
            var superseded = _changes.Count(c => c.Superseded);
            var dropped = _changes.Count(c => c.Dropped) + _crashes.Count(c => c.Dropped);
            return $"desired changes reported: {_changeLatencies.Count} ({Stats(_changeLatencies)}; {superseded} superseded by a newer change before being reported), " +
                   $"crashes reported: {_crashLatencies.Count} ({Stats(_crashLatencies)}); {dropped} dropped with their connector";
        }
    }
}

namespace Composer.Reconciliation;

/// <summary>
/// The workloads of this manager as last observed: replaced by a listing, kept current by the changes of an
/// <see cref="IWorkloadWatch"/> in between (an informer's store). Thread-safe: the watch applies changes while cycles
/// read snapshots and poll. A listing that was in flight while changes arrived does not undo them: each entry
/// remembers the change that last set it, and a listing keeps what changed after it started.
/// </summary>
public sealed class WorkloadCache
{
    private readonly Lock _gate = new();
    private Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private long _version;

    /// <summary>One workload, or the tombstone of one removed (null), and the change that set it (0: a listing).</summary>
    private readonly record struct Entry(ObservedWorkload? Workload, long Version);

    /// <summary>The number of changes applied so far: pass it to <see cref="Replace"/> for a listing started now.</summary>
    public long Version
    {
        get { lock (_gate) return _version; }
    }

    /// <summary>The live workloads, in no particular order.</summary>
    public IReadOnlyList<ObservedWorkload> Snapshot()
    {
        lock (_gate)
        {
            var list = new List<ObservedWorkload>(_entries.Count);
            foreach (var entry in _entries.Values)
            {
                if (entry.Workload is { } workload) list.Add(workload);
            }
            return list;
        }
    }

    /// <summary>
    /// Replaces the cache with a listing started at <paramref name="startedAt"/> (<see cref="Version"/> then), keeping
    /// the changes applied since. <paramref name="keepHealth"/>: the health facts of a workload the listing shows
    /// unchanged are kept (no change was missed since they were observed); false after a gap in the changes.
    /// Returns the connector ids whose workloads the listing changed.
    /// </summary>
    public IReadOnlyCollection<string> Replace(IReadOnlyList<ObservedWorkload> listing, long startedAt, bool keepHealth)
    {
        lock (_gate)
        {
            var next = new Dictionary<string, Entry>(listing.Count, StringComparer.Ordinal);
            foreach (var workload in listing)
            {
                var listed = workload;
                if (keepHealth && listed.Health is null && _entries.TryGetValue(listed.WorkloadId, out var old) && old.Workload is { Health: { } health } known
                    && known.RawState == listed.RawState)
                {
                    listed = listed with { Health = health };
                }
                next[listed.WorkloadId] = new Entry(listed, 0);
            }
            foreach (var (id, entry) in _entries)
            {
                if (entry.Version <= startedAt) continue;
                // Changed while the listing was in flight: the change is newer.
                if (entry.Workload is null) next.Remove(id);
                else next[id] = entry with { Version = 0 };
            }
            var changed = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (id, entry) in _entries)
            {
                if (entry.Workload is { } before && (!next.TryGetValue(id, out var after) || !Same(before, after.Workload!))) AddConnector(changed, before);
            }
            foreach (var (id, entry) in next)
            {
                if (!_entries.TryGetValue(id, out var before) || before.Workload is null) AddConnector(changed, entry.Workload!);
            }
            _entries = next;
            return changed;
        }
    }

    /// <summary>Applies a snapshot of a watch; returns the workload's connector id when something that matters changed, else null.</summary>
    public string? Apply(ObservedWorkload workload)
    {
        lock (_gate)
        {
            _version++;
            var known = _entries.TryGetValue(workload.WorkloadId, out var before) ? before.Workload : null;
            _entries[workload.WorkloadId] = new Entry(workload, _version);
            return known is not null && Same(known, workload) ? null : workload.ConnectorId ?? known?.ConnectorId ?? "";
        }
    }

    /// <summary>Applies a removal; returns the workload's connector id when it was known, else null.</summary>
    public string? Remove(string workloadId)
    {
        lock (_gate)
        {
            _version++;
            var known = _entries.TryGetValue(workloadId, out var before) ? before.Workload : null;
            _entries[workloadId] = new Entry(null, _version);
            return known is null ? null : known.ConnectorId ?? "";
        }
    }

    /// <summary>
    /// Whether the cache shows <paramref name="change"/>, which the orchestrator reported done, or something newer: the
    /// workload it created (this name, connector and config hash; started when the connector was to run), the
    /// workload it started running (or started since and already down again), stopped, or removed. Only observations
    /// (the watch's snapshots, listings) are compared, never anything assumed, so an observation older than the change
    /// (a container's "created" snapshot read before its start) does not count and the newer one is waited for.
    /// </summary>
    public bool Shows(ConnectorAction change)
    {
        lock (_gate)
        {
            return change switch
            {
                DeployAction deploy => ShowsCreated(deploy.Connector, replaced: null),
                RefreshAction refresh => ShowsCreated(refresh.Connector, refresh.Workload),
                StartAction start => Live(start.Workload.WorkloadId) is not { } now || now.State != WorkloadState.Stopped
                                     || (now.Health?.StartedAt is { } startedAt && startedAt != start.Workload.Health?.StartedAt),
                StopAction stop => Live(stop.Workload.WorkloadId) is not { } now || now.State == WorkloadState.Stopped,
                RemoveAction remove => Live(remove.Workload.WorkloadId) is null,
                _ => true,
            };
        }
    }

    /// <summary>The connector's workload as it was to be created, and the one it replaced gone (or the same one, changed in place).</summary>
    private bool ShowsCreated(DesiredConnector connector, ObservedWorkload? replaced)
    {
        var name = WorkloadNames.ContainerName(connector.Name);
        var toRun = connector.RequestedStatus == RequestedStatus.Starting;
        foreach (var entry in _entries.Values)
        {
            if (entry.Workload is not { } w || w.Name != name || w.ConnectorId != connector.Id || w.ConfigHash != connector.ContractHash) continue;
            // Created but never started yet: the snapshot of its create, older than the start the orchestrator did.
            if (toRun && w.State == WorkloadState.Stopped && w.Health?.StartedAt is null) continue;
            if (replaced is not null && w.WorkloadId != replaced.WorkloadId && Live(replaced.WorkloadId) is not null) continue;
            return true;
        }
        return false;
    }

    private ObservedWorkload? Live(string workloadId) => _entries.TryGetValue(workloadId, out var entry) ? entry.Workload : null;

    /// <summary>Forgets every health fact (after a gap in the changes: some may be stale).</summary>
    public void ForgetHealth()
    {
        lock (_gate)
        {
            foreach (var (id, entry) in _entries.ToList())
            {
                if (entry.Workload is { Health: not null } workload) _entries[id] = entry with { Workload = workload with { Health = null } };
            }
        }
    }

    private static void AddConnector(HashSet<string> changed, ObservedWorkload workload) => changed.Add(workload.ConnectorId ?? "");

    /// <summary>Whether nothing a plan or a report reads differs.</summary>
    private static bool Same(ObservedWorkload a, ObservedWorkload b)
    {
        if (a.Name != b.Name || a.State != b.State || a.RawState != b.RawState || a.ConfigHash != b.ConfigHash || a.CreatedAt != b.CreatedAt) return false;
        if (a.Health is { } x && b.Health is { } y && x != y) return false;
        if (a.Labels.Count != b.Labels.Count) return false;
        foreach (var (key, value) in a.Labels)
        {
            if (!b.Labels.TryGetValue(key, out var other) || other != value) return false;
        }
        return true;
    }
}

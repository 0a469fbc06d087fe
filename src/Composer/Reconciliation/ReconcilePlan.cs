using System.Text;
using System.Text.Json;
using Composer.Configuration;

namespace Composer.Reconciliation;

/// <summary>
/// What one cycle will do for one platform, computed by <see cref="Reconciler.Plan"/>. When a listing failed the plan
/// is empty and <see cref="NotPlanned"/> says why: a failed listing is never taken for an empty one.
/// </summary>
public sealed class ReconcilePlan
{
    private readonly IReadOnlySet<string>? _listedIds;

    /// <param name="listedIds">The ids of the listing's connectors, usable or skipped.</param>
    internal ReconcilePlan(
        PlatformKind platform,
        IReadOnlyList<ConnectorPlan> connectors,
        IReadOnlyList<ConnectorPlan> cleanup,
        string? cleanupSkipped,
        IReadOnlySet<string> listedIds)
    {
        Platform = platform;
        Connectors = connectors;
        Cleanup = cleanup;
        CleanupSkipped = cleanupSkipped;
        _listedIds = listedIds;
    }

    private ReconcilePlan(PlatformKind platform, string reason)
    {
        Platform = platform;
        NotPlanned = reason;
        Connectors = [];
        Cleanup = [];
    }

    /// <summary>A plan of nothing, because a listing failed (<paramref name="reason"/> says which and why).</summary>
    internal static ReconcilePlan Unplanned(PlatformKind platform, string reason) => new(platform, reason);

    public PlatformKind Platform { get; }

    /// <summary>Why nothing was planned (a listing failed), or null.</summary>
    public string? NotPlanned { get; }

    /// <summary>The listed connectors that have something to do, in listing order.</summary>
    public IReadOnlyList<ConnectorPlan> Connectors { get; }

    /// <summary>Orphan removals (one group per orphaned connector id) and notices about workloads of no connector.</summary>
    public IReadOnlyList<ConnectorPlan> Cleanup { get; }

    /// <summary>Why no workload is removed this cycle (the listing is incomplete), or null.</summary>
    public string? CleanupSkipped { get; }

    /// <summary>Whether state for <paramref name="connectorId"/> is still needed: listed, skipped, or orphaned with a workload.</summary>
    internal bool Knows(string connectorId) =>
        _listedIds is null // nothing was observed: forget nothing
        || _listedIds.Contains(connectorId)
        || Cleanup.Any(group => group.ConnectorId == connectorId);

    public int ActionCount => Connectors.Sum(group => group.Actions.Count) + Cleanup.Sum(group => group.Actions.Count);

    /// <summary>The plan for people: one line per action, grouped by connector.</summary>
    public string Describe()
    {
        var platform = ConnectorLabels.PlatformValue(Platform);
        var sb = new StringBuilder();
        if (NotPlanned is not null) return $"{platform}: nothing planned: {NotPlanned}";
        var count = ActionCount;
        sb.Append(platform).Append(": ").Append(count == 0 ? "nothing to do" : $"{count} action{(count == 1 ? "" : "s")}");
        if (CleanupSkipped is not null) sb.Append("; no workload is removed: ").Append(CleanupSkipped);
        AppendGroups(sb, Connectors);
        AppendGroups(sb, Cleanup);
        return sb.ToString();
    }

    private static void AppendGroups(StringBuilder sb, IReadOnlyList<ConnectorPlan> groups)
    {
        foreach (var group in groups)
        {
            if (group.Actions.Count == 0 && group.DeferredUntil is null) continue;
            sb.AppendLine().Append(group.Name);
            if (group.ConnectorId is not null) sb.Append(" (").Append(group.ConnectorId).Append(')');
            if (group.DeferredUntil is { } at)
            {
                sb.Append(": changes held back until ").Append(at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture))
                    .Append(" after failures");
            }
            foreach (var action in group.Actions) sb.AppendLine().Append("  ").Append(action.Describe());
        }
    }

    /// <summary>The plan as JSON (`composer plan --format json`).</summary>
    public string ToJson()
    {
        var doc = new PlanJson
        {
            Platform = ConnectorLabels.PlatformValue(Platform),
            Planned = NotPlanned is null,
            Reason = NotPlanned,
            CleanupSkipped = CleanupSkipped,
            Connectors = GroupsJson(Connectors),
            Cleanup = GroupsJson(Cleanup),
        };
        return JsonSerializer.Serialize(doc, PlanJsonContext.Default.PlanJson);
    }

    private static List<PlanGroupJson> GroupsJson(IReadOnlyList<ConnectorPlan> groups)
    {
        var list = new List<PlanGroupJson>(groups.Count);
        foreach (var group in groups)
        {
            if (group.Actions.Count > 0 || group.DeferredUntil is not null) list.Add(group.ToJson());
        }
        return list;
    }
}

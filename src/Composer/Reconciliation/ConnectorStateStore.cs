namespace Composer.Reconciliation;

/// <summary>
/// The per-connector state of one platform's loop, in memory (see <see cref="ConnectorState"/> for why losing it on
/// restart is harmless). Not thread-safe: one cycle at a time plans, then executes; the executor creates the states
/// it needs before it works on connectors in parallel, and each connector's state is written by one task only.
/// </summary>
public sealed class ConnectorStateStore
{
    private readonly Dictionary<string, ConnectorState> _states = new(StringComparer.Ordinal);
    private HashSet<string> _noticedWorkloads = new(StringComparer.Ordinal);

    public int Count => _states.Count;

    public ConnectorState? Find(string connectorId) => _states.GetValueOrDefault(connectorId);

    internal ConnectorState GetOrAdd(string connectorId)
    {
        if (!_states.TryGetValue(connectorId, out var state))
        {
            state = new ConnectorState();
            _states.Add(connectorId, state);
        }
        return state;
    }

    /// <summary>Whether the problem of a workload that belongs to no listed connector was already reported.</summary>
    internal bool IsNoticed(string workloadId) => _noticedWorkloads.Contains(workloadId);

    internal int NoticedCount => _noticedWorkloads.Count;

    /// <summary>The workloads with a problem this cycle, all reported now: only they are remembered, so a problem that went away and came back is reported again.</summary>
    internal void SetNoticed(IReadOnlyList<string> workloadIds) => _noticedWorkloads = new HashSet<string>(workloadIds, StringComparer.Ordinal);

    /// <summary>
    /// Forgets connectors the plan no longer knows (neither listed, skipped, nor owning a workload to remove). Costs
    /// nothing in the steady state, where every state belongs to a listed connector.
    /// </summary>
    internal void Prune(ReconcilePlan plan)
    {
        if (_states.Count <= plan.ListedConnectors) return;
        foreach (var id in _states.Keys)
        {
            if (!plan.Knows(id)) _states.Remove(id);
        }
    }
}

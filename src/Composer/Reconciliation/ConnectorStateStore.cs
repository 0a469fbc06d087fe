namespace Composer.Reconciliation;

/// <summary>
/// The per-connector state of one platform's loop, in memory (see <see cref="ConnectorState"/> for why losing it on
/// restart is harmless), and the notices already given about workloads of no connector. Not thread-safe: one cycle
/// at a time plans, then executes; the executor creates the states it needs before it works on connectors in
/// parallel, and each connector's state is written by one task only.
/// </summary>
public sealed class ConnectorStateStore
{
    private readonly Dictionary<string, ConnectorState> _states = new(StringComparer.Ordinal);
    private HashSet<string> _notices = new(StringComparer.Ordinal);

    public int Count => _states.Count;

    public ConnectorState? Find(string connectorId) => _states.GetValueOrDefault(connectorId);

    /// <summary>Every connector's state (planning thread only, like the rest of the store).</summary>
    internal IEnumerable<KeyValuePair<string, ConnectorState>> All => _states;

    internal ConnectorState GetOrAdd(string connectorId)
    {
        if (!_states.TryGetValue(connectorId, out var state))
        {
            state = new ConnectorState();
            _states.Add(connectorId, state);
        }
        return state;
    }

    /// <summary>Whether the notice with this key (a workload id, or another instance's label) was already given.</summary>
    internal bool IsNoticed(string key) => _notices.Contains(key);

    internal int NoticedCount => _notices.Count;

    /// <summary>The notices current this cycle, all given now: only they are remembered, so one that went away and came back is given again.</summary>
    internal void SetNoticed(IReadOnlyList<string> keys) => _notices = new HashSet<string>(keys, StringComparer.Ordinal);

    /// <summary>Forgets connectors the plan no longer knows (neither listed, skipped, nor owning a workload to remove).</summary>
    internal void Prune(ReconcilePlan plan)
    {
        foreach (var id in _states.Keys.Where(id => !plan.Knows(id)).ToList()) _states.Remove(id);
    }
}

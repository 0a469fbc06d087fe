namespace Composer.Reconciliation;

/// <summary>
/// One connector's part of a plan: its actions in execution order (problems, reports of what was observed, changes,
/// logs), run one after the other; different connectors run in parallel. Orphans are grouped by their connector id.
/// </summary>
public sealed class ConnectorPlan
{
    internal ConnectorPlan(string? connectorId, string name, IReadOnlyList<ConnectorAction> actions)
    {
        ConnectorId = connectorId;
        Name = name;
        Actions = actions;
    }

    /// <summary>The connector id (null for the group of notices about workloads of no connector).</summary>
    public string? ConnectorId { get; }

    /// <summary>The connector name, or the workload name for orphans and notices.</summary>
    public string Name { get; }

    public IReadOnlyList<ConnectorAction> Actions { get; }

    /// <summary>When changes held back by this connector's backoff will be tried again, if some were held back.</summary>
    public DateTimeOffset? DeferredUntil { get; internal init; }

    /// <summary>The connector's reboot-loop hold no longer applies (its requested status or contract changed): the executor forgets it.</summary>
    internal bool ReleaseHold { get; init; }

    /// <summary>The connector's current problems, for the executor to remember once reported (null: leave as is).</summary>
    internal ProblemKey[]? CurrentProblems { get; init; }

    /// <summary>The workload ids of the current notices, for the notice group (null otherwise).</summary>
    internal IReadOnlyList<string>? CurrentNotices { get; init; }

    internal PlanGroupJson ToJson()
    {
        return new PlanGroupJson
        {
            Id = ConnectorId,
            Name = Name,
            DeferredUntil = DeferredUntil?.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            Actions = [.. Actions.Select(action => action.ToJson())],
        };
    }
}

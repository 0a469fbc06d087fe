using Composer.Diagnostics;

namespace Composer.Reconciliation;

/// <summary>A health report that reached the platform: when, and for which workload in which state.</summary>
public sealed record HealthReport(DateTimeOffset At, string WorkloadId, WorkloadState State);

/// <summary>A connector held stopped after a reboot loop (manager.reboot_loop.stop), while its requested status and contract stay these.</summary>
public sealed record RebootLoopHold(RequestedStatus RequestedStatus, string ContractHash);

/// <summary>
/// What Composer remembers about one connector between cycles: report timers, the log cursor, what it last
/// reported, its backoff and a reboot-loop hold. Only the executor writes it, after an action completed; planning
/// reads it. Lost on restart, which is harmless but for the hold: everything else is recomputed from observation
/// (health is reported again, the status only when it differs from what the platform recorded, the last 100 log
/// lines are uploaded again); a held connector is started again and held again if it still loops.
/// </summary>
public sealed class ConnectorState
{
    /// <summary>The last health report that reached the platform (null: none yet, so it is reported at once).</summary>
    public HealthReport? LastHealth { get; internal set; }

    /// <summary>The restart count and start time of the last health report that reached the platform (a change reports at once).</summary>
    public WorkloadHealth? ReportedHealth { get; internal set; }

    /// <summary>
    /// A health report failed (platform or orchestrator): the next plan sends one whatever the workload did meanwhile,
    /// so that a crash told during a platform outage is not lost when the workload runs again before the next cycle.
    /// </summary>
    public bool HealthOwed { get; internal set; }

    /// <summary>Whether the current reboot loop was told on the platform (cleared when a health report finds none).</summary>
    public bool RebootLoopReported { get; internal set; }

    /// <summary>
    /// The exit code of a workload's last run that ended, as last read: engines forget it when the next run starts
    /// (Docker resets it to 0), so a loop caught while its container briefly runs still says why it ended.
    /// </summary>
    public (string WorkloadId, int Code)? LastExitCode { get; internal set; }

    /// <summary>Set when a reboot loop stopped the connector (manager.reboot_loop.stop); null otherwise.</summary>
    public RebootLoopHold? RebootLoopHold { get; internal set; }

    /// <summary>When log lines were last fetched (and uploaded when there were any); null: never.</summary>
    public DateTimeOffset? LastLogs { get; internal set; }

    /// <summary>Timestamp of the last uploaded log line: the next fetch asks for lines after it (null: the last 100).</summary>
    public DateTimeOffset? LogCursor { get; internal set; }

    /// <summary>The status Composer last reported, and what the platform had recorded at that moment.</summary>
    public (ConnectorStatus Reported, ConnectorStatus? PlatformHad)? LastStatusReport { get; internal set; }

    /// <summary>Consecutive failed changes (deploy, start, stop, refresh, remove); 0 after a success.</summary>
    public int Failures { get; internal set; }

    /// <summary>Changes are held back until then after a failure (null: no backoff).</summary>
    public DateTimeOffset? RetryAt { get; internal set; }

    /// <summary>When the last change failed (null: none since the last success).</summary>
    public DateTimeOffset? FailedAt { get; internal set; }

    /// <summary>
    /// What outside the connector the last failed change waited on (the orchestrator, a registry), or null when the
    /// failure was the connector's own: only such a backoff is cut short when that outage is seen to be over.
    /// </summary>
    public Outage? WaitsOn { get; internal set; }

    /// <summary>The problems reported and still current, so that each is reported once while it lasts.</summary>
    public IReadOnlyList<ProblemKey> ReportedProblems { get; internal set; } = [];

    internal bool InBackoff(DateTimeOffset now) => RetryAt is { } at && at > now;

    internal bool HasReported(ProblemKey key) => ReportedProblems.Contains(key);
}

using Composer.Configuration;

namespace Composer.Reconciliation;

/// <summary>Who reconciles (platform, manager, platform instance) and how often reports go, for one platform's loop.</summary>
/// <param name="PlatformInstance">
/// The composer.platform-instance value of this platform (<see cref="ConnectorLabels.PlatformInstanceValue"/> of its URL):
/// workloads labelled with another value belong to another Composer sharing the manager id, unless their connector is
/// listed here.
/// </param>
/// <param name="OtherPlatformsEnabled">
/// True when another platform is enabled too: workloads without an opencti-platform label (created by old versions)
/// could be that platform's, so they are left alone instead of being treated as this platform's.
/// </param>
/// <param name="LogsSchedule">Per connector: minimum time between log uploads (&lt;platform&gt;.logs_schedule).</param>
/// <param name="ExecuteSchedule">Time between cycles (manager.execute_schedule): the first backoff delay.</param>
/// <param name="MaxParallel">How many connectors the executor works on at once (manager.max_parallel).</param>
public sealed record ReconcileOptions(
    PlatformKind Platform,
    string ManagerId,
    string PlatformInstance,
    bool OtherPlatformsEnabled,
    TimeSpan LogsSchedule,
    TimeSpan ExecuteSchedule,
    int MaxParallel = 4)
{
    /// <summary>
    /// Every deployed connector reports its health this often, running or not (manager.health_schedule; the platform
    /// forgets health after 5 minutes), and at once when its workload's state changes.
    /// </summary>
    public TimeSpan HealthInterval { get; init; } = TimeSpan.FromMinutes(4);

    /// <summary>How much of a connector's log one upload carries (manager.logs).</summary>
    public LogLimits Logs { get; init; } = LogLimits.Default;

    /// <summary>Stop a connector found in a reboot loop and hold it stopped (manager.reboot_loop.stop).</summary>
    public bool StopRebootLoops { get; init; }

    /// <summary>
    /// The longest one connector's actions of one plan may take (manager.connector_deadline), counted from when its lane
    /// gets a slot: past it the step in flight is abandoned, counted as a failed change (backoff) and the connector is
    /// planned again. Other connectors are never held up by it, only by the parallelism bound.
    /// </summary>
    public TimeSpan ConnectorDeadline { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Backoff delays double from <see cref="ExecuteSchedule"/> up to this.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromMinutes(5);
}

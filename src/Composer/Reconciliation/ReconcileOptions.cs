using Composer.Configuration;

namespace Composer.Reconciliation;

/// <summary>Who reconciles (platform, manager) and how often reports go, for one platform's loop.</summary>
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
    bool OtherPlatformsEnabled,
    TimeSpan LogsSchedule,
    TimeSpan ExecuteSchedule,
    int MaxParallel = 4)
{
    /// <summary>Running connectors report health this often (and right after they start), as upstream does.</summary>
    public TimeSpan HealthInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How much of a connector's log one upload carries (manager.logs).</summary>
    public LogLimits Logs { get; init; } = LogLimits.Default;

    /// <summary>Backoff delays double from <see cref="ExecuteSchedule"/> up to this.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromMinutes(5);
}

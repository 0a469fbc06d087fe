
namespace Composer.Reconciliation;

/// <summary>
/// What Composer remembers about one connector between cycles: report timers, the log cursor, what it last
/// reported, and its backoff. Only the executor writes it, after an action completed; planning reads it. Lost on
/// restart, which is harmless: everything is recomputed from observation (health is reported again, the status only
/// when it differs from what the platform recorded, the last 100 log lines are uploaded again).
/// </summary>
public sealed class ConnectorState
{
    private string? _nameCachedFor;
    private string? _containerName;

    /// <summary>When health was last reported (null: never, so it is reported as soon as the workload runs).</summary>
    public DateTimeOffset? LastHealthReport { get; internal set; }

    /// <summary>Whether the workload was running when the executor last recorded an observation (to tell "just started").</summary>
    public bool WasRunning { get; internal set; }

    /// <summary>Whether the current reboot loop was reported (cleared when a health report finds none).</summary>
    public bool RebootLoopReported { get; internal set; }

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

    /// <summary>The problems reported and still current, so that each is reported once while it lasts.</summary>
    public IReadOnlyList<ProblemKey> ReportedProblems { get; internal set; } = [];

    internal bool InBackoff(DateTimeOffset now) => RetryAt is { } at && at > now;

    internal bool HasReported(ProblemKey key)
    {
        var reported = ReportedProblems;
        for (var i = 0; i < reported.Count; i++)
        {
            if (reported[i] == key) return true;
        }
        return false;
    }

    /// <summary><see cref="WorkloadNames.ContainerName"/> of <paramref name="name"/>, computed once per name, not every cycle.</summary>
    internal string ContainerNameOf(string name)
    {
        if (!string.Equals(name, _nameCachedFor, StringComparison.Ordinal))
        {
            _containerName = WorkloadNames.ContainerName(name);
            _nameCachedFor = name;
        }
        return _containerName!;
    }
}

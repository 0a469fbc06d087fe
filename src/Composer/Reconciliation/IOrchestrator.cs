using Composer.Diagnostics;

namespace Composer.Reconciliation;

/// <summary>The state of a workload as the orchestrator reports it, reduced to what reconciliation needs.</summary>
public enum WorkloadState
{
    /// <summary>Running (Docker "running", a running Swarm task, available Kubernetes replicas).</summary>
    Running,

    /// <summary>The orchestrator is restarting or removing it by itself (Docker "restarting", "removing"): neither start nor report it as started.</summary>
    Restarting,

    /// <summary>Created, exited, dead, scaled to 0: not running.</summary>
    Stopped,
}

/// <summary>
/// One workload (container, service, deployment) labelled opencti-manager=&lt;this manager&gt;, as one list call sees it.
/// </summary>
/// <param name="WorkloadId">The orchestrator's id (container id, service id, deployment uid).</param>
/// <param name="Name">The workload name (container name without '/', service or deployment name).</param>
/// <param name="Labels">All labels; ownership is read from them (<see cref="ConnectorLabels"/>).</param>
/// <param name="State">Reduced state.</param>
/// <param name="RawState">The orchestrator's own word for it ("exited", "created", "0/1"), for messages and plans.</param>
/// <param name="ConfigHash">OPENCTI_CONFIG_HASH the workload was created with, or null when the orchestrator could not tell.</param>
public sealed record ObservedWorkload(
    string WorkloadId,
    string Name,
    IReadOnlyDictionary<string, string> Labels,
    WorkloadState State,
    string RawState,
    string? ConfigHash)
{
    /// <summary>When the workload was created (the container, service or deployment), when the list tells it.</summary>
    public DateTimeOffset? CreatedAt { get; init; }

    /// <summary>
    /// Its restart count, start time and exit code when the observation carried them (a snapshot of
    /// <see cref="IWorkloadWatch"/>); null when it did not (a plain listing): then <see cref="IOrchestrator.HealthAsync"/> tells.
    /// </summary>
    public WorkloadHealth? Health { get; init; }

    /// <summary>The opencti-connector-id label, or null.</summary>
    public string? ConnectorId => Label(ConnectorLabels.ConnectorId);

    /// <summary>The opencti-platform label as written ("opencti", "openaev"), or null for workloads created before it existed.</summary>
    public string? PlatformLabel => Label(ConnectorLabels.Platform);

    /// <summary>The composer.platform-instance label, or null for workloads created before it existed (and by the Rust version).</summary>
    public string? PlatformInstance => Label(ConnectorLabels.PlatformInstance);

    public override string ToString() => $"{Name} ({RawState})";

    private string? Label(string key) => Labels.TryGetValue(key, out var value) && value.Length > 0 ? value : null;
}

/// <summary>What the orchestrator tells of a workload's runs, whether it runs or not.</summary>
/// <param name="RestartCount">Restarts by the orchestrator since the workload was created, started or changed by Composer.</param>
/// <param name="StartedAt">When its current run started, or its last one when it does not run; null when it never started.</param>
/// <param name="Restarting">
/// Down, and the orchestrator is about to start it again by itself (Docker "restarting", a Swarm task on its way after
/// a failed one, a container waiting in CrashLoopBackOff).
/// </param>
/// <param name="ExitCode">The exit code of its last run that ended, or null when none did (or it is not known).</param>
public sealed record WorkloadHealth(int RestartCount, DateTimeOffset? StartedAt, bool Restarting = false, int? ExitCode = null);

/// <summary>Log lines of a workload and the timestamp of the last one, the cursor for the next fetch.</summary>
public sealed record LogBatch(IReadOnlyList<string> Lines, DateTimeOffset? LastTimestamp);

/// <summary>
/// Docker, Swarm, Kubernetes or Portainer, behind one interface. Mutating calls return null on success and the
/// failure otherwise; nothing throws for what the orchestrator or the network does (only cancellation throws). The
/// orchestrator builds a connector's workload (name, labels, environment, CA bundle) itself, from the manager's
/// workload context it was given.
/// Every call is idempotent enough to be repeated after a crash: a deploy that finds its own half-created workload
/// completes or replaces it, never duplicates it.
/// </summary>
public interface IOrchestrator : IAsyncDisposable
{
    /// <summary>"docker", "swarm", "kubernetes" or "portainer".</summary>
    string Kind { get; }

    /// <summary>Whether the orchestrator answers (for /readyz and `composer check`): null when it does, else why not.</summary>
    Task<Failure?> CheckAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Every workload labelled opencti-manager=&lt;manager id&gt;, of every platform, in one list call (plus what the
    /// orchestrator needs to tell state and config hash without one call per workload).
    /// </summary>
    Task<Result<IReadOnlyList<ObservedWorkload>>> ListAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Creates <paramref name="connector"/>'s workload: resolves, pre-flights and pulls the image, creates the workload with
    /// its CA bundle, and starts it when the platform asks for it (<see cref="RequestedStatus.Starting"/>).
    /// </summary>
    Task<Failure?> DeployAsync(DesiredConnector connector, CancellationToken cancellationToken);

    /// <summary>
    /// Replaces <paramref name="current"/> with <paramref name="connector"/>'s workload (changed config hash). The new image
    /// is pulled first: when the pull fails, the current workload is left running untouched.
    /// </summary>
    Task<Failure?> RefreshAsync(ObservedWorkload current, DesiredConnector connector, CancellationToken cancellationToken);

    /// <summary>Starts the workload (making sure <paramref name="connector"/>'s CA bundle is in place first).</summary>
    Task<Failure?> StartAsync(ObservedWorkload current, DesiredConnector connector, CancellationToken cancellationToken);

    Task<Failure?> StopAsync(ObservedWorkload current, CancellationToken cancellationToken);

    /// <summary>Removes the workload and everything Composer created for it (CA configs or secrets).</summary>
    Task<Failure?> RemoveAsync(ObservedWorkload current, CancellationToken cancellationToken);

    /// <summary>
    /// Log lines (stdout and stderr, one entry per line, control characters stripped) written after
    /// <paramref name="since"/> (null: from the start), the newest ones within <paramref name="limits"/>; read with the
    /// API's tail and since bounds and streamed, never held whole.
    /// </summary>
    Task<Result<LogBatch>> LogsAsync(ObservedWorkload current, DateTimeOffset? since, LogLimits limits, CancellationToken cancellationToken);

    /// <summary>Restart count, start time, last exit code and whether it is restarting, running or not.</summary>
    Task<Result<WorkloadHealth>> HealthAsync(ObservedWorkload current, CancellationToken cancellationToken);
}

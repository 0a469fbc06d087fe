using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Images;
using Composer.Network;
using Composer.Orchestration;
using Composer.Orchestration.Docker;
using Composer.Reconciliation;
using Composer.Orchestration.Kubernetes;
using Composer.Orchestration.Portainer;
using Composer.Orchestration.Swarm;

namespace Composer.Resolution;

/// <summary>manager.*, ready to use: schedules as durations, the executor's parallelism, the debug switches and the log limits.</summary>
/// <param name="ShowSensitiveEnvVars">manager.debug.show_sensitive_env_vars: never honoured (sensitive values are always masked); the run warns when it is set.</param>
/// <param name="HealthSchedule">manager.health_schedule: between two health reports of a connector.</param>
/// <param name="StopRebootLoops">manager.reboot_loop.stop.</param>
/// <param name="ConnectorDeadline">manager.connector_deadline: the longest one connector's work of one cycle may take.</param>
public sealed record ManagerOptions(
    string Id,
    string Name,
    TimeSpan ExecuteSchedule,
    TimeSpan PingAliveSchedule,
    int MaxParallel,
    bool ShowEnvVars,
    bool ShowSensitiveEnvVars,
    TimeSpan HealthSchedule,
    bool StopRebootLoops,
    TimeSpan ConnectorDeadline)
{
    /// <summary>manager.logs: how much of a connector's log one upload carries.</summary>
    public LogLimits Logs { get; init; } = LogLimits.Default;
}

/// <summary>manager.health: whether the HTTP listener runs, and where.</summary>
public sealed record HealthListenerOptions(bool Enabled, string Host, int Port);

/// <summary>One platform (opencti.* or openaev.*), resolved: where it is, how it is reached, which orchestrator serves it.</summary>
public sealed class ResolvedPlatform
{
    public required PlatformKind Kind { get; init; }

    /// <summary>"opencti" or "openaev": the section, for messages and labels.</summary>
    public string Section => Kind == PlatformKind.OpenCti ? "opencti" : "openaev";

    /// <summary>"OpenCTI" or "OpenAEV", for people.</summary>
    public string DisplayName => Kind == PlatformKind.OpenCti ? "OpenCTI" : "OpenAEV";

    public required bool Enabled { get; init; }

    /// <summary>The platform URL as configured (validated absolute http(s)); connectors receive it as OPENCTI_URL / OPENAEV_URL.</summary>
    public required string Url { get; init; }

    /// <summary>The API token, revealed only into the Authorization header.</summary>
    public required Secret Token { get; init; }

    /// <summary>daemon.selector: which orchestrator serves the platform.</summary>
    public required OrchestratorKind Selector { get; init; }

    /// <summary>daemon.selector as written: docker, swarm, kubernetes or portainer.</summary>
    public string SelectorName => OrchestratorKinds.Name(Selector);

    /// <summary>
    /// The orchestrator as the resolve step decided it (<see cref="ResolvedDocker"/>, <see cref="ResolvedSwarm"/>,
    /// <see cref="ResolvedKubernetes"/>, <see cref="ResolvedPortainer"/>), its kubeconfig or engine already read;
    /// null when the platform is disabled, or when the command does not talk to orchestrators
    /// (<see cref="ConfigLoadRequest.ResolveOrchestrators"/>).
    /// </summary>
    public ResolvedOrchestrator? Orchestrator { get; init; }

    public required TimeSpan LogsSchedule { get; init; }

    /// <summary>&lt;section&gt;.daemon.image_policy: which images may run (<see cref="ImagePolicy.None"/> when not set).</summary>
    public required ImagePolicy ImagePolicy { get; init; }

    /// <summary>listing_timeout: the connector listing's own total timeout (the platform may hold it while connectors auto-upgrade).</summary>
    public required TimeSpan ListingTimeout { get; init; }

    /// <summary>listing_max_size: the largest listing answer read, in bytes.</summary>
    public required long ListingMaxSize { get; init; }

    /// <summary>Proxies, NO_PROXY, trust and timeouts of this platform's channels.</summary>
    public required PlatformNetworkPolicy Network { get; init; }

    /// <summary>What this platform's connectors receive for the network (proxy variables, CA bundle); None when disabled.</summary>
    public required ConnectorNetworkEnvironment ConnectorNetwork { get; init; }
}

/// <summary>
/// The configuration after the resolve step: built and validated once at load, immutable, and the only thing consumers
/// read. Nothing downstream re-reads a file (keys, CA bundles) or re-derives a rule from the raw settings.
/// </summary>
public sealed class ResolvedSettings
{
    public required ManagerOptions Manager { get; init; }

    /// <summary>The manager key, loaded once at load time; null when no platform is enabled or when the command does not need it.</summary>
    public required Platform.ManagerKey? Key { get; init; }

    /// <summary>manager.logger, resolved.</summary>
    public required LoggerOptions Logger { get; init; }

    public required HealthListenerOptions Health { get; init; }

    /// <summary>opencti.daemon.registry (global, for both platforms as upstream): prefix resolution, credentials and their file, token and retry limits.</summary>
    public required RegistryConfiguration Registry { get; init; }

    /// <summary>
    /// The Docker Engine endpoint (opencti.daemon.docker.host, else DOCKER_HOST, else the local socket), with its source.
    /// An invalid value is a load error only when a platform uses Docker or Swarm; otherwise it is kept here for
    /// `docker check` to report.
    /// </summary>
    public required DockerEndpointResolution Docker { get; init; }

    /// <summary>KUBERNETES_SERVICE_HOST as the process saw it (reached directly on the Kubernetes channel), or null.</summary>
    public required string? KubernetesServiceHost { get; init; }

    public required ResolvedPlatform OpenCti { get; init; }

    public required ResolvedPlatform OpenAev { get; init; }

    /// <summary>What every connector workload shares: manager id, platform URLs, network environments.</summary>
    public required WorkloadContext Workloads { get; init; }

    /// <summary>Both platforms' network policies and KUBERNETES_SERVICE_HOST, for the outbound handler factory.</summary>
    public NetworkPolicies Network => new(OpenCti.Network, OpenAev.Network, KubernetesServiceHost);

    public ResolvedPlatform Platform(PlatformKind kind) => kind == PlatformKind.OpenCti ? OpenCti : OpenAev;

    /// <summary>The enabled platforms, OpenCTI first.</summary>
    public IEnumerable<ResolvedPlatform> EnabledPlatforms
    {
        get
        {
            if (OpenCti.Enabled) yield return OpenCti;
            if (OpenAev.Enabled) yield return OpenAev;
        }
    }
}

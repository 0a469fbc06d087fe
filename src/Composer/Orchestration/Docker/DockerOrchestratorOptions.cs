using Composer.Diagnostics;
using Composer.Images;
using Composer.Network;

namespace Composer.Orchestration.Docker;

/// <summary>What a <see cref="DockerOrchestrator"/> needs besides the engine endpoint.</summary>
/// <param name="ManagerId">manager.id: the opencti-manager label value this orchestrator lists and creates.</param>
/// <param name="Containers">The HostConfig options of every connector container (opencti.daemon.docker, resolved).</param>
/// <param name="Registry">The process's registry access: the credentials of each pull, the registry check, retry_attempts and retry_delay.</param>
/// <param name="Logger">Composer's logger.</param>
/// <param name="Time">Clock for pull retry delays and archive timestamps.</param>
public sealed record DockerOrchestratorOptions(
    string ManagerId,
    DockerContainerOptions Containers,
    RegistryAccess Registry,
    Logger Logger,
    TimeProvider Time)
{
    /// <summary>Builds each connector's workload from the manager's workload context (and logs its environment when asked).</summary>
    public required WorkloadBuilder Workloads { get; init; }

    /// <summary>The proxy TCP requests to the engine go through (null: direct or a Unix socket), named in errors.</summary>
    public ProxyEndpoint? Proxy { get; init; }

    /// <summary>"docker", or "portainer" for the engine behind Portainer's Docker proxy.</summary>
    public string Kind { get; init; } = "docker";

    /// <summary>Labels every container gets besides the ownership ones, which they never replace (Portainer's stack label).</summary>
    public IReadOnlyDictionary<string, string>? ExtraLabels { get; init; }
}

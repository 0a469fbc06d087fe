using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Images;
using Composer.Network;

namespace Composer.Orchestration.Swarm;

/// <summary>What a <see cref="SwarmOrchestrator"/> needs besides the engine endpoint.</summary>
/// <param name="ManagerId">manager.id: the opencti-manager label value this orchestrator lists and creates.</param>
/// <param name="Swarm">The platform's daemon.swarm options.</param>
/// <param name="Preflight">Resolves images with the registry prefix, picks their credentials, checks the registry;
/// its <see cref="ImagePreflight.Registry"/> gives the credentials passed to the swarm and the pull retries.</param>
/// <param name="Logger">Composer's logger.</param>
/// <param name="Time">Clock for pull retry delays.</param>
public sealed record SwarmOrchestratorOptions(
    string ManagerId,
    SwarmSettings Swarm,
    ImagePreflight Preflight,
    Logger Logger,
    TimeProvider Time)
{
    /// <summary>Builds each connector's workload from the manager's workload context (and logs its environment when asked).</summary>
    public required WorkloadBuilder Workloads { get; init; }

    /// <summary>The proxy TCP requests to the engine go through (null: direct or a Unix socket), named in errors.</summary>
    public ProxyEndpoint? Proxy { get; init; }
}

using Composer.Diagnostics;
using Composer.Images;
using Composer.Network;

namespace Composer.Orchestration.Swarm;

/// <summary>What a <see cref="SwarmOrchestrator"/> needs besides the engine endpoint.</summary>
/// <param name="ManagerId">manager.id: the opencti-manager label value this orchestrator lists and creates.</param>
/// <param name="Services">The platform's daemon.swarm options, resolved.</param>
/// <param name="Registry">The process's registry access: the credentials of each pull, passed on to the swarm for its agents' pulls.</param>
/// <param name="Logger">Composer's logger.</param>
/// <param name="Time">Clock for pull retry delays.</param>
public sealed record SwarmOrchestratorOptions(
    string ManagerId,
    SwarmServiceOptions Services,
    RegistryAccess Registry,
    Logger Logger,
    TimeProvider Time)
{
    /// <summary>Builds each connector's workload from the manager's workload context (and logs its environment when asked).</summary>
    public required WorkloadBuilder Workloads { get; init; }

    /// <summary>The proxy TCP requests to the engine go through (null: direct or a Unix socket), named in errors.</summary>
    public ProxyEndpoint? Proxy { get; init; }
}

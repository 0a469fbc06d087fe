using Composer.Diagnostics;
using Composer.Images;
using Composer.Network;

namespace Composer.Orchestration.Kubernetes;

/// <summary>What <see cref="KubernetesOrchestrator"/> needs besides what the resolve step decided (<see cref="ResolvedKubernetes"/>).</summary>
public sealed class KubernetesOrchestratorOptions
{
    /// <summary>manager.id: the opencti-manager label the orchestrator lists by.</summary>
    public required string ManagerId { get; init; }

    public required IOutboundHandlerFactory Handlers { get; init; }

    /// <summary>
    /// The process's registry access. Its credentials are also what the pull secret is rendered from, so the kubelet gets
    /// what Composer checked.
    /// </summary>
    public required RegistryAccess Registry { get; init; }

    public Logger Logger { get; init; } = Logger.Null;

    /// <summary>Builds each connector's workload from the manager's workload context (and logs its environment when asked).</summary>
    public required WorkloadBuilder Workloads { get; init; }

    /// <summary>`composer plan`: listing writes nothing (the pull secret is not rendered); no mutating call is made anyway.</summary>
    public bool ObserveOnly { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;
}

using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Images;
using Composer.Network;

namespace Composer.Orchestration.Kubernetes;

/// <summary>What <see cref="KubernetesOrchestrator.Create"/> needs, from the resolved settings of one platform.</summary>
public sealed class KubernetesOrchestratorOptions
{
    /// <summary>manager.id: the opencti-manager label the orchestrator lists by.</summary>
    public required string ManagerId { get; init; }

    /// <summary>The platform whose daemon uses Kubernetes: its proxy settings apply to the API, its daemon.kubernetes block configures it.</summary>
    public required PlatformKind Platform { get; init; }

    /// <summary>&lt;platform&gt;.daemon.kubernetes (validated by the configuration loader).</summary>
    public required KubernetesSettings Settings { get; init; }

    public required IOutboundHandlerFactory Handlers { get; init; }

    /// <summary>
    /// The process's pre-flight. Its <see cref="ImagePreflight.RegistrySource"/> is also where the pull secret's
    /// credentials come from, so the kubelet gets what Composer checked.
    /// </summary>
    public required ImagePreflight Preflight { get; init; }

    /// <summary>The process environment: KUBECONFIG, HOME, KUBERNETES_SERVICE_HOST/PORT.</summary>
    public required IReadOnlyDictionary<string, string> Environment { get; init; }

    public Logger Logger { get; init; } = Logger.Null;

    /// <summary>Builds each connector's workload from the manager's workload context (and logs its environment when asked).</summary>
    public required WorkloadBuilder Workloads { get; init; }

    /// <summary>`composer plan`: listing writes nothing (the pull secret is not rendered); no mutating call is made anyway.</summary>
    public bool ObserveOnly { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Where the service account is mounted in a pod.</summary>
    public string ServiceAccountDirectory { get; init; } = KubernetesEndpoint.ServiceAccountDirectory;

    /// <summary>The configuration key of <see cref="Settings"/>, for messages.</summary>
    public string Section => (Platform == PlatformKind.OpenCti ? "opencti" : "openaev") + ".daemon.kubernetes";
}

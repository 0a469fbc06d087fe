using Composer.Configuration;

namespace Composer.Orchestration;

/// <summary>The orchestrators Composer drives, as &lt;platform&gt;.daemon.selector names them.</summary>
public enum OrchestratorKind
{
    Kubernetes,
    Docker,
    Swarm,
    Portainer,
}

/// <summary>The selector's words: docker, swarm, kubernetes, portainer.</summary>
public static class OrchestratorKinds
{
    /// <summary>The selector of <paramref name="kind"/>, as written in the configuration and in messages.</summary>
    public static string Name(OrchestratorKind kind) => kind switch
    {
        OrchestratorKind.Docker => "docker",
        OrchestratorKind.Swarm => "swarm",
        OrchestratorKind.Portainer => "portainer",
        _ => "kubernetes",
    };

    /// <summary>The orchestrator a selector names, or null for a word that names none (the resolve step reports it).</summary>
    public static OrchestratorKind? Parse(string selector) => selector switch
    {
        "docker" => OrchestratorKind.Docker,
        "swarm" => OrchestratorKind.Swarm,
        "portainer" => OrchestratorKind.Portainer,
        "kubernetes" => OrchestratorKind.Kubernetes,
        _ => null,
    };
}

/// <summary>
/// One platform's orchestrator as the resolve step decided it, ready to build: a closed set, one record per
/// orchestrator (<c>ResolvedDocker</c>, <c>ResolvedSwarm</c>, <c>ResolvedKubernetes</c>, <c>ResolvedPortainer</c>), each
/// parsed by the code next to it from the raw settings, every problem reported as a diagnostic at load.
/// </summary>
public abstract record ResolvedOrchestrator
{
    // Closed set: only the records of the orchestrators derive from it.
    private protected ResolvedOrchestrator(PlatformKind platform) => Platform = platform;

    public abstract OrchestratorKind Kind { get; }

    /// <summary>The platform whose daemon this is: its proxy settings apply to the orchestrator's API.</summary>
    public PlatformKind Platform { get; }

    /// <summary>"opencti" or "openaev": the platform's section, naming keys in messages.</summary>
    public string Section => Platform == PlatformKind.OpenCti ? "opencti" : "openaev";
}

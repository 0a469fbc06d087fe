using Composer.Diagnostics;
using Composer.Images;
using Composer.Network;
using Composer.Orchestration.Docker;
using Composer.Reconciliation;

namespace Composer.Orchestration.Portainer;

/// <summary>
/// Connectors as containers of a Portainer Docker environment (upstream-behaviour §6.8, its quirks fixed). Portainer's
/// Docker proxy, <c>{api}/api/endpoints/{env_id}/docker/</c>, speaks the Engine API, so this is the
/// <see cref="DockerOrchestrator"/> on that endpoint, not a second implementation:
/// <list type="bullet">
/// <item>Requests carry <c>X-API-Key</c> and name <c>api_version</c> (/v1.41/containers/...); the version is checked
/// against the engine's range on first contact, so a mismatch is one error naming the key.</item>
/// <item>The connection is channel Portainer of the handler factory: proxy per with_proxy, timeouts, and TLS verified
/// (system roots plus daemon.portainer.ca; insecure_skip_verify only when set, with a warning at start) where
/// upstream never verifies.</item>
/// <item>Containers get the <c>com.docker.compose.project</c> label when <c>stack</c> is set and
/// <c>HostConfig.NetworkMode</c> from <c>network_mode</c>; everything else is the Docker orchestrator's: pulls with
/// X-Registry-Auth (base64url), the CA bundle copied in with the archive API, restart policy, refresh with rollback,
/// demultiplexed logs, one list per idle cycle.</item>
/// <item>Portainer's error bodies (<c>{"message", "details"}</c>) appear in error texts; a refused API key or an
/// unknown environment names its key.</item>
/// </list>
/// </summary>
public static class PortainerOrchestrator
{
    /// <summary>The label Portainer (and docker compose) group a stack's containers by.</summary>
    public const string StackLabel = "com.docker.compose.project";

    public const string ApiKeyHeader = "X-API-Key";

    /// <summary>
    /// The orchestrator of one platform whose selector is portainer, from what the resolve step decided. Nothing is
    /// called yet: Portainer is reached on the first call.
    /// </summary>
    /// <param name="network">The platform's network policy (proxy, timeouts).</param>
    /// <param name="workloads">Builds each connector's container from the manager's workload context.</param>
    /// <param name="handlers">The outbound handler factory (channel Portainer).</param>
    /// <param name="registry">The process's registry access (registry prefix, credentials, retries).</param>
    public static DockerOrchestrator Create(string managerId, ResolvedPortainer portainer, PlatformNetworkPolicy network, WorkloadBuilder workloads,
        IOutboundHandlerFactory handlers, RegistryAccess registry, Logger logger, TimeProvider time)
    {
        var keys = portainer.Keys;
        var gateway = new DockerGateway($"Portainer environment {portainer.EnvironmentId}", $"{keys}.api_key", $"{keys}.env_id", portainer.ApiVersion,
            $"{keys}.api_version", $"{keys}.ca");
        var endpoint = new DockerEndpoint
        {
            Transport = DockerTransport.Tcp,
            Original = portainer.Api.ToString(),
            Source = $"{keys}.api",
            Address = new Uri($"{portainer.Api.ToString().TrimEnd('/')}/api/endpoints/{Uri.EscapeDataString(portainer.EnvironmentId)}/docker/"),
            Gateway = gateway,
        };
        if (portainer.InsecureSkipVerify)
        {
            logger.Warn($"{keys}.insecure_skip_verify is true: Portainer's TLS certificate is NOT verified", ("api", endpoint.Display));
        }
        var clients = new DockerClientFactory(handlers, portainer.Platform)
        {
            Channel = OutboundChannel.Portainer,
            Tls = new EndpointTls(portainer.Ca.Certificates, portainer.InsecureSkipVerify, null) { AlsoSystemRoots = true },
            Headers = new Dictionary<string, Secret>(StringComparer.Ordinal) { [ApiKeyHeader] = portainer.ApiKey },
        };
        var containers = DockerContainerOptions.None with { NetworkMode = portainer.NetworkMode, LogDriver = portainer.LogDriver, LogOpts = portainer.LogOpts };
        var options = new DockerOrchestratorOptions(managerId, containers, registry, logger, time)
        {
            Workloads = workloads,
            Kind = "portainer",
            Proxy = network.ProxyFor(endpoint.Address, network.NoProxyMatcher),
            ExtraLabels = portainer.Stack is null ? null : new Dictionary<string, string>(StringComparer.Ordinal) { [StackLabel] = portainer.Stack },
        };
        logger.Info("Portainer Docker environment", ("api", endpoint.Display), ("env_id", portainer.EnvironmentId), ("api_version", "v" + portainer.ApiVersion),
            ("stack", portainer.Stack), ("network_mode", portainer.NetworkMode));
        return new DockerOrchestrator(endpoint, clients, options);
    }
}

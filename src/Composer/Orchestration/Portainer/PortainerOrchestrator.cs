using System.Globalization;
using Composer.Configuration;
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
    /// The orchestrator of one platform whose selector is portainer, from its resolved settings; an error when the
    /// daemon.portainer block cannot work (missing, no API key, unsupported environment type, bad version). Nothing
    /// is called yet: Portainer is reached on the first call.
    /// </summary>
    /// <param name="portainerSettings">The platform's daemon.portainer block (null when missing).</param>
    /// <param name="portainerCa">daemon.portainer.ca, loaded by the resolve step.</param>
    /// <param name="network">The platform's network policy (proxy, timeouts); its section names the keys.</param>
    /// <param name="workloads">Builds each connector's container from the manager's workload context.</param>
    /// <param name="handlers">The outbound handler factory (channel Portainer).</param>
    /// <param name="preflight">The process's image pre-flight (registry prefix, credentials, retries).</param>
    public static Result<IOrchestrator> Create(string managerId, PortainerSettings? portainerSettings, ProxyCaBundle portainerCa,
        PlatformNetworkPolicy network, WorkloadBuilder workloads, IOutboundHandlerFactory handlers, ImagePreflight preflight, Logger logger,
        TimeProvider time)
    {
        var section = $"{network.Section}.daemon.portainer";
        if (portainerSettings is not { } portainer) return Failure.Orchestrator($"{section} is missing: the portainer selector needs api, api_key, env_id and api_version");
        var problems = new List<string>();
        var api = portainer.Api?.Trim() ?? "";
        if (!Uri.TryCreate(api, UriKind.Absolute, out var apiUri) || apiUri.Scheme is not ("http" or "https"))
        {
            problems.Add($"{section}.api must be an absolute http(s) URL of Portainer, got \"{SecretRedaction.RedactUrl(api)}\"");
        }
        var apiKey = portainer.ApiKey?.Reveal().Trim() ?? "";
        if (apiKey.Length == 0 || apiKey == "ChangeMe")
        {
            problems.Add($"{section}.api_key is not set (a Portainer access token; the default ChangeMe is a placeholder)");
        }
        var environment = portainer.EnvId?.Trim() ?? "";
        if (environment.Length == 0) problems.Add($"{section}.env_id is not set (the id of the Docker environment in Portainer)");
        if (portainer.EnvType != "docker") problems.Add($"{section}.env_type must be docker (the only supported Portainer environment type), got \"{portainer.EnvType}\"");
        var version = ParseApiVersion(portainer.ApiVersion);
        if (version is null) problems.Add($"{section}.api_version must look like v1.41, got \"{portainer.ApiVersion}\"");
        if (problems.Count > 0) return Failure.Orchestrator(string.Join("; ", problems));

        var gateway = new DockerGateway($"Portainer environment {environment}", $"{section}.api_key", $"{section}.env_id", version!, $"{section}.api_version", $"{section}.ca");
        var endpoint = new DockerEndpoint
        {
            Transport = DockerTransport.Tcp,
            Original = api,
            Source = $"{section}.api",
            Address = new Uri($"{api.TrimEnd('/')}/api/endpoints/{Uri.EscapeDataString(environment)}/docker/"),
            Gateway = gateway,
        };
        if (portainer.InsecureSkipVerify)
        {
            logger.Warn($"{section}.insecure_skip_verify is true: Portainer's TLS certificate is NOT verified", ("api", endpoint.Display));
        }
        var clients = new DockerClientFactory(handlers, network.Platform)
        {
            Channel = OutboundChannel.Portainer,
            Tls = new EndpointTls(portainerCa.Certificates, portainer.InsecureSkipVerify, null) { AlsoSystemRoots = true },
            Headers = new Dictionary<string, Secret>(StringComparer.Ordinal) { [ApiKeyHeader] = new Secret(apiKey) },
        };
        var docker = new DockerSettings { NetworkMode = portainer.NetworkMode, LogDriver = portainer.LogDriver, LogOpts = portainer.LogOpts };
        var options = new DockerOrchestratorOptions(managerId, docker, preflight, logger, time)
        {
            Workloads = workloads,
            Kind = "portainer",
            Proxy = network.ProxyFor(endpoint.Address, network.NoProxyMatcher),
            ExtraLabels = string.IsNullOrEmpty(portainer.Stack) ? null : new Dictionary<string, string>(StringComparer.Ordinal) { [StackLabel] = portainer.Stack },
        };
        logger.Info("Portainer Docker environment", ("api", endpoint.Display), ("env_id", environment), ("api_version", "v" + version),
            ("stack", portainer.Stack), ("network_mode", portainer.NetworkMode));
        return Result<IOrchestrator>.Success(new DockerOrchestrator(endpoint, clients, options));
    }

    /// <summary>"v1.41" or "1.41" as a version, or null when it is neither.</summary>
    public static Version? ParseApiVersion(string? text)
    {
        var value = (text ?? "").Trim();
        if (value.StartsWith('v') || value.StartsWith('V')) value = value[1..];
        var dot = value.IndexOf('.');
        return dot > 0 && dot < value.Length - 1
               && int.TryParse(value.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var major)
               && int.TryParse(value.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var minor)
            ? new Version(major, minor)
            : null;
    }
}

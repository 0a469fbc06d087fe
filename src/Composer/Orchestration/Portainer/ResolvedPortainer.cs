using System.Globalization;
using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Network;
using Composer.Orchestration.Docker;

namespace Composer.Orchestration.Portainer;

/// <summary>
/// A platform whose selector is portainer: the Docker environment of a Portainer, as &lt;platform&gt;.daemon.portainer
/// describes it, validated.
/// </summary>
/// <param name="Api">Portainer's base URL.</param>
/// <param name="ApiKey">The access token (X-API-Key): a secret, never printed.</param>
/// <param name="EnvironmentId">The Docker environment (endpoint) id.</param>
/// <param name="ApiVersion">The Engine API version spoken through Portainer.</param>
/// <param name="Ca">daemon.portainer.ca, loaded: trusted besides the system roots.</param>
/// <param name="LogDriver">The connector containers' log driver; with <paramref name="LogOpts"/> unset too, Composer's bound on the engine's default.</param>
public sealed record ResolvedPortainer(PlatformKind Platform, Uri Api, Secret ApiKey, string EnvironmentId, Version ApiVersion, string? Stack,
    string? NetworkMode, ProxyCaBundle Ca, bool InsecureSkipVerify, string? LogDriver = null, IReadOnlyDictionary<string, string>? LogOpts = null)
    : ResolvedOrchestrator(Platform)
{
    public override OrchestratorKind Kind => OrchestratorKind.Portainer;

    /// <summary>"opencti.daemon.portainer": names the keys in messages.</summary>
    public string Keys => $"{Section}.daemon.portainer";

    // The API key is a secret: the generated ToString would print it.
    public override string ToString() => $"Portainer {SecretRedaction.RedactUrl(Api.ToString())} environment {EnvironmentId} (api_version v{ApiVersion})";

    /// <summary>
    /// Checks a daemon.portainer block (every platform's, used or not: api, env_type, api_version) and, when the
    /// platform's orchestrator is Portainer (<paramref name="used"/>), what a connection needs (an API key that is not
    /// the ChangeMe placeholder, an environment id); returns the record when it is used and usable. A missing block is
    /// the selector's problem (the resolve step reports it).
    /// </summary>
    /// <param name="ca">daemon.portainer.ca, loaded by the resolve step.</param>
    public static ResolvedPortainer? Parse(PortainerSettings? block, PlatformKind platform, ProxyCaBundle ca, bool used, ConfigReport report)
    {
        if (block is null) return null;
        var keys = (platform == PlatformKind.OpenCti ? "opencti" : "openaev") + ".daemon.portainer";
        var errors = report.Errors.Count;
        var api = block.Api?.Trim() ?? "";
        if (!Uri.TryCreate(api, UriKind.Absolute, out var apiUri) || apiUri.Scheme is not ("http" or "https") || apiUri.Host.Length == 0)
        {
            report.Error($"{keys}.api", $"expected an absolute http:// or https:// URL, got \"{SecretRedaction.RedactUrl(api)}\"");
        }
        if (block.EnvType != "docker")
        {
            report.Error($"{keys}.env_type", $"expected docker (the only supported Portainer environment type), got \"{block.EnvType}\"");
        }
        var version = ParseApiVersion(block.ApiVersion);
        if (version is null) report.Error($"{keys}.api_version", $"expected a Docker Engine API version such as v1.41, got \"{block.ApiVersion}\"");
        if (!used) return null;
        var apiKey = block.ApiKey?.Reveal().Trim() ?? "";
        if (apiKey.Length == 0 || apiKey == "ChangeMe")
        {
            report.Error($"{keys}.api_key", "is not set (a Portainer access token; the default ChangeMe is a placeholder)");
        }
        var environment = block.EnvId?.Trim() ?? "";
        if (environment.Length == 0) report.Error($"{keys}.env_id", "is not set (the id of the Docker environment in Portainer)");
        if (report.Errors.Count > errors) return null;
        return new ResolvedPortainer(platform, apiUri!, new Secret(apiKey), environment, version!, string.IsNullOrEmpty(block.Stack) ? null : block.Stack,
            string.IsNullOrEmpty(block.NetworkMode) ? null : block.NetworkMode, ca, block.InsecureSkipVerify,
            string.IsNullOrEmpty(block.LogDriver) ? null : block.LogDriver, DockerContainerOptions.LogOptions(block.LogOpts));
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

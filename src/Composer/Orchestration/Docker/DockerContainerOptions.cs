using Composer.Configuration;

namespace Composer.Orchestration.Docker;

/// <summary>One ulimit of a connector container or service task: name, soft and hard limits.</summary>
public sealed record ContainerUlimit(string Name, long Soft, long Hard);

/// <summary>
/// &lt;platform&gt;.daemon.docker as every connector container gets it (HostConfig, upstream-behaviour §6.6): the options
/// that are set, validated; unset ones stay null and out of the container. The endpoint keys (host, tls) are the
/// <see cref="DockerEndpoint"/>'s. Each option maps 1:1 onto the HostConfig field of the same name.
/// </summary>
/// <param name="ExtraHosts">host:ip entries as docker run takes them.</param>
/// <param name="Runtime">An OCI runtime the engine knows.</param>
/// <param name="ShmSize">Bytes.</param>
/// <param name="LogDriver">log_driver (HostConfig.LogConfig.Type); with <paramref name="LogOpts"/> unset too, <see cref="ConnectorLogConfig"/> decides.</param>
/// <param name="LogOpts">log_opts (HostConfig.LogConfig.Config), as given.</param>
public sealed record DockerContainerOptions(
    string? NetworkMode = null, IReadOnlyList<string>? ExtraHosts = null, IReadOnlyList<string>? Dns = null, IReadOnlyList<string>? DnsSearch = null,
    bool? Privileged = null, IReadOnlyList<string>? CapAdd = null, IReadOnlyList<string>? CapDrop = null, IReadOnlyList<string>? SecurityOpt = null,
    string? UsernsMode = null, string? PidMode = null, string? IpcMode = null, string? UtsMode = null,
    string? Runtime = null, long? ShmSize = null, IReadOnlyDictionary<string, string>? Sysctls = null, IReadOnlyList<ContainerUlimit>? Ulimits = null,
    string? LogDriver = null, IReadOnlyDictionary<string, string>? LogOpts = null)
{
    /// <summary>No option set: only the restart policy.</summary>
    public static DockerContainerOptions None { get; } = new();

    /// <summary>
    /// The options of a daemon.docker block (null: none), each problem reported under <paramref name="section"/>
    /// ("opencti.daemon.docker"): an unusable host, a negative shm_size, a ulimit without name, soft or hard (left out).
    /// </summary>
    public static DockerContainerOptions Parse(DockerSettings? block, string section, ConfigReport report)
    {
        if (block is null) return None;
        if (DockerEndpoint.Validate(block.Host) is { } hostProblem) report.Error($"{section}.host", hostProblem);
        if (block.ShmSize is < 0) report.Error($"{section}.shm_size", $"expected a size in bytes >= 0, got {block.ShmSize}");
        return new DockerContainerOptions(
            Text(block.NetworkMode), block.ExtraHosts, block.Dns, block.DnsSearch,
            block.Privileged, block.CapAdd, block.CapDrop, block.SecurityOpt,
            Text(block.UsernsMode), Text(block.PidMode), Text(block.IpcMode), Text(block.UtsMode),
            Text(block.Runtime), block.ShmSize,
            block.Sysctls is { Count: > 0 } sysctls ? new Dictionary<string, string>(sysctls, StringComparer.Ordinal) : null,
            ParseUlimits(block.Ulimits, $"{section}.ulimits", report),
            Text(block.LogDriver), LogOptions(block.LogOpts));
    }

    /// <summary>log_opts as given (an empty map is set: it replaces Composer's default bound), or null when unset.</summary>
    public static IReadOnlyDictionary<string, string>? LogOptions(Dictionary<string, string>? logOpts) =>
        logOpts is null ? null : new Dictionary<string, string>(logOpts, StringComparer.Ordinal);

    /// <summary>The complete ulimits entries (also daemon.swarm's); each incomplete one is an error naming its index.</summary>
    public static IReadOnlyList<ContainerUlimit>? ParseUlimits(List<UlimitSettings>? ulimits, string key, ConfigReport report)
    {
        if (ulimits is null) return null;
        var valid = new List<ContainerUlimit>(ulimits.Count);
        for (var i = 0; i < ulimits.Count; i++)
        {
            var u = ulimits[i];
            if (string.IsNullOrEmpty(u.Name) || u.Soft is not { } soft || u.Hard is not { } hard)
            {
                report.Error(key, $"item {i} needs name, soft and hard");
                continue;
            }
            valid.Add(new ContainerUlimit(u.Name, soft, hard));
        }
        return valid.Count > 0 ? valid : null;
    }

    /// <summary>An option that is set: empty text counts as unset.</summary>
    private static string? Text(string? value) => string.IsNullOrEmpty(value) ? null : value;
}

/// <summary>A platform whose selector is docker: the engine (global, as upstream: opencti.daemon.docker and DOCKER_HOST) and the container options.</summary>
public sealed record ResolvedDocker(PlatformKind Platform, DockerEndpoint Endpoint, DockerContainerOptions Containers) : ResolvedOrchestrator(Platform)
{
    public override OrchestratorKind Kind => OrchestratorKind.Docker;
}

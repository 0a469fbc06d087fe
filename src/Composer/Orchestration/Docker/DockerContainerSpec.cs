using Docker.DotNet.Models;

namespace Composer.Orchestration.Docker;

/// <summary>The container Composer creates for a connector: name rule, labels, environment and HostConfig.</summary>
public static class DockerContainerSpec
{
    /// <summary>
    /// Label holding the contract hash (the value of OPENCTI_CONFIG_HASH), written at creation: the list API returns
    /// labels but not the environment, so an idle cycle needs no inspect. Containers of the Rust version lack it;
    /// their hash is read once from the environment.
    /// </summary>
    public const string ConfigHashLabel = "composer.config-hash";

    /// <summary>
    /// Every connector container restarts when its process exits, until Composer (or a user) stops it: restart counts
    /// and reboot-loop detection measure something, and connectors come back after an engine restart.
    /// </summary>
    public const RestartPolicyKind ConnectorRestartPolicy = RestartPolicyKind.UnlessStopped;

    /// <summary>Docker's rule for container names: [a-zA-Z0-9][a-zA-Z0-9_.-]+ (so at least two characters).</summary>
    public static bool IsValidName(string name)
    {
        if (name.Length < 2 || !char.IsAsciiLetterOrDigit(name[0])) return false;
        foreach (var c in name.AsSpan(1))
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '.' or '-')) return false;
        }
        return true;
    }

    /// <summary>The problem with a workload's name for Docker, or null when it is usable.</summary>
    public static string? NameProblem(ConnectorWorkload workload) =>
        IsValidName(workload.Name) ? null
            : $"connector {workload.ConnectorId}: '{workload.Name}' is not a valid Docker container name (it must start with a letter or digit " +
              "and hold at least two of: letters, digits, '_', '.', '-'); rename the connector";

    /// <summary>POST /containers/create for the workload, running <paramref name="image"/> (the resolved reference).</summary>
    /// <param name="extraLabels">Labels besides the workload's (Portainer's stack label); the workload's win.</param>
    /// <param name="logs">The container's log driver and options (<see cref="ConnectorLogConfig"/>); null: the engine's default.</param>
    public static CreateContainerParameters CreateParameters(ConnectorWorkload workload, string image, DockerContainerOptions options,
        IReadOnlyDictionary<string, string>? extraLabels = null, ConnectorLogConfig? logs = null)
    {
        var labels = extraLabels is null
            ? new Dictionary<string, string>(StringComparer.Ordinal)
            : new Dictionary<string, string>(extraLabels, StringComparer.Ordinal);
        foreach (var (key, value) in workload.Labels) labels[key] = value;
        labels[ConfigHashLabel] = workload.ConfigHash;
        return new CreateContainerParameters
        {
            Name = workload.Name,
            Image = image,
            Env = [.. workload.EnvironmentStrings()],
            Labels = labels,
            HostConfig = HostConfigFor(options, logs),
        };
    }

    /// <summary>
    /// Every opencti.daemon.docker option that is set, mapped 1:1 onto HostConfig (upstream-behaviour §6.6); unset ones
    /// stay out. Never a bind mount: the CA bundle is copied into the container instead. The log settings are
    /// <paramref name="logs"/>'.
    /// </summary>
    public static HostConfig HostConfigFor(DockerContainerOptions docker, ConnectorLogConfig? logs = null)
    {
        var host = new HostConfig { RestartPolicy = new RestartPolicy { Name = ConnectorRestartPolicy } };
        if (logs is not null) host.LogConfig = new LogConfig { Type = logs.Driver, Config = new Dictionary<string, string>(logs.Options, StringComparer.Ordinal) };
        if (docker.NetworkMode is { } networkMode) host.NetworkMode = networkMode;
        if (docker.ExtraHosts is { } extraHosts) host.ExtraHosts = [.. extraHosts];
        if (docker.Dns is { } dns) host.DNS = [.. dns];
        if (docker.DnsSearch is { } dnsSearch) host.DNSSearch = [.. dnsSearch];
        if (docker.Privileged is { } privileged) host.Privileged = privileged;
        if (docker.CapAdd is { } capAdd) host.CapAdd = [.. capAdd];
        if (docker.CapDrop is { } capDrop) host.CapDrop = [.. capDrop];
        if (docker.SecurityOpt is { } securityOpt) host.SecurityOpt = [.. securityOpt];
        if (docker.UsernsMode is { } usernsMode) host.UsernsMode = usernsMode;
        if (docker.PidMode is { } pidMode) host.PidMode = pidMode;
        if (docker.IpcMode is { } ipcMode) host.IpcMode = ipcMode;
        if (docker.UtsMode is { } utsMode) host.UTSMode = utsMode;
        if (docker.Runtime is { } runtime) host.Runtime = runtime;
        if (docker.ShmSize is { } shmSize) host.ShmSize = shmSize;
        if (docker.Sysctls is { } sysctls) host.Sysctls = new Dictionary<string, string>(sysctls, StringComparer.Ordinal);
        if (docker.Ulimits is { } ulimits) host.Ulimits = [.. ulimits.Select(u => new Ulimit { Name = u.Name, Soft = u.Soft, Hard = u.Hard })];
        return host;
    }
}

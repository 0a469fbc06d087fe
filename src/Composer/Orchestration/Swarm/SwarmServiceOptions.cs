using Composer.Configuration;
using Composer.Orchestration.Docker;

namespace Composer.Orchestration.Swarm;

/// <summary>daemon.swarm.resources: limits and reservations of each task (nano-CPUs, bytes).</summary>
public sealed record SwarmTaskResources(long? CpuLimit, long? MemoryLimit, long? CpuReservation, long? MemoryReservation);

/// <summary>
/// &lt;platform&gt;.daemon.swarm as every connector service gets it (upstream-behaviour §6.9): the options that are set,
/// validated, in Swarm's own terms: extra_hosts as /etc/hosts lines ("ip host"), durations as time spans.
/// </summary>
/// <param name="Network">TaskTemplate.Networks: the network attached to connector services.</param>
/// <param name="Hosts">extra_hosts, each already a ContainerSpec.Hosts line ("ip host [aliases]").</param>
/// <param name="Dns">ContainerSpec.DNSConfig nameservers (search domains: <paramref name="DnsSearch"/>).</param>
/// <param name="Resources">TaskTemplate.Resources: limits and reservations.</param>
/// <param name="PlacementPreferences">TaskTemplate.Placement preferences, as spread descriptors.</param>
/// <param name="LogDriver">TaskTemplate.LogDriver name; with <paramref name="LogOpts"/> unset too, <see cref="ConnectorLogConfig"/> decides.</param>
/// <param name="RestartCondition">TaskTemplate.RestartPolicy: none, on-failure or any (with its delay and attempts).</param>
public sealed record SwarmServiceOptions(
    string? Network = null, IReadOnlyList<string>? Hosts = null, IReadOnlyList<string>? Dns = null, IReadOnlyList<string>? DnsSearch = null,
    IReadOnlyList<string>? CapAdd = null, IReadOnlyList<string>? CapDrop = null,
    IReadOnlyDictionary<string, string>? Sysctls = null, IReadOnlyList<ContainerUlimit>? Ulimits = null,
    string? Hostname = null, string? User = null, bool? ReadOnly = null, bool? Init = null, TimeSpan? StopGracePeriod = null,
    SwarmTaskResources? Resources = null, IReadOnlyList<string>? PlacementConstraints = null, IReadOnlyList<string>? PlacementPreferences = null,
    string? RestartCondition = null, TimeSpan? RestartDelay = null, ulong? RestartMaxAttempts = null,
    string? LogDriver = null, IReadOnlyDictionary<string, string>? LogOpts = null)
{
    private static readonly string[] RestartConditions = ["none", "on-failure", "any"];

    /// <summary>
    /// The options of a daemon.swarm block, each problem reported under <paramref name="section"/>
    /// ("opencti.daemon.swarm"): an extra_hosts entry that is no hosts line, an unknown restart_condition, a negative
    /// duration or count, a ulimit without name, soft or hard. What is wrong is left out of the result.
    /// </summary>
    public static SwarmServiceOptions Parse(SwarmSettings block, string section, ConfigReport report)
    {
        var hosts = new List<string>();
        foreach (var entry in block.ExtraHosts ?? [])
        {
            if (SwarmServiceSpec.HostsEntry(entry) is { } line) hosts.Add(line);
            else report.Error($"{section}.extra_hosts", $"expected host:ip (or \"ip host\"), got \"{entry}\"");
        }
        var restartCondition = block.RestartCondition;
        if (restartCondition is not null && !RestartConditions.Contains(restartCondition))
        {
            report.Error($"{section}.restart_condition", $"expected none, on-failure or any, got \"{restartCondition}\"");
            restartCondition = null;
        }
        var restartMaxAttempts = block.RestartMaxAttempts switch
        {
            null => null,
            < 0 => Refuse<ulong?>(report, $"{section}.restart_max_attempts", "expected a number >= 0"),
            { } attempts => (ulong)attempts,
        };
        return new SwarmServiceOptions(
            string.IsNullOrEmpty(block.Network) ? null : block.Network, hosts.Count > 0 ? hosts : null, block.Dns, block.DnsSearch,
            block.CapAdd, block.CapDrop,
            block.Sysctls is { Count: > 0 } sysctls ? new Dictionary<string, string>(sysctls, StringComparer.Ordinal) : null,
            DockerContainerOptions.ParseUlimits(block.Ulimits, $"{section}.ulimits", report),
            string.IsNullOrEmpty(block.Hostname) ? null : block.Hostname, string.IsNullOrEmpty(block.User) ? null : block.User,
            block.ReadOnly, block.Init, Duration(block.StopGracePeriod, $"{section}.stop_grace_period", report),
            block.Resources is { } r ? new SwarmTaskResources(r.CpuLimit, r.MemoryLimit, r.CpuReservation, r.MemoryReservation) : null,
            block.PlacementConstraints, block.PlacementPreferences,
            restartCondition, Duration(block.RestartDelay, $"{section}.restart_delay", report), restartMaxAttempts,
            string.IsNullOrEmpty(block.LogDriver) ? null : block.LogDriver, DockerContainerOptions.LogOptions(block.LogOpts));
    }

    /// <summary>A duration in nanoseconds, as Swarm takes them; a negative one is an error.</summary>
    private static TimeSpan? Duration(long? nanoseconds, string key, ConfigReport report) => nanoseconds switch
    {
        null => null,
        < 0 => Refuse<TimeSpan?>(report, key, "expected a duration in nanoseconds >= 0"),
        { } value => TimeSpan.FromTicks(value / 100),
    };

    private static T? Refuse<T>(ConfigReport report, string key, string message)
    {
        report.Error(key, message);
        return default;
    }
}

/// <summary>
/// A platform whose selector is swarm: the engine of a swarm manager (the Docker endpoint, global as upstream) and the
/// service options of the platform's daemon.swarm block.
/// </summary>
public sealed record ResolvedSwarm(PlatformKind Platform, DockerEndpoint Endpoint, SwarmServiceOptions Services) : ResolvedOrchestrator(Platform)
{
    public override OrchestratorKind Kind => OrchestratorKind.Swarm;
}

using System.Net;
using Composer.Orchestration.Docker;
using Docker.DotNet.Models;

namespace Composer.Orchestration.Swarm;

/// <summary>
/// The service Composer creates for a connector (upstream-behaviour §6.9): name, the three ownership labels, the
/// environment, every daemon.swarm option that is set, the CA bundle config and the replica count.
/// Fixed upstream quirks:
/// <list type="bullet">
/// <item><c>extra_hosts</c> in docker-run form (<c>host:ip</c>, or <c>host=ip</c>) becomes Swarm's <c>"ip host"</c>
/// (upstream passed <c>host:ip</c> verbatim, which Swarm writes into /etc/hosts as a broken line); entries already in
/// the <c>"ip host [alias...]"</c> form stay as they are.</item>
/// <item>The CA bundle is a swarm config mounted as a file (it reaches every node), not a host bind mount.</item>
/// <item>Containers of the tasks carry no ownership label: a Docker orchestrator of the same manager id on a node's
/// engine would otherwise list them as its own and remove them. They carry <see cref="TaskManagerLabel"/> instead
/// (the engine does not copy a service's labels to its task containers): the container events of this manager's
/// tasks are filtered on it (<see cref="SwarmEventWatch"/>).</item>
/// </list>
/// </summary>
public static class SwarmServiceSpec
{
    /// <summary>The ContainerSpec label naming the manager on every task container of its services.</summary>
    public const string TaskManagerLabel = "composer.swarm-manager";

    /// <summary>Swarm service names: 1 to 63 letters, digits and '-', starting and ending with a letter or digit.</summary>
    public static bool IsValidName(string name)
    {
        if (name.Length is 0 or > 63 || !char.IsAsciiLetterOrDigit(name[0]) || !char.IsAsciiLetterOrDigit(name[^1])) return false;
        foreach (var c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-') return false;
        }
        return true;
    }

    /// <summary>The problem with a workload's name for Swarm, or null when it is usable.</summary>
    public static string? NameProblem(ConnectorWorkload workload) =>
        IsValidName(workload.Name) ? null
            : $"connector {workload.ConnectorId}: '{workload.Name}' is not a valid Swarm service name (1 to 63 letters, digits and '-', " +
              "starting and ending with a letter or digit); rename the connector";

    /// <summary>The service for <paramref name="workload"/>, running <paramref name="image"/>.</summary>
    /// <param name="caConfig">The CA bundle config to mount at <see cref="ConnectorNetworkEnvironment.CaBundlePath"/>, or null.</param>
    /// <param name="logs">The tasks' log driver and options (<see cref="ConnectorLogConfig"/>); null: the engine's default.</param>
    public static ServiceSpec Build(ConnectorWorkload workload, string image, SwarmServiceOptions swarm, SwarmConfigReference? caConfig, bool start,
        ConnectorLogConfig? logs = null)
    {
        var container = new ContainerSpec
        {
            Image = image,
            Env = [.. workload.EnvironmentStrings()],
        };
        if (workload.Labels.TryGetValue(Reconciliation.ConnectorLabels.Manager, out var manager))
        {
            container.Labels = new Dictionary<string, string>(StringComparer.Ordinal) { [TaskManagerLabel] = manager };
        }
        if (swarm.Hosts is { } hosts) container.Hosts = [.. hosts];
        if (swarm.Dns is not null || swarm.DnsSearch is not null)
        {
            container.DNSConfig = new DNSConfig
            {
                Nameservers = swarm.Dns is null ? null : [.. swarm.Dns],
                Search = swarm.DnsSearch is null ? null : [.. swarm.DnsSearch],
            };
        }
        if (swarm.CapAdd is { } capAdd) container.CapabilityAdd = [.. capAdd];
        if (swarm.CapDrop is { } capDrop) container.CapabilityDrop = [.. capDrop];
        if (swarm.Sysctls is { } sysctls) container.Sysctls = new Dictionary<string, string>(sysctls, StringComparer.Ordinal);
        if (swarm.Ulimits is { } ulimits) container.Ulimits = [.. ulimits.Select(u => new Ulimit { Name = u.Name, Soft = u.Soft, Hard = u.Hard })];
        if (swarm.Hostname is { } hostname) container.Hostname = hostname;
        if (swarm.User is { } user) container.User = user;
        if (swarm.ReadOnly is { } readOnly) container.ReadOnly = readOnly;
        if (swarm.Init is { } init) container.Init = init;
        if (swarm.StopGracePeriod is { } grace) container.StopGracePeriod = grace;
        if (caConfig is not null) container.Configs = [caConfig];

        var task = new TaskSpec { ContainerSpec = container };
        if (logs is not null) task.LogDriver = new SwarmDriver { Name = logs.Driver, Options = new Dictionary<string, string>(logs.Options, StringComparer.Ordinal) };
        if (swarm.Network is { } network) task.Networks = [new NetworkAttachmentConfig { Target = network }];
        if (swarm.Resources is { } resources)
        {
            task.Resources = new ResourceRequirements();
            if (resources.CpuLimit is not null || resources.MemoryLimit is not null)
            {
                task.Resources.Limits = new SwarmLimit { NanoCPUs = resources.CpuLimit, MemoryBytes = resources.MemoryLimit };
            }
            if (resources.CpuReservation is not null || resources.MemoryReservation is not null)
            {
                task.Resources.Reservations = new SwarmResources { NanoCPUs = resources.CpuReservation, MemoryBytes = resources.MemoryReservation };
            }
        }
        if (swarm.PlacementConstraints is not null || swarm.PlacementPreferences is not null)
        {
            task.Placement = new Placement
            {
                Constraints = swarm.PlacementConstraints is null ? null : [.. swarm.PlacementConstraints],
                Preferences = swarm.PlacementPreferences?.Select(p => new PlacementPreference { Spread = new SpreadOver { SpreadDescriptor = p } }).ToList(),
            };
        }
        if (swarm.RestartCondition is not null || swarm.RestartDelay is not null || swarm.RestartMaxAttempts is not null)
        {
            task.RestartPolicy = new SwarmRestartPolicy
            {
                Condition = swarm.RestartCondition,
                Delay = swarm.RestartDelay,
                MaxAttempts = swarm.RestartMaxAttempts,
            };
        }

        return new ServiceSpec
        {
            Name = workload.Name,
            Labels = new Dictionary<string, string>(workload.Labels, StringComparer.Ordinal),
            TaskTemplate = task,
            Mode = new ServiceMode { Replicated = new ReplicatedService { Replicas = start ? 1UL : 0UL } },
        };
    }

    /// <summary>
    /// One /etc/hosts line for Swarm's ContainerSpec.Hosts ("ip host [aliases]") from an extra_hosts entry: the
    /// docker-run forms host:ip and host=ip (the host never holds ':' or '=', so the first one separates, and an IPv6
    /// address keeps its own colons), or a line already in Swarm's form. Null when it is neither.
    /// </summary>
    public static string? HostsEntry(string entry)
    {
        var text = entry.Trim();
        var fields = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length >= 2) return IPAddress.TryParse(fields[0], out _) ? string.Join(' ', fields) : null;
        var separator = text.IndexOfAny([':', '=']);
        if (separator <= 0) return null;
        var host = text[..separator];
        var address = text[(separator + 1)..].Trim('[', ']');
        return IPAddress.TryParse(address, out _) ? $"{address} {host}" : null;
    }
}

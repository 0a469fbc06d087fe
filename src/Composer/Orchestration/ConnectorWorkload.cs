using System.Text;
using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Images;
using Composer.Reconciliation;

namespace Composer.Orchestration;

/// <summary>What every workload of a manager shares: its id, the platform URLs given to connectors and each platform's network environment.</summary>
/// <param name="OpenCtiUrl">opencti.url when OpenCTI is enabled (then every connector gets OPENCTI_URL), else null.</param>
/// <param name="OpenAevUrl">openaev.url when OpenAEV is enabled (then every connector gets OPENAEV_URL), else null.</param>
public sealed record WorkloadContext(
    string ManagerId,
    string? OpenCtiUrl,
    string? OpenAevUrl,
    ConnectorNetworkEnvironment OpenCtiNetwork,
    ConnectorNetworkEnvironment OpenAevNetwork)
{
    public ConnectorNetworkEnvironment NetworkFor(PlatformKind platform) =>
        platform == PlatformKind.OpenCti ? OpenCtiNetwork : OpenAevNetwork;

    /// <summary>The composer.platform-instance value of an enabled platform (of its URL).</summary>
    public string PlatformInstanceOf(PlatformKind platform) =>
        ConnectorLabels.PlatformInstanceValue((platform == PlatformKind.OpenCti ? OpenCtiUrl : OpenAevUrl)
            ?? throw new InvalidOperationException($"no workload is built for {ConnectorLabels.PlatformValue(platform)}: it is not enabled"));
}

/// <summary>
/// The workload one connector needs, the same for every orchestrator: name, labels, environment, image and CA bundle
/// (upstream-behaviour §6.1–6.3, so workloads created by the Rust version are recognised and adopted).
/// </summary>
/// <param name="Image">The image to pull (registry prefix applied), resolved once by the reconcile cycle.</param>
/// <param name="Environment">In upstream order, one entry per name (a later entry replaces an earlier one of the same name).</param>
/// <param name="CaBundle">System roots plus the proxy CAs (PEM), to be written at <see cref="ConnectorNetworkEnvironment.CaBundlePath"/>; null when none.</param>
/// <param name="Start">True when the platform asks for the connector to run.</param>
public sealed record ConnectorWorkload(
    string ConnectorId,
    PlatformKind Platform,
    string Name,
    ResolvedImage Image,
    string ConfigHash,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyList<ConnectorEnvVar> Environment,
    byte[]? CaBundle,
    bool Start)
{
    /// <summary>The ownership labels of a connector's workload: manager, connector id, platform and platform instance.</summary>
    public static IReadOnlyDictionary<string, string> LabelsFor(string managerId, string connectorId, PlatformKind platform, string platformInstance) =>
        new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ConnectorLabels.Manager] = managerId,
            [ConnectorLabels.ConnectorId] = connectorId,
            [ConnectorLabels.Platform] = ConnectorLabels.PlatformValue(platform),
            [ConnectorLabels.PlatformInstance] = platformInstance,
        };

    /// <summary>
    /// The workload of <paramref name="connector"/>. Environment, in this order: the contract entries (sensitive when
    /// they were encrypted; the platform's own CONNECTOR_ID, CONNECTOR_NAME, CONNECTOR_TYPE, OPENCTI_TOKEN and proxy
    /// keys among them), OPENCTI_URL and OPENAEV_URL of the enabled platforms, OPENCTI_CONFIG_HASH, then the proxy and
    /// CA variables of the connector's own platform (with_proxy). One precedence for every name: a value Composer sets
    /// wins over a contract entry of the same name, wherever that entry stands. Composer sets a variable only with a
    /// value, so an empty platform entry (OpenCTI lists its five proxy keys even when empty) never erases Composer's;
    /// where Composer sets nothing (with_proxy false, or that setting not configured) the contract's value passes
    /// through as the platform sent it, empty or not. Each name is given once.
    /// </summary>
    public static ConnectorWorkload Build(DesiredConnector connector, WorkloadContext context)
    {
        var network = context.NetworkFor(connector.Platform);
        var entries = new List<ConnectorEnvVar>(connector.Configuration.Count + 3 + network.Variables.Count);
        foreach (var entry in connector.Configuration) entries.Add(new ConnectorEnvVar(entry.Key, entry.Value, entry.Sensitive));
        if (context.OpenCtiUrl is { } openCtiUrl) entries.Add(new ConnectorEnvVar("OPENCTI_URL", openCtiUrl));
        if (context.OpenAevUrl is { } openAevUrl) entries.Add(new ConnectorEnvVar("OPENAEV_URL", openAevUrl));
        entries.Add(new ConnectorEnvVar(ConnectorLabels.ConfigHashVariable, connector.ContractHash));
        entries.AddRange(network.Variables);
        return new ConnectorWorkload(
            connector.Id,
            connector.Platform,
            WorkloadNames.ContainerName(connector.Name),
            connector.PullImage ?? throw new InvalidOperationException($"{connector}: its image is resolved by the reconcile cycle before anything is built"),
            connector.ContractHash,
            LabelsFor(context.ManagerId, connector.Id, connector.Platform, context.PlatformInstanceOf(connector.Platform)),
            LastWins(entries),
            network.CaBundle,
            connector.RequestedStatus == RequestedStatus.Starting);
    }

    /// <summary>"NAME=value" for Docker-style APIs (the value as is: everything after the first '=' is the value).</summary>
    public IEnumerable<string> EnvironmentStrings()
    {
        foreach (var v in Environment) yield return v.Name + "=" + v.Value;
    }

    /// <summary>The environment for a log line: sensitive values masked.</summary>
    public string DescribeEnvironment()
    {
        var sb = new StringBuilder();
        foreach (var v in Environment)
        {
            if (sb.Length > 0) sb.Append(' ');
            sb.Append(v.Name).Append('=').Append(v.Sensitive ? SecretRedaction.Mask : v.Value);
        }
        return sb.ToString();
    }

    // Secrets live in Environment: the generated ToString must not print them.
    public override string ToString() => $"workload {Name} of connector {ConnectorId}";

    /// <summary>One entry per name, at the position of its last occurrence, as Docker applies duplicates (the last one wins).</summary>
    private static List<ConnectorEnvVar> LastWins(List<ConnectorEnvVar> entries)
    {
        var last = new Dictionary<string, int>(entries.Count, StringComparer.Ordinal);
        for (var i = 0; i < entries.Count; i++) last[entries[i].Name] = i;
        if (last.Count == entries.Count) return entries;
        var result = new List<ConnectorEnvVar>(last.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            if (last[entries[i].Name] == i) result.Add(entries[i]);
        }
        return result;
    }
}

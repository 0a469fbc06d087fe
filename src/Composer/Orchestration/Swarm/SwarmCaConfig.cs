using System.Security.Cryptography;
using Composer.Reconciliation;
using Docker.DotNet.Models;

namespace Composer.Orchestration.Swarm;

/// <summary>
/// The CA bundle of a connector as a swarm config (configs reach every node; a host path would not). Content-addressed:
/// composer-ca-&lt;connector id&gt;-&lt;first 12 hex digits of the bundle's SHA-256&gt;, so a deploy repeated after a crash
/// finds the config it created, and a changed bundle is a new config that replaces the old one in the service spec
/// (the old one is then removed). Labelled with the manager and connector it belongs to, to be found and removed
/// with the service.
/// </summary>
public static class SwarmCaConfig
{
    /// <summary>Every CA config Composer creates starts with it.</summary>
    public const string NamePrefix = "composer-ca-";

    /// <summary>The label holding the bundle's full SHA-256.</summary>
    public const string BundleLabel = "composer.ca-bundle-sha256";

    /// <summary>Mode of the file in the container: readable by any user (connectors may not run as root).</summary>
    public const uint FileMode = 0x124; // 0444

    private const int MaxConnectorIdLength = 38; // config names are at most 64 characters

    public static string NameFor(string connectorId, byte[] bundle)
    {
        var id = string.Create(Math.Min(connectorId.Length, MaxConnectorIdLength), connectorId, static (span, source) =>
        {
            for (var i = 0; i < span.Length; i++) span[i] = char.IsAsciiLetterOrDigit(source[i]) || source[i] is '-' or '_' or '.' ? source[i] : '-';
        });
        return $"{NamePrefix}{id}-{Hash(bundle)[..12]}";
    }

    public static IDictionary<string, string> Labels(string managerId, ConnectorWorkload workload, byte[] bundle) =>
        new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ConnectorLabels.Manager] = managerId,
            [ConnectorLabels.ConnectorId] = workload.ConnectorId,
            [ConnectorLabels.Platform] = ConnectorLabels.PlatformValue(workload.Platform),
            [BundleLabel] = Hash(bundle),
        };

    /// <summary>Whether the config is one Composer created for this manager's connector.</summary>
    public static bool BelongsTo(SwarmConfig config, string managerId, string connectorId) =>
        config.Spec?.Labels is { } labels
        && labels.TryGetValue(ConnectorLabels.Manager, out var manager) && manager == managerId
        && labels.TryGetValue(ConnectorLabels.ConnectorId, out var connector) && connector == connectorId
        && config.Spec.Name?.StartsWith(NamePrefix, StringComparison.Ordinal) == true;

    /// <summary>The mount of the config at <see cref="ConnectorNetworkEnvironment.CaBundlePath"/>, root-owned.</summary>
    public static SwarmConfigReference Reference(string id, string name) => new()
    {
        ConfigID = id,
        ConfigName = name,
        File = new ConfigReferenceFileTarget { Name = ConnectorNetworkEnvironment.CaBundlePath, UID = "0", GID = "0", Mode = FileMode },
    };

    /// <summary>The CA configs Composer put into a service spec.</summary>
    public static IEnumerable<SwarmConfigReference> In(ServiceSpec? spec) =>
        spec?.TaskTemplate?.ContainerSpec?.Configs?.Where(c => c.ConfigName.StartsWith(NamePrefix, StringComparison.Ordinal)) ?? [];

    private static string Hash(byte[] bundle) => Convert.ToHexStringLower(SHA256.HashData(bundle));
}

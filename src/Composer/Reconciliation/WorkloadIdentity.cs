using System.Security.Cryptography;
using System.Text;
using Composer.Configuration;

namespace Composer.Reconciliation;

/// <summary>The labels that mark a workload as Composer's (upstream-behaviour §6.2), the same on every orchestrator.</summary>
public static class ConnectorLabels
{
    /// <summary>opencti-manager=&lt;manager.id&gt;: the workloads one manager owns. Lists filter on it.</summary>
    public const string Manager = "opencti-manager";

    /// <summary>opencti-connector-id=&lt;connector id&gt;: which connector a workload runs.</summary>
    public const string ConnectorId = "opencti-connector-id";

    /// <summary>opencti-platform=opencti|openaev: which platform's loop manages it.</summary>
    public const string Platform = "opencti-platform";

    /// <summary>
    /// composer.platform-instance=&lt;<see cref="PlatformInstanceValue"/> of the platform URL&gt;: which platform
    /// instance the workload belongs to, so that two Composers with one manager id on one engine, serving different
    /// platforms, tell their workloads apart. Workloads of the Rust version (and of Composer before it) lack it.
    /// </summary>
    public const string PlatformInstance = "composer.platform-instance";

    /// <summary>The environment variable (and Kubernetes annotation) holding the contract hash.</summary>
    public const string ConfigHashVariable = "OPENCTI_CONFIG_HASH";

    /// <summary>The opencti-platform value of a platform.</summary>
    public static string PlatformValue(PlatformKind platform) => platform == PlatformKind.OpenCti ? "opencti" : "openaev";

    /// <summary>
    /// The <see cref="PlatformInstance"/> value of a platform URL: the first 12 hex digits of the SHA-256 of the URL
    /// normalized (scheme and host lower case, the scheme's default port dropped, no user info, query or fragment, no
    /// trailing '/'), so that spellings of one URL agree and the value is a valid Kubernetes label value.
    /// </summary>
    public static string PlatformInstanceValue(string platformUrl)
    {
        var normalized = platformUrl.Trim().TrimEnd('/');
        if (Uri.TryCreate(normalized, UriKind.Absolute, out var uri))
        {
            var port = uri.IsDefaultPort ? "" : ":" + uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            normalized = $"{uri.Scheme}://{uri.IdnHost.ToLowerInvariant()}{port}{uri.AbsolutePath.TrimEnd('/')}";
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalized)))[..12];
    }
}

/// <summary>How a connector's workload is named, the same on every orchestrator (upstream-behaviour §6.1).</summary>
public static class WorkloadNames
{
    /// <summary>
    /// The workload name of a connector, as upstream derives it: every character that is not an ASCII letter or digit
    /// becomes '-', letters are lower-cased; nothing is trimmed or collapsed ("Nmap: the network mapper" →
    /// "nmap--the-network-mapper"). Upstream keeps non-ASCII letters, which no orchestrator accepts in a name, so
    /// no workload of the Rust version can carry them; here they become '-' too.
    /// </summary>
    public static string ContainerName(string connectorName)
    {
        return string.Create(connectorName.Length, connectorName, static (span, name) =>
        {
            for (var i = 0; i < name.Length; i++)
            {
                var c = name[i];
                span[i] = char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-';
            }
        });
    }
}

using System.Security.Cryptography;
using System.Text;

namespace Composer.Orchestration.Kubernetes;

/// <summary>Kubernetes' name rules (RFC 1123 labels and subdomains, label values) and the names Composer derives.</summary>
public static class KubernetesNames
{
    public const int MaxLabelLength = 63;
    private const string ProxyCaSuffix = "-proxy-ca";

    /// <summary>
    /// Why <paramref name="name"/> is not an RFC 1123 label (what a container name must be: at most 63 characters,
    /// lowercase letters, digits and '-', a letter or digit at both ends), or null when it is.
    /// </summary>
    public static string? LabelProblem(string name)
    {
        if (name.Length == 0) return "it is empty";
        if (name.Length > MaxLabelLength) return $"it is {name.Length} characters long, the limit is {MaxLabelLength}";
        foreach (var c in name)
        {
            if (!IsLowerAlphanumeric(c) && c != '-') return $"'{c}' is not a lowercase letter, digit or '-'";
        }
        if (!IsLowerAlphanumeric(name[0]) || !IsLowerAlphanumeric(name[^1])) return "it must start and end with a letter or digit";
        return null;
    }

    /// <summary>An RFC 1123 subdomain (secret names): dot-separated labels, at most 253 characters.</summary>
    public static bool IsSubdomain(string name) =>
        name.Length is > 0 and <= 253 && name.Split('.').All(label => LabelProblem(label) is null);

    /// <summary>A label value: empty, or at most 63 of [A-Za-z0-9-_.] with a letter or digit at both ends.</summary>
    public static bool IsLabelValue(string value)
    {
        if (value.Length == 0) return true;
        if (value.Length > MaxLabelLength || !char.IsAsciiLetterOrDigit(value[0]) || !char.IsAsciiLetterOrDigit(value[^1])) return false;
        return value.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
    }

    /// <summary>
    /// The Secret holding a deployment's CA bundle: "&lt;name&gt;-proxy-ca" as upstream names it (so its secrets are
    /// updated in place), or, when that exceeds 63 characters, the first 45 characters of the name, '-', 8 hex digits
    /// of the name's SHA-256 and "-proxy-ca": two long names that share a prefix never share a secret.
    /// </summary>
    public static string ProxyCaSecretName(string deploymentName)
    {
        if (deploymentName.Length + ProxyCaSuffix.Length <= MaxLabelLength) return deploymentName + ProxyCaSuffix;
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(deploymentName)))[..8];
        var keep = MaxLabelLength - ProxyCaSuffix.Length - 1 - hash.Length;
        return deploymentName[..keep] + "-" + hash + ProxyCaSuffix;
    }

    private static bool IsLowerAlphanumeric(char c) => c is >= 'a' and <= 'z' or >= '0' and <= '9';
}

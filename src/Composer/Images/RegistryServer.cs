using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Composer.Images;

/// <summary>
/// Validation and normalization of <c>opencti.daemon.registry.server</c>: what users write (a host, a port, a
/// proxy-cache path, sometimes a scheme) into the prefix put in front of image names.
/// </summary>
public static class RegistryServer
{
    public const string SettingKey = "opencti.daemon.registry.server";

    /// <summary>
    /// Normalizes a configured server: trims blanks, strips an <c>http://</c> or <c>https://</c> scheme and trailing
    /// '/'. The result is <c>host[:port][/path]</c> in the reference grammar, with a host Docker reads as a
    /// registry (it has a '.' or a ':port', is <c>localhost</c>, or has an uppercase letter). Null or blank means
    /// "no registry configured" (<paramref name="server"/> null, success).
    /// </summary>
    public static bool TryNormalize(string? configured, out string? server, [NotNullWhen(false)] out string? error)
    {
        server = null;
        error = null;
        if (string.IsNullOrWhiteSpace(configured)) return true;

        var text = configured.AsSpan().Trim();
        if (text.Contains('@'))
        {
            // Never echo the value: it likely carries a password.
            error = $"{SettingKey}: must be host[:port][/path] without credentials (user:password@); " +
                    "put them in opencti.daemon.registry.username and opencti.daemon.registry.password";
            return false;
        }
        if (text.StartsWith("https://", StringComparison.OrdinalIgnoreCase)) text = text["https://".Length..];
        else if (text.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) text = text["http://".Length..];
        text = text.TrimEnd('/');

        var shown = Quote(configured.Trim());
        if (text.Contains("://", StringComparison.Ordinal))
        {
            error = $"{SettingKey}: {shown} has an unsupported scheme; expected host[:port][/path], optionally after https://";
            return false;
        }
        if (text.IsEmpty)
        {
            error = $"{SettingKey}: {shown} names no host; expected host[:port][/path], for example registry.example.com:5000/mirror";
            return false;
        }

        var slash = text.IndexOf('/');
        var host = slash < 0 ? text : text[..slash];
        if (!ImageReference.IsRegistryHost(host))
        {
            error = $"{SettingKey}: {shown}: {Quote(host)} is not a valid registry host[:port] " +
                    "(DNS name or IPv4 address, [IPv6] in brackets, optional numeric port); expected host[:port][/path]";
            return false;
        }
        if (!ImageReference.IsReadAsRegistry(host))
        {
            error = $"{SettingKey}: {shown}: Docker reads \"{host}/<image>\" as a Docker Hub namespace, not as a registry; " +
                    $"use a host name with a dot (registry.local), add the port ({host}:5000) or use localhost";
            return false;
        }
        if (slash >= 0 && !ImageReference.IsRepositoryPath(text[(slash + 1)..]))
        {
            error = $"{SettingKey}: {shown}: the path {Quote(text[(slash + 1)..])} is not a valid repository path " +
                    "(lowercase letters, digits and '.', '_', '__', '-' separators, components joined by '/')";
            return false;
        }
        server = text.ToString();
        return true;
    }

    /// <summary>Quotes text for a message, escaping quotes, backslashes and control or invisible characters.</summary>
    internal static string Quote(ReadOnlySpan<char> text)
    {
        var sb = new StringBuilder(text.Length + 2);
        sb.Append('"');
        foreach (var c in text)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (char.IsControl(c) || char.IsSurrogate(c) || c is '\u200B' or '\uFEFF' or '\u00A0')
                    {
                        sb.Append(c <= 0xFF ? $"\\x{(int)c:x2}" : $"\\u{(int)c:x4}");
                    }
                    else
                    {
                        sb.Append(c);
                    }
                    break;
            }
        }
        sb.Append('"');
        return sb.ToString();
    }
}

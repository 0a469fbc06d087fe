using Composer.Diagnostics;

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
    /// registry (it has a '.' or a ':port', is <c>localhost</c>, or has an uppercase letter); null or blank means
    /// "no registry configured" (a null server). The failure says why without the key (the caller names the key and
    /// the source) and never echoes credentials.
    /// </summary>
    public static Result<string?> Normalize(string? configured) =>
        Problem(configured, out var server) is { } problem ? Failure.Input(problem) : Result<string?>.Success(server);

    private static string? Problem(string? configured, out string? server)
    {
        server = null;
        if (string.IsNullOrWhiteSpace(configured)) return null;

        var text = configured.AsSpan().Trim();
        if (text.Contains('@'))
        {
            // Never echo the value: it likely carries a password.
            return $"must be host[:port][/path] without credentials (user:password@); " +
                    "put them in opencti.daemon.registry.username and opencti.daemon.registry.password";
        }
        if (text.StartsWith("https://", StringComparison.OrdinalIgnoreCase)) text = text["https://".Length..];
        else if (text.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) text = text["http://".Length..];
        text = text.TrimEnd('/');

        var shown = Quote(configured.Trim());
        if (text.Contains("://", StringComparison.Ordinal))
        {
            return $"{shown} has an unsupported scheme; expected host[:port][/path], optionally after https://";
        }
        if (text.IsEmpty)
        {
            return $"{shown} names no host; expected host[:port][/path], for example registry.example.com:5000/mirror";
        }

        var slash = text.IndexOf('/');
        var host = slash < 0 ? text : text[..slash];
        if (!ImageReference.IsRegistryHost(host))
        {
            return $"{shown}: {Quote(host)} is not a valid registry host[:port] " +
                    "(DNS name or IPv4 address, [IPv6] in brackets, optional numeric port); expected host[:port][/path]";
        }
        if (!ImageReference.IsReadAsRegistry(host))
        {
            return $"{shown}: Docker reads \"{host}/<image>\" as a Docker Hub namespace, not as a registry; " +
                    $"use a host name with a dot (registry.local), add the port ({host}:5000) or use localhost";
        }
        if (slash >= 0 && !ImageReference.IsRepositoryPath(text[(slash + 1)..]))
        {
            return $"{shown}: the path {Quote(text[(slash + 1)..])} is not a valid repository path " +
                    "(lowercase letters, digits and '.', '_', '__', '-' separators, components joined by '/')";
        }
        server = text.ToString();
        return null;
    }

    /// <summary>Quotes text for a message, escaping quotes, backslashes and control or invisible characters.</summary>
    internal static string Quote(ReadOnlySpan<char> text) => QuotedText.Quote(text, QuoteStyle.Message);
}

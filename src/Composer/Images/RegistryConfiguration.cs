using System.Text;
using System.Text.Json;
using Composer.Configuration;

namespace Composer.Images;

/// <summary>
/// opencti.daemon.registry, validated and ready for use: the image prefix, the credentials and the host they
/// belong to, the scheme to reach that host, token and retry limits.
/// The server may be written with a scheme: "http://host:port" marks an insecure (plain http) registry,
/// "https://127.0.0.1:5000" forces TLS on a loopback registry; without a scheme Composer uses https, except
/// for localhost, 127.0.0.0/8 and ::1 (http, as Docker does). The scheme is never part of the image prefix.
/// </summary>
public sealed class RegistryConfiguration
{
    private const string Key = "opencti.daemon.registry";

    private RegistryConfiguration() { }

    /// <summary>No registry configured: images are used as written and pulled anonymously.</summary>
    public static RegistryConfiguration Anonymous { get; } = new();

    /// <summary>The server as written, without scheme and trailing '/': host[:port][/path]. Prefixed to images that name no registry.</summary>
    public string? ImagePrefix { get; private init; }

    /// <summary>host[:port] of the configured server (lower case), or null when no server is configured.</summary>
    public string? ServerHost { get; private init; }

    /// <summary>Scheme written in front of the server: "http", "https" or null (default rules).</summary>
    public string? ServerScheme { get; private init; }

    /// <summary>Credentials (only when both username and password are set).</summary>
    public RegistryCredentials? Credentials { get; private init; }

    public TimeSpan TokenTtl { get; private init; } = TimeSpan.FromSeconds(1800);
    public int RetryAttempts { get; private init; } = 3;
    public TimeSpan RetryDelay { get; private init; } = TimeSpan.FromSeconds(5);

    /// <summary>Non-fatal remarks (e.g. a username without a password), for the caller to print or log.</summary>
    public IReadOnlyList<string> Warnings { get; private init; } = [];

    /// <summary>Validates the settings. Errors name the key and what was expected; on any error the result is null.</summary>
    public static RegistryConfiguration? FromSettings(RegistrySettings? settings, ICollection<string> errors, string source = "configuration")
    {
        if (settings is null) return Anonymous;
        var startErrors = errors.Count;
        var warnings = new List<string>();
        string? prefix = null, host = null, scheme = null;
        if (!string.IsNullOrWhiteSpace(settings.Server))
        {
            if (!TryParseServer(settings.Server.Trim(), out scheme, out host, out prefix, out var why))
            {
                errors.Add($"{Key}.server: '{settings.Server}' is not a registry address: {why}; expected host[:port][/path], optionally with http:// or https:// ({source})");
            }
        }
        if (settings.TokenTtl <= 0) errors.Add($"{Key}.token_ttl: {settings.TokenTtl} must be a positive number of seconds ({source})");
        if (settings.RetryAttempts < 0) errors.Add($"{Key}.retry_attempts: {settings.RetryAttempts} must be 0 or more ({source})");
        if (settings.RetryDelay < 0) errors.Add($"{Key}.retry_delay: {settings.RetryDelay} must be 0 or more seconds ({source})");

        var hasUser = !string.IsNullOrEmpty(settings.Username);
        var hasPassword = !string.IsNullOrEmpty(settings.Password);
        RegistryCredentials? credentials = null;
        if (hasUser && hasPassword)
        {
            credentials = new RegistryCredentials(settings.Username!, settings.Password!, settings.Email, host);
            if (host is null)
            {
                warnings.Add($"{Key}: username and password are set without a server; they are used for Docker Hub (docker.io) only");
            }
        }
        else if (hasUser != hasPassword)
        {
            warnings.Add($"{Key}: {(hasUser ? "username" : "password")} is set without {(hasUser ? "password" : "username")}; images are pulled anonymously");
        }
        if (errors.Count > startErrors) return null;
        return new RegistryConfiguration
        {
            ImagePrefix = prefix,
            ServerHost = host,
            ServerScheme = scheme,
            Credentials = credentials,
            TokenTtl = TimeSpan.FromSeconds(settings.TokenTtl),
            RetryAttempts = settings.RetryAttempts,
            RetryDelay = TimeSpan.FromSeconds(settings.RetryDelay),
            Warnings = warnings,
        };
    }

    /// <summary>
    /// The credentials to use for an image hosted on registryHost (host[:port]), or null: credentials only ever go
    /// to the configured registry (a server with a path, harbor.corp/cache, matches host harbor.corp).
    /// </summary>
    public RegistryCredentials? CredentialsFor(string registryHost)
    {
        if (Credentials is null || string.IsNullOrEmpty(registryHost)) return null;
        var own = ServerHost ?? RegistryHosts.DockerHub;
        return RegistryHosts.SameRegistry(own, registryHost) ? Credentials : null;
    }

    /// <summary>The scheme used to reach registryHost's API (see the class remarks).</summary>
    public string SchemeFor(string registryHost)
    {
        if (ServerScheme is not null && ServerHost is not null && RegistryHosts.SameRegistry(ServerHost, registryHost)) return ServerScheme;
        return RegistryHosts.IsLoopback(registryHost) ? "http" : "https";
    }

    /// <summary>Kubernetes pull-secret name: slug of the server (registry.example.com:5000 → registry-example-com-5000), as upstream.</summary>
    public string PullSecretName => Slug(ImagePrefix ?? RegistryHosts.DockerHub);

    /// <summary>
    /// The .dockerconfigjson of a kubernetes.io/dockerconfigjson pull secret, or null without credentials:
    /// {"auths":{"host[:port]":{"username","password","email"?,"auth":base64(user:pass)}}}. Holds the password:
    /// never log it.
    /// </summary>
    public string? DockerConfigJson()
    {
        if (Credentials is not { } c) return null;
        var key = ServerHost ?? RegistryHosts.DockerHubConfigKey;
        var document = new DockerConfigJsonDocument
        {
            Auths = new Dictionary<string, DockerConfigAuthEntry>(StringComparer.Ordinal)
            {
                [key] = new() { Username = c.Username, Password = c.Password, Email = c.Email, Auth = c.BasicParameter() },
            },
        };
        return JsonSerializer.Serialize(document, RegistryJsonContext.Default.DockerConfigJsonDocument);
    }

    public override string ToString() =>
        $"RegistryConfiguration {{ server = {ImagePrefix ?? "(none)"}, credentials = {(Credentials is null ? "none" : Credentials.ToString())}, token_ttl = {TokenTtl.TotalSeconds}s, retry_attempts = {RetryAttempts}, retry_delay = {RetryDelay.TotalSeconds}s }}";

    /// <summary>
    /// Slug like upstream (slug 0.1.6): ASCII letters lower-cased, digits kept, each run of anything else one '-',
    /// no '-' at either end. Non-ASCII characters count as separators here (upstream transliterates them).
    /// </summary>
    public static string Slug(string text)
    {
        var sb = new StringBuilder(text.Length);
        var pendingDash = false;
        foreach (var ch in text)
        {
            if (char.IsAsciiLetterOrDigit(ch))
            {
                if (pendingDash && sb.Length > 0) sb.Append('-');
                pendingDash = false;
                sb.Append(char.ToLowerInvariant(ch));
            }
            else
            {
                pendingDash = true;
            }
        }
        return sb.ToString();
    }

    internal static bool TryParseServer(string server, out string? scheme, out string? host, out string? prefix, out string why)
    {
        scheme = null;
        host = null;
        prefix = null;
        var rest = server;
        var sep = rest.IndexOf("://", StringComparison.Ordinal);
        if (sep >= 0)
        {
            var s = rest[..sep].ToLowerInvariant();
            if (s is not ("http" or "https"))
            {
                why = $"scheme '{rest[..sep]}' is not http or https";
                return false;
            }
            scheme = s;
            rest = rest[(sep + 3)..];
        }
        rest = rest.TrimEnd('/');
        if (rest.Length == 0)
        {
            why = "no host";
            return false;
        }
        var slash = rest.IndexOf('/');
        var hostPart = slash < 0 ? rest : rest[..slash];
        if (!IsValidHostPort(hostPart, out why)) return false;
        if (slash >= 0)
        {
            var path = rest[(slash + 1)..];
            foreach (var ch in path)
            {
                if (!(char.IsAsciiLetterLower(ch) || char.IsAsciiDigit(ch) || ch is '/' or '.' or '_' or '-'))
                {
                    why = $"path '{path}' may only hold lower-case letters, digits, '.', '_', '-' and '/'";
                    return false;
                }
            }
        }
        host = hostPart.ToLowerInvariant();
        prefix = slash < 0 ? host : host + rest[slash..];
        why = "";
        return true;
    }

    private static bool IsValidHostPort(string hostPort, out string why)
    {
        string name;
        string? port = null;
        if (hostPort.StartsWith('['))
        {
            var end = hostPort.IndexOf(']');
            if (end < 0 || !System.Net.IPAddress.TryParse(hostPort[1..end], out _))
            {
                why = $"'{hostPort}' is not a bracketed IPv6 address";
                return false;
            }
            name = "";
            if (end + 1 < hostPort.Length)
            {
                if (hostPort[end + 1] != ':') { why = $"unexpected text after ']' in '{hostPort}'"; return false; }
                port = hostPort[(end + 2)..];
            }
        }
        else
        {
            var colon = hostPort.IndexOf(':');
            name = colon < 0 ? hostPort : hostPort[..colon];
            if (colon >= 0) port = hostPort[(colon + 1)..];
            if (name.Length == 0) { why = "empty host name"; return false; }
            foreach (var label in name.Split('.'))
            {
                if (label.Length == 0 || label.StartsWith('-') || label.EndsWith('-') || !label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
                {
                    why = $"host '{name}' is not a valid DNS name or IP address";
                    return false;
                }
            }
        }
        if (port is not null && (!int.TryParse(port, System.Globalization.NumberStyles.None, null, out var p) || p is < 1 or > 65535))
        {
            why = $"port '{port}' is not a number between 1 and 65535";
            return false;
        }
        why = "";
        return true;
    }
}

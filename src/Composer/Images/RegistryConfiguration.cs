using System.Text;
using System.Text.Json;
using Composer.Configuration;

namespace Composer.Images;

/// <summary>
/// opencti.daemon.registry, validated and ready for use, decided once by the resolve step: the image prefix (and the
/// <see cref="Images"/> resolver that applies it), the credentials as loaded and the file their password is re-read
/// from, the host they belong to, the scheme to reach that host, token and retry limits.
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

    /// <summary>The server normalized by <see cref="RegistryServer.Normalize"/> (no scheme, no trailing '/'): host[:port][/path], the prefix <see cref="Images"/> puts in front.</summary>
    public string? ImagePrefix { get; private init; }

    /// <summary>Prefix resolution with <see cref="ImagePrefix"/>: the one place an image name becomes the image to pull.</summary>
    public ImageResolver Images { get; private init; } = ImageResolver.NoRegistry;

    /// <summary>host[:port] of the configured server (lower case), or null when no server is configured.</summary>
    public string? ServerHost { get; private init; }

    /// <summary>Scheme written in front of the server: "http", "https" or null (default rules).</summary>
    public string? ServerScheme { get; private init; }

    /// <summary>Credentials as loaded (only when both username and password are set); <see cref="RegistryCredentialSource"/> keeps them current.</summary>
    public RegistryCredentials? Credentials { get; private init; }

    /// <summary>
    /// The file the password was read from (OPENCTI__DAEMON__REGISTRY__PASSWORD_FILE), or null when it was given as a
    /// value: a mounted secret that an external job refreshes (an ECR token), read again every token_ttl.
    /// </summary>
    public string? PasswordFile { get; private init; }

    /// <summary>
    /// The Docker CLI config.json whose auths, credHelpers and credsStore give the credentials of every other registry
    /// (<see cref="DockerConfigFile"/>): opencti.daemon.registry.docker_config, else $DOCKER_CONFIG/config.json, else
    /// $HOME/.docker/config.json; null when none of them is set. A file that does not exist holds no credentials.
    /// </summary>
    public string? DockerConfigPath { get; private init; }

    public TimeSpan TokenTtl { get; private init; } = TimeSpan.FromSeconds(1800);
    public int RetryAttempts { get; private init; } = 3;
    public TimeSpan RetryDelay { get; private init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The one rule for opencti.daemon.registry: a server that Docker reads as a registry (RegistryServer), a port in
    /// range, a positive token_ttl, non-negative retries; username and password both or neither (half a credential
    /// is an error: often a *_FILE secret that did not load); credentials without a server are Docker Hub's, with a
    /// warning. Every problem names its key and the source of its value; on any error the result is null.
    /// </summary>
    /// <param name="environment">The process environment: where a password given as a file is found again.</param>
    public static RegistryConfiguration? FromSettings(RegistrySettings? settings, ConfigProvenance provenance, IReadOnlyDictionary<string, string> environment,
        ConfigReport report)
    {
        var startErrors = report.Errors.Count;
        void Error(string key, string message) => report.Error($"{Key}.{key}", message);
        var dockerConfig = DockerConfigPathFrom(settings?.DockerConfig, environment, Error);
        if (settings is null)
        {
            if (report.Errors.Count > startErrors) return null;
            return dockerConfig is null ? Anonymous : new RegistryConfiguration { DockerConfigPath = dockerConfig };
        }
        string? prefix = null, host = null, scheme = null;
        var server = RegistryServer.Normalize(settings.Server);
        if (!server.IsSuccess)
        {
            Error("server", server.Failure.Message);
        }
        else if (server.Value is { } normalized)
        {
            prefix = normalized;
            var slash = prefix.IndexOf('/');
            host = (slash < 0 ? prefix : prefix[..slash]).ToLowerInvariant();
            var portText = host.StartsWith('[') ? (host.IndexOf("]:", StringComparison.Ordinal) is var b and >= 0 ? host[(b + 2)..] : null)
                : (host.IndexOf(':') is var c and >= 0 ? host[(c + 1)..] : null);
            if (portText is not null && (!int.TryParse(portText, System.Globalization.NumberStyles.None, null, out var port) || port is < 1 or > 65535))
            {
                Error("server", $"port {portText} of '{host}' is not between 1 and 65535");
            }
            var written = settings.Server!.Trim();
            if (written.StartsWith("http://", StringComparison.OrdinalIgnoreCase)) scheme = "http";
            else if (written.StartsWith("https://", StringComparison.OrdinalIgnoreCase)) scheme = "https";
        }
        if (settings.TokenTtl <= 0) Error("token_ttl", $"expected a number greater than 0, got {settings.TokenTtl}");
        if (settings.RetryAttempts < 0) Error("retry_attempts", $"expected a number >= 0, got {settings.RetryAttempts}");
        if (settings.RetryDelay < 0) Error("retry_delay", $"expected a number >= 0, got {settings.RetryDelay}");

        var hasUser = !string.IsNullOrEmpty(settings.Username);
        var hasPassword = settings.Password is { IsEmpty: false };
        if (hasUser && !hasPassword) Error("username", $"a username needs a password ({Key}.password)");
        if (hasPassword && !hasUser) Error("password", $"a password needs a username ({Key}.username)");
        if (report.Errors.Count > startErrors) return null;

        RegistryCredentials? credentials = null;
        string? passwordFile = null;
        if (hasUser && hasPassword)
        {
            credentials = new RegistryCredentials(settings.Username!, settings.Password!, settings.Email, host);
            if (provenance.EnvironmentVariableOf($"{Key}.password") is { } variable && variable.EndsWith(SecretFile.VariableSuffix, StringComparison.Ordinal)
                && environment.TryGetValue(variable, out var path))
            {
                passwordFile = path;
            }
            if (host is null)
            {
                report.Warning($"{Key}.username",
                    $"username and password are set without a server ({Key}.server); they are used for Docker Hub (docker.io) only");
            }
        }
        return new RegistryConfiguration
        {
            ImagePrefix = prefix,
            Images = prefix is null ? ImageResolver.NoRegistry : new ImageResolver(prefix),
            ServerHost = host,
            ServerScheme = scheme,
            Credentials = credentials,
            PasswordFile = passwordFile,
            DockerConfigPath = dockerConfig,
            TokenTtl = TimeSpan.FromSeconds(settings.TokenTtl),
            RetryAttempts = settings.RetryAttempts,
            RetryDelay = TimeSpan.FromSeconds(settings.RetryDelay),
        };
    }

    /// <summary>
    /// Where the Docker CLI config is, as the docker CLI finds it: the configured file (which must exist), else
    /// DOCKER_CONFIG's config.json, else ~/.docker/config.json; null when none applies.
    /// </summary>
    private static string? DockerConfigPathFrom(string? configured, IReadOnlyDictionary<string, string> environment, Action<string, string> error)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            var path = configured.Trim();
            if (Directory.Exists(path)) error("docker_config", $"\"{path}\" is a directory; expected the config.json file itself (for a directory, set DOCKER_CONFIG)");
            else if (!File.Exists(path)) error("docker_config", $"\"{path}\" does not exist; expected a Docker config.json file");
            return path;
        }
        if (environment.TryGetValue("DOCKER_CONFIG", out var directory) && !string.IsNullOrWhiteSpace(directory)) return Path.Combine(directory.Trim(), "config.json");
        if (environment.TryGetValue("HOME", out var home) && !string.IsNullOrWhiteSpace(home)) return Path.Combine(home, ".docker", "config.json");
        return null;
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
    /// The .dockerconfigjson of a kubernetes.io/dockerconfigjson pull secret holding <paramref name="credentials"/> (one
    /// entry per registry, username and password only: the kubelet reads no tokens):
    /// {"auths":{"host[:port]":{…},"https://host[:port]":{…}}} with username, password, email? and
    /// auth = base64(user:pass). The kubelet matches an image against each key with its scheme removed, host labels
    /// and port compared exactly (case-sensitive) and the key's path as a prefix of the image's, so the key is the
    /// host exactly as images name it; the URL form is written as well for readers that expect docker-login-style
    /// keys (the kubelet reads both as the same entry). Docker Hub has its one legacy key (https://index.docker.io/v1/,
    /// which the kubelet maps to docker.io images). Holds the passwords: never log it.
    /// </summary>
    public string DockerConfigJson(IEnumerable<RegistryCredentials> credentials)
    {
        var auths = new Dictionary<string, DockerConfigAuthEntry>(StringComparer.Ordinal);
        foreach (var login in credentials)
        {
            if (!login.HasPassword) continue;
            var entry = new DockerConfigAuthEntry
            {
                Username = login.Username,
                Password = login.Password.Reveal(),
                Email = login.Email,
                Auth = login.BasicParameter(),
            };
            // The registry block's server as images are prefixed with it (its case kept); others as the image named them.
            var host = login.Source == RegistryCredentials.SettingsSource && ImagePrefix is not null
                ? (ImagePrefix.IndexOf('/') is var slash and >= 0 ? ImagePrefix[..slash] : ImagePrefix)
                : login.ServerAddress;
            if (host is null || RegistryHosts.IsDockerHub(host))
            {
                auths[RegistryHosts.DockerHubConfigKey] = entry;
                continue;
            }
            auths[host] = entry;
            auths[(login.Source == RegistryCredentials.SettingsSource ? ServerScheme ?? "https" : "https") + "://" + host] = entry;
        }
        var document = new DockerConfigJsonDocument { Auths = auths };
        return JsonSerializer.Serialize(document, RegistryJsonContext.Default.DockerConfigJsonDocument);
    }

    public override string ToString() =>
        $"RegistryConfiguration {{ server = {ImagePrefix ?? "(none)"}, credentials = {(Credentials is null ? "none" : Credentials.ToString())}{(PasswordFile is null ? "" : $", password_file = {PasswordFile}")}{(DockerConfigPath is null ? "" : $", docker_config = {DockerConfigPath}")}, token_ttl = {TokenTtl.TotalSeconds}s, retry_attempts = {RetryAttempts}, retry_delay = {RetryDelay.TotalSeconds}s }}";

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
}

using System.Text;
using System.Text.Json;
using Composer.Configuration;
using Composer.Diagnostics;

namespace Composer.Images;

/// <summary>
/// The registry part of a Docker CLI config.json, read as the docker CLI reads it: <c>auths</c> (per server key:
/// <c>auth</c> = base64 of user:password, else <c>username</c>/<c>password</c>; <c>identitytoken</c>;
/// <c>registrytoken</c>), <c>credHelpers</c> (server key → helper name) and <c>credsStore</c> (the helper for every
/// other server). Everything else in the file is ignored. The file is read bounded (<see cref="MaxBytes"/>).
/// </summary>
public sealed class DockerConfigFile
{
    /// <summary>The largest config.json read: real ones are a few KiB.</summary>
    public const int MaxBytes = 1024 * 1024;

    private readonly List<(string Key, AuthsEntry Entry)> _auths;

    private DockerConfigFile(string path, List<(string, AuthsEntry)> auths, Dictionary<string, string> credHelpers, string? credsStore)
    {
        Path = path;
        _auths = auths;
        CredHelpers = credHelpers;
        CredsStore = credsStore;
    }

    public string Path { get; }

    /// <summary>credHelpers: server key (as <see cref="ConfigKey"/> writes it) → helper name (docker-credential-&lt;name&gt;).</summary>
    public IReadOnlyDictionary<string, string> CredHelpers { get; }

    /// <summary>credsStore: the helper of every server without a credHelpers entry, or null.</summary>
    public string? CredsStore { get; }

    /// <summary>A file that does not exist: no credentials (the docker CLI's behaviour without a config.json).</summary>
    public static DockerConfigFile Missing(string path) => new(path, [], new Dictionary<string, string>(StringComparer.Ordinal), null);

    /// <summary>
    /// The key the docker CLI looks a registry up by: <c>https://index.docker.io/v1/</c> for Docker Hub (docker.io,
    /// index.docker.io, registry-1.docker.io), else the host[:port] exactly as the image names it.
    /// </summary>
    public static string ConfigKey(string registryHost) => RegistryHosts.IsDockerHub(registryHost) ? RegistryHosts.DockerHubConfigKey : registryHost;

    /// <summary>
    /// The docker CLI's reading of an auths key: without http:// or https:// and without anything from the first '/'
    /// ("https://registry:5000/v2/" → "registry:5000").
    /// </summary>
    public static string KeyHost(string key)
    {
        var host = key;
        if (host.StartsWith("http://", StringComparison.Ordinal)) host = host["http://".Length..];
        else if (host.StartsWith("https://", StringComparison.Ordinal)) host = host["https://".Length..];
        var slash = host.IndexOf('/');
        return slash < 0 ? host : host[..slash];
    }

    /// <summary>
    /// Reads the file: a missing file (or a missing directory on its path) is <see cref="Missing"/>; a file that cannot
    /// be read, is larger than <see cref="MaxBytes"/> or is not a JSON object is a failure naming the file.
    /// </summary>
    public static Result<DockerConfigFile> Read(string path)
    {
        byte[] bytes;
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            if (stream.Length > MaxBytes) return Failure.Input($"Docker config file \"{path}\" is larger than {MaxBytes / 1024} KiB");
            bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return Result<DockerConfigFile>.Success(Missing(path));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return Failure.Input($"cannot read the Docker config file \"{path}\": {FileErrors.Describe(ex, path)}");
        }
        return Parse(path, bytes);
    }

    /// <summary>Parses config.json text (see <see cref="Read"/>); <paramref name="path"/> names it in messages.</summary>
    public static Result<DockerConfigFile> Parse(string path, ReadOnlyMemory<byte> json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = false, MaxDepth = 16 });
        }
        catch (JsonException ex)
        {
            // The position only: the reader's message may quote a piece of the file, which may hold a secret.
            return Failure.Input($"Docker config file \"{path}\" is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1})");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return Failure.Input($"Docker config file \"{path}\" is not a JSON object");
            var auths = new List<(string, AuthsEntry)>();
            if (root.TryGetProperty("auths", out var authsElement) && authsElement.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in authsElement.EnumerateObject())
                {
                    auths.Add((property.Name, AuthsEntry.From(property.Value)));
                }
            }
            var helpers = new Dictionary<string, string>(StringComparer.Ordinal);
            if (root.TryGetProperty("credHelpers", out var helpersElement) && helpersElement.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in helpersElement.EnumerateObject())
                {
                    if (property.Value.ValueKind == JsonValueKind.String && property.Value.GetString() is { Length: > 0 } helper) helpers[property.Name] = helper;
                }
            }
            var store = root.TryGetProperty("credsStore", out var storeElement) && storeElement.ValueKind == JsonValueKind.String
                ? storeElement.GetString() : null;
            return Result<DockerConfigFile>.Success(new DockerConfigFile(path, auths, helpers, string.IsNullOrEmpty(store) ? null : store));
        }
    }

    /// <summary>
    /// The helper the docker CLI would ask for <paramref name="registryHost"/>: its credHelpers entry (the exact
    /// <see cref="ConfigKey"/>), else credsStore; null when the auths entries answer.
    /// </summary>
    public string? HelperFor(string registryHost) =>
        CredHelpers.TryGetValue(ConfigKey(registryHost), out var helper) ? helper : CredsStore;

    /// <summary>
    /// The auths credentials for <paramref name="registryHost"/>, matched as the docker CLI does: the entry whose key is
    /// exactly <see cref="ConfigKey"/>, else the first whose <see cref="KeyHost"/> is it ("https://registry:5000" and
    /// "registry:5000/v1/" both serve registry:5000; Docker Hub only by its own key). No entry, or an empty one: anonymous.
    /// </summary>
    public Result<RegistryLogin> AuthsFor(string registryHost)
    {
        var key = ConfigKey(registryHost);
        var found = _auths.FindIndex(a => a.Key == key);
        if (found < 0) found = _auths.FindIndex(a => KeyHost(a.Key) == key);
        if (found < 0) return Result<RegistryLogin>.Success(RegistryLogin.Anonymous);
        var (entryKey, entry) = _auths[found];
        var source = $"auths[\"{entryKey}\"] of {Path}";
        if (entry.Problem is { } problem) return Failure.Input($"Docker config file \"{Path}\": auths[\"{entryKey}\"] {problem}");
        var server = RegistryHosts.IsDockerHub(registryHost) ? null : registryHost;
        if (entry.IdentityToken is { Length: > 0 } identity)
        {
            return Result<RegistryLogin>.Success(new RegistryLogin(RegistryCredentials.FromIdentityToken(entry.Username, identity, server, source)));
        }
        if (entry.Username is { Length: > 0 } user && entry.Password is { Length: > 0 } password)
        {
            return Result<RegistryLogin>.Success(new RegistryLogin(new RegistryCredentials(user, new Secret(password), entry.Email, server, source)));
        }
        if (entry.RegistryToken is { Length: > 0 } token)
        {
            return Result<RegistryLogin>.Success(new RegistryLogin(RegistryCredentials.FromRegistryToken(token, server, source)));
        }
        return Result<RegistryLogin>.Success(RegistryLogin.Anonymous);
    }

    /// <summary>One auths entry, decoded; <see cref="Problem"/> says why it cannot be used (never quoting its value).</summary>
    private sealed record AuthsEntry(string? Username, string? Password, string? Email, string? IdentityToken, string? RegistryToken, string? Problem)
    {
        public static AuthsEntry From(JsonElement element)
        {
            if (element.ValueKind != JsonValueKind.Object) return new AuthsEntry(null, null, null, null, null, "is not a JSON object");
            string? Text(string name) => element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            var username = Text("username");
            var password = Text("password");
            if (Text("auth") is { Length: > 0 } auth)
            {
                // As the docker CLI: "auth" wins over username/password and must be base64 of "user:password".
                var bytes = new byte[auth.Length];
                if (!Convert.TryFromBase64String(auth, bytes, out var length))
                {
                    return new AuthsEntry(null, null, null, null, null, "has an \"auth\" that is not base64 (expected base64 of user:password)");
                }
                var text = Encoding.UTF8.GetString(bytes, 0, length);
                var colon = text.IndexOf(':');
                if (colon < 0) return new AuthsEntry(null, null, null, null, null, "has an \"auth\" that does not decode to user:password");
                username = text[..colon];
                password = text[(colon + 1)..];
            }
            return new AuthsEntry(username, password, Text("email"), Text("identitytoken"), Text("registrytoken"), null);
        }

        public override string ToString() => $"AuthsEntry {{ username = {Username}, secrets redacted }}";
    }

    public override string ToString() => $"DockerConfigFile {{ path = {Path}, auths = {_auths.Count}, credHelpers = {CredHelpers.Count}, credsStore = {CredsStore ?? "none"} }}";
}

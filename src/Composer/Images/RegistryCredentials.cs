using System.Text;
using System.Text.Json;

using Composer.Diagnostics;

namespace Composer.Images;

/// <summary>
/// What Composer sends to one registry: a username and password, or an identity token (an OAuth refresh token that
/// the registry's token server exchanges, what `docker login` to Azure and some others store, and what a credential
/// helper returns with the username "&lt;token&gt;"), or a registry token (a bearer token sent as it is). The secrets
/// are only ever written into the headers and documents below; ToString redacts them so a credential object that
/// reaches a log or an error message leaks nothing. <see cref="Source"/> names where they came from, for messages.
/// </summary>
public sealed class RegistryCredentials
{
    /// <summary>Where the registry block's credentials come from, as messages name it.</summary>
    public const string SettingsSource = "opencti.daemon.registry.username/password";

    public RegistryCredentials(string username, Secret password, string? email, string? serverAddress, string source = SettingsSource)
    {
        ArgumentException.ThrowIfNullOrEmpty(username);
        ArgumentNullException.ThrowIfNull(password);
        if (password.IsEmpty) throw new ArgumentException("the password is empty", nameof(password));
        Username = username;
        Password = password;
        Email = string.IsNullOrEmpty(email) ? null : email;
        ServerAddress = string.IsNullOrEmpty(serverAddress) ? null : serverAddress;
        Source = source;
    }

    /// <summary>A token (<paramref name="identityToken"/> or <paramref name="registryToken"/>), no password.</summary>
    private RegistryCredentials(string? serverAddress, string source, string username, (string? Identity, string? Registry) token)
    {
        var (identityToken, registryToken) = token;
        Username = username;
        Password = NoPassword;
        IdentityToken = Secret.From(identityToken);
        RegistryToken = Secret.From(registryToken);
        ServerAddress = string.IsNullOrEmpty(serverAddress) ? null : serverAddress;
        Source = source;
    }

    /// <summary>An identity token (OAuth refresh token) for <paramref name="serverAddress"/>; the username is informative only.</summary>
    public static RegistryCredentials FromIdentityToken(string? username, string identityToken, string? serverAddress, string source)
    {
        ArgumentException.ThrowIfNullOrEmpty(identityToken);
        return new RegistryCredentials(serverAddress, source, username ?? "", (identityToken, null));
    }

    /// <summary>A bearer token for <paramref name="serverAddress"/>, sent as it is.</summary>
    public static RegistryCredentials FromRegistryToken(string registryToken, string? serverAddress, string source)
    {
        ArgumentException.ThrowIfNullOrEmpty(registryToken);
        return new RegistryCredentials(serverAddress, source, "", (null, registryToken));
    }

    /// <summary>The user (may be empty with a token).</summary>
    public string Username { get; }

    private static readonly Secret NoPassword = Secret.Placeholder("");

    /// <summary>The password; empty when these credentials are a token.</summary>
    public Secret Password { get; }

    public string? Email { get; }

    /// <summary>An OAuth refresh token exchanged at the registry's token server (grant_type=refresh_token).</summary>
    public Secret? IdentityToken { get; }

    /// <summary>A bearer token presented to the registry as it is.</summary>
    public Secret? RegistryToken { get; }

    /// <summary>Whether these are a username and password (what a Kubernetes pull secret can carry).</summary>
    public bool HasPassword => !Password.IsEmpty;

    /// <summary>The registry these credentials belong to, host[:port] (no scheme, no path); null means Docker Hub.</summary>
    public string? ServerAddress { get; }

    /// <summary>Where they were found ("opencti.daemon.registry.username/password", a config.json, a credential helper): what a message tells the user to check.</summary>
    public string Source { get; }

    /// <summary>Who is asking, for messages: user 'name', or the kind of token.</summary>
    public string Who => HasPassword ? $"user '{Username}'"
        : IdentityToken is not null ? (Username.Length > 0 ? $"the identity token of user '{Username}'" : "an identity token")
        : "a registry token";

    /// <summary>
    /// Whether these credentials may be sent to <paramref name="registryHost"/>: credentials only ever go to the registry
    /// they belong to (a server with a path, harbor.corp/cache, belongs to host harbor.corp; Docker Hub's aliases are one).
    /// </summary>
    public bool IsFor(string registryHost) =>
        registryHost.Length > 0 && RegistryHosts.SameRegistry(ServerAddress ?? RegistryHosts.DockerHub, registryHost);

    /// <summary>The same user with another password (a rotated password file).</summary>
    public RegistryCredentials WithPassword(Secret password) => new(Username, password, Email, ServerAddress, Source);

    /// <summary>
    /// Value of the Docker Engine API X-Registry-Auth header, the one encoder of it (every Docker call that carries
    /// credentials goes out with this value): base64url (RFC 4648 §5, with '=' padding, as moby's
    /// EncodeAuthConfig writes and DecodeAuthConfig's base64.URLEncoding reads) of the compact JSON
    /// {"username","password","email"?,"serveraddress"?,"identitytoken"?,"registrytoken"?}.
    /// </summary>
    public string ToXRegistryAuth()
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(new XRegistryAuthPayload
        {
            Username = Username.Length == 0 ? null : Username,
            Password = HasPassword ? Password.Reveal() : null,
            Email = Email,
            ServerAddress = ServerAddress,
            IdentityToken = IdentityToken?.Reveal(),
            RegistryToken = RegistryToken?.Reveal(),
        }, RegistryJsonContext.Default.XRegistryAuthPayload);
        return Base64Url(json);
    }

    /// <summary>Standard base64 of "username:password": the HTTP Basic parameter and the dockerconfigjson "auth" field.</summary>
    public string BasicParameter() => Convert.ToBase64String(Encoding.UTF8.GetBytes(Username + ":" + Password.Reveal()));

    public override string ToString() =>
        $"RegistryCredentials {{ username = {Username}, {(HasPassword ? "password" : IdentityToken is not null ? "identity token" : "registry token")} = ***, server = {ServerAddress ?? "docker.io"}, source = {Source} }}";

    /// <summary>RFC 4648 §5 alphabet, padded.</summary>
    internal static string Base64Url(ReadOnlySpan<byte> data) =>
        Convert.ToBase64String(data).Replace('+', '-').Replace('/', '_');
}

/// <summary>
/// What the per-registry lookup (<see cref="RegistryAccess.CredentialsForAsync(string, CancellationToken)"/>) found for
/// one registry: its credentials, or none (anonymous access).
/// </summary>
public sealed record RegistryLogin(RegistryCredentials? Credentials)
{
    public static RegistryLogin Anonymous { get; } = new((RegistryCredentials?)null);
}

using System.Text;
using System.Text.Json;
using Composer.Diagnostics;

namespace Composer.Images;

/// <summary>
/// Username/password for one registry. The password is a <see cref="Secret"/>, only ever revealed into the headers
/// and documents below; ToString redacts it so a credential object that reaches a log or an error message leaks nothing.
/// </summary>
public sealed class RegistryCredentials
{
    public RegistryCredentials(string username, Secret password, string? email, string? serverAddress)
    {
        ArgumentException.ThrowIfNullOrEmpty(username);
        ArgumentNullException.ThrowIfNull(password);
        if (password.IsEmpty) throw new ArgumentException("the password is empty", nameof(password));
        Username = username;
        Password = password;
        Email = string.IsNullOrEmpty(email) ? null : email;
        ServerAddress = string.IsNullOrEmpty(serverAddress) ? null : serverAddress;
    }

    public string Username { get; }
    public Secret Password { get; }
    public string? Email { get; }

    /// <summary>The registry these credentials belong to, host[:port] (no scheme, no path); null means Docker Hub.</summary>
    public string? ServerAddress { get; }

    /// <summary>
    /// Whether these credentials may be sent to <paramref name="registryHost"/>: credentials only ever go to the registry
    /// they belong to (a server with a path, harbor.corp/cache, belongs to host harbor.corp; Docker Hub's aliases are one).
    /// </summary>
    public bool IsFor(string registryHost) =>
        registryHost.Length > 0 && RegistryHosts.SameRegistry(ServerAddress ?? RegistryHosts.DockerHub, registryHost);

    /// <summary>The same user with another password (a rotated password file).</summary>
    public RegistryCredentials WithPassword(Secret password) => new(Username, password, Email, ServerAddress);

    /// <summary>
    /// Value of the Docker Engine API X-Registry-Auth header, the one encoder of it (every Docker call that carries
    /// credentials goes out with this value): base64url (RFC 4648 §5, with '=' padding, as moby's
    /// EncodeAuthConfig writes and DecodeAuthConfig's base64.URLEncoding reads) of the compact JSON
    /// {"username","password","email"?,"serveraddress"?}.
    /// </summary>
    public string ToXRegistryAuth()
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(new XRegistryAuthPayload
        {
            Username = Username,
            Password = Password.Reveal(),
            Email = Email,
            ServerAddress = ServerAddress,
        }, RegistryJsonContext.Default.XRegistryAuthPayload);
        return Base64Url(json);
    }

    /// <summary>Standard base64 of "username:password": the HTTP Basic parameter and the dockerconfigjson "auth" field.</summary>
    public string BasicParameter() => Convert.ToBase64String(Encoding.UTF8.GetBytes(Username + ":" + Password.Reveal()));

    public override string ToString() =>
        $"RegistryCredentials {{ username = {Username}, password = ***, server = {ServerAddress ?? "docker.io"} }}";

    /// <summary>RFC 4648 §5 alphabet, padded.</summary>
    internal static string Base64Url(ReadOnlySpan<byte> data) =>
        Convert.ToBase64String(data).Replace('+', '-').Replace('/', '_');
}

using Composer.Diagnostics;

namespace Composer.Platform;

/// <summary>What a platform client needs besides its HttpClient: where, who, and the key for secrets.</summary>
/// <param name="Url">opencti.url / openaev.url (a trailing '/' is fine).</param>
/// <param name="Token">The API token, sent as Authorization: Bearer; never logged or put in a message.</param>
/// <param name="ManagerId">manager.id.</param>
/// <param name="ManagerName">manager.name.</param>
/// <param name="Key">The manager key: its public half is registered, connector secrets are decrypted with it.</param>
/// <param name="Logger">Where the client reports failures (and registrations).</param>
public sealed record PlatformClientOptions(string Url, string Token, string ManagerId, string ManagerName, ManagerKey Key, Logger Logger)
{
    // The generated ToString would print the token.
    public override string ToString() => $"{SecretRedaction.RedactUrl(Url)} as manager {ManagerId}";
}

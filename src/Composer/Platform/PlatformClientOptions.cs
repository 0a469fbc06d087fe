using Composer.Diagnostics;

namespace Composer.Platform;

/// <summary>What a platform client needs besides its HttpClient: where, who, and the key for secrets.</summary>
/// <param name="Url">opencti.url / openaev.url (a trailing '/' is fine).</param>
/// <param name="Token">The API token, revealed only into the Authorization: Bearer header.</param>
/// <param name="ManagerId">manager.id.</param>
/// <param name="ManagerName">manager.name.</param>
/// <param name="Key">The manager key: its public half is registered, connector secrets are decrypted with it.</param>
/// <param name="Logger">Where the client reports failures (and registrations).</param>
public sealed record PlatformClientOptions(string Url, Secret Token, string ManagerId, string ManagerName, ManagerKey Key, Logger Logger)
{
    // The generated ToString would list every member.
    public override string ToString() => $"{SecretRedaction.RedactUrl(Url)} as manager {ManagerId}";
}

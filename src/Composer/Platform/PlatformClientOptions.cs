using Composer.Diagnostics;

namespace Composer.Platform;

/// <summary>What a platform client needs besides its HttpClient: where, who, the key for secrets, and its bounds.</summary>
/// <param name="Url">opencti.url / openaev.url (a trailing '/' is fine).</param>
/// <param name="Token">The API token, sent as Authorization: Bearer; never logged or put in a message.</param>
/// <param name="ManagerId">manager.id.</param>
/// <param name="ManagerName">manager.name.</param>
/// <param name="Key">The manager key: its public half is registered, connector secrets are decrypted with it.</param>
/// <param name="Logger">Where the client reports failures (and registrations).</param>
public sealed record PlatformClientOptions(string Url, string Token, string ManagerId, string ManagerName, ManagerKey Key, Logger Logger)
{
    /// <summary>request_timeout: the whole of every operation but the listing (connection, answer, body).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>listing_timeout: the whole of the connector listing, which the platform may hold (OpenCTI: up to 90 s).</summary>
    public TimeSpan ListingTimeout { get; init; } = TimeSpan.FromSeconds(120);

    /// <summary>listing_max_size: the largest listing answer read, in bytes.</summary>
    public long ListingMaxSize { get; init; } = 16 * 1024 * 1024;

    /// <summary>The clock of the timeouts.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    // The generated ToString would print the token.
    public override string ToString() => $"{SecretRedaction.RedactUrl(Url)} as manager {ManagerId}";
}

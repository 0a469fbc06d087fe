namespace Composer.Tests.Infrastructure;

/// <summary>
/// A connector as a platform stand-in holds it (what OpenCTI calls a ManagedConnector, OpenAEV a connector
/// instance). Immutable: change one with <c>with</c> through <see cref="PlatformStandIn.UpdateConnector"/>.
/// </summary>
/// <param name="RequestedStatus">starting or stopping (any other word is sent as is, to test the client).</param>
/// <param name="CurrentStatus">What the manager last reported (started/stopped), or null before any report.</param>
public sealed record StandInConnector(
    string Id,
    string Name,
    string Image,
    string Hash,
    string RequestedStatus = "starting",
    string? CurrentStatus = null)
{
    public IReadOnlyList<StandInEntry> Configuration { get; init; } = [];
}

/// <summary>
/// One contract configuration entry. Value is the plaintext; an encrypted entry is encrypted for the registered
/// manager key at every listing, with <see cref="Version"/> 1 (RSA PKCS#1 v1.5) or 2 (RSA OAEP-SHA256).
/// </summary>
public sealed record StandInEntry(string Key, string? Value, bool Encrypted = false, int Version = 2)
{
    /// <summary>Sent verbatim as the encrypted value instead of encrypting <see cref="Value"/> (an undecryptable secret).</summary>
    public string? RawCiphertext { get; init; }

    public static StandInEntry Secret(string key, string value, int version = 2) => new(key, value, Encrypted: true, version);
}

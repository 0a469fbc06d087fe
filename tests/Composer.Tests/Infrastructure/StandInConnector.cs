namespace Composer.Tests.Infrastructure;

/// <summary>How a connector came onto the platform, which decides how the platform stores and lists it.</summary>
public enum StandInOrigin
{
    /// <summary>Set up by the test as it likes (our own picture): its requested status, hash and entries as given.</summary>
    Explicit,

    /// <summary>
    /// Added from the catalog (OpenCTI managedConnectorAdd, OpenAEV catalog deployment): requested status
    /// <c>stopped</c> on OpenCTI (<c>stopping</c>, current <c>stopped</c>, on OpenAEV) until started, name cleaned and
    /// unique, the platform's own entries injected, the hash computed, a state-reset timestamp.
    /// </summary>
    Catalog,

    /// <summary>Migrated to managed (connectorMigrateToManaged): like <see cref="Catalog"/> but the name is kept as is (duplicates possible, OpenCTI issue 17564).</summary>
    Migrated,
}

/// <summary>
/// A connector as a platform stand-in holds it (what OpenCTI calls a ManagedConnector, OpenAEV a connector
/// instance). Immutable: change one with <c>with</c> through <see cref="PlatformStandIn.UpdateConnector"/>.
/// </summary>
/// <param name="Hash">The contract hash to list; null: computed as the platform does (image, every listed entry, state timestamp).</param>
/// <param name="RequestedStatus">starting, stopping or stopped (any other word is sent as is, to test the client).</param>
/// <param name="CurrentStatus">What the manager last reported (started/stopped), or null before any report.</param>
public sealed record StandInConnector(
    string Id,
    string Name,
    string Image,
    string? Hash,
    string RequestedStatus = "starting",
    string? CurrentStatus = null)
{
    public IReadOnlyList<StandInEntry> Configuration { get; init; } = [];

    public StandInOrigin Origin { get; init; } = StandInOrigin.Explicit;

    /// <summary>OpenCTI's connector_type, listed as CONNECTOR_TYPE.</summary>
    public string Type { get; init; } = "EXTERNAL_IMPORT";

    /// <summary>When the connector's state was last reset (OpenCTI connector_state_timestamp; part of the hash).</summary>
    public DateTimeOffset? StateTimestamp { get; init; }

    /// <summary>OpenCTI: the contract snapshot is missing, so resolving its image or hash throws and nulls the whole listing.</summary>
    public bool SnapshotMissing { get; init; }

    /// <summary>
    /// A scripted user starts this connector (requested status <c>starting</c>) as soon as the platform sees it
    /// deployed: its first status report or log upload, or its second listing to the registered manager (a whole cycle
    /// later). How end-to-end tests add connectors, as users do: from the catalog (stored stopped), then the start
    /// button once the manager deployed it.
    /// </summary>
    public bool StartOnceDeployed { get; init; }

    /// <summary>Whether the platform adds its own entries (CONNECTOR_ID ... proxy keys) to this one's contract.</summary>
    public bool IsPlatformManaged => Origin != StandInOrigin.Explicit;
}

/// <summary>
/// One contract configuration entry. Value is the plaintext; an encrypted entry is encrypted for the registered
/// manager key (once, then listed with the same ciphertext, as the platform stores it), with <see cref="Version"/>
/// 1 (RSA PKCS#1 v1.5) or 2 (RSA OAEP-SHA256).
/// </summary>
public sealed record StandInEntry(string Key, string? Value, bool Encrypted = false, int Version = 2)
{
    /// <summary>Sent verbatim as the encrypted value instead of encrypting <see cref="Value"/> (an undecryptable secret).</summary>
    public string? RawCiphertext { get; init; }

    public static StandInEntry Secret(string key, string value, int version = 2) => new(key, value, Encrypted: true, version);
}

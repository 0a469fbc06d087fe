using Composer.Configuration;

namespace Composer.Platform;

/// <summary>
/// One platform's manager API: OpenCTI over GraphQL (upstream-behaviour §2) or OpenAEV over REST (§3). Every
/// operation returns its failure as a value (transport errors, HTTP errors, GraphQL errors, nulls, malformed JSON);
/// nothing throws for what the platform or the network does. Only cancellation throws.
/// </summary>
public interface IPlatformClient : IDisposable
{
    PlatformKind Platform { get; }

    /// <summary>The platform version (OpenCTI about.version; OpenAEV GET /api/settings/version).</summary>
    Task<PlatformResult<string>> GetVersionAsync(CancellationToken cancellationToken);

    /// <summary>Registers the manager (id, name, public key). A refusal is <see cref="PlatformErrorKind.Refused"/>.</summary>
    Task<PlatformError?> RegisterAsync(CancellationToken cancellationToken);

    /// <summary>The manager ping; returns the platform version the answer carries (to re-register when it changes).</summary>
    Task<PlatformResult<string>> PingAsync(CancellationToken cancellationToken);

    /// <summary>The connectors to manage, decrypted. Unusable entries are skipped with a reason, the others kept.</summary>
    Task<PlatformResult<ConnectorListing>> ListConnectorsAsync(CancellationToken cancellationToken);

    Task<PlatformError?> ReportStatusAsync(string connectorId, ConnectorStatus status, CancellationToken cancellationToken);

    Task<PlatformError?> ReportLogsAsync(string connectorId, IReadOnlyList<string> lines, CancellationToken cancellationToken);

    Task<PlatformError?> ReportHealthAsync(string connectorId, ConnectorHealth health, CancellationToken cancellationToken);
}

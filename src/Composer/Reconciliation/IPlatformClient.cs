using Composer.Configuration;
using Composer.Diagnostics;

namespace Composer.Reconciliation;

/// <summary>
/// One platform's manager API: OpenCTI over GraphQL (upstream-behaviour §2) or OpenAEV over REST (§3). Every
/// operation returns its failure as a value (transport errors, HTTP errors, GraphQL errors, nulls, malformed JSON);
/// nothing throws for what the platform or the network does. Only cancellation throws.
/// </summary>
public interface IPlatformClient : IDisposable
{
    PlatformKind Platform { get; }

    /// <summary>The platform version (OpenCTI about.version; OpenAEV GET /api/settings/version).</summary>
    Task<Result<string>> GetVersionAsync(CancellationToken cancellationToken);

    /// <summary>Registers the manager (id, name, public key). A refusal is <see cref="FailureKind.Refused"/>.</summary>
    Task<Failure?> RegisterAsync(CancellationToken cancellationToken);

    /// <summary>The manager ping; returns the platform version the answer carries (to re-register when it changes).</summary>
    Task<Result<string>> PingAsync(CancellationToken cancellationToken);

    /// <summary>The connectors to manage, decrypted. Unusable entries are skipped with a reason, the others kept.</summary>
    Task<Result<ConnectorListing>> ListConnectorsAsync(CancellationToken cancellationToken);

    Task<Failure?> ReportStatusAsync(string connectorId, ConnectorStatus status, CancellationToken cancellationToken);

    Task<Failure?> ReportLogsAsync(string connectorId, IReadOnlyList<string> lines, CancellationToken cancellationToken);

    Task<Failure?> ReportHealthAsync(string connectorId, ConnectorHealth health, CancellationToken cancellationToken);
}

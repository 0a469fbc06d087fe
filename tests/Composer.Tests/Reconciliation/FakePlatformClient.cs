using System.Collections.Concurrent;
using Composer.Configuration;
using Composer.Platform;

namespace Composer.Tests.Reconciliation;

/// <summary>A platform in memory for the executor tests: serves a listing, records every report.</summary>
internal sealed class FakePlatformClient : IPlatformClient
{
    public PlatformKind Platform => PlatformKind.OpenCti;

    public ConnectorListing Listing { get; set; } = new([], []);

    public PlatformError? ListError { get; set; }

    /// <summary>When set, log uploads fail with this error.</summary>
    public PlatformError? LogsError { get; set; }

    public int ListCalls;

    public ConcurrentQueue<(string Id, IReadOnlyList<string> Lines)> Logs { get; } = new();

    public ConcurrentQueue<(string Id, ConnectorStatus Status)> Statuses { get; } = new();

    public ConcurrentQueue<(string Id, ConnectorHealth Health)> Healths { get; } = new();

    public Task<PlatformResult<ConnectorListing>> ListConnectorsAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref ListCalls);
        return Task.FromResult(ListError is { } e ? e : PlatformResult<ConnectorListing>.Success(Listing));
    }

    public Task<PlatformError?> ReportLogsAsync(string connectorId, IReadOnlyList<string> lines, CancellationToken cancellationToken)
    {
        if (LogsError is { } e) return Task.FromResult<PlatformError?>(e);
        Logs.Enqueue((connectorId, lines));
        return Task.FromResult<PlatformError?>(null);
    }

    public Task<PlatformError?> ReportStatusAsync(string connectorId, ConnectorStatus status, CancellationToken cancellationToken)
    {
        Statuses.Enqueue((connectorId, status));
        return Task.FromResult<PlatformError?>(null);
    }

    public Task<PlatformError?> ReportHealthAsync(string connectorId, ConnectorHealth health, CancellationToken cancellationToken)
    {
        Healths.Enqueue((connectorId, health));
        return Task.FromResult<PlatformError?>(null);
    }

    public Task<PlatformResult<string>> GetVersionAsync(CancellationToken cancellationToken) => Task.FromResult(PlatformResult<string>.Success("6.0.0"));

    public Task<PlatformError?> RegisterAsync(CancellationToken cancellationToken) => Task.FromResult<PlatformError?>(null);

    public Task<PlatformResult<string>> PingAsync(CancellationToken cancellationToken) => Task.FromResult(PlatformResult<string>.Success("6.0.0"));

    public void Dispose()
    {
    }
}

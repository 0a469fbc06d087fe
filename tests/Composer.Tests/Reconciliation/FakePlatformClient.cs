using System.Collections.Concurrent;
using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Reconciliation;

namespace Composer.Tests.Reconciliation;

/// <summary>A platform in memory for the executor tests: serves a listing, records every report.</summary>
internal sealed class FakePlatformClient : IPlatformClient
{
    public PlatformKind Platform => PlatformKind.OpenCti;

    public ConnectorListing Listing { get; set; } = new([], []);

    public Failure? ListError { get; set; }

    /// <summary>When set, log uploads fail with this error.</summary>
    public Failure? LogsError { get; set; }

    /// <summary>When set, health reports fail with this error.</summary>
    public Failure? HealthError { get; set; }

    public int ListCalls;

    public ConcurrentQueue<(string Id, IReadOnlyList<string> Lines)> Logs { get; } = new();

    public ConcurrentQueue<(string Id, ConnectorStatus Status)> Statuses { get; } = new();

    public ConcurrentQueue<(string Id, ConnectorHealth Health)> Healths { get; } = new();

    public Task<Result<ConnectorListing>> ListConnectorsAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref ListCalls);
        return Task.FromResult(ListError is { } e ? e : Result<ConnectorListing>.Success(Listing));
    }

    public Task<Failure?> ReportLogsAsync(string connectorId, IReadOnlyList<string> lines, CancellationToken cancellationToken)
    {
        if (LogsError is { } e) return Task.FromResult<Failure?>(e);
        Logs.Enqueue((connectorId, lines));
        return Task.FromResult<Failure?>(null);
    }

    public Task<Failure?> ReportStatusAsync(string connectorId, ConnectorStatus status, CancellationToken cancellationToken)
    {
        Statuses.Enqueue((connectorId, status));
        return Task.FromResult<Failure?>(null);
    }

    public Task<Failure?> ReportHealthAsync(string connectorId, ConnectorHealth health, CancellationToken cancellationToken)
    {
        if (HealthError is { } e) return Task.FromResult<Failure?>(e);
        Healths.Enqueue((connectorId, health));
        return Task.FromResult<Failure?>(null);
    }

    public Task<Result<string>> GetVersionAsync(CancellationToken cancellationToken) => Task.FromResult(Result<string>.Success("6.0.0"));

    public Task<Failure?> RegisterAsync(CancellationToken cancellationToken) => Task.FromResult<Failure?>(null);

    public Task<Result<string>> PingAsync(CancellationToken cancellationToken) => Task.FromResult(Result<string>.Success("6.0.0"));

    public void Dispose()
    {
    }
}

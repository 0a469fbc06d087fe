using System.Collections.Concurrent;
using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Reconciliation;

namespace Composer.Tests.Hosting;

/// <summary>An IPlatformClient whose answers a test scripts; records every call.</summary>
public sealed class FakePlatformClient : IPlatformClient
{
    public PlatformKind Platform { get; init; } = PlatformKind.OpenCti;

    public ConcurrentQueue<string> Calls { get; } = new();

    public Func<Result<string>> Version { get; set; } = () => Result<string>.Success("6.8.0");
    public Func<Failure?> Register { get; set; } = () => null;
    public Func<Result<string>> Ping { get; set; } = () => Result<string>.Success("6.8.0");

    public int Count(string call) => Calls.Count(c => c == call);

    public Task<Result<string>> GetVersionAsync(CancellationToken cancellationToken) => Answer("version", Version);
    public Task<Failure?> RegisterAsync(CancellationToken cancellationToken) => Answer("register", Register);
    public Task<Result<string>> PingAsync(CancellationToken cancellationToken) => Answer("ping", Ping);

    public Task<Result<ConnectorListing>> ListConnectorsAsync(CancellationToken cancellationToken) =>
        Answer("list", () => Result<ConnectorListing>.Success(new ConnectorListing([], [])));

    public Task<Failure?> ReportStatusAsync(string connectorId, ConnectorStatus status, CancellationToken cancellationToken) => Answer("status", () => (Failure?)null);
    public Task<Failure?> ReportLogsAsync(string connectorId, IReadOnlyList<string> lines, CancellationToken cancellationToken) => Answer("logs", () => (Failure?)null);
    public Task<Failure?> ReportHealthAsync(string connectorId, ConnectorHealth health, CancellationToken cancellationToken) => Answer("health", () => (Failure?)null);

    private Task<T> Answer<T>(string call, Func<T> answer)
    {
        Calls.Enqueue(call);
        return Task.FromResult(answer());
    }

    public void Dispose()
    {
    }
}

using System.Collections.Concurrent;
using Composer.Configuration;
using Composer.Platform;

namespace Composer.Tests.Hosting;

/// <summary>An IPlatformClient whose answers a test scripts; records every call.</summary>
public sealed class FakePlatformClient : IPlatformClient
{
    public PlatformKind Platform { get; init; } = PlatformKind.OpenCti;

    public ConcurrentQueue<string> Calls { get; } = new();

    public Func<PlatformResult<string>> Version { get; set; } = () => PlatformResult<string>.Success("6.8.0");
    public Func<PlatformError?> Register { get; set; } = () => null;
    public Func<PlatformResult<string>> Ping { get; set; } = () => PlatformResult<string>.Success("6.8.0");

    public int Count(string call) => Calls.Count(c => c == call);

    public Task<PlatformResult<string>> GetVersionAsync(CancellationToken cancellationToken) => Answer("version", Version);
    public Task<PlatformError?> RegisterAsync(CancellationToken cancellationToken) => Answer("register", Register);
    public Task<PlatformResult<string>> PingAsync(CancellationToken cancellationToken) => Answer("ping", Ping);

    public Task<PlatformResult<ConnectorListing>> ListConnectorsAsync(CancellationToken cancellationToken) =>
        Answer("list", () => PlatformResult<ConnectorListing>.Success(new ConnectorListing([], [])));

    public Task<PlatformError?> ReportStatusAsync(string connectorId, ConnectorStatus status, CancellationToken cancellationToken) => Answer("status", () => (PlatformError?)null);
    public Task<PlatformError?> ReportLogsAsync(string connectorId, IReadOnlyList<string> lines, CancellationToken cancellationToken) => Answer("logs", () => (PlatformError?)null);
    public Task<PlatformError?> ReportHealthAsync(string connectorId, ConnectorHealth health, CancellationToken cancellationToken) => Answer("health", () => (PlatformError?)null);

    private Task<T> Answer<T>(string call, Func<T> answer)
    {
        Calls.Enqueue(call);
        return Task.FromResult(answer());
    }

    public void Dispose()
    {
    }
}

using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Network;
using Composer.Platform;
using Composer.Reconciliation;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Platform;

public static class PlatformHarness
{
    public static async Task<PlatformHarness<OpenCtiStandIn>> OpenCtiAsync(int keyBits = 4096) =>
        new(await OpenCtiStandIn.StartAsync(), PlatformTestKeys.ManagerKey(keyBits), PlatformKind.OpenCti);

    public static async Task<PlatformHarness<OpenAevStandIn>> OpenAevAsync(int keyBits = 4096) =>
        new(await OpenAevStandIn.StartAsync(), PlatformTestKeys.ManagerKey(keyBits), PlatformKind.OpenAev);
}

/// <summary>
/// A platform stand-in and a client talking to it over real HTTP on 127.0.0.1, the client's HttpClient built by the
/// product's outbound handler factory for the platform's channel, its log captured.
/// </summary>
public sealed class PlatformHarness<TStandIn> : IAsyncDisposable where TStandIn : PlatformStandIn
{
    private static readonly OutboundHandlerFactory Handlers = new(TestSettings.Resolve(new ComposerSettings()).Network);

    private readonly StringWriter _log = new();
    private readonly List<IPlatformClient> _clients = [];

    internal PlatformHarness(TStandIn standIn, ManagerKey key, PlatformKind platform)
    {
        StandIn = standIn;
        Key = key;
        Platform = platform;
        Logger = new Logger(LogLevel.Trace, LogFormat.Json, _log);
        ManagerId = "mgr-" + Guid.NewGuid().ToString("N")[..8];
    }

    public TStandIn StandIn { get; }
    public ManagerKey Key { get; }
    public PlatformKind Platform { get; }
    public Logger Logger { get; }
    public string ManagerId { get; }
    public string ManagerName => "Composer test manager";

    /// <summary>Everything the clients logged, JSON lines.</summary>
    public string Log => _log.ToString();

    /// <summary>
    /// A client of the stand-in (disposed with the harness); defaults: the stand-in's URL and token, this manager, 10 s
    /// for every operation (<paramref name="timeout"/>; the listing's own with <paramref name="listingTimeout"/>), the
    /// product's listing size bound.
    /// </summary>
    public IPlatformClient Client(string? managerId = null, string? token = null, string? url = null, TimeSpan? timeout = null,
        TimeSpan? listingTimeout = null, long? listingMaxSize = null)
    {
        var channel = Platform == PlatformKind.OpenCti ? OutboundChannel.OpenCti : OutboundChannel.OpenAev;
        var http = new HttpClient(Handlers.CreateHandler(channel), disposeHandler: true);
        var defaults = new PlatformClientOptions("", "", "", "", Key, Logger);
        var options = new PlatformClientOptions(url ?? StandIn.Url, token ?? StandIn.Token, managerId ?? ManagerId, ManagerName, Key, Logger)
        {
            RequestTimeout = timeout ?? TimeSpan.FromSeconds(10),
            ListingTimeout = listingTimeout ?? timeout ?? TimeSpan.FromSeconds(10),
            ListingMaxSize = listingMaxSize ?? defaults.ListingMaxSize,
        };
        IPlatformClient client = Platform == PlatformKind.OpenCti ? new OpenCtiClient(http, options) : new OpenAevClient(http, options);
        _clients.Add(client);
        return client;
    }

    /// <summary>Neither the token nor any of the given secrets appears in the log or in the given errors.</summary>
    public async Task AssertNothingLeakedAsync(IEnumerable<Failure?> errors, params string[] secrets)
    {
        var texts = errors.Where(e => e is not null).Select(e => e!.ToString()).Append(Log).ToList();
        foreach (var text in texts)
        {
            await Assert.That(text).DoesNotContain(StandIn.Token);
            foreach (var secret in secrets) await Assert.That(text).DoesNotContain(secret);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients) client.Dispose();
        await StandIn.DisposeAsync();
        Key.Dispose();
        Logger.Dispose();
    }
}

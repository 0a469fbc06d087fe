using Composer.Configuration;
using Composer.Images;
using Composer.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Composer.Tests.Images.Registry;

internal static class RegistryTestSupport
{
    public static RegistryConfiguration Configuration(string? server, string? username = null, string? password = null,
        int tokenTtl = 1800, int retryAttempts = 0, int retryDelay = 0, string? email = null)
    {
        var errors = new List<ConfigDiagnostic>();
        var configuration = RegistryConfiguration.FromSettings(new RegistrySettings
        {
            Server = server,
            Username = username,
            Password = Composer.Diagnostics.Secret.From(password),
            Email = email,
            TokenTtl = tokenTtl,
            RetryAttempts = retryAttempts,
            RetryDelay = retryDelay,
        }, ConfigProvenance.None, new Dictionary<string, string>(), new ConfigReport(ConfigProvenance.None, errors, []));
        if (configuration is null) throw new InvalidOperationException(string.Join("; ", errors));
        return configuration;
    }

    /// <param name="clock">The clock of token lifetimes; null: a fake one that passes each retry delay at once.</param>
    /// <param name="delays">Receives every retry delay (with the default clock).</param>
    public static RegistryClient Client(RegistryConfiguration configuration, TestOutboundHandlerFactory? handlers = null, TimeProvider? clock = null,
        List<TimeSpan>? delays = null) =>
        new(handlers ?? new TestOutboundHandlerFactory(), configuration, new RegistryClientOptions
        {
            Clock = clock ?? new ImmediateDelays(delays ?? []),
            RequestTimeout = TimeSpan.FromSeconds(10),
        });

    /// <summary>
    /// A check of registryHost/repository:reference with the credentials of the client's configuration when they are
    /// for that host, as a deploy of an image of that registry would take them.
    /// </summary>
    public static Task<RegistryCheckResult> CheckAsync(this RegistryClient client, string registryHost, string repository, string reference) =>
        client.CheckAsync(registryHost, repository, reference,
            client.Configuration.Credentials is { } credentials && credentials.IsFor(registryHost) ? credentials : null, CancellationToken.None);
}

/// <summary>
/// A fake clock on which every delay passes at once: each timer moves the clock forward by its due time and fires, and
/// the due time is recorded, so retry pacing is asserted without waiting for it.
/// </summary>
internal sealed class ImmediateDelays(List<TimeSpan> delays) : FakeTimeProvider(DateTimeOffset.UtcNow)
{
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        if (dueTime > TimeSpan.Zero && dueTime != Timeout.InfiniteTimeSpan)
        {
            lock (delays) delays.Add(dueTime);
            Advance(dueTime);
        }
        return timer;
    }
}

using Composer.Diagnostics;
using Composer.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace Composer.Tests.Hosting;

public class AliveLoopTests
{
    private static readonly Failure Refused = new(FailureKind.Refused, "register", "Only one connector manager is supported per instance");

    private static (AliveLoop Loop, StringWriter Log, ReadinessState Readiness) Create(FakePlatformClient client, FakeTimeProvider clock, TimeSpan? ping = null)
    {
        var log = new StringWriter();
        var logger = new Logger(LogLevel.Info, LogFormat.Json, log, clock: clock, diagnostics: TextWriter.Null);
        var readiness = new ReadinessState();
        return (new AliveLoop(client, "OpenCTI", "opencti", ping ?? TimeSpan.FromSeconds(60), logger, clock, readiness), log, readiness);
    }

    /// <summary>Moves fake time in small steps until the condition holds (the loop runs on the thread pool between steps).</summary>
    private static async Task AdvanceUntil(FakeTimeProvider clock, Func<bool> condition, TimeSpan step, int maxSteps = 2000)
    {
        for (var i = 0; i < maxSteps && !condition(); i++)
        {
            await Task.Delay(1);
            clock.Advance(step);
        }
        await Assert.That(condition()).IsTrue();
    }

    [Test]
    public async Task Version_register_then_ping_every_schedule()
    {
        var client = new FakePlatformClient();
        var clock = new FakeTimeProvider();
        var (loop, _, readiness) = Create(client, clock);
        using var stop = new CancellationTokenSource();
        var run = loop.RunAsync(stop.Token);

        await loop.Registered.WaitAsync(TimeSpan.FromSeconds(10));
        await AdvanceUntil(clock, () => client.Count("ping") >= 3, TimeSpan.FromSeconds(5));
        await Assert.That(client.Calls.Take(3)).IsEquivalentTo(new[] { "version", "register", "ping" });
        await Assert.That(client.Count("register")).IsEqualTo(1);
        await Assert.That(readiness.IsReady).IsTrue();
        // Three pings need at least two ping schedules of fake time.
        await Assert.That(clock.GetUtcNow() - clock.Start).IsGreaterThanOrEqualTo(TimeSpan.FromSeconds(120));
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Test]
    public async Task A_changed_platform_version_registers_again()
    {
        var client = new FakePlatformClient();
        var clock = new FakeTimeProvider();
        var (loop, log, _) = Create(client, clock);
        using var stop = new CancellationTokenSource();
        var run = loop.RunAsync(stop.Token);
        await loop.Registered.WaitAsync(TimeSpan.FromSeconds(10));
        client.Ping = () => Result<string>.Success("6.9.0");
        await AdvanceUntil(clock, () => client.Count("register") >= 2, TimeSpan.FromSeconds(5));
        await Assert.That(log.ToString()).Contains("version changed; registering again");
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Test]
    public async Task A_refused_registration_is_one_error_line_and_retries_back_off()
    {
        var client = new FakePlatformClient { Register = () => Refused };
        var clock = new FakeTimeProvider();
        var (loop, log, readiness) = Create(client, clock);
        using var stop = new CancellationTokenSource();
        var run = loop.RunAsync(stop.Token);

        // Ten minutes of fake time: a hot loop would register thousands of times; backoff (5 s doubling, capped at 5 min) a handful.
        var end = clock.GetUtcNow() + TimeSpan.FromMinutes(10);
        while (clock.GetUtcNow() < end)
        {
            await Task.Delay(1);
            clock.Advance(TimeSpan.FromSeconds(1));
        }
        var attempts = client.Count("register");
        await Assert.That(attempts).IsGreaterThanOrEqualTo(3);
        await Assert.That(attempts).IsLessThanOrEqualTo(12);
        var lines = log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var errors = lines.Where(l => l.Contains("\"level\":\"error\"")).ToList();
        await Assert.That(errors.Count).IsEqualTo(1);
        await Assert.That(errors[0]).Contains("refused the manager registration");
        await Assert.That(errors[0]).Contains("Only one connector manager");
        await Assert.That(readiness.IsReady).IsFalse();
        await Assert.That(loop.Registered.IsCompleted).IsFalse();
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Test]
    public async Task A_failed_ping_reconnects_from_version()
    {
        var client = new FakePlatformClient();
        var clock = new FakeTimeProvider();
        var (loop, log, readiness) = Create(client, clock, TimeSpan.FromSeconds(10));
        using var stop = new CancellationTokenSource();
        var run = loop.RunAsync(stop.Token);
        await loop.Registered.WaitAsync(TimeSpan.FromSeconds(10));
        client.Ping = () => Result<string>.Failed(new Failure(FailureKind.HttpStatus, "ping", "HTTP 500", 500));
        await AdvanceUntil(clock, () => !readiness.IsReady, TimeSpan.FromSeconds(1));
        client.Ping = () => Result<string>.Success("6.8.0");
        await AdvanceUntil(clock, () => client.Count("version") >= 2 && readiness.IsReady, TimeSpan.FromSeconds(1));
        await Assert.That(log.ToString()).Contains("did not answer the manager ping: HTTP 500");
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Test]
    public async Task A_platform_that_forgot_the_manager_gets_it_registered_again_at_once()
    {
        var client = new FakePlatformClient();
        var clock = new FakeTimeProvider();
        var (loop, log, readiness) = Create(client, clock, TimeSpan.FromSeconds(60));
        using var stop = new CancellationTokenSource();
        var run = loop.RunAsync(stop.Token);
        await loop.Registered.WaitAsync(TimeSpan.FromSeconds(10));
        var unknown = new Failure(FailureKind.UnknownManager, "ping", "OpenCTI does not know the manager m (FUNCTIONAL_ERROR: Cant find element to update)");
        var forgotten = 1;
        client.Ping = () => Interlocked.Exchange(ref forgotten, 0) == 1 ? Result<string>.Failed(unknown) : Result<string>.Success("6.8.0");

        // One ping schedule: the failed ping, then version, register and a ping again, with no backoff between.
        var before = clock.GetUtcNow();
        await AdvanceUntil(clock, () => client.Count("register") >= 2, TimeSpan.FromSeconds(1));
        await Assert.That(clock.GetUtcNow() - before).IsLessThanOrEqualTo(TimeSpan.FromSeconds(61));
        await AdvanceUntil(clock, () => client.Count("ping") >= 3 && readiness.IsReady, TimeSpan.FromSeconds(1));
        var calls = client.Calls.ToArray();
        await Assert.That(calls.Take(7)).IsEquivalentTo(new[] { "version", "register", "ping", "ping", "version", "register", "ping" });
        var lines = log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var line = lines.Single(l => l.Contains("no longer knows this manager; registering again", StringComparison.Ordinal));
        await Assert.That(line).Contains("\"level\":\"warn\"").And.Contains("\"retry\":\"at once\"");
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Test]
    public async Task A_platform_that_forgets_the_manager_at_once_is_retried_with_backoff()
    {
        var client = new FakePlatformClient
        {
            Ping = () => Result<string>.Failed(new Failure(FailureKind.UnknownManager, "ping", "OpenCTI does not know the manager m")),
        };
        var clock = new FakeTimeProvider();
        var (loop, _, _) = Create(client, clock);
        using var stop = new CancellationTokenSource();
        var run = loop.RunAsync(stop.Token);

        // Ten minutes: never a hot loop of registrations, even though every ping says the manager is unknown.
        var end = clock.GetUtcNow() + TimeSpan.FromMinutes(10);
        while (clock.GetUtcNow() < end)
        {
            await Task.Delay(1);
            clock.Advance(TimeSpan.FromSeconds(1));
        }
        await Assert.That(client.Count("register")).IsLessThanOrEqualTo(12);
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Test]
    public async Task A_refused_token_is_an_error_that_never_says_cannot_reach()
    {
        var client = new FakePlatformClient
        {
            Version = () => Result<string>.Failed(new Failure(FailureKind.Unauthenticated, "version", "OpenCTI did not accept the token (AUTH_REQUIRED: ...)")),
        };
        var clock = new FakeTimeProvider();
        var (loop, log, _) = Create(client, clock);
        using var stop = new CancellationTokenSource();
        var run = loop.RunAsync(stop.Token);
        await AdvanceUntil(clock, () => log.ToString().Contains("did not accept the token", StringComparison.Ordinal), TimeSpan.FromSeconds(1));

        var line = log.ToString().Split('\n').Single(l => l.Contains("did not accept the token", StringComparison.Ordinal));
        await Assert.That(line).Contains("\"level\":\"error\"").And.Contains("the OpenCTI version query failed: OpenCTI did not accept the token");
        await Assert.That(line).DoesNotContain("cannot reach");
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }
}

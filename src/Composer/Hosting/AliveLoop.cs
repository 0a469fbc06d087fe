using Composer.Diagnostics;
using Composer.Reconciliation;
using Polly;
using Polly.Retry;

namespace Composer.Hosting;

/// <summary>
/// The alive loop of one platform (upstream-behaviour §5.2): version, register with the manager's public key, then
/// ping every ping_alive_schedule and register again when the version the ping returns differs from the one
/// registered with, or at once when a ping says the platform no longer knows the manager (its data was reset or the
/// manager deleted). Failures back off exponentially with jitter (5 s up to 5 minutes): a refused registration (another
/// manager registered), a token the platform does not accept or a missing capability is one clear error line saying
/// what to fix, then quiet retries, never a hot loop.
/// </summary>
public sealed class AliveLoop
{
    public static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(5);
    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(5);

    private readonly IPlatformClient _client;
    private readonly string _platformName;
    private readonly string _section;
    private readonly TimeSpan _pingSchedule;
    private readonly Logger _logger;
    private readonly TimeProvider _clock;
    private readonly ReadinessState _readiness;
    private readonly ResiliencePipeline<Result<string>> _connect;
    private readonly TaskCompletionSource _registered = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? _lastFailure;

    /// <param name="platformName">"OpenCTI" or "OpenAEV", for people.</param>
    /// <param name="section">"opencti" or "openaev", the platform field of log lines.</param>
    public AliveLoop(IPlatformClient client, string platformName, string section, TimeSpan pingSchedule, Logger logger, TimeProvider clock, ReadinessState readiness)
    {
        _client = client;
        _platformName = platformName;
        _section = section;
        _pingSchedule = pingSchedule;
        _logger = logger;
        _clock = clock;
        _readiness = readiness;
        Component = $"{platformName} platform";
        _readiness.Expect(Component, "not registered yet");
        _connect = new ResiliencePipelineBuilder<Result<string>> { TimeProvider = clock }
            .AddRetry(new RetryStrategyOptions<Result<string>>
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result is { IsSuccess: false }),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = FirstRetryDelay,
                MaxDelay = MaxRetryDelay,
                OnRetry = args =>
                {
                    _logger.Debug("Retrying the platform connection", ("platform", _section), ("attempt", args.AttemptNumber + 1),
                        ("delay", args.RetryDelay));
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <summary>The readiness component this loop reports ("OpenCTI platform").</summary>
    public string Component { get; }

    /// <summary>Completes when the manager registered for the first time; the reconcile loop waits for it.</summary>
    public Task Registered => _registered.Task;

    public async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            var pingFailures = 0;
            while (!stopping.IsCancellationRequested)
            {
                var connected = await _connect.ExecuteAsync(ConnectOnceAsync, stopping).ConfigureAwait(false);
                // The pipeline retries until a connection succeeds (or shutdown cancels it).
                var (answered, failure) = await PingUntilFailureAsync(connected.Value!, stopping).ConfigureAwait(false);
                // The platform forgot a manager that pinged fine: register again now. Only after an answered ping, so a
                // platform that forgets the manager as soon as it registers is retried with backoff, not in a hot loop.
                if (answered && failure?.Kind == FailureKind.UnknownManager)
                {
                    pingFailures = 0;
                    continue;
                }
                // A platform that registers us but then fails the ping must not make this a hot loop.
                pingFailures = answered ? 1 : pingFailures + 1;
                await Task.Delay(Backoff.Delay(pingFailures, FirstRetryDelay, MaxRetryDelay), _clock, stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Shutdown.
        }
    }

    /// <summary>Version then register: the platform version registered with, or the failure (retried by the pipeline).</summary>
    private async ValueTask<Result<string>> ConnectOnceAsync(CancellationToken cancellationToken)
    {
        var version = await _client.GetVersionAsync(cancellationToken).ConfigureAwait(false);
        if (!version.IsSuccess)
        {
            // Only a failure without an answer is "cannot reach": a refused token was an answer, and says so itself.
            return Failed(version.Failure, version.Failure.Kind is FailureKind.Unreachable or FailureKind.Timeout
                ? $"cannot reach {_platformName}" : $"the {_platformName} version query failed");
        }
        var registration = await _client.RegisterAsync(cancellationToken).ConfigureAwait(false);
        if (registration is not null)
        {
            return Failed(registration, registration.Kind == FailureKind.Refused
                ? $"{_platformName} refused the manager registration"
                : $"cannot register with {_platformName}");
        }
        _logger.Info($"Registered with {_platformName}", ("platform", _section), ("version", version.Value));
        _lastFailure = null;
        _readiness.Ready(Component);
        _registered.TrySetResult();
        return version;
    }

    /// <summary>
    /// Pings until a ping or a re-registration fails; whether at least one ping was answered, and the failure (null
    /// only on shutdown).
    /// </summary>
    private async Task<(bool Answered, Failure? Failure)> PingUntilFailureAsync(string registeredVersion, CancellationToken stopping)
    {
        var answered = false;
        while (!stopping.IsCancellationRequested)
        {
            var ping = await _client.PingAsync(stopping).ConfigureAwait(false);
            if (!ping.IsSuccess)
            {
                var again = answered && ping.Failure.Kind == FailureKind.UnknownManager;
                Failed(ping.Failure, again ? $"{_platformName} no longer knows this manager; registering again"
                    : $"{_platformName} did not answer the manager ping", atOnce: again);
                return (answered, ping.Failure);
            }
            answered = true;
            _readiness.Ready(Component);
            if (!string.Equals(ping.Value, registeredVersion, StringComparison.Ordinal))
            {
                _logger.Info($"{_platformName} version changed; registering again", ("platform", _section),
                    ("previous_version", registeredVersion), ("version", ping.Value));
                var registration = await _client.RegisterAsync(stopping).ConfigureAwait(false);
                if (registration is not null)
                {
                    Failed(registration, $"cannot register again with {_platformName}");
                    return (answered, registration);
                }
                registeredVersion = ping.Value;
            }
            await Task.Delay(_pingSchedule, _clock, stopping).ConfigureAwait(false);
        }
        return (answered, null);
    }

    /// <summary>Logs a failure once (error for a refusal, warning otherwise; repeats of the same failure at debug).</summary>
    private Result<string> Failed(Failure error, string what, bool atOnce = false)
    {
        var line = $"{what}: {error.Message}";
        _readiness.NotReady(Component, line);
        if (line != _lastFailure)
        {
            // What only a person can fix is an error; the rest (unreachable, a platform hiccup) a warning.
            var level = error.Kind is FailureKind.Refused or FailureKind.Unauthenticated or FailureKind.Forbidden ? LogLevel.Error : LogLevel.Warn;
            var retry = atOnce ? "at once" : "with backoff, up to 5 minutes apart";
            _logger.Write(level, line, [("platform", _section), ("operation", error.Operation), ("retry", retry)]);
            _lastFailure = line;
        }
        else
        {
            _logger.Debug(line, ("platform", _section), ("operation", error.Operation));
        }
        return Result<string>.Failed(error);
    }
}

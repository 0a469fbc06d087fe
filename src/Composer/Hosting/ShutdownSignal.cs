using System.Runtime.InteropServices;
using Composer.Diagnostics;

namespace Composer.Hosting;

/// <summary>
/// SIGTERM, SIGINT and SIGHUP for `composer run`: the first one stops the loops at once (<see cref="Stopping"/>) and gives the
/// step in flight <see cref="Grace"/> to finish before it is cancelled too (<see cref="Abort"/>), so the process exits 0
/// within 5 seconds, as orchestrators expect. A second signal aborts at once. SIGHUP (the terminal or the session went
/// away; some supervisors send it to stop) stops the same way: Composer has no configuration to reload in place, and
/// the runtime's default for it would end the process without the grace period.
/// </summary>
public sealed class ShutdownSignal : IDisposable
{
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(3.5);

    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly Logger _logger;
    private readonly TimeProvider _clock;
    private ITimer? _graceTimer;
    private int _signals;

    public ShutdownSignal(Logger logger, TimeProvider clock)
    {
        _logger = logger;
        _clock = clock;
        foreach (var signal in new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGHUP })
        {
            _registrations.Add(PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true; // no default termination: we stop ourselves
                Request(context.Signal.ToString());
            }));
        }
    }

    /// <summary>Cancelled on the first signal: stop starting new work.</summary>
    public CancellationToken Stopping => _stopping.Token;

    /// <summary>Cancelled <see cref="Grace"/> after the first signal (or on the second): abandon the step in flight.</summary>
    public CancellationToken Abort => _abort.Token;

    /// <summary>What a signal does; also the way tests and callers request a stop.</summary>
    public void Request(string reason)
    {
        var count = Interlocked.Increment(ref _signals);
        if (count == 1)
        {
            _logger.Info("Stopping: finishing the step in flight", ("signal", reason), ("grace_seconds", Grace.TotalSeconds));
            _graceTimer = _clock.CreateTimer(_ => _abort.Cancel(), null, Grace, Timeout.InfiniteTimeSpan);
            _stopping.Cancel();
        }
        else
        {
            _logger.Warn("Second stop signal: abandoning the step in flight", ("signal", reason));
            _abort.Cancel();
        }
    }

    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
        _graceTimer?.Dispose();
        _stopping.Dispose();
        _abort.Dispose();
    }
}

using Composer.Diagnostics;
using Composer.Images;
using Composer.Reconciliation;
using Microsoft.Extensions.Time.Testing;
using static Composer.Tests.Reconciliation.ReconcileTestData;

namespace Composer.Tests.Reconciliation;

/// <summary>
/// A reconcile cycle over a watched fake orchestrator on a fake clock, driven the way the host drives it: the watch
/// runs in the background; cycles and re-plans run when the test says.
/// </summary>
internal sealed class WatchedCycleRig : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private readonly CancellationTokenSource _stop = new();
    private Task _watch = Task.CompletedTask;

    public FakeTimeProvider Time { get; } = new(Now);
    public FakeOrchestrator Engine { get; } = new();
    public FakeWatchedOrchestrator Orchestrator { get; }
    public FakePlatformClient Platform { get; } = new();
    public ReconcileCycle Cycle { get; }

    /// <summary>Every observation the cycle said (/readyz's words), in order.</summary>
    public List<string> Observations { get; } = [];

    public WatchedCycleRig(TimeSpan? deadline = null)
    {
        Orchestrator = new FakeWatchedOrchestrator(Engine);
        var options = Options() with { ConnectorDeadline = deadline ?? TimeSpan.FromMinutes(5) };
        Cycle = new ReconcileCycle(Platform, Orchestrator, ImageResolver.NoRegistry, options, Time, Logger.Null);
        Cycle.ObservationChanged += o => { lock (Observations) Observations.Add(o); };
    }

    public void StartWatching() => _watch = Cycle.WatchAsync(_stop.Token);

    /// <summary>Starts the stream (and the watch, unless it runs) and waits until the cache is current (the listing after WatchStarted).</summary>
    public async Task WatchingAsync()
    {
        if (_watch.IsCompleted) StartWatching();
        Orchestrator.Send(new WatchStarted());
        await Until(() => Cycle.Observation == "watching events", "watching");
    }

    /// <summary>Runs a cycle and every re-plan it leads to, each to its end.</summary>
    public async Task Settle()
    {
        var report = await Cycle.RunAsync(CancellationToken.None);
        await report.Completion.WaitAsync(Patience);
        while (await Cycle.ReplanAsync(CancellationToken.None) is { } replan) await replan.Completion.WaitAsync(Patience);
    }

    /// <summary>Blocks each change whose call text is <paramref name="call"/> until the returned source completes.</summary>
    public TaskCompletionSource<Failure?> Hold(string call)
    {
        var release = new TaskCompletionSource<Failure?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var before = Engine.Behaviour;
        Engine.Behaviour = (c, ct) => c == call ? release.Task.WaitAsync(ct) : before(c, ct);
        return release;
    }

    public int CallsOf(string call) => Engine.Calls.Count(c => c == call);

    /// <summary>Waits for the next re-plan and runs it to its end.</summary>
    public async Task<CycleReport> ReplanAsync()
    {
        await Cycle.WaitForReplanAsync(CancellationToken.None).WaitAsync(Patience);
        var replan = await Cycle.ReplanAsync(CancellationToken.None);
        await replan!.Completion.WaitAsync(Patience);
        return replan;
    }

    /// <summary>Whether a re-plan is waiting, after giving the watch a moment to apply what was sent.</summary>
    public async Task<bool> ReplanWaitingAsync()
    {
        // Cancelled after the moment, so that no waiter is left to take the wake-up of a later one.
        using var moment = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        try
        {
            await Cycle.WaitForReplanAsync(moment.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public static async Task Until(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"waited {Patience.TotalSeconds} s for {what}");
            await Task.Delay(5);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _watch;
        _stop.Dispose();
    }
}

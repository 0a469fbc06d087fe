using Composer.Diagnostics;
using Composer.Reconciliation;
using Composer.Resolution;

namespace Composer.Hosting;

/// <summary>One enabled platform at run time: its client, its orchestrator and its reconcile cycle.</summary>
public sealed record PlatformRuntime(
    ResolvedPlatform Platform,
    IPlatformClient Client,
    IOrchestrator Orchestrator,
    ReconcileCycle Cycle);

/// <summary>
/// `composer run`: per enabled platform an alive loop (<see cref="AliveLoop"/>) and a reconcile loop, which starts once
/// the manager registered: a cycle every execute_schedule (backing off with jitter while a listing fails), and in
/// between, the connectors whose workload changed or whose work ended planned again at once; the orchestrator's events
/// are watched alongside. Stops on <see cref="ShutdownSignal"/>: no new cycle starts, the work in flight gets the grace
/// period.
/// </summary>
public sealed class ManagerHost(ManagerOptions manager, IReadOnlyList<PlatformRuntime> platforms, Logger logger, TimeProvider clock, ReadinessState readiness)
{
    public static readonly TimeSpan MaxCycleBackoff = TimeSpan.FromMinutes(5);

    public async Task RunAsync(CancellationToken stopping, CancellationToken abort)
    {
        var loops = new List<Task>();
        foreach (var runtime in platforms)
        {
            var alive = new AliveLoop(runtime.Client, runtime.Platform.DisplayName, runtime.Platform.Section, manager.PingAliveSchedule, logger, clock, readiness);
            loops.Add(alive.RunAsync(stopping));
            loops.Add(ReconcileLoopAsync(runtime, alive, stopping, abort));
        }
        await Task.WhenAll(loops).ConfigureAwait(false);
    }

    private async Task ReconcileLoopAsync(PlatformRuntime runtime, AliveLoop alive, CancellationToken stopping, CancellationToken abort)
    {
        var name = runtime.Platform.DisplayName;
        var component = $"{name} orchestrator ({runtime.Orchestrator.Kind})";
        var cycle = runtime.Cycle;
        readiness.Expect(component, "no listing yet");
        readiness.Detail(component, cycle.Observation);
        cycle.ObservationChanged += observation => readiness.Detail(component, observation);
        var watch = Task.CompletedTask;
        try
        {
            await alive.Registered.WaitAsync(stopping).ConfigureAwait(false);
            logger.Info("Reconciling connectors", ("platform", runtime.Platform.Section), ("orchestrator", runtime.Orchestrator.Kind),
                ("execute_schedule_seconds", manager.ExecuteSchedule.TotalSeconds), ("max_parallel", manager.MaxParallel),
                ("connector_deadline_seconds", manager.ConnectorDeadline.TotalSeconds));
            watch = cycle.WatchAsync(stopping);
            var failures = 0;
            while (!stopping.IsCancellationRequested)
            {
                var started = clock.GetTimestamp();
                CycleReport report;
                try
                {
                    report = await cycle.RunAsync(abort).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (abort.IsCancellationRequested)
                {
                    return;
                }
                if (report.OrchestratorFailure is { } orchestratorFailure) readiness.NotReady(component, orchestratorFailure);
                else if (report.PlatformFailure is null) readiness.Ready(component);
                var succeeded = report.PlatformFailure is null && report.OrchestratorFailure is null;
                failures = succeeded ? 0 : failures + 1;
                var wait = failures == 0
                    ? manager.ExecuteSchedule - clock.GetElapsedTime(started)
                    : Backoff.Delay(failures, manager.ExecuteSchedule, MaxCycleBackoff);
                if (failures > 0)
                {
                    logger.Warn("Reconcile cycle changed nothing: a listing failed; next cycle after a backoff",
                        ("platform", runtime.Platform.Section), ("platform_error", report.PlatformFailure),
                        ("orchestrator_error", report.OrchestratorFailure), ("retry_in_seconds", Math.Round(wait.TotalSeconds, 1)));
                }
                var next = clock.GetTimestamp() + (long)(Math.Max(0, wait.TotalSeconds) * clock.TimestampFrequency);
                await ReplanUntilAsync(cycle, next, stopping, abort).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Shutdown.
        }
        finally
        {
            await Quietly(watch).ConfigureAwait(false);
            // The lanes in flight end on their own, or when the grace period is over (abort).
            await Quietly(cycle.DrainAsync()).ConfigureAwait(false);
        }
    }

    /// <summary>Until the timestamp <paramref name="next"/>: plans again at once each connector that changed or whose work ended.</summary>
    private async Task ReplanUntilAsync(ReconcileCycle cycle, long next, CancellationToken stopping, CancellationToken abort)
    {
        while (true)
        {
            var remaining = clock.GetElapsedTime(clock.GetTimestamp(), next);
            if (remaining <= TimeSpan.Zero) return;
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            var timer = Task.Delay(remaining, clock, wait.Token);
            var replan = cycle.WaitForReplanAsync(wait.Token);
            var first = await Task.WhenAny(timer, replan).ConfigureAwait(false);
            await wait.CancelAsync().ConfigureAwait(false);
            await Quietly(timer).ConfigureAwait(false);
            await Quietly(replan).ConfigureAwait(false);
            stopping.ThrowIfCancellationRequested();
            if (first == timer) return;
            // Cancelled by the abort only, which comes after stopping: the caller ends the loop.
            await cycle.ReplanAsync(abort).ConfigureAwait(false);
        }
    }

    private static async Task Quietly(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Shutdown, or a wait that lost the race.
        }
    }
}

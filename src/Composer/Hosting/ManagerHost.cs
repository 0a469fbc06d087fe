using Composer.Diagnostics;
using Composer.Reconciliation;
using Composer.Resolution;

namespace Composer.Hosting;

/// <summary>What one reconcile cycle achieved, for the loop's pacing and /readyz.</summary>
/// <param name="PlatformFailure">Why the platform listing failed (nothing was changed), or null.</param>
/// <param name="OrchestratorFailure">Why the orchestrator listing failed (nothing was changed), or null.</param>
public sealed record CycleOutcome(string? PlatformFailure, string? OrchestratorFailure)
{
    public bool Succeeded => PlatformFailure is null && OrchestratorFailure is null;
}

/// <summary>One enabled platform at run time: its client, its orchestrator and how to run one reconcile cycle.</summary>
public sealed record PlatformRuntime(
    ResolvedPlatform Platform,
    IPlatformClient Client,
    IOrchestrator Orchestrator,
    Func<CancellationToken, Task<CycleOutcome>> RunCycle);

/// <summary>
/// `composer run`: per enabled platform an alive loop (<see cref="AliveLoop"/>) and a reconcile loop every
/// execute_schedule, which starts once the manager registered and backs off with jitter while cycles fail. Stops on
/// <see cref="ShutdownSignal"/>: no new cycle starts, the one in flight gets the grace period.
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
        readiness.Expect(component, "no listing yet");
        try
        {
            await alive.Registered.WaitAsync(stopping).ConfigureAwait(false);
            logger.Info("Reconciling connectors", ("platform", runtime.Platform.Section), ("orchestrator", runtime.Orchestrator.Kind),
                ("execute_schedule_seconds", manager.ExecuteSchedule.TotalSeconds));
            var failures = 0;
            while (!stopping.IsCancellationRequested)
            {
                var started = clock.GetTimestamp();
                CycleOutcome outcome;
                try
                {
                    outcome = await runtime.RunCycle(abort).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (abort.IsCancellationRequested)
                {
                    return;
                }
                if (outcome.OrchestratorFailure is { } orchestratorFailure) readiness.NotReady(component, orchestratorFailure);
                else if (outcome.PlatformFailure is null) readiness.Ready(component);
                failures = outcome.Succeeded ? 0 : failures + 1;
                var wait = failures == 0
                    ? manager.ExecuteSchedule - clock.GetElapsedTime(started)
                    : Backoff.Delay(failures, manager.ExecuteSchedule, MaxCycleBackoff);
                if (failures > 0)
                {
                    logger.Warn("Reconcile cycle changed nothing: a listing failed; next cycle after a backoff",
                        ("platform", runtime.Platform.Section), ("platform_error", outcome.PlatformFailure),
                        ("orchestrator_error", outcome.OrchestratorFailure), ("retry_in_seconds", Math.Round(wait.TotalSeconds, 1)));
                }
                if (wait > TimeSpan.Zero) await Task.Delay(wait, clock, stopping).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // Shutdown.
        }
    }

}

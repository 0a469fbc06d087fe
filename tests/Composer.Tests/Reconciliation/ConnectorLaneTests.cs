using Composer.Images;
using Composer.Diagnostics;
using Composer.Reconciliation;
using Microsoft.Extensions.Time.Testing;
using static Composer.Tests.Reconciliation.ReconcileTestData;

namespace Composer.Tests.Reconciliation;

/// <summary>
/// Per-connector lanes (issue 16, point 1) through <see cref="ReconcileCycle"/>, on a fake clock: a cycle starts lanes
/// and returns; a connector with work in flight is not planned again, its newest desired state is planned once its
/// lane ends; a lane has a deadline; the parallelism bound holds across cycles.
/// </summary>
public class ConnectorLaneTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private sealed class Rig
    {
        public FakeTimeProvider Time { get; } = new(Now);
        public FakeOrchestrator Orchestrator { get; } = new();
        public FakePlatformClient Platform { get; } = new();
        public ReconcileCycle Cycle { get; }

        public Rig(int maxParallel = 4, TimeSpan? deadline = null)
        {
            var options = Options(maxParallel: maxParallel) with { ConnectorDeadline = deadline ?? TimeSpan.FromMinutes(5) };
            Cycle = new ReconcileCycle(Platform, Orchestrator, ImageResolver.NoRegistry, options, Time, Logger.Null);
        }

        /// <summary>Blocks each change whose call text is <paramref name="call"/> until the returned source completes.</summary>
        public TaskCompletionSource<Failure?> Hold(string call)
        {
            var release = new TaskCompletionSource<Failure?>(TaskCreationOptions.RunContinuationsAsynchronously);
            var before = Orchestrator.Behaviour;
            Orchestrator.Behaviour = (c, ct) => c == call ? release.Task.WaitAsync(ct) : before(c, ct);
            return release;
        }

        public int CallsOf(string call) => Orchestrator.Calls.Count(c => c == call);

        public async Task WaitForAsync(Func<bool> condition, string what)
        {
            var until = DateTime.UtcNow + Patience;
            while (!condition())
            {
                if (DateTime.UtcNow > until) throw new TimeoutException($"waited {Patience.TotalSeconds} s for {what}; calls: {string.Join(", ", Orchestrator.Calls)}");
                await Task.Delay(5);
            }
        }
    }

    [Test]
    public async Task A_cycle_returns_while_a_lane_is_held_and_the_next_cycle_does_not_plan_that_connector_again()
    {
        var rig = new Rig();
        var held = rig.Hold("deploy A");
        rig.Platform.Listing = Listing(Connector("A", requested: RequestedStatus.Starting), Connector("B", requested: RequestedStatus.Starting));

        var first = await rig.Cycle.RunAsync(CancellationToken.None).WaitAsync(Patience);
        await Assert.That(first.Started).IsEqualTo(2);
        await rig.WaitForAsync(() => rig.Orchestrator.Workloads.Any(w => w.ConnectorId == "B"), "B deployed");

        rig.Time.Advance(TimeSpan.FromSeconds(10));
        var second = await rig.Cycle.RunAsync(CancellationToken.None).WaitAsync(Patience);
        await Assert.That(second.InFlight).IsEqualTo(1);
        await Assert.That(rig.CallsOf("deploy A")).IsEqualTo(1);

        held.SetResult(null);
        await first.Completion.WaitAsync(Patience);
        // Its lane ended having changed something: planned again at once, from a fresh listing: nothing left to deploy.
        await rig.Cycle.WaitForReplanAsync(CancellationToken.None).WaitAsync(Patience);
        var listsBefore = rig.Orchestrator.ListCalls;
        var replan = await rig.Cycle.ReplanAsync(CancellationToken.None);
        await Assert.That(replan).IsNotNull();
        await replan!.Completion.WaitAsync(Patience);
        await Assert.That(rig.Orchestrator.ListCalls).IsEqualTo(listsBefore + 1);
        await Assert.That(rig.CallsOf("deploy A")).IsEqualTo(1);
        await Assert.That(rig.Orchestrator.Workloads.Count(w => w.ConnectorId == "A")).IsEqualTo(1);
    }

    [Test]
    public async Task The_newest_desired_state_is_planned_as_soon_as_the_lane_in_flight_ends()
    {
        var rig = new Rig();
        rig.Orchestrator.Add(Workload("A", state: WorkloadState.Stopped));
        var held = rig.Hold("start connector-a");
        rig.Platform.Listing = Listing(Connector("A", requested: RequestedStatus.Starting));
        var first = await rig.Cycle.RunAsync(CancellationToken.None);
        await rig.WaitForAsync(() => rig.CallsOf("start connector-a") == 1, "the start in flight");

        // The platform now asks for a stop: seen by the next cycle, which leaves the connector to its lane.
        rig.Platform.Listing = Listing(Connector("A", requested: RequestedStatus.Stopping, current: ConnectorStatus.Stopped));
        rig.Time.Advance(TimeSpan.FromSeconds(10));
        var second = await rig.Cycle.RunAsync(CancellationToken.None);
        await Assert.That(second.InFlight).IsEqualTo(1);
        await Assert.That(rig.CallsOf("stop connector-a")).IsEqualTo(0);

        held.SetResult(null);
        await first.Completion.WaitAsync(Patience);
        await rig.Cycle.WaitForReplanAsync(CancellationToken.None).WaitAsync(Patience);
        var replan = await rig.Cycle.ReplanAsync(CancellationToken.None);
        await replan!.Completion.WaitAsync(Patience);
        await Assert.That(rig.CallsOf("stop connector-a")).IsEqualTo(1);
        await Assert.That(rig.Orchestrator.Workloads.Single().State).IsEqualTo(WorkloadState.Stopped);
    }

    [Test]
    [NotInParallel(nameof(ComposerMetrics.ActionFailures))] // its abandoned deploy is counted
    public async Task A_lane_past_its_deadline_is_abandoned_counted_as_a_failure_and_the_others_are_not_held_up()
    {
        var rig = new Rig(deadline: TimeSpan.FromSeconds(90));
        rig.Hold("deploy A"); // never released: only the deadline ends it
        rig.Platform.Listing = Listing(Connector("A"), Connector("B"));
        var report = await rig.Cycle.RunAsync(CancellationToken.None);
        await rig.WaitForAsync(() => rig.Orchestrator.Workloads.Any(w => w.ConnectorId == "B") && rig.Orchestrator.InFlight == 1, "B deployed, A held");
        await Assert.That(report.Completion.IsCompleted).IsFalse();

        rig.Time.Advance(TimeSpan.FromSeconds(89));
        await Task.Delay(50);
        await Assert.That(report.Completion.IsCompleted).IsFalse();
        rig.Time.Advance(TimeSpan.FromSeconds(1));
        await report.Completion.WaitAsync(Patience);

        var (id, lines) = rig.Platform.Logs.Single();
        await Assert.That(id).IsEqualTo("A");
        await Assert.That(lines.Single()).EndsWith("composer: deploy failed: not done within 90 s (manager.connector_deadline); abandoned, tried again after a backoff");
        // In backoff: the next cycle defers it.
        rig.Time.Advance(TimeSpan.FromSeconds(1));
        var next = await rig.Cycle.RunAsync(CancellationToken.None);
        await next.Completion.WaitAsync(Patience);
        await Assert.That(rig.CallsOf("deploy A")).IsEqualTo(1);
    }

    [Test]
    public async Task A_connector_held_back_by_its_backoff_is_planned_again_when_the_backoff_ends_not_at_the_next_cycle()
    {
        var rig = new Rig();
        var failing = true;
        rig.Orchestrator.Behaviour = (c, _) => Task.FromResult<Failure?>(c == "deploy A" && failing ? Failure.Orchestrator("Conflict: removal of container connector-a is already in progress") : null);
        rig.Platform.Listing = Listing(Connector("A", requested: RequestedStatus.Starting));
        var first = await rig.Cycle.RunAsync(CancellationToken.None);
        await first.Completion.WaitAsync(Patience);
        await Assert.That(rig.CallsOf("deploy A")).IsEqualTo(1);

        // The failed lane is planned again at once: held back by the backoff (no second deploy yet).
        await rig.Cycle.WaitForReplanAsync(CancellationToken.None).WaitAsync(Patience);
        var deferred = await rig.Cycle.ReplanAsync(CancellationToken.None);
        await deferred!.Completion.WaitAsync(Patience);
        await Assert.That(rig.CallsOf("deploy A")).IsEqualTo(1);
        failing = false;

        // No cycle runs: the end of the backoff alone plans it again.
        var waiting = rig.Cycle.WaitForReplanAsync(CancellationToken.None);
        await Task.Delay(50);
        await Assert.That(waiting.IsCompleted).IsFalse();
        rig.Time.Advance(TimeSpan.FromMinutes(2));
        await waiting.WaitAsync(Patience);
        var replan = await rig.Cycle.ReplanAsync(CancellationToken.None);
        await replan!.Completion.WaitAsync(Patience);
        await Assert.That(rig.CallsOf("deploy A")).IsEqualTo(2);
        await Assert.That(rig.Orchestrator.Workloads.Count(w => w.ConnectorId == "A")).IsEqualTo(1);
    }

    [Test]
    public async Task The_parallelism_bound_holds_across_cycles_while_lanes_are_in_flight()
    {
        var rig = new Rig(maxParallel: 2);
        var gate = new TaskCompletionSource<Failure?>(TaskCreationOptions.RunContinuationsAsynchronously);
        rig.Orchestrator.Behaviour = (_, ct) => gate.Task.WaitAsync(ct);
        rig.Platform.Listing = Listing(Connector("A"), Connector("B"), Connector("C"));
        var first = await rig.Cycle.RunAsync(CancellationToken.None);
        await rig.WaitForAsync(() => rig.Orchestrator.InFlight == 2, "two deploys in flight");

        rig.Platform.Listing = Listing(Connector("A"), Connector("B"), Connector("C"), Connector("D"), Connector("E"));
        rig.Time.Advance(TimeSpan.FromSeconds(10));
        var second = await rig.Cycle.RunAsync(CancellationToken.None);
        await Assert.That(second.Started).IsEqualTo(2); // D and E wait for a slot
        await Assert.That(second.InFlight).IsEqualTo(3);
        await Task.Delay(50);
        await Assert.That(rig.Orchestrator.InFlight).IsEqualTo(2);

        gate.SetResult(null);
        await Task.WhenAll(first.Completion, second.Completion).WaitAsync(Patience);
        await Assert.That(rig.Orchestrator.MaxInFlight).IsEqualTo(2);
        await Assert.That(rig.Orchestrator.Calls.Order()).IsEquivalentTo(["deploy A", "deploy B", "deploy C", "deploy D", "deploy E"]);
    }

    [Test]
    public async Task A_lane_of_failing_reports_is_not_retried_in_a_loop()
    {
        var rig = new Rig();
        rig.Orchestrator.Add(Workload("A", state: WorkloadState.Running));
        rig.Platform.Listing = Listing(Connector("A", requested: RequestedStatus.Starting, current: ConnectorStatus.Started));
        rig.Orchestrator.HealthError = Failure.Orchestrator("inspect refused");
        var report = await rig.Cycle.RunAsync(CancellationToken.None);
        await report.Completion.WaitAsync(Patience);
        await Assert.That(rig.Orchestrator.HealthCalls).IsEqualTo(1);
        // Nothing waits for a re-plan: the report is tried again at the next cycle.
        var replan = rig.Cycle.WaitForReplanAsync(CancellationToken.None);
        await Assert.That(await Task.WhenAny(replan, Task.Delay(100)) == replan).IsFalse();
    }

    [Test]
    public async Task The_drain_waits_for_the_lanes_and_the_abort_ends_them()
    {
        var rig = new Rig();
        rig.Hold("deploy A");
        rig.Platform.Listing = Listing(Connector("A"));
        using var abort = new CancellationTokenSource();
        await rig.Cycle.RunAsync(abort.Token);
        await rig.WaitForAsync(() => rig.Orchestrator.InFlight == 1, "the deploy in flight");
        var drain = rig.Cycle.DrainAsync();
        await Task.Delay(50);
        await Assert.That(drain.IsCompleted).IsFalse();
        await abort.CancelAsync();
        await Assert.That(async () => await drain.WaitAsync(Patience)).Throws<OperationCanceledException>();
        // Cancelled, not failed: nothing recorded, nothing told.
        await Assert.That(rig.Platform.Logs).IsEmpty();
    }
}

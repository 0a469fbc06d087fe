using Composer.Diagnostics;
using Composer.Reconciliation;
using static Composer.Tests.Reconciliation.ReconcileTestData;

namespace Composer.Tests.Reconciliation;

/// <summary>
/// The core's side of the event port (issue 16, points 2 and 3): list after the stream starts, apply changes to the
/// cache, plan a changed connector at once, idle cycles without an orchestrator call, a full relist every 5 minutes,
/// polling while the stream is down.
/// </summary>
public class WorkloadWatchTests
{
    private static ObservedWorkload Running(string id, int restarts = 0) =>
        Workload(id, state: WorkloadState.Running) with { Health = new WorkloadHealth(restarts, Now - TimeSpan.FromMinutes(1)) };

    [Test]
    public async Task Idle_cycles_make_no_orchestrator_call_while_watching_and_relist_every_five_minutes()
    {
        await using var rig = new WatchedCycleRig();
        rig.Engine.Add(Running("A"));
        rig.Platform.Listing = Listing(Connector("A", requested: RequestedStatus.Starting, current: ConnectorStatus.Started));
        await rig.WatchingAsync();
        await Assert.That(rig.Engine.ListCalls).IsEqualTo(1); // the listing after the stream started
        await rig.Settle(); // health, logs

        var calls = rig.Engine.Calls.Count;
        for (var i = 0; i < 20; i++)
        {
            rig.Time.Advance(TimeSpan.FromSeconds(10));
            rig.Orchestrator.Inner.PendingLogLines.Clear();
            var report = await rig.Cycle.RunAsync(CancellationToken.None);
            await report.Completion.WaitAsync(WatchedCycleRig.Patience);
        }
        await Assert.That(rig.Engine.ListCalls).IsEqualTo(1);
        await Assert.That(rig.Engine.Calls.Count).IsEqualTo(calls);
        // The health read from the events' snapshot: no inspect at all.
        await Assert.That(rig.Engine.HealthCalls).IsEqualTo(0);

        rig.Time.Advance(TimeSpan.FromSeconds(110)); // 5 minutes since the listing
        await (await rig.Cycle.RunAsync(CancellationToken.None)).Completion.WaitAsync(WatchedCycleRig.Patience);
        await Assert.That(rig.Engine.ListCalls).IsEqualTo(2);
    }

    [Test]
    public async Task A_crash_seen_in_the_events_is_reported_at_once_with_its_health()
    {
        await using var rig = new WatchedCycleRig();
        rig.Engine.Add(Running("A"));
        rig.Platform.Listing = Listing(Connector("A", requested: RequestedStatus.Starting, current: ConnectorStatus.Started));
        await rig.WatchingAsync();
        await rig.Settle();
        var healths = rig.Platform.Healths.Count;

        var crashed = Workload("A", state: WorkloadState.Restarting) with
        {
            RawState = "restarting",
            Health = new WorkloadHealth(1, Now - TimeSpan.FromMinutes(1), Restarting: true, ExitCode: 137),
        };
        rig.Orchestrator.Send(new WorkloadObserved(crashed));
        await rig.Cycle.WaitForReplanAsync(CancellationToken.None).WaitAsync(WatchedCycleRig.Patience);
        var replan = await rig.Cycle.ReplanAsync(CancellationToken.None);
        await replan!.Completion.WaitAsync(WatchedCycleRig.Patience);

        await Assert.That(rig.Platform.Statuses.Last()).IsEqualTo(("A", ConnectorStatus.Stopped));
        await Assert.That(rig.Platform.Healths.Count).IsEqualTo(healths + 1);
        await Assert.That(rig.Platform.Healths.Last().Health.RestartCount).IsEqualTo(1);
        await Assert.That(rig.Engine.HealthCalls).IsEqualTo(0);
    }

    [Test]
    public async Task A_removed_workload_is_deployed_again_without_waiting_for_the_next_cycle()
    {
        await using var rig = new WatchedCycleRig();
        rig.Platform.Listing = Listing(Connector("A", requested: RequestedStatus.Starting, current: ConnectorStatus.Started));
        await rig.WatchingAsync();
        await rig.Settle(); // deployed
        var deployed = rig.Engine.Workloads.Single();
        // The events of the deploy, which confirm its lane's work: the connector is planned again once (nothing to do).
        rig.Orchestrator.Send(new WorkloadObserved(deployed with { Health = new WorkloadHealth(0, Now) }));
        await rig.Cycle.WaitForReplanAsync(CancellationToken.None).WaitAsync(WatchedCycleRig.Patience);
        if (await rig.Cycle.ReplanAsync(CancellationToken.None) is { } confirmed) await confirmed.Completion.WaitAsync(WatchedCycleRig.Patience);
        await Assert.That(rig.Engine.Calls.Count(c => c == "deploy A")).IsEqualTo(1);

        rig.Engine.Behaviour = (_, _) => Task.FromResult<Failure?>(null);
        await rig.Engine.RemoveAsync(deployed, CancellationToken.None);
        rig.Orchestrator.Send(new WorkloadRemoved(deployed.WorkloadId));
        await WatchedCycleRig.Until(() => rig.Engine.Workloads.Count == 0, "removed");
        await rig.Cycle.WaitForReplanAsync(CancellationToken.None).WaitAsync(WatchedCycleRig.Patience);
        var replan = await rig.Cycle.ReplanAsync(CancellationToken.None);
        await replan!.Completion.WaitAsync(WatchedCycleRig.Patience);
        await Assert.That(rig.Engine.Calls.Count(c => c == "deploy A")).IsEqualTo(2);
        await Assert.That(rig.Engine.Workloads.Count).IsEqualTo(1);
    }

    [Test]
    public async Task A_lost_stream_falls_back_to_polling_then_watches_again()
    {
        await using var rig = new WatchedCycleRig();
        rig.Engine.Add(Running("A"));
        rig.Platform.Listing = Listing(Connector("A", requested: RequestedStatus.Starting, current: ConnectorStatus.Started));
        await rig.WatchingAsync();
        await rig.Settle();

        rig.Orchestrator.Send(new WatchLost(Failure.Orchestrator("connection reset")));
        await WatchedCycleRig.Until(() => rig.Cycle.Observation.StartsWith("polling", StringComparison.Ordinal), "polling");
        await Assert.That(rig.Cycle.Observation).IsEqualTo("polling: the fake events stream is down; connecting again");
        var lists = rig.Engine.ListCalls;
        for (var i = 0; i < 3; i++) await (await rig.Cycle.RunAsync(CancellationToken.None)).Completion.WaitAsync(WatchedCycleRig.Patience);
        await Assert.That(rig.Engine.ListCalls).IsEqualTo(lists + 3);

        // Connected again after the backoff (1 s nominal: half to all of it), listed, watching.
        await Assert.That(rig.Orchestrator.Watches).IsEqualTo(1);
        rig.Time.Advance(TimeSpan.FromSeconds(1));
        await WatchedCycleRig.Until(() => rig.Orchestrator.Watches == 2, "a second watch");
        await rig.WatchingAsync();
        lists = rig.Engine.ListCalls;
        rig.Time.Advance(TimeSpan.FromSeconds(10));
        await (await rig.Cycle.RunAsync(CancellationToken.None)).Completion.WaitAsync(WatchedCycleRig.Patience);
        await Assert.That(rig.Engine.ListCalls).IsEqualTo(lists);
        List<string> observations;
        lock (rig.Observations) observations = [.. rig.Observations];
        await Assert.That(observations).IsEquivalentTo(["watching events", "polling: the fake events stream is down; connecting again", "watching events"],
            TUnit.Assertions.Enums.CollectionOrdering.Matching);
    }

    [Test]
    public async Task A_gap_relists_and_plans_the_connectors_whose_workloads_changed_meanwhile()
    {
        await using var rig = new WatchedCycleRig();
        rig.Engine.Add(Running("A"));
        rig.Platform.Listing = Listing(Connector("A", requested: RequestedStatus.Starting, current: ConnectorStatus.Started));
        await rig.WatchingAsync();
        await rig.Settle();

        // A crash the events missed.
        rig.Engine.SetState("wid-connector-a", WorkloadState.Stopped, "exited");
        rig.Orchestrator.Send(new WatchGap("overflow"));
        await rig.Cycle.WaitForReplanAsync(CancellationToken.None).WaitAsync(WatchedCycleRig.Patience);
        var replan = await rig.Cycle.ReplanAsync(CancellationToken.None);
        await replan!.Completion.WaitAsync(WatchedCycleRig.Patience);
        await Assert.That(rig.Engine.Calls.Last()).IsEqualTo("start connector-a");
    }
}

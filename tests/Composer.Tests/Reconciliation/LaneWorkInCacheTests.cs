using Composer.Diagnostics;
using Composer.Reconciliation;
using static Composer.Tests.Reconciliation.ReconcileTestData;

namespace Composer.Tests.Reconciliation;

/// <summary>
/// A lane's own work and the re-plan after it while the events are watched (issue 16, the deploy figure): the
/// connector is planned again from the cache once the cache shows what its lane did, without listing every workload;
/// never from a view older than that work (no second deploy, no start from a snapshot older than the lane's start);
/// a failed or half-done change, or events that do not come, still list.
/// </summary>
public class LaneWorkInCacheTests
{
    /// <summary>Connector A's container as the engine's events show it after its create and start.</summary>
    private static ObservedWorkload Started(ObservedWorkload created) =>
        created with { State = WorkloadState.Running, RawState = "running", Health = new WorkloadHealth(0, Now) };

    [Test]
    public async Task The_replan_after_a_deploy_sees_the_deployed_workload_from_its_events_without_a_listing()
    {
        await using var rig = new WatchedCycleRig();
        rig.Platform.Listing = Listing(Connector("A", requested: RequestedStatus.Starting, current: ConnectorStatus.Stopped));
        await rig.WatchingAsync();
        var lists = rig.Engine.ListCalls;

        await (await rig.Cycle.RunAsync(CancellationToken.None)).Completion.WaitAsync(WatchedCycleRig.Patience);
        await Assert.That(rig.CallsOf("deploy A")).IsEqualTo(1);
        // Done, but not shown yet: A waits for its events, nothing plans it.
        await Assert.That(await rig.ReplanWaitingAsync()).IsFalse();
        var meanwhile = await rig.Cycle.RunAsync(CancellationToken.None);
        await meanwhile.Completion.WaitAsync(WatchedCycleRig.Patience);
        await Assert.That(meanwhile.Started).IsEqualTo(0);

        rig.Orchestrator.Send(new WorkloadObserved(Started(rig.Engine.Workloads.Single())));
        await rig.ReplanAsync();
        await Assert.That(rig.Engine.ListCalls).IsEqualTo(lists);
        await Assert.That(rig.CallsOf("deploy A")).IsEqualTo(1);
        // Planned from the events' snapshot: status and health told, health from the snapshot (no inspect).
        await Assert.That(rig.Platform.Statuses.Last()).IsEqualTo(("A", ConnectorStatus.Started));
        await Assert.That(rig.Platform.Healths.Count).IsEqualTo(1);
        await Assert.That(rig.Engine.HealthCalls).IsEqualTo(0);
    }

    [Test]
    public async Task Events_of_the_lanes_work_that_arrive_before_it_ends_plan_it_again_at_once_without_a_listing()
    {
        await using var rig = new WatchedCycleRig();
        rig.Platform.Listing = Listing(Connector("A", requested: RequestedStatus.Starting, current: ConnectorStatus.Stopped));
        await rig.WatchingAsync();
        var lists = rig.Engine.ListCalls;
        var held = rig.Hold("deploy A");
        var cycle = await rig.Cycle.RunAsync(CancellationToken.None);
        await WatchedCycleRig.Until(() => rig.CallsOf("deploy A") == 1, "the deploy in flight");

        // The engine created and started it; its events arrive before the deploy's answer.
        var labels = Composer.Orchestration.ConnectorWorkload.LabelsFor(ManagerId, "A", Composer.Configuration.PlatformKind.OpenCti, Instance);
        var early = new ObservedWorkload("wid-connector-a", "connector-a", labels, WorkloadState.Running, "running", "h1") { Health = new WorkloadHealth(0, Now) };
        rig.Orchestrator.Send(new WorkloadObserved(early));
        // Its connector is in flight: the re-plan the event asked for leaves it to its lane.
        var during = await rig.ReplanAsync();
        await Assert.That(during.InFlight).IsEqualTo(1);

        held.SetResult(null);
        await cycle.Completion.WaitAsync(WatchedCycleRig.Patience);
        await rig.ReplanAsync();
        await Assert.That(rig.Engine.ListCalls).IsEqualTo(lists);
        await Assert.That(rig.CallsOf("deploy A")).IsEqualTo(1);
        await Assert.That(rig.Platform.Statuses.Last()).IsEqualTo(("A", ConnectorStatus.Started));
    }

    [Test]
    public async Task A_snapshot_older_than_the_lanes_start_is_not_taken_for_its_work_and_a_later_crash_is()
    {
        await using var rig = new WatchedCycleRig();
        rig.Platform.Listing = Listing(Connector("A", requested: RequestedStatus.Starting, current: ConnectorStatus.Stopped));
        await rig.WatchingAsync();
        var lists = rig.Engine.ListCalls;
        await (await rig.Cycle.RunAsync(CancellationToken.None)).Completion.WaitAsync(WatchedCycleRig.Patience);
        var deployed = rig.Engine.Workloads.Single();

        // The snapshot of its create (read before the deploy started it) comes after the lane ended.
        rig.Orchestrator.Send(new WorkloadObserved(deployed with { State = WorkloadState.Stopped, RawState = "created", Health = new WorkloadHealth(0, null) }));
        await Assert.That(await rig.ReplanWaitingAsync()).IsFalse();
        await (await rig.Cycle.RunAsync(CancellationToken.None)).Completion.WaitAsync(WatchedCycleRig.Patience);
        await Assert.That(rig.CallsOf("start connector-a")).IsEqualTo(0);

        // Its start's snapshot shows the work: planned again, nothing to change.
        rig.Orchestrator.Send(new WorkloadObserved(Started(deployed)));
        await rig.ReplanAsync();
        await Assert.That(rig.CallsOf("start connector-a")).IsEqualTo(0);
        await Assert.That(rig.CallsOf("deploy A")).IsEqualTo(1);

        // A die after it is newer than the lane's work: it is the view, and the connector is started again.
        rig.Engine.SetState(deployed.WorkloadId, WorkloadState.Stopped, "exited");
        rig.Orchestrator.Send(new WorkloadObserved(deployed with
        {
            State = WorkloadState.Stopped, RawState = "exited", Health = new WorkloadHealth(0, Now, ExitCode: 1),
        }));
        await rig.ReplanAsync();
        await Assert.That(rig.Platform.Statuses.Last()).IsEqualTo(("A", ConnectorStatus.Stopped));
        await Assert.That(rig.CallsOf("start connector-a")).IsEqualTo(1);
        await Assert.That(rig.Engine.ListCalls).IsEqualTo(lists);
    }

    [Test]
    [NotInParallel(nameof(ComposerMetrics.ActionFailures))] // its failed deploy is counted
    public async Task A_failed_change_forces_a_listing_before_its_connector_is_planned_again()
    {
        await using var rig = new WatchedCycleRig();
        rig.Platform.Listing = Listing(Connector("A", requested: RequestedStatus.Starting, current: ConnectorStatus.Stopped));
        await rig.WatchingAsync();
        var lists = rig.Engine.ListCalls;
        rig.Engine.Behaviour = (call, _) => Task.FromResult<Failure?>(call == "deploy A" ? Failure.Orchestrator("the engine said 500") : null);
        await (await rig.Cycle.RunAsync(CancellationToken.None)).Completion.WaitAsync(WatchedCycleRig.Patience);

        await rig.ReplanAsync();
        await Assert.That(rig.Engine.ListCalls).IsEqualTo(lists + 1);
    }

    [Test]
    [NotInParallel(nameof(ComposerMetrics.ActionFailures))] // its failed deploy is counted
    public async Task A_change_abandoned_at_its_deadline_forces_a_listing_did_it_happen_or_not()
    {
        await using var rig = new WatchedCycleRig(deadline: TimeSpan.FromSeconds(90));
        rig.Platform.Listing = Listing(Connector("A", requested: RequestedStatus.Starting, current: ConnectorStatus.Stopped));
        await rig.WatchingAsync();
        var lists = rig.Engine.ListCalls;
        rig.Hold("deploy A"); // never answered
        var cycle = await rig.Cycle.RunAsync(CancellationToken.None);
        await WatchedCycleRig.Until(() => rig.Engine.InFlight == 1, "the deploy in flight");
        rig.Time.Advance(TimeSpan.FromSeconds(90));
        await cycle.Completion.WaitAsync(WatchedCycleRig.Patience);

        await rig.ReplanAsync();
        await Assert.That(rig.Engine.ListCalls).IsEqualTo(lists + 1);
    }

    [Test]
    public async Task Events_that_do_not_show_the_lanes_work_in_time_give_way_to_a_listing()
    {
        await using var rig = new WatchedCycleRig();
        rig.Platform.Listing = Listing(Connector("A", requested: RequestedStatus.Starting, current: ConnectorStatus.Stopped));
        await rig.WatchingAsync();
        var lists = rig.Engine.ListCalls;
        await (await rig.Cycle.RunAsync(CancellationToken.None)).Completion.WaitAsync(WatchedCycleRig.Patience);

        rig.Time.Advance(ReconcileCycle.ConfirmWait - TimeSpan.FromMilliseconds(1));
        await Assert.That(await rig.ReplanWaitingAsync()).IsFalse();
        rig.Time.Advance(TimeSpan.FromMilliseconds(1));
        await rig.ReplanAsync();
        await Assert.That(rig.Engine.ListCalls).IsEqualTo(lists + 1);
        await Assert.That(rig.CallsOf("deploy A")).IsEqualTo(1);
        await Assert.That(rig.Platform.Statuses.Last()).IsEqualTo(("A", ConnectorStatus.Started));
    }

    [Test]
    public async Task A_lost_stream_plans_the_connectors_waiting_for_their_work_to_show_from_a_listing()
    {
        await using var rig = new WatchedCycleRig();
        rig.Platform.Listing = Listing(Connector("A", requested: RequestedStatus.Starting, current: ConnectorStatus.Stopped));
        await rig.WatchingAsync();
        var lists = rig.Engine.ListCalls;
        await (await rig.Cycle.RunAsync(CancellationToken.None)).Completion.WaitAsync(WatchedCycleRig.Patience);

        rig.Orchestrator.Send(new WatchLost(Failure.Orchestrator("connection reset")));
        await rig.ReplanAsync();
        await Assert.That(rig.Engine.ListCalls).IsEqualTo(lists + 1);
        await Assert.That(rig.CallsOf("deploy A")).IsEqualTo(1);
    }

    [Test]
    [Arguments(1)]
    [Arguments(40)]
    public async Task Deploying_many_connectors_lists_no_more_than_once_while_the_events_show_each_ones_work(int count)
    {
        await using var rig = new WatchedCycleRig();
        rig.Orchestrator.Echo = true;
        var ids = Enumerable.Range(0, count).Select(i => $"C{i:00}").ToArray();
        rig.Platform.Listing = Listing([.. ids.Select(id => Connector(id, requested: RequestedStatus.Starting, current: ConnectorStatus.Stopped))]);
        await rig.WatchingAsync();
        await Assert.That(rig.Engine.ListCalls).IsEqualTo(1); // the listing after the stream started

        await (await rig.Cycle.RunAsync(CancellationToken.None)).Completion.WaitAsync(WatchedCycleRig.Patience);
        while (rig.Platform.Statuses.Count(s => s.Status == ConnectorStatus.Started) < count) await rig.ReplanAsync();

        await Assert.That(rig.Engine.ListCalls).IsEqualTo(1);
        await Assert.That(rig.Engine.Calls.Count(c => c.StartsWith("deploy ", StringComparison.Ordinal))).IsEqualTo(count);
        await Assert.That(rig.Engine.Calls.Count(c => c.StartsWith("start ", StringComparison.Ordinal))).IsEqualTo(0);
    }

    [Test]
    public async Task A_stop_and_a_removal_are_shown_by_their_events_before_the_connector_is_planned_again()
    {
        await using var rig = new WatchedCycleRig();
        rig.Orchestrator.Echo = true;
        var running = Started(Workload("A", state: WorkloadState.Running) with { Labels = Workload("A", instance: Instance).Labels });
        rig.Engine.Add(running);
        rig.Engine.Add(Workload("B", name: "connector-b-old", instance: Instance, state: WorkloadState.Running));
        rig.Platform.Listing = Listing(Connector("A", requested: RequestedStatus.Stopping, current: ConnectorStatus.Started));
        await rig.WatchingAsync();
        var lists = rig.Engine.ListCalls;

        await (await rig.Cycle.RunAsync(CancellationToken.None)).Completion.WaitAsync(WatchedCycleRig.Patience);
        await Assert.That(rig.CallsOf("stop connector-a")).IsEqualTo(1);
        await Assert.That(rig.CallsOf("remove connector-b-old")).IsEqualTo(1);
        // A and B are planned again as their events arrive, in one re-plan or two.
        while (!rig.Platform.Statuses.Contains(("A", ConnectorStatus.Stopped))) await rig.ReplanAsync();
        await Assert.That(rig.CallsOf("stop connector-a")).IsEqualTo(1);
        await Assert.That(rig.CallsOf("remove connector-b-old")).IsEqualTo(1);
        await Assert.That(rig.Engine.ListCalls).IsEqualTo(lists);
    }
}

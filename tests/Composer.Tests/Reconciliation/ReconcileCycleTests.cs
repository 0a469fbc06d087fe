using Composer.Diagnostics;
using Composer.Images;
using Composer.Reconciliation;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Time.Testing;
using static Composer.Tests.Reconciliation.ReconcileTestData;

namespace Composer.Tests.Reconciliation;

/// <summary>A whole cycle: one listing call on each side, plan, execute; and the plan-only entry of `composer plan`.</summary>
public class ReconcileCycleTests
{
    private static (ReconcileCycle Cycle, FakePlatformClient Platform, FakeOrchestrator Orchestrator, FakeTimeProvider Time) Rig()
    {
        var platform = new FakePlatformClient();
        var orchestrator = new FakeOrchestrator();
        var time = new FakeTimeProvider(Now);
        return (new ReconcileCycle(platform, orchestrator, ImageResolver.NoRegistry, Options(), time, Logger.Null), platform, orchestrator, time);
    }

    [Test]
    public async Task A_cycle_lists_each_side_once_then_acts()
    {
        var (cycle, platform, orchestrator, _) = Rig();
        platform.Listing = Listing(Connector("A", requested: RequestedStatus.Starting), Connector("B"));
        orchestrator.Add(Workload("D"));
        var report = await cycle.RunAsync(CancellationToken.None);
        await report.Completion;
        await Assert.That(platform.ListCalls).IsEqualTo(1);
        await Assert.That(orchestrator.ListCalls).IsEqualTo(1);
        await Assert.That(report.NotRun).IsNull();
        await Assert.That(report.Actions).IsEqualTo(3);
        await Assert.That(report.Started).IsEqualTo(3);
        await Assert.That(orchestrator.Calls.Order()).IsEquivalentTo(["deploy A", "deploy B", "remove connector-d"]);
        await Assert.That(report.ToString()).StartsWith("3 actions planned, 3 connector lanes started, 0 still in flight, in ");
    }

    [Test]
    [NotInParallel(nameof(ComposerMetrics.CycleErrors))]
    [Arguments(true, false, "listing the connectors failed: connectors: connection refused", "platform_listing")]
    [Arguments(false, true, "listing the workloads (fake) failed: permission denied on /var/run/docker.sock", "orchestrator_listing")]
    [Arguments(true, true, "listing the connectors failed (connectors: connection refused) and listing the workloads failed (permission denied on /var/run/docker.sock)", "listings")]
    public async Task A_failed_listing_runs_nothing_and_says_why(bool platformFails, bool orchestratorFails, string reason, string tag)
    {
        using var errors = new MetricCollector<long>(ComposerMetrics.CycleErrors);
        var (cycle, platform, orchestrator, _) = Rig();
        platform.Listing = Listing(Connector("A"));
        orchestrator.Add(Workload("D"));
        if (platformFails) platform.ListError = new Failure(FailureKind.Unreachable, "connectors", "connection refused");
        if (orchestratorFails) orchestrator.ListError = Failure.Orchestrator("permission denied on /var/run/docker.sock");
        var report = await cycle.RunAsync(CancellationToken.None);
        await Assert.That(report.NotRun).IsEqualTo(reason);
        await Assert.That(report.ToString()).IsEqualTo("nothing done: " + reason);
        await Assert.That(orchestrator.Calls).IsEmpty();
        await Assert.That(errors.GetMeasurementSnapshot().ContainsTags(KeyValuePair.Create<string, object?>("reason", tag)).EvaluateAsCounter()).IsEqualTo(1);
        await Assert.That((await cycle.PlanAsync(CancellationToken.None)).NotPlanned).IsEqualTo(reason);
    }

    [Test]
    public async Task Plan_only_observes_and_executes_nothing()
    {
        var (cycle, platform, orchestrator, _) = Rig();
        platform.Listing = Listing(Connector("A"));
        orchestrator.Add(Workload("D"));
        var plan = await cycle.PlanAsync(CancellationToken.None);
        await Assert.That(Lines(plan)).IsEquivalentTo(["deploy A", "remove connector-d orphan"]);
        await Assert.That(orchestrator.Calls).IsEmpty();
        await Assert.That(platform.Logs).IsEmpty();
        // Nothing was remembered: the same plan again.
        await Assert.That((await cycle.PlanAsync(CancellationToken.None)).Describe()).IsEqualTo(plan.Describe());
    }

    [Test]
    public async Task A_second_cycle_after_a_settled_first_does_only_what_is_due()
    {
        var (cycle, platform, orchestrator, time) = Rig();
        platform.Listing = Listing(Connector("A", requested: RequestedStatus.Starting, current: ConnectorStatus.Started));
        await (await cycle.RunAsync(CancellationToken.None)).Completion; // deploys (started)
        time.Advance(TimeSpan.FromSeconds(1));
        var second = await cycle.RunAsync(CancellationToken.None);
        await second.Completion;
        await Assert.That(second.Actions).IsEqualTo(2); // health (just started), logs
        time.Advance(TimeSpan.FromSeconds(1));
        var third = await cycle.RunAsync(CancellationToken.None);
        await Assert.That(third.Actions).IsEqualTo(0);
    }
}

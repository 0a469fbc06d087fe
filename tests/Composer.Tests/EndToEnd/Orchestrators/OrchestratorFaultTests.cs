using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd.Orchestrators;

/// <summary>
/// A failed listing is never an empty one, on Swarm, Portainer and Kubernetes, with the published binary: while the
/// platform's listing fails, and then while the orchestrator's does (the engine behind the relay gone, Portainer or the
/// Kubernetes API answering 500), nothing is removed and nothing is deployed, cycle after cycle, though a connector
/// was deleted and another added on the platform meanwhile; once the listing is back, both changes are carried out.
/// </summary>
public class OrchestratorFaultTests : OrchestratorTestBase
{
    /// <summary>Failed cycles per fault: each one doubles the wait before the next (1 s, 2 s, ...).</summary>
    private const int FailedCycles = 2;

    [Test]
    [Arguments(Orchestrator.Swarm)]
    [Arguments(Orchestrator.Portainer)]
    [Arguments(Orchestrator.Kubernetes)]
    public async Task Platform_and_orchestrator_listing_failures_remove_nothing(Orchestrator orchestrator)
    {
        await using var target = await StartAsync(orchestrator);
        var manager = target.Manager;
        var standIn = manager.StandIn;
        var kept = manager.NewConnector("kept", target.RunnableImage, manager.NewSecret());
        var deleted = manager.NewConnector("deleted", target.RunnableImage, manager.NewSecret());
        standIn.AddConnector(kept);
        standIn.AddConnector(deleted);
        var composer = manager.Start();
        var before = new Dictionary<string, string>
        {
            [kept.Id] = (await target.WaitForWorkloadAsync(kept.Id)).Id,
            [deleted.Id] = (await target.WaitForWorkloadAsync(deleted.Id)).Id,
        };
        await WaitForStatusAsync(standIn, kept.Id, "started");
        await WaitForStatusAsync(standIn, deleted.Id, "started");

        // The platform's listing fails (HTTP 500).
        var listed = Listings(standIn);
        standIn.InjectFault(StandInOperation.List, new StandInFault(StandInFaultKind.HttpStatus) { StatusCode = 500, Message = "injected listing failure" });
        await standIn.WaitUntilAsync(s => Listings(s) >= listed + FailedCycles, EndToEndManager.Timeout, $"{FailedCycles} failed platform listings");
        await AssertUnchangedAsync(target, before);
        standIn.ClearFaults();
        await standIn.WaitUntilAsync(s => Listings(s) >= listed + FailedCycles + 1, EndToEndManager.Timeout, "a listing after the fault");

        // The orchestrator's listing fails, while one connector is deleted and another added on the platform.
        var failures = Count(composer.Output, "\"orchestrator_error\"");
        target.BreakListing();
        standIn.RemoveConnector(deleted.Id);
        var added = manager.NewConnector("added", target.RunnableImage, manager.NewSecret());
        standIn.AddConnector(added);
        await composer.WaitForOutputAsync(o => Count(o, "\"orchestrator_error\"") >= failures + FailedCycles, EndToEndManager.Timeout,
            $"{FailedCycles} failed {target.Kind} listings");
        await AssertUnchangedAsync(target, before);
        await Assert.That(composer.Output).DoesNotContain("Removing");
        target.RestoreListing();

        // Back: the deleted connector's workload goes, the added one comes, once; the kept one stays as it was.
        await target.WaitForWorkloadAsync(added.Id);
        await target.WaitForNoWorkloadAsync(deleted.Id);
        await WaitForStatusAsync(standIn, added.Id, "started");
        await Assert.That((await target.WorkloadsOfAsync(kept.Id)).Single().Id).IsEqualTo(before[kept.Id]);
        await Assert.That((await target.WorkloadsAsync()).Count).IsEqualTo(2);

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    /// <summary>Each connector still has its one workload, the same one, running; no other workload appeared.</summary>
    private static async Task AssertUnchangedAsync(OrchestratorTarget target, Dictionary<string, string> workloadIds)
    {
        var workloads = await target.WorkloadsAsync();
        await Assert.That(workloads.Count).IsEqualTo(workloadIds.Count).Because(string.Join(", ", workloads));
        foreach (var (connectorId, workloadId) in workloadIds)
        {
            var workload = workloads.Single(w => w.ConnectorId == connectorId);
            await Assert.That(workload.Id).IsEqualTo(workloadId);
            await Assert.That(workload.Run).IsEqualTo(WorkloadRun.Running);
        }
    }
}

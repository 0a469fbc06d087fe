using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd.Orchestrators;

/// <summary>
/// `kill -9` mid-deploy on Swarm, Portainer and Kubernetes, then a restart: one workload per connector, with one CA
/// object, started and reported. The point is reached deterministically, with the proxy CA on so that the deploy has
/// an object of its own to create first: Swarm's service create is held by the relay (its CA config already exists),
/// Portainer's start of the container just created (its bundle already copied in) by the stand-in, and the Kubernetes
/// stand-in carries out the Deployment's create but never answers it (its Secrets already written).
/// </summary>
public class OrchestratorCrashTests : OrchestratorTestBase
{
    [Test]
    [Arguments(Orchestrator.Swarm)]
    [Arguments(Orchestrator.Portainer)]
    [Arguments(Orchestrator.Kubernetes)]
    public async Task Killed_mid_deploy_a_restart_converges_without_duplicates(Orchestrator orchestrator)
    {
        await using var target = await StartAsync(orchestrator);
        var manager = target.Manager;
        using var ca = target.UseProxy(out _, out _);
        var connector = manager.NewConnector("crashed", target.RunnableImage, manager.NewSecret());
        manager.StandIn.AddConnector(connector);

        var held = target.HoldMidDeploy();
        var first = manager.Start();
        await held.WaitAsync(EndToEndManager.Timeout);
        await first.KillAsync();
        target.StopHolding();

        var second = manager.Start();
        var workload = await target.WaitForWorkloadAsync(connector.Id);
        await WaitForStatusAsync(manager.StandIn, connector.Id, "started");
        await target.AssertCaBundleAsync(workload, ca);
        // A few cycles later: still that one workload and one CA object.
        var listings = Listings(manager.StandIn);
        await manager.StandIn.WaitUntilAsync(s => Listings(s) >= listings + 2, EndToEndManager.Timeout, "two more cycles");
        var workloads = await target.WorkloadsAsync();
        await Assert.That(workloads.Count).IsEqualTo(1).Because(string.Join(", ", workloads));
        await Assert.That(workloads[0].Id).IsEqualTo(workload.Id);
        await Assert.That(await target.CaObjectsAsync(workload)).IsEqualTo(target.HasCaObject ? 1 : 0);

        await EndToEndManager.AssertStopsCleanlyAsync(second);
        await manager.AssertNoSecretInOutputAsync();
    }
}

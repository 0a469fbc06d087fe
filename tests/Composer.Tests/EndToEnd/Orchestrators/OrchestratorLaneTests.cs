using System.Diagnostics;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd.Orchestrators;

/// <summary>
/// Issue 16 point 1 (per-connector lanes) with the published binary on Kubernetes, Portainer and Swarm (Docker itself
/// in LaneAndEventTests): a connector whose deploy is held at its slow step (Swarm, Portainer: the image pull through
/// the engine; Kubernetes: the Deployment's create, answered late) holds up only itself, while another is deployed,
/// started and stopped, a stop acted on within one execute_schedule (1 s) plus 1 s; it is not planned again while its
/// deploy is in flight (one request of that step), and once the step is answered its newest desired state wins (asked
/// to stop meanwhile: one workload, stopped). An image-policy check on a registry that never answers holds only its
/// own connector: that gate is the same code on every orchestrator, shown here on Kubernetes.
/// </summary>
public class OrchestratorLaneTests : OrchestratorTestBase
{
    [Test]
    [Arguments(Orchestrator.Kubernetes)]
    [Arguments(Orchestrator.Portainer)]
    [Arguments(Orchestrator.Swarm)]
    public async Task A_held_deploy_holds_only_its_connector_and_once_answered_its_newest_desired_state_wins(Orchestrator orchestrator)
    {
        await using var target = await StartAsync(orchestrator);
        var manager = target.Manager;
        var (user, password) = (HtpasswdRegistryFixture.SymbolUser, HtpasswdRegistryFixture.SymbolPassword);
        var heldImage = await target.PushAsync(Htpasswd.Host, user, password, $"{manager.ManagerId}/held");
        var otherImage = await target.PushAsync(Htpasswd.Host, user, password, $"{manager.ManagerId}/other");
        manager.UseRegistry(Htpasswd.Host, user, password);
        // Longer than the hold: the held step is a slow answer, never a timeout.
        manager.Environment["OPENCTI__REQUEST_TIMEOUT"] = "120";
        var held = manager.StartedConnector("held", heldImage);
        var other = manager.NewConnector("other", otherImage);
        manager.StandIn.AddConnector(held);
        var step = target.HoldSlowStep();
        var composer = manager.Start();
        await step.WaitAsync(EndToEndManager.Timeout);
        // Only that one request is held: the other connector's go through.
        target.StopHolding();

        // Added while the held deploy waits: deployed and started at once.
        var watch = Stopwatch.StartNew();
        manager.StandIn.AddConnector(other);
        await target.WaitForWorkloadAsync(other.Id);
        await WaitForStatusAsync(manager.StandIn, other.Id, "started");
        var started = watch.Elapsed;

        // A stop request: acted on within one execute_schedule (1 s) plus 1 s, not behind the held deploy (acted on:
        // Swarm and Kubernetes scaled to 0, the Portainer container exited; Swarm's task then ends at its own pace).
        watch.Restart();
        manager.StandIn.RequestStatus(other.Id, start: false);
        await target.WaitUntilMeantToStopAsync(other.Id);
        var stopped = watch.Elapsed;
        await Assert.That(stopped).IsLessThan(TimeSpan.FromSeconds(2) + TimeSpan.FromSeconds(1)).Because($"stopped after {stopped}; started after {started}");
        await target.WaitForWorkloadAsync(other.Id, WorkloadRun.Stopped);

        // The held connector is asked to stop while its deploy is in flight; cycles go on and do not plan it again: no
        // second pull or create, and what it has (Swarm, Portainer: nothing yet; Kubernetes: the Deployment created,
        // its answer held, its pod running) is left as it is.
        List<WorkloadView> before = [];
        await manager.EventuallyAsync(async () => (before = await target.WorkloadsOfAsync(held.Id)).All(w => w.Run == WorkloadRun.Running),
            "the held connector's workload, if any, running", target.DescribeAsync);
        manager.StandIn.RequestStatus(held.Id, start: false);
        var listings = Listings(manager.StandIn);
        await manager.StandIn.WaitUntilAsync(s => Listings(s) >= listings + 2, EndToEndManager.Timeout, "two more cycles");
        await Assert.That(target.SlowSteps).IsEqualTo(2).Because("one for the held connector, one for the other");
        var during = await target.WorkloadsOfAsync(held.Id);
        await Assert.That(string.Join(", ", during.Select(w => $"{w.Id} {w.Run}"))).IsEqualTo(string.Join(", ", before.Select(w => $"{w.Id} {w.Run}")));

        // Answered late: the deploy ends, then its newest desired state wins: one workload, stopped, reported stopped.
        target.ReleaseHeld();
        var workload = await target.WaitForWorkloadAsync(held.Id, WorkloadRun.Stopped);
        await WaitForStatusAsync(manager.StandIn, held.Id, "stopped");
        listings = Listings(manager.StandIn);
        await manager.StandIn.WaitUntilAsync(s => Listings(s) >= listings + 2, EndToEndManager.Timeout, "two more cycles");
        var workloads = await target.WorkloadsOfAsync(held.Id);
        await Assert.That(workloads.Count).IsEqualTo(1).Because(string.Join(", ", workloads));
        await Assert.That(workloads[0].Id).IsEqualTo(workload.Id);
        // Not started again. Its run is not asserted at this instant: a Swarm task assigned before the scale to 0 can
        // still be prepared by the node's agent before it learns of the shutdown (the engine's pace, not Composer's).
        await Assert.That(workloads[0].MeantToRun).IsFalse();
        await manager.EventuallyAsync(async () => await target.WorkloadsOfAsync(held.Id) is [{ Run: WorkloadRun.Stopped }],
            "the held connector's one workload stopped", target.DescribeAsync);
        await Assert.That(target.SlowSteps).IsEqualTo(2).Because("the held step was answered, never asked again");
        await Assert.That((await target.WorkloadsOfAsync(other.Id)).Count).IsEqualTo(1);

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task An_image_policy_check_on_a_registry_that_never_answers_holds_only_its_own_connector_on_kubernetes()
    {
        await using var target = await StartAsync(Orchestrator.Kubernetes);
        var manager = target.Manager;
        // A registry that accepts connections and never answers.
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var silentHost = $"127.0.0.1:{((System.Net.IPEndPoint)silent.LocalEndpoint).Port}";
        var (user, password) = (HtpasswdRegistryFixture.SymbolUser, HtpasswdRegistryFixture.SymbolPassword);
        var otherImage = await target.PushAsync(Htpasswd.Host, user, password, $"{manager.ManagerId}/other");
        manager.UseRegistry(Htpasswd.Host, user, password);
        manager.Environment["OPENCTI__REQUEST_TIMEOUT"] = "120";
        manager.Environment["OPENCTI__DAEMON__IMAGE_POLICY__ALLOW"] = $"[\"{Htpasswd.Host}/{manager.ManagerId}/*\", \"{silentHost}/**\"]";
        var held = manager.StartedConnector("held", $"{silentHost}/{manager.ManagerId}/held:1");
        var other = manager.StartedConnector("other", otherImage);
        manager.StandIn.AddConnector(held);
        manager.StandIn.AddConnector(other);

        var watch = Stopwatch.StartNew();
        var composer = manager.Start();
        using var asked = await silent.AcceptSocketAsync().WaitAsync(EndToEndManager.Timeout);
        // The other connector is checked and started while the held image's check waits on its registry.
        var workload = await target.WaitForWorkloadAsync(other.Id);
        await WaitForStatusAsync(manager.StandIn, other.Id, "started");
        var started = watch.Elapsed;
        await Assert.That(started).IsLessThan(TimeSpan.FromSeconds(30)).Because($"started after {started}");
        await Assert.That(workload.Image).Contains("@sha256:").Because("approved by the policy, pinned to the digest checked");
        await Assert.That(await target.WorkloadsOfAsync(held.Id)).IsEmpty();
        // Waiting is no refusal: nothing about the held connector is told as a problem while its check runs.
        await Assert.That(LinesWith(manager.StandIn, held.Id, "refused")).IsEmpty();

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }
}

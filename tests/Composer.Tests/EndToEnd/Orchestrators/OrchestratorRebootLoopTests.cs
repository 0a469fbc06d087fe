using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd.Orchestrators;

/// <summary>
/// A connector that crashes at once, on Swarm, Portainer and Kubernetes (<see cref="RebootLoopScenario"/>; Docker in
/// ConnectorProblemTests): detected from what each orchestrator tells (failed tasks since the service's last update,
/// the container's RestartCount and State.Restarting, the pod's restartCount, lastState.terminated and
/// CrashLoopBackOff), told with its exit code and last lines, held stopped and released; and a stopped connector's
/// health every few seconds. Swarm restarts after 0.2 s (restart_delay), the Kubernetes stand-in backs off from 0.2 s
/// (the kubelet's 10 s, compressed), Docker behind Portainer from 0.1 s as always.
/// </summary>
public class OrchestratorRebootLoopTests : OrchestratorTestBase
{
    [Test]
    [Arguments(Orchestrator.Swarm)]
    [Arguments(Orchestrator.Portainer)]
    [Arguments(Orchestrator.Kubernetes)]
    public async Task A_crash_looping_connector_is_told_held_stopped_and_released_and_a_stopped_one_reports_its_health(Orchestrator orchestrator)
    {
        await using var target = await StartAsync(orchestrator);
        var manager = target.Manager;
        RebootLoopScenario.Configure(manager);
        if (target is KubernetesTarget kubernetes) kubernetes.Api.CrashBackoff = TimeSpan.FromMilliseconds(200);
        if (orchestrator == Orchestrator.Swarm) manager.Environment["OPENCTI__DAEMON__SWARM__RESTART_DELAY"] = "200000000";
        var crashing = RebootLoopScenario.Crashing(manager, target.RunnableImage);
        var idle = manager.NewConnector("idle", target.RunnableImage, requestedStatus: "stopping");
        manager.StandIn.AddConnector(crashing);
        manager.StandIn.AddConnector(idle);

        await RebootLoopScenario.RunAsync(manager, crashing, idle, async id => (await target.WorkloadsOfAsync(id)).SingleOrDefault()?.Run ?? WorkloadRun.Other);
    }
}

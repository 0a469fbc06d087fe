namespace Composer.Tests.EndToEnd.Orchestrators;

/// <summary>The image-trust scenario (<see cref="ImageTrustScenario"/>) on Swarm, Portainer and Kubernetes.</summary>
public class OrchestratorImageTrustTests : OrchestratorTestBase
{
    [Test]
    [Arguments(Orchestrator.Swarm)]
    [Arguments(Orchestrator.Portainer)]
    [Arguments(Orchestrator.Kubernetes)]
    public async Task Only_signed_images_in_the_policy_run_pinned_to_their_digest_and_refusals_are_reported(Orchestrator orchestrator)
    {
        await using var target = await StartAsync(orchestrator);
        await new ImageTrustScenario(target.Manager, Htpasswd.Registry)
        {
            Push = repository => target.PushAsync(Htpasswd.Host, ImageTrustScenario.User, ImageTrustScenario.Password, repository),
            WaitForRunning = async connectorId =>
            {
                var workload = await target.WaitForWorkloadAsync(connectorId);
                return (workload.Id, workload.Image);
            },
            Workloads = async connectorId =>
                [.. (await target.WorkloadsOfAsync(connectorId)).Select(w => (w.Id, w.Image, w.Run == WorkloadRun.Running))],
        }.RunAsync();
    }
}

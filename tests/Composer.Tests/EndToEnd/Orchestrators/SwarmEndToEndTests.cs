using System.Text.Json.Nodes;
using Composer.Reconciliation;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd.Orchestrators;

/// <summary>
/// What only Swarm shows, with the published binary: `docker service inspect` has the CA bundle as a swarm config
/// mounted at the bundle path and no credential; the registry auth Composer gave the swarm reaches the agent, which
/// pulls the image again once it has left the node (stopped from the platform, image removed, started again).
/// The engine user's password makes the standard base64 and the base64url of X-Registry-Auth differ.
/// </summary>
public class SwarmEndToEndTests : OrchestratorTestBase
{
    [Test]
    public async Task The_ca_config_is_mounted_and_the_registry_auth_reaches_the_swarm_agent()
    {
        await using var target = await SwarmTarget.StartAsync(Fixtures);
        var manager = target.Manager;
        using var ca = target.UseProxy(out _, out _);
        var (host, user, password) = (Htpasswd.Host, HtpasswdRegistryFixture.EngineUser, manager.Secret(Htpasswd.EnginePassword));
        var reference = await target.PushAsync(host, user, password, $"{manager.ManagerId}/agent");
        manager.UseRegistry(host, user, password);
        var connector = manager.NewConnector("agent", $"{manager.ManagerId}/agent:1", manager.NewSecret());
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start();

        var running = await target.WaitForWorkloadAsync(connector.Id);
        await target.AssertPulledAsync(running, reference, user, password, Htpasswd.Registry);
        var inspect = await Fixtures.Docker.RunCliCheckedAsync(["service", "inspect", running.Id]);
        await Assert.That(inspect.Stdout).DoesNotContain(password);
        var configs = JsonNode.Parse(inspect.Stdout)![0]!["Spec"]!["TaskTemplate"]!["ContainerSpec"]!["Configs"]!.AsArray();
        var mounted = configs.Single()!;
        await Assert.That(mounted["ConfigName"]!.GetValue<string>()).StartsWith($"composer-ca-{connector.Id}");
        await Assert.That(mounted["File"]!["Name"]!.GetValue<string>()).IsEqualTo(TestConnectorImage.CaBundlePath);
        await target.AssertCaBundleAsync(running, ca);

        // Stopped from the platform; the image leaves the node.
        manager.StandIn.UpdateConnector(connector.Id, c => c with { RequestedStatus = "stopping" });
        await target.WaitForWorkloadAsync(connector.Id, WorkloadRun.Stopped);
        await WaitForStatusAsync(manager.StandIn, connector.Id, "stopped");
        var pinned = $"{reference[..reference.LastIndexOf(':')]}@{running.Image.Split('@')[1]}";
        manager.RemoveImageOnDispose(pinned);
        await manager.RemoveLocalImageAsync(reference);
        await manager.RemoveLocalImageAsync(pinned);
        await Assert.That(await manager.ImageExistsAsync(pinned)).IsFalse();

        // Started again: the task can only run if the agent pulls the image with the credentials Composer gave the swarm.
        manager.StandIn.UpdateConnector(connector.Id, c => c with { RequestedStatus = "starting" });
        var restarted = await target.WaitForWorkloadAsync(connector.Id);
        await Assert.That(restarted.Id).IsEqualTo(running.Id);
        await Assert.That(await manager.ImageExistsAsync(pinned)).IsTrue();
        await WaitForStatusAsync(manager.StandIn, connector.Id, "started");

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }
}

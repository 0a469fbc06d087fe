using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd.Orchestrators;

/// <summary>
/// Images from the private registry at deployment time on Swarm, Portainer and Kubernetes, with the published binary
/// and the real htpasswd registry: an unprefixed image resolved through opencti.daemon.registry.server and pulled with
/// credentials whose password holds '+' and '/' (by the engine through Swarm or Portainer; for Kubernetes, which has
/// no kubelet here, the pull secret the pod names and Composer's pre-flight against the registry); an image naming
/// its registry not prefixed twice; wrong credentials one clear line on the platform while another connector deploys.
/// Each test pushes repositories of its own (named after its manager id).
/// </summary>
public class OrchestratorRegistryTests : OrchestratorTestBase
{
    [Test]
    [Arguments(Orchestrator.Swarm)]
    [Arguments(Orchestrator.Portainer)]
    [Arguments(Orchestrator.Kubernetes)]
    public async Task An_unprefixed_image_is_pulled_through_the_registry_server_and_a_named_registry_is_not_prefixed_twice(Orchestrator orchestrator)
    {
        await using var target = await StartAsync(orchestrator);
        var manager = target.Manager;
        var (host, user, password) = (Htpasswd.Host, HtpasswdRegistryFixture.SymbolUser, HtpasswdRegistryFixture.SymbolPassword);
        await Assert.That(password).Contains('+');
        await Assert.That(password).Contains('/');
        // Trace-level logging: not even it may print the password or its encodings (UseRegistry marks them secret).
        manager.Environment["MANAGER__LOGGER__LEVEL"] = "trace";
        var unprefixed = await target.PushAsync(host, user, password, $"{manager.ManagerId}/unprefixed");
        var named = await target.PushAsync(host, user, password, $"{manager.ManagerId}/named");
        manager.UseRegistry(host, user, password);
        var plain = manager.NewConnector("unprefixed", $"{manager.ManagerId}/unprefixed:1");
        var full = manager.NewConnector("named", named);
        manager.StandIn.AddConnector(plain);
        manager.StandIn.AddConnector(full);
        var composer = manager.Start();

        var plainWorkload = await target.WaitForWorkloadAsync(plain.Id);
        var fullWorkload = await target.WaitForWorkloadAsync(full.Id);
        await target.AssertPulledAsync(plainWorkload, unprefixed, user, password, Htpasswd.Registry);
        await target.AssertPulledAsync(fullWorkload, named, user, password, Htpasswd.Registry);
        await WaitForStatusAsync(manager.StandIn, plain.Id, "started");
        await WaitForStatusAsync(manager.StandIn, full.Id, "started");
        await Assert.That(composer.Output).DoesNotContain($"{host}/{host}");

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    /// <summary>
    /// Every registry a site uses, on each orchestrator: the registry block's server, a second registry through a
    /// credential helper (credHelpers), and the first registry under another name (localhost:port) through config.json's
    /// auths. Swarm and Portainer pull each with its own registry's credentials; on Kubernetes the one pull secret
    /// the pods name carries all three registries, and Composer's pre-flight was served by each.
    /// </summary>
    [Test]
    [Arguments(Orchestrator.Swarm)]
    [Arguments(Orchestrator.Portainer)]
    [Arguments(Orchestrator.Kubernetes)]
    public async Task Images_of_other_registries_pull_with_credentials_from_the_docker_config_and_a_credential_helper(Orchestrator orchestrator)
    {
        await using var target = await StartAsync(orchestrator);
        var manager = target.Manager;
        var aliasHost = "localhost:" + Htpasswd.Host[(Htpasswd.Host.LastIndexOf(':') + 1)..];
        var (helperUser, helperPassword) = TokenRegistry.NewUser(TokenPolicy.Pull);
        var (blockUser, blockPassword) = (HtpasswdRegistryFixture.SymbolUser, HtpasswdRegistryFixture.SymbolPassword);
        var (authsUser, authsPassword) = (HtpasswdRegistryFixture.User, HtpasswdRegistryFixture.Password);
        var blockImage = await target.PushAsync(Htpasswd.Host, blockUser, blockPassword, $"{manager.ManagerId}/block");
        var helperImage = await target.PushAsync(TokenRegistry.Host, TokenRegistryFixture.Pusher, TokenRegistryFixture.PusherPassword, $"{manager.ManagerId}/helper");
        var authsImage = await target.PushAsync(aliasHost, authsUser, authsPassword, $"{manager.ManagerId}/auths");
        manager.UseRegistry(Htpasswd.Host, blockUser, blockPassword);
        manager.UseDockerConfig(new Dictionary<string, (string, string)> { [$"https://{aliasHost}"] = (authsUser, authsPassword) },
            credHelpers: new Dictionary<string, string> { [TokenRegistry.Host] = $"{manager.ManagerId}-ok" });
        manager.InstallCredentialHelper($"{manager.ManagerId}-ok", new Dictionary<string, (string, string)> { [TokenRegistry.Host] = (helperUser, helperPassword) });
        var fromBlock = manager.NewConnector("block", $"{manager.ManagerId}/block:1");
        var fromHelper = manager.NewConnector("helper", helperImage);
        var fromAuths = manager.NewConnector("auths", authsImage);
        foreach (var connector in new[] { fromBlock, fromHelper, fromAuths }) manager.StandIn.AddConnector(connector);
        var composer = manager.Start();

        var blockWorkload = await target.WaitForWorkloadAsync(fromBlock.Id);
        var helperWorkload = await target.WaitForWorkloadAsync(fromHelper.Id);
        var authsWorkload = await target.WaitForWorkloadAsync(fromAuths.Id);
        await target.AssertPulledAsync(blockWorkload, blockImage, blockUser, blockPassword, Htpasswd.Registry);
        if (target is KubernetesTarget kubernetes)
        {
            // One pull secret, named after the registry server, carries every registry the deployed images need.
            foreach (var (workload, reference, host, user, password, registry) in new[]
                     {
                         (helperWorkload, helperImage, TokenRegistry.Host, helperUser, helperPassword, TokenRegistry.Registry),
                         (authsWorkload, authsImage, aliasHost, authsUser, authsPassword, Htpasswd.Registry),
                     })
            {
                await Assert.That(workload.Image).IsEqualTo(reference);
                await kubernetes.AssertPullSecretAsync(workload, Htpasswd.Host, host, user, password);
                await kubernetes.AssertPreflightServedAsync(reference, host, registry);
            }
        }
        else
        {
            await target.AssertPulledAsync(helperWorkload, helperImage, helperUser, helperPassword, TokenRegistry.Registry);
            await target.AssertPulledAsync(authsWorkload, authsImage, authsUser, authsPassword, Htpasswd.Registry);
        }
        foreach (var connector in new[] { fromBlock, fromHelper, fromAuths }) await WaitForStatusAsync(manager.StandIn, connector.Id, "started");

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    [Arguments(Orchestrator.Swarm)]
    [Arguments(Orchestrator.Portainer)]
    [Arguments(Orchestrator.Kubernetes)]
    public async Task Wrong_credentials_are_reported_to_the_platform_while_another_connector_deploys(Orchestrator orchestrator)
    {
        await using var target = await StartAsync(orchestrator);
        var manager = target.Manager;
        var (host, user) = (Htpasswd.Host, HtpasswdRegistryFixture.SymbolUser);
        var reference = await target.PushAsync(host, user, HtpasswdRegistryFixture.SymbolPassword, $"{manager.ManagerId}/private");
        var wrongPassword = manager.Secret("wrong+/" + Guid.NewGuid().ToString("N"));
        manager.UseRegistry(host, user, wrongPassword);
        manager.Environment["OPENCTI__DAEMON__REGISTRY__RETRY_ATTEMPTS"] = "1";
        manager.Environment["OPENCTI__DAEMON__REGISTRY__RETRY_DELAY"] = "1";
        var denied = manager.NewConnector("denied", $"{manager.ManagerId}/private:1", manager.NewSecret());
        var fine = manager.NewConnector("fine", target.ImageOutsideTheRegistry, manager.NewSecret());
        manager.StandIn.AddConnector(denied);
        manager.StandIn.AddConnector(fine);
        var composer = manager.Start();

        await target.WaitForWorkloadAsync(fine.Id);
        await WaitForStatusAsync(manager.StandIn, fine.Id, "started");
        // The reason, on the platform, as that connector's log line; and again on a later cycle (per-connector backoff).
        await manager.StandIn.WaitUntilAsync(s => LinesWith(s, denied.Id, "deploy failed").Count >= 2, EndToEndManager.Timeout, "the deploy failure reported twice");
        var line = LinesWith(manager.StandIn, denied.Id, "deploy failed")[0];
        await Assert.That(line).Contains("composer: deploy failed");
        await Assert.That(line).Contains("bad credentials");
        await Assert.That(line).Contains($"registry {host}");
        await Assert.That(line).Contains($"user '{user}'");
        await Assert.That(line).Contains(reference);
        await Assert.That(await target.WorkloadsOfAsync(denied.Id)).IsEmpty();
        await Assert.That(manager.StandIn.LogReports.SelectMany(r => r.Lines).Any(l => l.Contains(wrongPassword))).IsFalse();

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }
}

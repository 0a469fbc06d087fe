using Composer.Configuration;
using Composer.Reconciliation;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Orchestration.Swarm;

/// <summary>
/// Services whose image comes from the real htpasswd registry: the registry prefix, the credentials (the engine
/// user's password makes standard base64 and base64url differ), the pre-flight, and the registry auth given to the
/// swarm at create so that the agent of any node can pull.
/// </summary>
[ClassDataSource<HtpasswdRegistryFixture>(Shared = SharedType.PerTestSession)]
public class SwarmOrchestratorRegistryTests(HtpasswdRegistryFixture basic)
{
    [ClassDataSource<SwarmFixture>(Shared = SharedType.PerTestSession)]
    public required SwarmFixture Swarm { get; init; }

    private DockerEngineFixture Docker => Swarm.Docker;

    private RegistrySettings Basic(string? password = null) => basic.EngineRegistrySettings(password);

    private Task<string> PushedAsync(SwarmTestManager manager) =>
        Swarm.Image.PushToRegistryOnlyAsync(basic, $"composer-tests/{manager.Prefix}-connector", manager.RemoveImageOnDispose);

    private async Task<bool> IsLocalAsync(string reference)
    {
        try
        {
            await Docker.Client.Images.InspectImageAsync(reference);
            return true;
        }
        catch (global::Docker.DotNet.DockerImageNotFoundException)
        {
            return false;
        }
    }

    [Test]
    public async Task An_unprefixed_image_runs_from_the_private_registry_and_the_swarm_agent_pulls_it_with_the_credentials_of_the_create()
    {
        Swarm.Require();
        await using var manager = SwarmTestManager.Create(Swarm, registry: Basic());
        var unprefixed = await PushedAsync(manager);
        var resolved = $"{basic.Host}/{unprefixed}";
        var workload = manager.Workload("pulled", image: unprefixed);

        await manager.DeployAsync(workload);

        var running = await manager.WaitForStateAsync(workload.Name, WorkloadState.Running);
        var image = (await manager.SpecAsync(workload.Name)).TaskTemplate!.ContainerSpec!.Image!;
        await Assert.That(image).StartsWith(resolved + "@sha256:");
        await manager.WaitForLogAsync(workload.Name, $"{TestConnectorImage.StartLine}: {workload.ConnectorId}");
        // The engine keeps the credentials out of its answers: the spec never shows them.
        var inspect = await Docker.RunCliCheckedAsync(["service", "inspect", workload.Name]);
        await Assert.That(inspect.Stdout).DoesNotContain(basic.EnginePassword);
        await Assert.That(inspect.Stdout).DoesNotContain(HtpasswdRegistryFixture.EngineUser);

        // The image leaves the node: the next task can only run if the agent pulls it with the stored credentials.
        SwarmTestManager.Succeeded(await manager.Orchestrator.StopAsync(running, CancellationToken.None), "stop");
        var stopped = await manager.WaitForStateAsync(workload.Name, WorkloadState.Stopped);
        var pinned = $"{basic.Host}/{unprefixed.Split(':')[0]}@{image.Split('@')[1]}";
        foreach (var reference in new[] { resolved, pinned })
        {
            try { await Docker.Client.Images.DeleteImageAsync(reference, new global::Docker.DotNet.Models.ImageDeleteParameters { Force = true }); }
            catch (global::Docker.DotNet.DockerImageNotFoundException) { }
        }
        await Assert.That(await IsLocalAsync(pinned)).IsFalse();

        SwarmTestManager.Succeeded(await manager.Orchestrator.StartAsync(stopped, workload, CancellationToken.None), "start");

        await manager.WaitForStateAsync(workload.Name, WorkloadState.Running, TimeSpan.FromSeconds(90));
        await Assert.That(await IsLocalAsync(pinned)).IsTrue();
        manager.RemoveImageOnDispose(pinned);
    }

    [Test]
    public async Task An_image_that_names_the_registry_is_not_prefixed_twice()
    {
        Swarm.Require();
        await using var manager = SwarmTestManager.Create(Swarm, registry: Basic());
        var full = $"{basic.Host}/{await PushedAsync(manager)}";
        var workload = manager.Workload("named", image: full, start: false);

        await manager.DeployAsync(workload);

        var image = (await manager.SpecAsync(workload.Name)).TaskTemplate!.ContainerSpec!.Image!;
        await Assert.That(image).StartsWith(full + "@sha256:");
        await Assert.That(image).DoesNotContain($"{basic.Host}/{basic.Host}");
    }

    [Test]
    public async Task A_wrong_password_is_a_clear_error_and_creates_nothing()
    {
        Swarm.Require();
        const string wrong = "wrong-Pa55+/word";
        await using var manager = SwarmTestManager.Create(Swarm, registry: Basic(password: wrong));
        var unprefixed = await PushedAsync(manager);
        var workload = manager.Workload("bad-pw-login", image: unprefixed, caBundle: "-----BEGIN CERTIFICATE-----\nd3Jvbmc=\n-----END CERTIFICATE-----\n"u8.ToArray());

        var error = await manager.Orchestrator.DeployAsync(workload, CancellationToken.None);

        await Assert.That(error!.Message).Contains($"connector {workload.ConnectorId}: pull failed: bad credentials");
        await Assert.That(error.Message).Contains(basic.Host);
        await Assert.That(error.Message).DoesNotContain(wrong);
        await Assert.That(await manager.ListAsync()).IsEmpty();
        await Assert.That(await manager.ConfigsAsync()).IsEmpty();
    }
}

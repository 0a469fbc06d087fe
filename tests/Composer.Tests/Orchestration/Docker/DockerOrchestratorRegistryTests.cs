using Composer.Configuration;
using Composer.Network;
using Composer.Reconciliation;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Orchestration.Docker;

/// <summary>
/// Deploys that pull: the test connector image pushed into the real htpasswd and token registries, removed from the
/// engine, then deployed through the orchestrator (registry prefix, credentials, pre-flight, retries).
/// </summary>
[ClassDataSource<HtpasswdRegistryFixture, TokenRegistryFixture>(Shared = [SharedType.PerTestSession, SharedType.PerTestSession])]
public class DockerOrchestratorRegistryTests(HtpasswdRegistryFixture basic, TokenRegistryFixture token)
{
    [ClassDataSource<TestConnectorImage>(Shared = SharedType.PerTestSession)]
    public required TestConnectorImage Image { get; init; }

    private DockerEngineFixture Docker => Image.Docker;

    /// <summary>The engine user's password makes standard base64 and base64url differ: the header must be base64url.</summary>
    private RegistrySettings Basic(string? password = null, int retryAttempts = 0) => new()
    {
        Server = basic.Host,
        Username = HtpasswdRegistryFixture.EngineUser,
        Password = new Composer.Diagnostics.Secret(password ?? basic.EnginePassword),
        RetryAttempts = retryAttempts,
        RetryDelay = 0,
    };

    /// <summary>Pushes the connector image as repository:tag and removes the local tag, so a deploy must pull it.</summary>
    private async Task<string> PushedAsync(DockerTestManager manager, string registryHost, string user, string password, string name = "connector")
    {
        var repository = $"composer-tests/{manager.Prefix}-{name}";
        var reference = await Image.PushToAsync(registryHost, user, password, repository, "1.0");
        await Docker.Client.Images.DeleteImageAsync(reference, new global::Docker.DotNet.Models.ImageDeleteParameters());
        manager.RemoveImageOnDispose(reference);
        return $"{repository}:1.0";
    }

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
    public async Task An_unprefixed_image_is_pulled_through_the_registry_prefix_with_the_credentials()
    {
        Image.Require();
        await using var manager = DockerTestManager.Create(Docker, Basic());
        var unprefixed = await PushedAsync(manager, basic.Host, HtpasswdRegistryFixture.User, HtpasswdRegistryFixture.Password);
        var resolved = $"{basic.Host}/{unprefixed}";
        await Assert.That(await IsLocalAsync(resolved)).IsFalse();
        var workload = manager.Workload("pulled", image: unprefixed);

        await manager.DeployAsync(workload);

        await Assert.That(await IsLocalAsync(resolved)).IsTrue();
        await Assert.That((await manager.InspectAsync(workload.Name)).Config!.Image).IsEqualTo(resolved);
        await Assert.That(await manager.WaitForLogAsync(workload.Name, TestConnectorImage.StartLine)).Contains(workload.ConnectorId);
        // The pre-flight asked the registry with the configured user.
        await Assert.That(manager.Handlers.Requests.Any(r => r.Uri.Authority == basic.Host && r.AuthorizationScheme == "Basic")).IsTrue();
    }

    [Test]
    public async Task An_image_that_names_the_registry_is_not_prefixed_twice()
    {
        Image.Require();
        await using var manager = DockerTestManager.Create(Docker, Basic());
        var full = $"{basic.Host}/{await PushedAsync(manager, basic.Host, HtpasswdRegistryFixture.User, HtpasswdRegistryFixture.Password)}";
        var workload = manager.Workload("named", image: full);

        await manager.DeployAsync(workload);

        await Assert.That((await manager.InspectAsync(workload.Name)).Config!.Image).IsEqualTo(full);
    }

    [Test]
    public async Task An_image_of_the_token_registry_is_pulled_with_the_users_token()
    {
        Image.Require();
        var (user, password) = token.NewUser(TokenPolicy.Pull);
        await using var manager = DockerTestManager.Create(Docker, new RegistrySettings
        {
            Server = token.Host, Username = user, Password = Composer.Diagnostics.Secret.From(password), RetryAttempts = 0, RetryDelay = 0,
        });
        var unprefixed = await PushedAsync(manager, token.Host, TokenRegistryFixture.Pusher, TokenRegistryFixture.PusherPassword);
        var before = token.Tokens.RequestCount(user);
        var workload = manager.Workload("token", image: unprefixed);

        await manager.DeployAsync(workload);

        await Assert.That((await manager.InspectAsync(workload.Name)).Config!.Image).IsEqualTo($"{token.Host}/{unprefixed}");
        // The pre-flight and the engine's pull both got their token for this user.
        await Assert.That(token.Tokens.RequestCount(user) - before).IsGreaterThanOrEqualTo(2);
    }

    [Test]
    public async Task A_present_image_is_neither_checked_nor_pulled()
    {
        Image.Require();
        // Wrong credentials: had the registry been asked, the deploy would fail.
        await using var manager = DockerTestManager.Create(Docker, Basic(password: "wrong-password"));
        var unprefixed = await PushedAsync(manager, basic.Host, HtpasswdRegistryFixture.User, HtpasswdRegistryFixture.Password);
        await Docker.Client.Images.TagImageAsync(TestConnectorImage.Reference, new global::Docker.DotNet.Models.ImageTagParameters
        {
            RepositoryName = $"{basic.Host}/{unprefixed.Split(':')[0]}", Tag = "1.0",
        });

        await manager.DeployAsync(manager.Workload("present", image: unprefixed));

        await Assert.That(manager.Handlers.Requests).IsEmpty();
    }

    [Test]
    public async Task A_wrong_password_fails_at_once_with_the_registrys_refusal()
    {
        Image.Require();
        const string wrong = "wrong-Pa55+/word";
        await using var manager = DockerTestManager.Create(Docker, Basic(password: wrong, retryAttempts: 3));
        var unprefixed = await PushedAsync(manager, basic.Host, HtpasswdRegistryFixture.User, HtpasswdRegistryFixture.Password);
        var workload = manager.Workload("bad-pw-login", image: unprefixed);

        var error = await manager.Orchestrator.DeployAsync(workload, CancellationToken.None);

        await Assert.That(error!.Message).Contains($"connector {workload.ConnectorId}: pull failed: bad credentials");
        await Assert.That(error.Message).Contains(basic.Host);
        await Assert.That(error.Message).Contains(HtpasswdRegistryFixture.EngineUser);
        await Assert.That(error.Message).DoesNotContain(wrong);
        await Assert.That(await manager.ListAsync()).IsEmpty();
    }

    [Test]
    public async Task A_missing_image_fails_at_once_naming_it()
    {
        Image.Require();
        await using var manager = DockerTestManager.Create(Docker, Basic());
        var workload = manager.Workload("missing", image: $"composer-tests/{Guid.NewGuid():N}:9.9");

        var error = await manager.Orchestrator.DeployAsync(workload, CancellationToken.None);

        await Assert.That(error!.Message).Contains("pull failed: image not found");
        await Assert.That(error.Message).Contains(workload.Image.Reference);
    }

    [Test]
    public async Task An_invalid_image_name_fails_before_any_request()
    {
        Image.Require();
        await using var manager = DockerTestManager.Create(Docker, Basic());
        // Resolved once, where the reconcile cycle builds its input: the connector is blocked, nothing reaches the orchestrator.
        var error = manager.Registry.Images.Resolve("Not/A:Valid:Image");
        await Assert.That(error.Failure!.Message).Contains("invalid image name");
        await Assert.That(manager.Handlers.Requests).IsEmpty();
    }

    [Test]
    public async Task When_composer_cannot_reach_the_registry_the_engine_pulls_and_its_failures_are_retried()
    {
        Image.Require();
        const string wrong = "wrong-Pa55+/word";
        // Composer's own path to the registry is broken (the engine has its own): the pre-flight only warns.
        await using var manager = DockerTestManager.Create(Docker, Basic(password: wrong, retryAttempts: 2), preflightHandlers: new UnreachableHandlers());
        var unprefixed = await PushedAsync(manager, basic.Host, HtpasswdRegistryFixture.User, HtpasswdRegistryFixture.Password);
        var workload = manager.Workload("retried", image: unprefixed);

        var error = await manager.Orchestrator.DeployAsync(workload, CancellationToken.None);

        await Assert.That(error!.Message).Contains($"connector {workload.ConnectorId}: pull of {basic.Host}/{unprefixed} failed after 3 attempts: ");
        await Assert.That(error.Message.ToLowerInvariant()).Contains("unauthorized");
        await Assert.That(error.Message).DoesNotContain(wrong);
        await Assert.That(error.Message).DoesNotContain("\n");
        await Assert.That(await manager.ListAsync()).IsEmpty();
    }

    [Test]
    public async Task When_composer_cannot_reach_the_registry_a_pull_the_engine_can_do_still_deploys()
    {
        Image.Require();
        await using var manager = DockerTestManager.Create(Docker, Basic(), preflightHandlers: new UnreachableHandlers());
        var workload = manager.Workload("engine-path", image: await PushedAsync(manager, basic.Host, HtpasswdRegistryFixture.User, HtpasswdRegistryFixture.Password));

        await manager.DeployAsync(workload);

        await Assert.That((await manager.ObservedAsync(workload.Name)).State).IsEqualTo(WorkloadState.Running);
    }

    [Test]
    public async Task A_refresh_whose_pull_fails_leaves_the_running_container_untouched()
    {
        Image.Require();
        await using var manager = DockerTestManager.Create(Docker, Basic());
        var v1 = manager.Workload("keep", hash: "h1",
            image: await PushedAsync(manager, basic.Host, HtpasswdRegistryFixture.User, HtpasswdRegistryFixture.Password));
        await manager.DeployAsync(v1);
        var before = await manager.ObservedAsync(v1.Name);
        var v2 = manager.Workload("keep", hash: "h2", image: $"composer-tests/{Guid.NewGuid():N}:2.0");

        var error = await manager.Orchestrator.RefreshAsync(before, v2, CancellationToken.None);

        await Assert.That(error!.Message).Contains("pull failed: image not found");
        await Assert.That(error.Message).Contains($"container {v1.Name} left as it was");
        var after = await manager.ObservedAsync(v1.Name);
        await Assert.That(after.WorkloadId).IsEqualTo(before.WorkloadId);
        await Assert.That(after.State).IsEqualTo(WorkloadState.Running);
        await Assert.That(after.ConfigHash).IsEqualTo("h1");
        await Assert.That((await manager.InspectAsync(after.WorkloadId)).RestartCount).IsEqualTo(0L);
    }

    [Test]
    public async Task A_refresh_to_a_new_image_pulls_it_and_replaces_the_container()
    {
        Image.Require();
        await using var manager = DockerTestManager.Create(Docker, Basic());
        var v1 = manager.Workload("upgrade", hash: "h1",
            image: await PushedAsync(manager, basic.Host, HtpasswdRegistryFixture.User, HtpasswdRegistryFixture.Password, "v1"));
        await manager.DeployAsync(v1);
        var before = await manager.ObservedAsync(v1.Name);
        var v2 = manager.Workload("upgrade", hash: "h2",
            image: await PushedAsync(manager, basic.Host, HtpasswdRegistryFixture.User, HtpasswdRegistryFixture.Password, "v2"));

        await Assert.That(await manager.Orchestrator.RefreshAsync(before, v2, CancellationToken.None)).IsNull();

        var after = await manager.ObservedAsync(v1.Name);
        await Assert.That(after.WorkloadId).IsNotEqualTo(before.WorkloadId);
        await Assert.That((await manager.InspectAsync(after.WorkloadId)).Config!.Image).IsEqualTo($"{basic.Host}/{v2.Image.Original}");
        await Assert.That((await manager.ListAsync()).Count).IsEqualTo(1);
    }

    /// <summary>Handlers whose every request fails to connect, as when Composer's network path to a registry is broken.</summary>
    private sealed class UnreachableHandlers : IOutboundHandlerFactory
    {
        public HttpMessageHandler CreateHandler(OutboundChannel channel) => new Refusing();
        public HttpMessageHandler CreateHandler(OutboundChannel channel, PlatformKind platform) => new Refusing();
        public HttpMessageHandler CreateHandler(OutboundChannel channel, PlatformKind platform, EndpointTls tls) => new Refusing();
        public TimeSpan RequestTimeout(PlatformKind platform) => TimeSpan.FromSeconds(5);

        private sealed class Refusing : HttpMessageHandler
        {
            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
                throw new HttpRequestException(HttpRequestError.ConnectionError, "simulated: no route from Composer to the registry");
        }
    }
}

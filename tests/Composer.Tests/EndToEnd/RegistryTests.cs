using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd;

/// <summary>
/// Images from private registries at deployment time, end to end (the product page's promise): an unprefixed image
/// resolved through opencti.daemon.registry.server and pulled by the engine with credentials whose password holds '+'
/// and '/', in htpasswd (Basic) and token (Bearer) mode; an image that names its registry is not prefixed twice; wrong
/// credentials are one clear line on the platform (no secret in it) while another connector deploys. Each test pushes
/// its own repositories (named after its manager id) and removes the local tags first, so the pulls really happen.
/// </summary>
[ClassDataSource<TestConnectorImage>(Shared = SharedType.PerTestSession)]
public class RegistryTests(TestConnectorImage image)
{
    [ClassDataSource<HtpasswdRegistryFixture>(Shared = SharedType.PerTestSession)]
    public required HtpasswdRegistryFixture Htpasswd { get; init; }

    [ClassDataSource<TokenRegistryFixture>(Shared = SharedType.PerTestSession)]
    public required TokenRegistryFixture TokenRegistry { get; init; }

    [Test]
    [Arguments("htpasswd")]
    [Arguments("token")]
    public async Task Pulls_an_unprefixed_image_through_the_registry_server_and_does_not_prefix_a_named_registry_twice(string mode)
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        string host, user, password, pushUser, pushPassword;
        if (mode == "htpasswd")
        {
            (host, user, password) = (Htpasswd.Host, HtpasswdRegistryFixture.SymbolUser, HtpasswdRegistryFixture.SymbolPassword);
            (pushUser, pushPassword) = (user, password);
        }
        else
        {
            host = TokenRegistry.Host;
            (user, password) = TokenRegistry.NewUser(TokenPolicy.Pull);
            (pushUser, pushPassword) = (TokenRegistryFixture.Pusher, TokenRegistryFixture.PusherPassword);
        }
        await Assert.That(password).Contains('+');
        await Assert.That(password).Contains('/');
        // Trace-level logging: not even it may print the password or its encodings (UseRegistry marks them secret).
        manager.Environment["MANAGER__LOGGER__LEVEL"] = "trace";
        var unprefixed = await manager.PushForPullAsync(image, host, pushUser, pushPassword, $"{manager.ManagerId}/unprefixed");
        var named = await manager.PushForPullAsync(image, host, pushUser, pushPassword, $"{manager.ManagerId}/named");
        manager.UseRegistry(host, user, password);

        var plain = manager.NewConnector("unprefixed", $"{manager.ManagerId}/unprefixed:1");
        var full = manager.NewConnector("named", named);
        manager.StandIn.AddConnector(plain);
        manager.StandIn.AddConnector(full);
        var composer = manager.Start();

        var plainContainer = await manager.WaitForContainerAsync(plain.Id);
        var fullContainer = await manager.WaitForContainerAsync(full.Id);
        await Assert.That(plainContainer.Config!.Image).IsEqualTo(unprefixed);
        await Assert.That(fullContainer.Config!.Image).IsEqualTo(named);
        await Assert.That(await manager.ImageExistsAsync(unprefixed)).IsTrue();
        await Assert.That(await manager.ImageExistsAsync(named)).IsTrue();
        await composer.WaitForOutputAsync(o => o.Split('\n').Count(l => l.Contains("\"Image pulled\"", StringComparison.Ordinal)) == 2,
            EndToEndManager.Timeout, "two 'Image pulled' lines");
        await Assert.That(composer.Output).DoesNotContain($"{host}/{host}");
        await manager.StandIn.WaitUntilAsync(s => s.GetConnector(plain.Id)?.CurrentStatus == "started" && s.GetConnector(full.Id)?.CurrentStatus == "started",
            EndToEndManager.Timeout, "both started");

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    /// <summary>
    /// Every registry a site uses: the registry block's server (its credentials win over a config.json entry for the
    /// same server), a second registry whose credentials come from a credential helper (credHelpers), the first
    /// registry under another name (localhost:port) whose credentials come from config.json's auths under a URL key,
    /// and a registry whose helper fails: one clear line on the platform, no secret anywhere, while the others deploy.
    /// </summary>
    [Test]
    public async Task Images_of_other_registries_pull_with_credentials_from_the_docker_config_and_a_credential_helper()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        var port = Htpasswd.Host[(Htpasswd.Host.LastIndexOf(':') + 1)..];
        var aliasHost = "localhost:" + port;
        var failingHost = "localhost:" + TokenRegistry.Host[(TokenRegistry.Host.LastIndexOf(':') + 1)..];
        var (helperUser, helperPassword) = TokenRegistry.NewUser(TokenPolicy.Pull);
        var blockImage = await manager.PushForPullAsync(image, Htpasswd.Host, HtpasswdRegistryFixture.SymbolUser, HtpasswdRegistryFixture.SymbolPassword,
            $"{manager.ManagerId}/block");
        var helperImage = await manager.PushForPullAsync(image, TokenRegistry.Host, TokenRegistryFixture.Pusher, TokenRegistryFixture.PusherPassword,
            $"{manager.ManagerId}/helper");
        var authsImage = await manager.PushForPullAsync(image, aliasHost, HtpasswdRegistryFixture.User, HtpasswdRegistryFixture.Password,
            $"{manager.ManagerId}/auths");
        manager.UseRegistry(Htpasswd.Host, HtpasswdRegistryFixture.SymbolUser, HtpasswdRegistryFixture.SymbolPassword);
        var wrongPassword = "not+/the-block-password-" + Guid.NewGuid().ToString("N");
        manager.UseDockerConfig(
            new Dictionary<string, (string, string)>
            {
                [$"http://{aliasHost}/v2/"] = (HtpasswdRegistryFixture.User, HtpasswdRegistryFixture.Password),
                [$"https://{Htpasswd.Host}"] = (HtpasswdRegistryFixture.OtherUser, wrongPassword),
            },
            credHelpers: new Dictionary<string, string> { [TokenRegistry.Host] = $"{manager.ManagerId}-ok", [failingHost] = $"{manager.ManagerId}-broken" });
        var calls = manager.InstallCredentialHelper($"{manager.ManagerId}-ok", new Dictionary<string, (string, string)> { [TokenRegistry.Host] = (helperUser, helperPassword) });
        var leaked = manager.Secret("Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4" + Guid.NewGuid().ToString("N"));
        manager.InstallCredentialHelper($"{manager.ManagerId}-broken", new Dictionary<string, (string, string)>(), failure: $"vault sealed: token {leaked} refused");

        var fromBlock = manager.NewConnector("block", $"{manager.ManagerId}/block:1");
        var fromHelper = manager.NewConnector("helper", helperImage);
        var fromAuths = manager.NewConnector("auths", authsImage);
        var broken = manager.NewConnector("broken", $"{failingHost}/{manager.ManagerId}/none:1");
        foreach (var connector in new[] { fromBlock, fromHelper, fromAuths, broken }) manager.StandIn.AddConnector(connector);
        var composer = manager.Start();

        await Assert.That((await manager.WaitForContainerAsync(fromBlock.Id)).Config!.Image).IsEqualTo(blockImage);
        await Assert.That((await manager.WaitForContainerAsync(fromHelper.Id)).Config!.Image).IsEqualTo(helperImage);
        await Assert.That((await manager.WaitForContainerAsync(fromAuths.Id)).Config!.Image).IsEqualTo(authsImage);
        foreach (var pulled in new[] { blockImage, helperImage, authsImage }) await Assert.That(await manager.ImageExistsAsync(pulled)).IsTrue();
        await Assert.That(File.ReadAllLines(calls)).Contains(TokenRegistry.Host);

        await manager.StandIn.WaitUntilAsync(s => LinesWith(s, broken.Id, "deploy failed").Count > 0, EndToEndManager.Timeout, "the helper failure reported");
        var line = LinesWith(manager.StandIn, broken.Id, "deploy failed")[0];
        await Assert.That(line).Contains($"credential helper docker-credential-{manager.ManagerId}-broken");
        await Assert.That(line).Contains($"failed for {failingHost}: exit code 3");
        await Assert.That(line).Contains("vault sealed");
        await Assert.That(line).DoesNotContain(leaked);
        await Assert.That(await manager.ContainersOfAsync(broken.Id)).IsEmpty();

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task Wrong_credentials_are_reported_to_the_platform_while_another_connector_deploys()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        var reference = await manager.PushForPullAsync(image, Htpasswd.Host, HtpasswdRegistryFixture.SymbolUser, HtpasswdRegistryFixture.SymbolPassword,
            $"{manager.ManagerId}/private");
        var wrongPassword = manager.Secret("wrong+/" + Guid.NewGuid().ToString("N"));
        manager.UseRegistry(Htpasswd.Host, HtpasswdRegistryFixture.SymbolUser, wrongPassword);
        manager.Environment["OPENCTI__DAEMON__REGISTRY__RETRY_ATTEMPTS"] = "1";
        manager.Environment["OPENCTI__DAEMON__REGISTRY__RETRY_DELAY"] = "1";

        var denied = manager.NewConnector("denied", $"{manager.ManagerId}/private:1", manager.NewSecret());
        // Names docker.io: not prefixed with the private registry, and present in the engine (no pull).
        var fine = manager.NewConnector("fine", "docker.io/" + TestConnectorImage.Reference, manager.NewSecret());
        manager.StandIn.AddConnector(denied);
        manager.StandIn.AddConnector(fine);
        var composer = manager.Start();

        await manager.WaitForContainerAsync(fine.Id);
        await manager.StandIn.WaitUntilAsync(s => s.GetConnector(fine.Id)?.CurrentStatus == "started", EndToEndManager.Timeout, "the other connector started");
        // The reason, on the platform, as that connector's log line; and again on a later cycle (per-connector backoff).
        await manager.StandIn.WaitUntilAsync(s => LinesWith(s, denied.Id, "deploy failed").Count >= 2, EndToEndManager.Timeout, "the deploy failure reported twice");
        var line = LinesWith(manager.StandIn, denied.Id, "deploy failed")[0];
        await Assert.That(line).Contains("composer: deploy failed");
        await Assert.That(line).Contains("bad credentials");
        await Assert.That(line).Contains($"registry {Htpasswd.Host}");
        await Assert.That(line).Contains($"user '{HtpasswdRegistryFixture.SymbolUser}'");
        await Assert.That(line).Contains(reference);
        await Assert.That(line).DoesNotContain(wrongPassword);
        await Assert.That(await manager.ContainersOfAsync(denied.Id)).IsEmpty();
        await Assert.That(await manager.ImageExistsAsync(reference)).IsFalse();
        await Assert.That(manager.StandIn.LogReports.SelectMany(r => r.Lines).Any(l => l.Contains(wrongPassword))).IsFalse();

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task A_refresh_whose_image_cannot_be_pulled_leaves_the_old_container_running()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        var (user, password) = (HtpasswdRegistryFixture.SymbolUser, HtpasswdRegistryFixture.SymbolPassword);
        var repository = $"{manager.ManagerId}/refreshed";
        await manager.PushForPullAsync(image, Htpasswd.Host, user, password, repository);
        manager.UseRegistry(Htpasswd.Host, user, password);
        var connector = manager.NewConnector("refreshed", $"{repository}:1", manager.NewSecret());
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start();
        var old = await manager.WaitForContainerAsync(connector.Id);

        // A new version whose image is not in the registry (yet).
        manager.StandIn.UpdateConnector(connector.Id, c => c with { Image = $"{repository}:2", Hash = "hash-2" });
        await manager.StandIn.WaitUntilAsync(s => LinesWith(s, connector.Id, "refresh failed").Count > 0, EndToEndManager.Timeout, "the refresh failure reported");
        var line = LinesWith(manager.StandIn, connector.Id, "refresh failed")[0];
        await Assert.That(line).Contains("pull failed");
        await Assert.That(line).Contains($"{Htpasswd.Host}/{repository}:2");
        await Assert.That(line).Contains("left as it was");
        var containers = await manager.ContainersOfAsync(connector.Id);
        await Assert.That(containers.Single().ID).IsEqualTo(old.ID);
        await Assert.That(containers.Single().State).IsEqualTo("running");

        // Once it is pushed, the retry (after the connector's backoff) replaces the container.
        await manager.PushForPullAsync(image, Htpasswd.Host, user, password, repository, "2");
        var refreshed = await manager.WaitForContainerAsync(connector.Id, also: c => c.ID != old.ID);
        await Assert.That(refreshed.Config!.Image).IsEqualTo($"{Htpasswd.Host}/{repository}:2");

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    /// <summary>The connector's uploaded log lines that hold <paramref name="fragment"/>.</summary>
    private static List<string> LinesWith(PlatformStandIn standIn, string connectorId, string fragment) =>
        [.. standIn.LogReports.Where(r => r.ConnectorId == connectorId).SelectMany(r => r.Lines).Where(l => l.Contains(fragment, StringComparison.Ordinal))];
}

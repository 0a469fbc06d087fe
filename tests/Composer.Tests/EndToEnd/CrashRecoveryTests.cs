using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd;

/// <summary>
/// `kill -9` mid-deploy, then a restart: the next run converges to exactly one started container per connector. The
/// precise points are reached deterministically: composer talks to the engine through a <see cref="DockerApiRelay"/>
/// that holds the request at that point (the pull, the start after the create, the create of a refresh), and is
/// killed while it waits; the restart talks to the engine directly.
/// </summary>
[ClassDataSource<TestConnectorImage>(Shared = SharedType.PerTestSession)]
public class CrashRecoveryTests(TestConnectorImage image)
{
    [ClassDataSource<HtpasswdRegistryFixture>(Shared = SharedType.PerTestSession)]
    public required HtpasswdRegistryFixture Registry { get; init; }

    private const string StartRequest = @"^POST /v[\d.]+/containers/[0-9a-f]{64}/start";
    private const string CreateRequest = @"^POST /v[\d.]+/containers/create";
    private const string PullRequest = @"^POST /v[\d.]+/images/create";
    private const string ArchiveRequest = @"^PUT /v[\d.]+/containers/[0-9a-f]{64}/archive";

    /// <summary>Starts composer on the relay and kills it (SIGKILL) once it sent a request matching <paramref name="pattern"/>, held unanswered.</summary>
    private static async Task KillWhenItSendsAsync(EndToEndManager manager, DockerApiRelay relay, string pattern)
    {
        var held = relay.Hold(pattern);
        var composer = manager.Start(new Dictionary<string, string> { ["OPENCTI__DAEMON__DOCKER__HOST"] = relay.DockerHost });
        await held.WaitAsync(EndToEndManager.Timeout);
        await composer.KillAsync();
    }

    /// <summary>After the restart: SIGTERM ends it cleanly, the manager has exactly this many containers, no secret was printed.</summary>
    private static async Task StopAndAssertConvergedAsync(EndToEndManager manager, ComposerProcess composer, int containers = 1)
    {
        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await Assert.That((await manager.ContainersAsync()).Count).IsEqualTo(containers);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task Killed_between_create_and_start_a_restart_starts_that_container()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        await using var relay = DockerApiRelay.Start(image.Docker.SocketPath);
        var connector = manager.NewConnector("created", TestConnectorImage.Reference, manager.NewSecret());
        manager.StandIn.AddConnector(connector);

        await KillWhenItSendsAsync(manager, relay, StartRequest);
        var created = await manager.WaitForContainerAsync(connector.Id, "created");

        var second = manager.Start();
        var running = await manager.WaitForContainerAsync(connector.Id);
        await Assert.That(running.ID).IsEqualTo(created.ID);
        await manager.StandIn.WaitUntilAsync(s => s.GetConnector(connector.Id)?.CurrentStatus == "started", EndToEndManager.Timeout, "started");
        await second.WaitForOutputAsync("\"Starting connector\"", EndToEndManager.Timeout);
        await Assert.That(second.Output).DoesNotContain("\"Deploying connector\"");

        await StopAndAssertConvergedAsync(manager, second);
    }

    [Test]
    public async Task Killed_before_the_ca_bundle_was_copied_a_restart_copies_it_before_the_start()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        await using var relay = DockerApiRelay.Start(image.Docker.SocketPath);
        using var ca = new TestCertificateAuthority("Composer end-to-end crash CA " + manager.ManagerId);
        manager.Environment["OPENCTI__WITH_PROXY"] = "true";
        manager.Environment["HTTPS_PROXY_CA"] = ca.WritePem(manager.Directory, "proxy-ca");
        var connector = manager.NewConnector("bundled", TestConnectorImage.Reference, manager.NewSecret());
        manager.StandIn.AddConnector(connector);

        await KillWhenItSendsAsync(manager, relay, ArchiveRequest);
        var created = await manager.WaitForContainerAsync(connector.Id, "created");

        var second = manager.Start();
        var running = await manager.WaitForContainerAsync(connector.Id);
        await Assert.That(running.ID).IsEqualTo(created.ID);
        // The connector found its bundle at its (first) start.
        await manager.StandIn.WaitUntilAsync(s => s.LogReports.Any(r => r.ConnectorId == connector.Id && r.Lines.Any(l => l.Contains(TestConnectorImage.CaPresentLine))),
            EndToEndManager.Timeout, "'ca bundle: present' uploaded");
        await Assert.That(manager.StandIn.LogReports.SelectMany(r => r.Lines).Any(l => l.Contains(TestConnectorImage.CaMissingLine))).IsFalse();

        await StopAndAssertConvergedAsync(manager, second);
    }

    [Test]
    public async Task Killed_mid_pull_a_restart_pulls_and_deploys_once()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        await using var relay = DockerApiRelay.Start(image.Docker.SocketPath);
        var (user, password) = (HtpasswdRegistryFixture.SymbolUser, HtpasswdRegistryFixture.SymbolPassword);
        var reference = await manager.PushForPullAsync(image, Registry.Host, user, password, $"{manager.ManagerId}/pulled");
        manager.UseRegistry(Registry.Host, user, password);
        var connector = manager.NewConnector("pulled", $"{manager.ManagerId}/pulled:1", manager.NewSecret());
        manager.StandIn.AddConnector(connector);

        await KillWhenItSendsAsync(manager, relay, PullRequest);
        await Assert.That(await manager.ContainersAsync()).IsEmpty();

        var second = manager.Start();
        var running = await manager.WaitForContainerAsync(connector.Id);
        await Assert.That(running.Config!.Image).IsEqualTo(reference);
        await manager.StandIn.WaitUntilAsync(s => s.GetConnector(connector.Id)?.CurrentStatus == "started", EndToEndManager.Timeout, "started");

        await StopAndAssertConvergedAsync(manager, second);
    }

    [Test]
    public async Task Killed_mid_refresh_a_restart_leaves_only_the_new_container()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        await using var relay = DockerApiRelay.Start(image.Docker.SocketPath);
        var connector = manager.NewConnector("refreshed", TestConnectorImage.Reference, manager.NewSecret());
        manager.StandIn.AddConnector(connector);
        var first = manager.Start(new Dictionary<string, string> { ["OPENCTI__DAEMON__DOCKER__HOST"] = relay.DockerHost });
        var old = await manager.WaitForContainerAsync(connector.Id);

        // The refresh stops the old container and renames it aside; its replacement's create is held.
        var held = relay.Hold(CreateRequest);
        manager.StandIn.UpdateConnector(connector.Id, c => c with { Hash = "hash-2" });
        await held.WaitAsync(EndToEndManager.Timeout);
        await first.KillAsync();
        var aside = (await manager.ContainersOfAsync(connector.Id)).Single();
        await Assert.That(aside.ID).IsEqualTo(old.ID);
        await Assert.That(aside.Names.Single()).Contains(".replaced-");

        var second = manager.Start();
        var refreshed = await manager.WaitForContainerAsync(connector.Id, also: c => c.ID != old.ID);
        await Assert.That(EndToEndManager.EnvironmentValue(refreshed, "OPENCTI_CONFIG_HASH")).IsEqualTo("hash-2");
        await Assert.That(refreshed.Name).IsEqualTo(old.Name);

        await StopAndAssertConvergedAsync(manager, second);
    }

    [Test]
    public async Task Killed_right_after_deploying_starts_a_restart_converges_without_duplicates()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        var connectors = Enumerable.Range(1, 3).Select(i => manager.NewConnector($"burst-{i}", TestConnectorImage.Reference, manager.NewSecret())).ToList();
        foreach (var c in connectors) manager.StandIn.AddConnector(c);

        var first = manager.Start();
        await first.WaitForOutputAsync("\"Deploying connector\"", EndToEndManager.Timeout);
        await first.KillAsync();

        var second = manager.Start();
        foreach (var c in connectors) await manager.WaitForContainerAsync(c.Id);
        await manager.StandIn.WaitUntilAsync(s => connectors.All(c => s.GetConnector(c.Id)?.CurrentStatus == "started"), EndToEndManager.Timeout, "all started");

        await StopAndAssertConvergedAsync(manager, second, connectors.Count);
    }

    [Test]
    public async Task A_container_stopped_or_removed_outside_composer_is_brought_back()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        var connector = manager.NewConnector("tampered", TestConnectorImage.Reference, manager.NewSecret());
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start();
        var first = await manager.WaitForContainerAsync(connector.Id);
        await manager.StandIn.WaitUntilAsync(s => s.GetConnector(connector.Id)?.CurrentStatus == "started", EndToEndManager.Timeout, "started");

        // docker stop: the platform still wants it running, so it is started again (and the stop was reported).
        await manager.Docker.Client.Containers.StopContainerAsync(first.ID, new Docker.DotNet.Models.ContainerStopParameters { WaitBeforeKillSeconds = 5 });
        await manager.StandIn.WaitUntilAsync(s => s.StatusReports.Count(r => r.ConnectorId == connector.Id && r.Status == "started") >= 2,
            EndToEndManager.Timeout, "started again after the stop");
        await Assert.That((await manager.WaitForContainerAsync(connector.Id)).ID).IsEqualTo(first.ID);

        // docker rm -f: deployed again, once.
        await manager.Docker.Client.Containers.RemoveContainerAsync(first.ID, new Docker.DotNet.Models.ContainerRemoveParameters { Force = true });
        var second = await manager.WaitForContainerAsync(connector.Id, also: c => c.ID != first.ID);
        await Assert.That(EndToEndManager.EnvironmentValue(second, "CONNECTOR_ID")).IsEqualTo(connector.Id);

        await StopAndAssertConvergedAsync(manager, composer);
    }
}

using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd;

/// <summary>
/// Problems of one connector, end to end: the user reads why on the platform (as that connector's log line) and the
/// other connectors go on. A secret that cannot be decrypted keeps its connector from starting (never started with an
/// empty secret) until the platform sends one that can; a connector that keeps crashing is reported as in a reboot loop
/// (and held stopped with manager.reboot_loop.stop); a connector id listed twice is managed once and said once.
/// </summary>
[ClassDataSource<TestConnectorImage>(Shared = SharedType.PerTestSession)]
public class ConnectorProblemTests(TestConnectorImage image)
{
    [Test]
    public async Task An_undecryptable_secret_keeps_its_connector_from_starting_while_the_other_deploys()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        var broken = manager.NewConnector("broken", TestConnectorImage.Reference) with
        {
            Configuration = [StandInEntry.Secret("CONNECTOR_SECRET", "unused") with { RawCiphertext = "bm90IGEgY2lwaGVydGV4dA==" }],
        };
        var fine = manager.NewConnector("fine", TestConnectorImage.Reference, manager.NewSecret());
        manager.StandIn.AddConnector(broken);
        manager.StandIn.AddConnector(fine);
        var composer = manager.Start();

        await manager.WaitForContainerAsync(fine.Id);
        await manager.StandIn.WaitUntilAsync(s => ProblemLines(s, broken.Id).Count > 0, EndToEndManager.Timeout, "the problem reported");
        var line = ProblemLines(manager.StandIn, broken.Id).Single();
        await Assert.That(line).Contains("cannot decrypt CONNECTOR_SECRET");
        await Assert.That(line).Contains("is not deployed");
        // Several cycles later: still not deployed, and the problem was reported once, not every cycle.
        var listings = Listings(manager.StandIn);
        await manager.StandIn.WaitUntilAsync(s => Listings(s) >= listings + 3, EndToEndManager.Timeout, "three more cycles");
        await Assert.That(await manager.ContainersOfAsync(broken.Id)).IsEmpty();
        await Assert.That(ProblemLines(manager.StandIn, broken.Id).Count).IsEqualTo(1);

        // The platform sends a secret that can be decrypted: deployed with it.
        var secret = manager.NewSecret();
        manager.StandIn.UpdateConnector(broken.Id, c => c with { Configuration = [StandInEntry.Secret("CONNECTOR_SECRET", secret)] });
        var container = await manager.WaitForContainerAsync(broken.Id);
        await Assert.That(EndToEndManager.EnvironmentValue(container, "CONNECTOR_SECRET")).IsEqualTo(secret);

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task A_connector_that_keeps_crashing_is_reported_in_a_reboot_loop()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        // Runs about a second, exits 1; the engine restarts it (unless-stopped) with a growing delay.
        var crashing = manager.NewConnector("crashing", TestConnectorImage.Reference) with
        {
            Configuration = [new StandInEntry("EXIT_AFTER", "2"), new StandInEntry("TICK_SECONDS", "0.5")],
        };
        manager.StandIn.AddConnector(crashing);
        var composer = manager.Start();

        await manager.StandIn.WaitUntilAsync(s => s.HealthReports.Any(r => r.ConnectorId == crashing.Id && r.IsInRebootLoop && r.RestartCount > 3),
            EndToEndManager.Timeout, "a reboot loop reported in the health");
        await manager.StandIn.WaitUntilAsync(s => s.LogReports.Any(r => r.ConnectorId == crashing.Id && r.Lines.Any(l => l.Contains("is in a reboot loop"))),
            EndToEndManager.Timeout, "a reboot loop reported as a log line");
        var counts = manager.StandIn.HealthReports.Where(r => r.ConnectorId == crashing.Id).Select(r => r.RestartCount).ToList();
        await Assert.That(counts.Zip(counts.Skip(1)).All(p => p.First <= p.Second)).IsTrue().Because(string.Join(",", counts));
        // Still one container: the engine restarts it, Composer never redeploys it.
        await Assert.That((await manager.ContainersOfAsync(crashing.Id)).Count).IsEqualTo(1);

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task A_crash_looping_connector_is_told_held_stopped_and_released_and_a_stopped_one_reports_its_health()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        RebootLoopScenario.Configure(manager);
        var crashing = RebootLoopScenario.Crashing(manager, TestConnectorImage.Reference);
        var idle = manager.NewConnector("idle", TestConnectorImage.Reference, requestedStatus: "stopping");
        manager.StandIn.AddConnector(crashing);
        manager.StandIn.AddConnector(idle);

        await RebootLoopScenario.RunAsync(manager, crashing, idle, async id =>
            (await manager.ContainersOfAsync(id)).SingleOrDefault()?.State switch
            {
                "running" => Orchestrators.WorkloadRun.Running,
                "exited" or "created" => Orchestrators.WorkloadRun.Stopped,
                _ => Orchestrators.WorkloadRun.Other,
            });
    }

    [Test]
    public async Task A_connector_id_listed_twice_is_deployed_once_and_reported_once_in_the_log_and_on_the_platform()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        var connector = manager.NewConnector("twice", TestConnectorImage.Reference);
        manager.StandIn.AddConnector(connector);
        // The same id again after it, under another name (migrated connectors skipped the platform's checks).
        manager.StandIn.AddRawListingEntry(new System.Text.Json.Nodes.JsonObject
        {
            ["id"] = connector.Id,
            ["name"] = $"{manager.ManagerId} twice again",
            ["manager_contract_image"] = TestConnectorImage.Reference,
            ["manager_contract_hash"] = "hash-other",
            ["manager_current_status"] = null,
            ["manager_requested_status"] = "starting",
            ["manager_contract_configuration"] = new System.Text.Json.Nodes.JsonArray(),
        }.ToJsonString());
        var composer = manager.Start();

        var container = await manager.WaitForContainerAsync(connector.Id);
        await Assert.That(container.Name).IsEqualTo("/" + Composer.Reconciliation.WorkloadNames.ContainerName(connector.Name));
        await manager.StandIn.WaitUntilAsync(s => ProblemLines(s, connector.Id).Any(l => l.Contains("is listed more than once", StringComparison.Ordinal)),
            EndToEndManager.Timeout, "the duplicate id told on the platform");
        var listings = Listings(manager.StandIn);
        await manager.StandIn.WaitUntilAsync(s => Listings(s) >= listings + 3, EndToEndManager.Timeout, "three more cycles");
        var told = ProblemLines(manager.StandIn, connector.Id).Where(l => l.Contains("is listed more than once", StringComparison.Ordinal)).ToList();
        await Assert.That(told.Count).IsEqualTo(1);
        await Assert.That(told[0]).EndsWith(
            $" composer: connector id {connector.Id} is listed more than once (also as '{manager.ManagerId} twice again'): only the entry {connector.Name} is managed");
        await Assert.That(composer.Output.Split("is listed more than once").Length - 1).IsEqualTo(1);
        await Assert.That((await manager.ContainersOfAsync(connector.Id)).Single().ID).IsEqualTo(container.ID);

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    private static List<string> ProblemLines(PlatformStandIn standIn, string connectorId) =>
        [.. standIn.LogReports.Where(r => r.ConnectorId == connectorId).SelectMany(r => r.Lines).Where(l => l.Contains(" composer: ", StringComparison.Ordinal))];

    private static int Listings(PlatformStandIn standIn) =>
        standIn.Requests.Count(r => r.Body.Contains("\"operationName\":\"GetConnectors\"", StringComparison.Ordinal));

    [Test]
    public async Task Unusable_listing_entries_are_reported_and_nothing_is_removed_while_the_listing_is_incomplete()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        var kept = manager.NewConnector("kept", TestConnectorImage.Reference, manager.NewSecret());
        var badImage = manager.NewConnector("bad-image", "Not A Valid::Image", manager.NewSecret());
        var good = manager.NewConnector("good", TestConnectorImage.Reference, manager.NewSecret());
        manager.StandIn.AddConnector(kept);
        var composer = manager.Start();
        var keptContainer = await manager.WaitForContainerAsync(kept.Id);

        // A null entry (no id: the listing is incomplete), an entry with an invalid image, and a good one; the kept
        // connector is deleted on the platform at the same time.
        manager.StandIn.AddRawListingEntry("null", position: 0);
        manager.StandIn.AddConnector(badImage);
        manager.StandIn.AddConnector(good);
        manager.StandIn.RemoveConnector(kept.Id);
        await manager.WaitForContainerAsync(good.Id);
        await manager.StandIn.WaitUntilAsync(s => s.LogReports.Any(r => r.ConnectorId == badImage.Id && r.Lines.Any(l => l.Contains(" composer: "))),
            EndToEndManager.Timeout, "the invalid image reported");
        await Assert.That(manager.StandIn.LogReports.Where(r => r.ConnectorId == badImage.Id).SelectMany(r => r.Lines).First(l => l.Contains(" composer: ")))
            .Contains("Not A Valid::Image");
        await Assert.That(await manager.ContainersOfAsync(badImage.Id)).IsEmpty();
        // Why, with the unusable entry's own reason, once (not every cycle).
        await composer.WaitForOutputAsync("listing entry 0: the entry is null", EndToEndManager.Timeout);
        // Deleted, but a connector missing from an incomplete listing may still be wanted: kept.
        var listings = Listings(manager.StandIn);
        await manager.StandIn.WaitUntilAsync(s => Listings(s) >= listings + 2, EndToEndManager.Timeout, "two more cycles");
        await Assert.That((await manager.ContainersOfAsync(kept.Id)).Single().ID).IsEqualTo(keptContainer.ID);
        await Assert.That(composer.Output.Split("No workload is removed while the listing is incomplete").Length - 1).IsEqualTo(1);

        // A complete listing again: the deleted connector's container goes.
        manager.StandIn.ClearRawListingEntries();
        await manager.EventuallyAsync(async () => (await manager.ContainersOfAsync(kept.Id)).Count == 0, "the deleted connector's container removed");
        await Assert.That((await manager.ContainersOfAsync(good.Id)).Count).IsEqualTo(1);

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }
}

using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd;

/// <summary>
/// A failed listing is never an empty one, end to end: while the platform's listing answers HTTP 500, GraphQL errors,
/// nulls, malformed JSON or nothing at all (a timeout), or while the Docker engine cannot be reached, the running
/// binary removes nothing and deploys no duplicate, cycle after cycle; once the fault is gone it carries on.
/// </summary>
[ClassDataSource<TestConnectorImage>(Shared = SharedType.PerTestSession)]
public class FaultTests(TestConnectorImage image)
{
    private const int FailedCycles = 3;

    [Test]
    [Arguments(StandInFaultKind.HttpStatus)]
    [Arguments(StandInFaultKind.GraphQlErrors)]
    [Arguments(StandInFaultKind.Timeout)]
    [Arguments(StandInFaultKind.NullRootField)]
    [Arguments(StandInFaultKind.MalformedJson)]
    public async Task A_failing_platform_listing_removes_nothing(StandInFaultKind kind)
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        manager.Environment["OPENCTI__REQUEST_TIMEOUT"] = "2";
        manager.Environment["OPENCTI__LISTING_TIMEOUT"] = "2"; // the listing has its own timeout
        var connectors = new[]
        {
            manager.NewConnector("kept-a", TestConnectorImage.Reference, manager.NewSecret()),
            manager.NewConnector("kept-b", TestConnectorImage.Reference, manager.NewSecret()),
        };
        foreach (var c in connectors) manager.StandIn.AddConnector(c);
        var composer = manager.Start();
        var before = new Dictionary<string, string>();
        foreach (var c in connectors) before[c.Id] = (await manager.WaitForContainerAsync(c.Id)).ID;
        await manager.StandIn.WaitUntilAsync(s => connectors.All(c => s.GetConnector(c.Id)?.CurrentStatus == "started"), EndToEndManager.Timeout, "both started");

        var listed = ListingRequests(manager.StandIn);
        manager.StandIn.InjectFault(StandInOperation.List, new StandInFault(kind) { StatusCode = 500, Message = "injected listing failure" });
        await manager.StandIn.WaitUntilAsync(s => ListingRequests(s) >= listed + FailedCycles, EndToEndManager.Timeout, $"{FailedCycles} failed listings");
        await composer.WaitForOutputAsync(o => Count(o, "Reconcile cycle changed nothing") >= FailedCycles - 1, EndToEndManager.Timeout,
            "the failed cycles logged");
        await AssertUnchangedAsync(manager, before);

        // Back to normal: the next cycles find everything in place and change nothing either.
        manager.StandIn.ClearFaults();
        var recovered = ListingRequests(manager.StandIn);
        await manager.StandIn.WaitUntilAsync(s => ListingRequests(s) >= recovered + 2, EndToEndManager.Timeout, "two listings after the fault");
        await AssertUnchangedAsync(manager, before);
        await Assert.That(composer.Output).DoesNotContain("Removing");

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task An_unreachable_docker_engine_removes_nothing_and_deploys_no_duplicate()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        await using var relay = DockerApiRelay.Start(image.Docker.SocketPath);
        manager.Environment["OPENCTI__DAEMON__DOCKER__HOST"] = relay.DockerHost;
        var healthPort = FreePort.Next();
        manager.Environment["MANAGER__HEALTH__ENABLE"] = "true";
        manager.Environment["MANAGER__HEALTH__LISTEN"] = $"127.0.0.1:{healthPort}";
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri($"http://127.0.0.1:{healthPort}/") };
        var kept = manager.NewConnector("kept", TestConnectorImage.Reference, manager.NewSecret());
        manager.StandIn.AddConnector(kept);
        var composer = manager.Start();
        var before = new Dictionary<string, string> { [kept.Id] = (await manager.WaitForContainerAsync(kept.Id)).ID };
        await manager.StandIn.WaitUntilAsync(s => s.GetConnector(kept.Id)?.CurrentStatus == "started", EndToEndManager.Timeout, "started");

        relay.Stop();
        // A connector added while the engine is away is deployed once it is back, once.
        var added = manager.NewConnector("added", TestConnectorImage.Reference, manager.NewSecret());
        manager.StandIn.AddConnector(added);
        await composer.WaitForOutputAsync(o => Count(o, "\"orchestrator_error\"") >= FailedCycles, EndToEndManager.Timeout, $"{FailedCycles} failed Docker listings");
        await AssertUnchangedAsync(manager, before);
        await Assert.That(await manager.ContainersOfAsync(added.Id)).IsEmpty();
        await Assert.That(composer.Output).Contains("cannot list the containers of manager " + manager.ManagerId);
        using (var readyz = await http.GetAsync("readyz"))
        {
            await Assert.That(readyz.StatusCode).IsEqualTo(System.Net.HttpStatusCode.ServiceUnavailable);
            await Assert.That(await readyz.Content.ReadAsStringAsync()).Contains("FAIL OpenCTI orchestrator (docker): cannot list the containers");
        }

        relay.Resume();
        await manager.WaitForContainerAsync(added.Id);
        await manager.StandIn.WaitUntilAsync(s => s.GetConnector(added.Id)?.CurrentStatus == "started", EndToEndManager.Timeout, "the added connector started");
        await AssertUnchangedAsync(manager, before);
        await Assert.That((await manager.ContainersAsync()).Count).IsEqualTo(2);
        using (var readyz = await http.GetAsync("readyz"))
        {
            await Assert.That(readyz.StatusCode).IsEqualTo(System.Net.HttpStatusCode.OK);
        }
        await Assert.That(composer.Output).DoesNotContain("Removing");

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    /// <summary>Each connector still has its one container, the same one, running.</summary>
    private static async Task AssertUnchangedAsync(EndToEndManager manager, Dictionary<string, string> containerIds)
    {
        foreach (var (connectorId, containerId) in containerIds)
        {
            var containers = await manager.ContainersOfAsync(connectorId);
            await Assert.That(containers.Count).IsEqualTo(1).Because(EndToEndManager.Describe(containers));
            await Assert.That(containers[0].ID).IsEqualTo(containerId);
            await Assert.That(containers[0].State).IsEqualTo("running");
        }
    }

    private static int ListingRequests(PlatformStandIn standIn) =>
        standIn.Requests.Count(r => r.Body.Contains("\"operationName\":\"GetConnectors\"", StringComparison.Ordinal));

    private static int Count(string text, string fragment)
    {
        var n = 0;
        for (var i = text.IndexOf(fragment, StringComparison.Ordinal); i >= 0; i = text.IndexOf(fragment, i + fragment.Length, StringComparison.Ordinal)) n++;
        return n;
    }
}

using System.Diagnostics;
using Composer.Tests.Infrastructure;
using Docker.DotNet.Models;

namespace Composer.Tests.EndToEnd;

/// <summary>
/// Issue 16 with the published binary on the test engine: per-connector lanes (a held pull holds only its connector
/// while another is started and stopped) and the engine's events (a `docker kill` reaches the platform within 2 s, a
/// removed container is deployed again before the next scheduled cycle, a cut events stream falls back to polling,
/// said in the log and on /readyz, then is watched again), and point 4's recovery: a connector backed off on a registry
/// that did not answer is deployed within two cycles once it answers again, not after its backoff. The lanes on
/// Kubernetes, Portainer and Swarm: OrchestratorLaneTests; their events: OrchestratorEventTests.
/// </summary>
[ClassDataSource<TestConnectorImage>(Shared = SharedType.PerTestSession)]
public class LaneAndEventTests(TestConnectorImage image)
{
    [ClassDataSource<HtpasswdRegistryFixture>(Shared = SharedType.PerTestSession)]
    public required HtpasswdRegistryFixture Registry { get; init; }

    private const string EventsRequest = @"^GET /v[\d.]+/events";

    /// <summary>Long enough that nothing these tests wait for can be the work of a scheduled cycle.</summary>
    private const string LongSchedule = "60";

    [Test]
    public async Task A_held_pull_holds_only_its_connector_while_another_is_started_and_stopped()
    {
        const string HeldPull = @"^POST /v[\d.]+/images/create\?fromImage=[^&]*(%2F|/)held";
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        await using var relay = DockerApiRelay.Start(image.Docker.SocketPath);
        var (user, password) = (HtpasswdRegistryFixture.SymbolUser, HtpasswdRegistryFixture.SymbolPassword);
        await manager.PushForPullAsync(image, Registry.Host, user, password, $"{manager.ManagerId}/held");
        await manager.PushForPullAsync(image, Registry.Host, user, password, $"{manager.ManagerId}/other");
        manager.UseRegistry(Registry.Host, user, password);
        // A pull that never ends, as from a registry that never answers; longer than everything below.
        manager.Environment["OPENCTI__REQUEST_TIMEOUT"] = "120";
        var held = manager.NewConnector("held", $"{manager.ManagerId}/held:1");
        var other = manager.NewConnector("other", $"{manager.ManagerId}/other:1");
        manager.StandIn.AddConnector(held);
        var pull = relay.Hold(HeldPull);
        var composer = manager.Start(new Dictionary<string, string> { ["OPENCTI__DAEMON__DOCKER__HOST"] = relay.DockerHost });
        await pull.WaitAsync(EndToEndManager.Timeout);

        // Added while the pull is held: deployed and started at once.
        var watch = Stopwatch.StartNew();
        manager.StandIn.AddConnector(other);
        await manager.WaitForContainerAsync(other.Id);
        await manager.StandIn.WaitUntilAsync(s => s.GetConnector(other.Id)?.CurrentStatus == "started", EndToEndManager.Timeout, "the other connector started");
        var started = watch.Elapsed;

        // A stop request: acted on within one execute_schedule (1 s) plus 1 s, not behind the held pull.
        watch.Restart();
        manager.StandIn.RequestStatus(other.Id, start: false);
        await manager.WaitForContainerAsync(other.Id, "exited");
        var stopped = watch.Elapsed;
        await Assert.That(stopped).IsLessThan(TimeSpan.FromSeconds(2) + TimeSpan.FromSeconds(1)).Because($"stopped after {stopped}; started after {started}");

        // The held connector was not planned again while its work is in flight: one pull, no container.
        await Assert.That(relay.Requests.Count(r => System.Text.RegularExpressions.Regex.IsMatch(r, HeldPull))).IsEqualTo(1);
        await Assert.That(await manager.ContainersOfAsync(held.Id)).IsEmpty();
        await Assert.That(composer.Output).Contains("\"connector_deadline_seconds\":300");

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task An_image_policy_check_on_a_registry_that_never_answers_holds_only_its_own_connector()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        // A registry that accepts connections and never answers.
        using var silent = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start();
        var silentHost = $"127.0.0.1:{((System.Net.IPEndPoint)silent.LocalEndpoint).Port}";
        var (user, password) = (HtpasswdRegistryFixture.SymbolUser, HtpasswdRegistryFixture.SymbolPassword);
        await manager.PushForPullAsync(image, Registry.Host, user, password, $"{manager.ManagerId}/other");
        manager.UseRegistry(Registry.Host, user, password);
        manager.Environment["OPENCTI__REQUEST_TIMEOUT"] = "120";
        manager.Environment["OPENCTI__DAEMON__IMAGE_POLICY__ALLOW"] = $"[\"{Registry.Host}/{manager.ManagerId}/*\", \"{silentHost}/**\"]";
        var held = manager.StartedConnector("held", $"{silentHost}/{manager.ManagerId}/held:1");
        var other = manager.StartedConnector("other", $"{Registry.Host}/{manager.ManagerId}/other:1");
        manager.StandIn.AddConnector(held);
        manager.StandIn.AddConnector(other);

        var watch = Stopwatch.StartNew();
        var composer = manager.Start();
        using var asked = await silent.AcceptSocketAsync().WaitAsync(EndToEndManager.Timeout);
        // The other connector is checked, pulled and started while the held image's check waits on its registry.
        var container = await manager.WaitForContainerAsync(other.Id);
        await manager.StandIn.WaitUntilAsync(s => s.GetConnector(other.Id)?.CurrentStatus == "started", EndToEndManager.Timeout, "the other connector started");
        var started = watch.Elapsed;
        await Assert.That(started).IsLessThan(TimeSpan.FromSeconds(30)).Because($"started after {started}");
        await Assert.That(container.Config!.Image).Contains("@sha256:").Because("approved by the policy, pinned to the digest checked");
        await Assert.That(await manager.ContainersOfAsync(held.Id)).IsEmpty();
        // Waiting is no refusal: nothing about the held connector is told as a problem while its check runs.
        await Assert.That(manager.StandIn.LogReports.Where(r => r.ConnectorId == held.Id).SelectMany(r => r.Lines).Any(l => l.Contains("refused"))).IsFalse();

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task A_connector_backed_off_on_an_unreachable_registry_is_deployed_within_two_cycles_of_its_return()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        var (user, password) = (HtpasswdRegistryFixture.SymbolUser, HtpasswdRegistryFixture.SymbolPassword);
        // The registry behind a relay the test takes away (connections refused) and gives back.
        await using var relay = TcpRelay.Start(Registry.Host);
        await manager.PushForPullAsync(image, Registry.Host, user, password, $"{manager.ManagerId}/recovering");
        var reference = $"{relay.Host}/{manager.ManagerId}/recovering:1";
        manager.RemoveImageOnDispose(reference);
        relay.Stop();
        manager.UseRegistry(relay.Host, user, password);
        const int Schedule = 10;
        manager.Environment["MANAGER__EXECUTE_SCHEDULE"] = Schedule.ToString(System.Globalization.CultureInfo.InvariantCulture);
        manager.Environment["OPENCTI__DAEMON__REGISTRY__RETRY_ATTEMPTS"] = "0";
        var connector = manager.StartedConnector("recovering", reference);
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start();

        // Four failed deploys: the next try is 40 to 80 s after the last one (10 s doubling, equal jitter).
        await composer.WaitForOutputAsync(output => output.Split('\n').Any(line => line.Contains("\"message\":\"deploy failed\"", StringComparison.Ordinal)
            && line.Contains("\"failures\":4", StringComparison.Ordinal)), TimeSpan.FromMinutes(3), "four failed deploys");
        await Assert.That(composer.Output).Contains($"\"waits_on\":\"registry {relay.Host}\"").Because("the pull failed on the registry, not on the connector");
        await Assert.That(await manager.ContainersOfAsync(connector.Id)).IsEmpty();

        var watch = Stopwatch.StartNew();
        relay.Resume();
        await manager.WaitForContainerAsync(connector.Id);
        var deployed = watch.Elapsed;
        await Assert.That(deployed).IsLessThanOrEqualTo(TimeSpan.FromSeconds(2 * Schedule)).Because($"deployed {deployed} after the registry came back");
        await Assert.That(composer.Output).Contains("Backoff cut short");
        await manager.StandIn.WaitUntilAsync(s => s.GetConnector(connector.Id)?.CurrentStatus == "started", EndToEndManager.Timeout, "started");

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task A_docker_kill_reaches_the_platform_within_2_s()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        manager.Environment["MANAGER__EXECUTE_SCHEDULE"] = LongSchedule;
        var connector = manager.StartedConnector("killed", TestConnectorImage.Reference);
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start();
        var container = await manager.WaitForContainerAsync(connector.Id);
        await manager.StandIn.WaitUntilAsync(s => s.GetConnector(connector.Id)?.CurrentStatus == "started", EndToEndManager.Timeout, "started");
        await composer.WaitForOutputAsync("Watching the orchestrator's events", EndToEndManager.Timeout);
        await manager.StandIn.WaitUntilAsync(s => s.HealthReports.Any(h => h.ConnectorId == connector.Id), EndToEndManager.Timeout, "a first health report");
        var healthBefore = manager.StandIn.HealthReports.Count(h => h.ConnectorId == connector.Id);
        var statusBefore = manager.StandIn.StatusReports.Count(s => s.ConnectorId == connector.Id);

        var watch = Stopwatch.StartNew();
        await manager.Docker.Client.Containers.KillContainerAsync(container.ID, new ContainerKillParameters());
        await manager.StandIn.WaitUntilAsync(s =>
        {
            var health = s.HealthReports.Where(h => h.ConnectorId == connector.Id).Skip(healthBefore).ToList();
            var stoppedReported = s.StatusReports.Where(r => r.ConnectorId == connector.Id).Skip(statusBefore).Any(r => r.Status == "stopped");
            // Restarted by the engine (a new run counted) or left down (reported stopped): either way, told with its health.
            return health.Count > 0 && (stoppedReported || health.Any(h => h.RestartCount > 0));
        }, TimeSpan.FromSeconds(15), "the kill's status and health");
        var told = watch.Elapsed;
        await Assert.That(told).IsLessThanOrEqualTo(TimeSpan.FromSeconds(2)).Because($"told after {told}");

        // And it runs again, without waiting for the scheduled cycle.
        await manager.WaitForContainerAsync(connector.Id);
        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task A_removed_container_is_deployed_again_before_the_next_scheduled_cycle()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        manager.Environment["MANAGER__EXECUTE_SCHEDULE"] = LongSchedule;
        var connector = manager.StartedConnector("removed", TestConnectorImage.Reference);
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start();
        var first = await manager.WaitForContainerAsync(connector.Id);
        await composer.WaitForOutputAsync("Watching the orchestrator's events", EndToEndManager.Timeout);

        var watch = Stopwatch.StartNew();
        await manager.Docker.Client.Containers.RemoveContainerAsync(first.ID, new ContainerRemoveParameters { Force = true });
        var second = await manager.WaitForContainerAsync(connector.Id);
        var redeployed = watch.Elapsed;
        await Assert.That(second.ID).IsNotEqualTo(first.ID);
        await Assert.That(redeployed).IsLessThan(TimeSpan.FromSeconds(15)).Because($"deployed again after {redeployed}, the schedule is {LongSchedule} s");

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task A_cut_events_stream_falls_back_to_polling_said_on_readyz_then_events_resume()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        await using var relay = DockerApiRelay.Start(image.Docker.SocketPath);
        var healthPort = FreePort.Next();
        manager.Environment["MANAGER__HEALTH__ENABLE"] = "true";
        manager.Environment["MANAGER__HEALTH__LISTEN"] = $"127.0.0.1:{healthPort}";
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri($"http://127.0.0.1:{healthPort}/") };
        var connector = manager.StartedConnector("watched", TestConnectorImage.Reference);
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start(new Dictionary<string, string> { ["OPENCTI__DAEMON__DOCKER__HOST"] = relay.DockerHost });
        await manager.WaitForContainerAsync(connector.Id);
        await manager.StandIn.WaitUntilAsync(s => s.GetConnector(connector.Id)?.CurrentStatus == "started", EndToEndManager.Timeout, "started");
        await EndToEndManager.ReadyzAsync(http, "[watching events]");
        await Task.Delay(TimeSpan.FromSeconds(1)); // the re-plans after the deploy

        // Watching: idle cycles list nothing.
        var lists = ContainerLists(relay);
        await Task.Delay(TimeSpan.FromSeconds(3));
        await Assert.That(ContainerLists(relay)).IsEqualTo(lists);

        relay.Refuse(EventsRequest);
        await composer.WaitForOutputAsync("The orchestrator's events stream is down: polling the workloads every cycle until it is back", EndToEndManager.Timeout);
        var polling = await EndToEndManager.ReadyzAsync(http, "[polling: the docker events stream is down");
        await Assert.That(polling).StartsWith("ok ");
        lists = ContainerLists(relay);
        await Task.Delay(TimeSpan.FromSeconds(3));
        await Assert.That(ContainerLists(relay)).IsGreaterThanOrEqualTo(lists + 2); // a listing per 1 s cycle

        relay.StopRefusing();
        await EndToEndManager.ReadyzAsync(http, "[watching events]");
        // Said once per change, not once per retry.
        await Assert.That(Count(composer.Output, "The orchestrator's events stream is down")).IsEqualTo(1);

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    private static int ContainerLists(DockerApiRelay relay) => relay.Requests.Count(r => System.Text.RegularExpressions.Regex.IsMatch(r, @"^GET /v[\d.]+/containers/json"));

    private static int Count(string text, string fragment) => text.Split(fragment).Length - 1;
}

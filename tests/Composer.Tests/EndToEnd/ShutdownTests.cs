using System.Diagnostics;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd;

/// <summary>
/// SIGTERM, SIGINT and SIGHUP end `composer run` with exit code 0 within 5 seconds (what orchestrators allow before they
/// kill): when idle, while a cycle waits on the Docker engine (the step in flight is abandoned after the grace period),
/// and while the manager is still backing off from a platform that refuses to register it. Every other end-to-end test
/// also ends with a SIGTERM and checks the same.
/// </summary>
[ClassDataSource<TestConnectorImage>(Shared = SharedType.PerTestSession)]
public class ShutdownTests(TestConnectorImage image)
{
    [Test]
    [Arguments("TERM")]
    [Arguments("INT")]
    [Arguments("HUP")]
    public async Task A_signal_when_idle_exits_0_at_once_and_leaves_the_connectors_running(string signal)
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        var connector = manager.NewConnector("idle", TestConnectorImage.Reference);
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start();
        await manager.WaitForContainerAsync(connector.Id);
        await manager.StandIn.WaitUntilAsync(s => s.GetConnector(connector.Id)?.CurrentStatus == "started", EndToEndManager.Timeout, "started");

        var watch = Stopwatch.StartNew();
        await (signal switch { "TERM" => composer.TerminateAsync(), "INT" => composer.InterruptAsync(), _ => composer.HangUpAsync() });
        var exit = await composer.WaitForExitAsync(TimeSpan.FromSeconds(15));
        await Assert.That(exit).IsEqualTo(0).Because(composer.Output);
        // Idle: nothing to wait for, well under the grace period.
        await Assert.That(watch.Elapsed).IsLessThan(TimeSpan.FromSeconds(3)).Because(composer.Output);
        await Assert.That(composer.Output).Contains($"\"signal\":\"SIG{signal}\"");
        await Assert.That(composer.Output).Contains("\"Composer stopped\"");
        await Assert.That((await manager.ContainersOfAsync(connector.Id)).Single().State).IsEqualTo("running");
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task Sigterm_while_a_cycle_waits_on_the_engine_exits_0_within_5_s()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        await using var relay = DockerApiRelay.Start(image.Docker.SocketPath);
        // Longer than the grace period: the held call ends only when the shutdown abandons it.
        manager.Environment["OPENCTI__REQUEST_TIMEOUT"] = "60";
        var connector = manager.NewConnector("in-flight", TestConnectorImage.Reference);
        manager.StandIn.AddConnector(connector);
        var held = relay.Hold(@"^POST /v[\d.]+/containers/[0-9a-f]{64}/start");
        var composer = manager.Start(new Dictionary<string, string> { ["OPENCTI__DAEMON__DOCKER__HOST"] = relay.DockerHost });
        await held.WaitAsync(EndToEndManager.Timeout);

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await Assert.That(composer.Output).Contains("\"Composer stopped\"");
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task Sighup_while_a_cycle_waits_on_the_engine_stops_like_sigterm_within_5_s()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        await using var relay = DockerApiRelay.Start(image.Docker.SocketPath);
        manager.Environment["OPENCTI__REQUEST_TIMEOUT"] = "60";
        var connector = manager.NewConnector("hangup", TestConnectorImage.Reference);
        manager.StandIn.AddConnector(connector);
        var held = relay.Hold(@"^POST /v[\d.]+/containers/[0-9a-f]{64}/start");
        var composer = manager.Start(new Dictionary<string, string> { ["OPENCTI__DAEMON__DOCKER__HOST"] = relay.DockerHost });
        await held.WaitAsync(EndToEndManager.Timeout);

        var watch = Stopwatch.StartNew();
        await composer.HangUpAsync();
        var exit = await composer.WaitForExitAsync(TimeSpan.FromSeconds(15));
        await Assert.That(exit).IsEqualTo(0).Because(composer.Output);
        await Assert.That(watch.Elapsed).IsLessThan(EndToEndManager.StopWithin).Because(composer.Output);
        // The grace period ran: the step in flight was given its time, then abandoned.
        await Assert.That(composer.Output).Contains("\"Stopping: finishing the step in flight\"");
        await Assert.That(composer.Output).Contains("\"signal\":\"SIGHUP\"");
        await Assert.That(composer.Output).Contains("\"Composer stopped\"");
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task Sigterm_while_the_platform_does_not_answer_a_listing_exits_0_within_5_s()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        // A platform that takes its time (and a client that would wait 60 s for it).
        manager.Environment["OPENCTI__REQUEST_TIMEOUT"] = "60";
        manager.StandIn.InjectFault(StandInOperation.List, new StandInFault(StandInFaultKind.Timeout) { Delay = TimeSpan.FromSeconds(50) });
        var composer = manager.Start();
        await manager.StandIn.WaitUntilAsync(s => s.Requests.Any(r => r.Body.Contains("\"operationName\":\"GetConnectors\"", StringComparison.Ordinal)),
            EndToEndManager.Timeout, "a listing in flight");

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task Sigterm_while_backing_off_from_a_refused_registration_exits_0_within_5_s()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        manager.StandIn.InjectFault(StandInOperation.Register, new StandInFault(StandInFaultKind.HttpStatus) { StatusCode = 500 });
        var composer = manager.Start();
        await manager.StandIn.WaitUntilAsync(s => s.Requests.Any(r => r.Body.Contains("\"operationName\":\"RegisterConnectorsManager\"", StringComparison.Ordinal)),
            EndToEndManager.Timeout, "a registration attempt");
        await composer.WaitForOutputAsync("cannot register with OpenCTI", EndToEndManager.Timeout);

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }
}

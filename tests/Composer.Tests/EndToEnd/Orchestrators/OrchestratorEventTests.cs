using System.Diagnostics;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd.Orchestrators;

/// <summary>
/// Issue 16 point 2 with the published binary on Kubernetes (the stand-in's streaming watches), Portainer (the
/// engine's events through the stand-in's Docker proxy) and Swarm (the manager engine's service and task container
/// events through a relay; Docker itself in LaneAndEventTests): a crash reaches the
/// platform within 2 s and a removed workload is deployed again, both long before the next scheduled cycle (60 s);
/// idle cycles list nothing while the events are watched; a cut stream falls back to polling, said in the log and on
/// /readyz, then is watched again.
/// </summary>
public class OrchestratorEventTests : OrchestratorTestBase
{
    /// <summary>Long enough that nothing these tests wait for can be the work of a scheduled cycle.</summary>
    private const string LongSchedule = "60";

    [Test]
    [Arguments(Orchestrator.Kubernetes)]
    [Arguments(Orchestrator.Portainer)]
    [Arguments(Orchestrator.Swarm)]
    public async Task A_crash_reaches_the_platform_within_2_s_and_a_removed_workload_is_deployed_again_before_the_next_cycle(Orchestrator orchestrator)
    {
        await using var target = await StartAsync(orchestrator);
        var events = (IEventsTarget)target;
        var manager = target.Manager;
        manager.Environment["MANAGER__EXECUTE_SCHEDULE"] = LongSchedule;
        var connector = manager.StartedConnector("watched", target.RunnableImage);
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start();
        var workload = await target.WaitForWorkloadAsync(connector.Id);
        await WaitForStatusAsync(manager.StandIn, connector.Id, "started");
        await composer.WaitForOutputAsync("Watching the orchestrator's events", EndToEndManager.Timeout);
        await manager.StandIn.WaitUntilAsync(s => s.HealthReports.Any(h => h.ConnectorId == connector.Id), EndToEndManager.Timeout, "a first health report");
        var healthBefore = manager.StandIn.HealthReports.Count(h => h.ConnectorId == connector.Id);
        var statusBefore = manager.StandIn.StatusReports.Count(s => s.ConnectorId == connector.Id);

        var watch = Stopwatch.StartNew();
        await events.CrashAsync(workload);
        await manager.StandIn.WaitUntilAsync(s =>
        {
            var health = s.HealthReports.Where(h => h.ConnectorId == connector.Id).Skip(healthBefore).ToList();
            var stoppedReported = s.StatusReports.Where(r => r.ConnectorId == connector.Id).Skip(statusBefore).Any(r => r.Status == "stopped");
            // Started again by the orchestrator (a new run counted) or left down (reported stopped): either way, told with its health.
            return health.Count > 0 && (stoppedReported || health.Any(h => h.RestartCount > 0));
        }, TimeSpan.FromSeconds(15), "the crash's status and health");
        var told = watch.Elapsed;
        await Assert.That(told).IsLessThanOrEqualTo(TimeSpan.FromSeconds(2)).Because($"told after {told}");

        workload = await target.WaitForWorkloadAsync(connector.Id);
        watch.Restart();
        await events.DeleteAsync(workload);
        var again = await target.WaitForWorkloadAsync(connector.Id, also: w => w.Id != workload.Id);
        var redeployed = watch.Elapsed;
        await Assert.That(again.Id).IsNotEqualTo(workload.Id);
        await Assert.That(redeployed).IsLessThan(TimeSpan.FromSeconds(15)).Because($"deployed again after {redeployed}, the schedule is {LongSchedule} s");
        await Assert.That(composer.Output).DoesNotContain("events stream is down");

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    [Arguments(Orchestrator.Kubernetes)]
    [Arguments(Orchestrator.Portainer)]
    [Arguments(Orchestrator.Swarm)]
    public async Task Idle_cycles_list_nothing_and_a_cut_stream_falls_back_to_polling_said_on_readyz_then_is_watched_again(Orchestrator orchestrator)
    {
        await using var target = await StartAsync(orchestrator);
        var events = (IEventsTarget)target;
        var manager = target.Manager;
        var healthPort = FreePort.Next();
        manager.Environment["MANAGER__HEALTH__ENABLE"] = "true";
        manager.Environment["MANAGER__HEALTH__LISTEN"] = $"127.0.0.1:{healthPort}";
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri($"http://127.0.0.1:{healthPort}/") };
        var connector = manager.StartedConnector("idle", target.RunnableImage);
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start();
        await target.WaitForWorkloadAsync(connector.Id);
        await WaitForStatusAsync(manager.StandIn, connector.Id, "started");
        await EndToEndManager.ReadyzAsync(http, "[watching events]");
        await Task.Delay(TimeSpan.FromSeconds(1)); // the re-plans after the deploy

        // Watching: cycles every second, none lists the workloads.
        var listings = events.WorkloadListings;
        var cycles = Listings(manager.StandIn);
        await Task.Delay(TimeSpan.FromSeconds(3));
        await Assert.That(Listings(manager.StandIn)).IsGreaterThanOrEqualTo(cycles + 2);
        await Assert.That(events.WorkloadListings).IsEqualTo(listings);

        events.CutEvents();
        await composer.WaitForOutputAsync("The orchestrator's events stream is down: polling the workloads every cycle until it is back", EndToEndManager.Timeout);
        var polling = await EndToEndManager.ReadyzAsync(http, $"[polling: the {target.Kind} events stream is down");
        await Assert.That(polling).StartsWith("ok ");
        listings = events.WorkloadListings;
        await Task.Delay(TimeSpan.FromSeconds(3));
        await Assert.That(events.WorkloadListings).IsGreaterThanOrEqualTo(listings + 2); // a listing per 1 s cycle

        events.RestoreEvents();
        await EndToEndManager.ReadyzAsync(http, "[watching events]");
        await Assert.That(Count(composer.Output, "The orchestrator's events stream is down")).IsEqualTo(1);

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }
}

using System.Globalization;
using Composer.Tests.EndToEnd.Orchestrators;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd;

/// <summary>
/// Issue 14 point 5 with the published binary, the same on every orchestrator: a connector that exits at once (the
/// test image's CRASH_EXIT_CODE mode) and a connector deployed stopped, with manager.reboot_loop.stop on and a short
/// manager.health_schedule (2 s; the rule is "at most 240 s", the platform forgets health after 300 s).
/// <list type="number">
/// <item>The loop reaches the platform: health with is_in_reboot_loop and more than 3 restarts, and once a log line
/// with the exit code followed by the connector's last lines.</item>
/// <item>It is stopped and held: the workload stops, the status is reported stopped, and it stays so for several
/// cycles while health keeps saying it loops.</item>
/// <item>The stopped connector reports its health every few seconds, never in a loop, its start time a valid DateTime
/// (the platform rejects anything else: no rejection).</item>
/// <item>Requested stopping then starting again: the hold goes, it is started, loops again and is told and held again.</item>
/// </list>
/// </summary>
internal static class RebootLoopScenario
{
    /// <summary>The environment of every composer of the scenario: the hold on, health every 2 s.</summary>
    public static void Configure(EndToEndManager manager)
    {
        manager.Environment["MANAGER__REBOOT_LOOP__STOP"] = "true";
        manager.Environment["MANAGER__HEALTH_SCHEDULE"] = "2";
    }

    /// <summary>A connector the test image runs in its crash mode: three lines, then exit 3.</summary>
    public static StandInConnector Crashing(EndToEndManager manager, string image)
    {
        var connector = manager.NewConnector("crashing", image);
        return connector with { Configuration = [.. connector.Configuration, new StandInEntry("CRASH_EXIT_CODE", "3")] };
    }

    /// <param name="runOf">How the orchestrator shows the connector's workload now (read from the orchestrator itself).</param>
    public static async Task RunAsync(EndToEndManager manager, StandInConnector crashing, StandInConnector idle, Func<string, Task<WorkloadRun>> runOf)
    {
        var standIn = manager.StandIn;
        var composer = manager.Start();

        // 1. Told: health in a loop, then one log line with the exit code and the last lines.
        await standIn.WaitUntilAsync(s => s.HealthReports.Any(r => r.ConnectorId == crashing.Id && r.IsInRebootLoop && r.RestartCount > 3),
            EndToEndManager.Timeout, "a reboot loop in the health, with more than 3 restarts");
        await standIn.WaitUntilAsync(s => LoopLines(s, crashing.Id).Count == 1, EndToEndManager.Timeout, "the reboot loop told as a log line");
        var upload = standIn.LogReports.First(r => r.ConnectorId == crashing.Id && r.Lines.Any(IsLoopLine)).Lines;
        var header = upload.Single(IsLoopLine);
        await Assert.That(header).Contains("last exit code 3");
        await Assert.That(header).Contains("Composer stops it (manager.reboot_loop.stop)");
        await Assert.That(upload).Contains(l => l.EndsWith(" composer: last output: crash line 3 of 3", StringComparison.Ordinal));
        await Assert.That(upload).Contains(l => l.EndsWith($" composer: last output: {TestConnectorImage.CrashLine} 3", StringComparison.Ordinal));

        // 2. Held stopped, reported stopped, for several cycles.
        await manager.EventuallyAsync(async () => await runOf(crashing.Id) == WorkloadRun.Stopped, "the looping connector stopped");
        await standIn.WaitUntilAsync(s => s.GetConnector(crashing.Id)?.CurrentStatus == "stopped", EndToEndManager.Timeout, "reported stopped");
        var listings = Listings(standIn);
        await standIn.WaitUntilAsync(s => Listings(s) >= listings + 3, EndToEndManager.Timeout, "three more cycles");
        await Assert.That(await runOf(crashing.Id)).IsEqualTo(WorkloadRun.Stopped);
        await Assert.That(standIn.HealthReports.Last(r => r.ConnectorId == crashing.Id).IsInRebootLoop).IsTrue().Because("held after a loop");
        await Assert.That(LoopLines(standIn, crashing.Id).Count).IsEqualTo(1).Because("told once per loop");

        // 3. The stopped connector's health: every health_schedule, running or not.
        await standIn.WaitUntilAsync(s => s.HealthArrivals.Count(a => a.Report.ConnectorId == idle.Id) >= 4, EndToEndManager.Timeout, "health of the stopped connector");
        var arrivals = standIn.HealthArrivals.Where(a => a.Report.ConnectorId == idle.Id).ToList();
        foreach (var (earlier, later) in arrivals.Zip(arrivals.Skip(1)))
        {
            await Assert.That(later.ReceivedAt - earlier.ReceivedAt).IsLessThan(TimeSpan.FromSeconds(10));
        }
        foreach (var arrival in arrivals)
        {
            await Assert.That(arrival.Report.IsInRebootLoop).IsFalse();
            await Assert.That(arrival.Report.RestartCount).IsEqualTo(0);
            await Assert.That(DateTimeOffset.TryParse(arrival.Report.StartedAt, CultureInfo.InvariantCulture, out _)).IsTrue().Because(arrival.Report.StartedAt);
        }
        await Assert.That(standIn.CurrentHealth(idle.Id)).IsNotNull();
        await Assert.That(await runOf(idle.Id)).IsEqualTo(WorkloadRun.Stopped);

        // 4. Requested again: stop, then start. The hold goes; it runs, loops, and is told and held again.
        standIn.RequestStatus(crashing.Id, start: false);
        await manager.EventuallyAsync(() => Task.FromResult(composer.Output.Contains("Reboot-loop hold released", StringComparison.Ordinal)), "the hold released");
        standIn.RequestStatus(crashing.Id, start: true);
        await standIn.WaitUntilAsync(s => LoopLines(s, crashing.Id).Count == 2, EndToEndManager.Timeout, "the second loop told");
        await manager.EventuallyAsync(async () => await runOf(crashing.Id) == WorkloadRun.Stopped, "the connector held stopped again");

        await Assert.That(standIn.Rejections).IsEmpty();
        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    private static bool IsLoopLine(string line) => line.Contains(" composer: ", StringComparison.Ordinal) && line.Contains("is in a reboot loop", StringComparison.Ordinal);

    private static List<string> LoopLines(PlatformStandIn standIn, string connectorId) =>
        [.. standIn.LogReports.Where(r => r.ConnectorId == connectorId).SelectMany(r => r.Lines).Where(IsLoopLine)];

    private static int Listings(PlatformStandIn standIn) =>
        standIn.Requests.Count(r => r.Body.Contains("\"operationName\":\"GetConnectors\"", StringComparison.Ordinal));
}

using System.Text;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd.Orchestrators;

/// <summary>
/// Connectors that log without end and secrets the engine echoes, on Swarm, Portainer and Kubernetes with the published
/// binary: the uploads of a flooding connector stay within manager.logs (the Kubernetes read uses tailLines, sinceTime
/// and limitBytes against the stand-in, which honours them as the API server does), the workloads Composer creates get
/// bounded engine logs (Swarm's task log driver, the container's json-file options through Portainer), and a decrypted
/// secret the engine refuses is never echoed anywhere.
/// </summary>
public class OrchestratorLogTests : OrchestratorTestBase
{
    private static readonly Dictionary<string, string> Limits = new()
    {
        ["MANAGER__LOGS__MAX_LINES"] = "80",
        ["MANAGER__LOGS__MAX_BYTES"] = "32768",
        ["MANAGER__LOGS__MAX_LINE_BYTES"] = "2048",
    };

    [Test]
    [Arguments(Orchestrator.Swarm)]
    [Arguments(Orchestrator.Portainer)]
    [Arguments(Orchestrator.Kubernetes)]
    public async Task A_flooding_connector_gets_bounded_uploads_and_bounded_engine_logs(Orchestrator orchestrator)
    {
        await using var target = await StartAsync(orchestrator);
        var manager = target.Manager;
        var connector = LogFloodTests.Flooding(manager, "flood") with { Image = target.RunnableImage };
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start(Limits);

        var workload = await target.WaitForWorkloadAsync(connector.Id);
        if (target.BoundsEngineLogs)
        {
            await Assert.That(workload.Logs?.Driver).IsEqualTo("json-file").Because(target.Kind);
            await Assert.That(workload.Logs!.Value.Options).IsEquivalentTo(new Dictionary<string, string> { ["max-size"] = "10m", ["max-file"] = "3" });
        }
        // A target whose flood is written by the test (Kubernetes) writes a new burst before each upload awaited.
        for (var uploads = 1; uploads <= 3; uploads++)
        {
            await target.FloodAsync(workload);
            var expected = uploads;
            await manager.StandIn.WaitUntilAsync(s => LogFloodTests.FloodUploads(s, connector.Id).Count >= expected, TimeSpan.FromSeconds(60), $"upload {expected} of the flood");
        }
        foreach (var lines in LogFloodTests.FloodUploads(manager.StandIn, connector.Id))
        {
            await Assert.That(lines.Count).IsLessThanOrEqualTo(80);
            await Assert.That(lines.Sum(l => Encoding.UTF8.GetByteCount(l))).IsLessThanOrEqualTo(32768);
            foreach (var line in lines)
            {
                await Assert.That(Encoding.UTF8.GetByteCount(line)).IsLessThanOrEqualTo(2048);
                await Assert.That(line.Any(c => c != '\t' && char.IsControl(c))).IsFalse();
            }
        }
        var last = LogFloodTests.FloodUploads(manager.StandIn, connector.Id)[^1].Last(l => l.StartsWith(TestConnectorImage.FloodLine, StringComparison.Ordinal));
        await Assert.That(last).StartsWith("flood red bell  \uFFFD\uFFFDbad-utf8 xxx");
        await Assert.That(last).EndsWith("…");

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    [Arguments(Orchestrator.Swarm)]
    [Arguments(Orchestrator.Portainer)]
    public async Task A_decrypted_secret_with_a_nul_the_engine_refuses_is_never_echoed(Orchestrator orchestrator)
    {
        await using var target = await StartAsync(orchestrator);
        var manager = target.Manager;
        var secret = manager.Secret($"nul\u0000{Guid.NewGuid():N}");
        var connector = manager.NewConnector("nul", target.RunnableImage, secret);
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start(new Dictionary<string, string> { ["MANAGER__LOGGER__LEVEL"] = "trace" });

        // The engine refuses to start it and says why, quoting the variable: wait until it did, then a few more cycles.
        await manager.EventuallyAsync(async () => (await target.WorkloadsOfAsync(connector.Id)).Count == 1, "the workload created");
        await manager.EventuallyAsync(async () => (await EngineSaidAsync(target)).Contains("can't contain null", StringComparison.Ordinal),
            "the engine refused the variable", async () => await EngineSaidAsync(target));
        var listings = Listings(manager.StandIn);
        await manager.StandIn.WaitUntilAsync(s => Listings(s) >= listings + 3, EndToEndManager.Timeout, "three more cycles");

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    /// <summary>What the engine says of the manager's workloads: the errors of a service's tasks, a container's state error.</summary>
    private static async Task<string> EngineSaidAsync(OrchestratorTarget target)
    {
        var docker = target.Fixtures.Docker.Client;
        var said = new StringBuilder();
        foreach (var workload in await target.WorkloadsAsync())
        {
            if (target.Kind == "swarm")
            {
                var tasks = await docker.Tasks.ListAsync(new Docker.DotNet.Models.TasksListParameters
                {
                    Filters = new Dictionary<string, IDictionary<string, bool>> { ["service"] = new Dictionary<string, bool> { [workload.Id] = true } },
                });
                foreach (var task in tasks) said.AppendLine(task.Status?.Err);
            }
            else
            {
                said.AppendLine((await docker.Containers.InspectContainerAsync(workload.Id)).State?.Error);
            }
        }
        return said.ToString();
    }
}

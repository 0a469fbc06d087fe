using System.Text.Json;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd;

/// <summary>
/// `composer plan` and `composer plan --format json` with the published binary: one cycle's actions printed (a deploy
/// for a new connector, a refresh for a changed one), and nothing changed anywhere: no container created or replaced,
/// no report sent to the platform, nothing but the listing asked of it.
/// </summary>
[ClassDataSource<TestConnectorImage>(Shared = SharedType.PerTestSession)]
public class PlanTests(TestConnectorImage image)
{
    [Test]
    public async Task Plan_prints_the_actions_and_changes_nothing()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        // A first run registers the manager (the platform lists connectors only to a registered manager) and deploys one.
        var existing = manager.NewConnector("existing", TestConnectorImage.Reference, manager.NewSecret());
        manager.StandIn.AddConnector(existing);
        var run = manager.Start();
        var container = await manager.WaitForContainerAsync(existing.Id);
        await manager.StandIn.WaitUntilAsync(s => s.GetConnector(existing.Id)?.CurrentStatus == "started", EndToEndManager.Timeout, "started");
        await EndToEndManager.AssertStopsCleanlyAsync(run);

        manager.StandIn.UpdateConnector(existing.Id, c => c with { Hash = "hash-2" });
        var added = manager.NewConnector("added", TestConnectorImage.Reference, manager.NewSecret());
        manager.StandIn.AddConnector(added);
        var requestsBefore = manager.StandIn.Requests.Count;
        var (statuses, logs, health) = (manager.StandIn.StatusReports.Count, manager.StandIn.LogReports.Count, manager.StandIn.HealthReports.Count);
        var existingWorkload = Composer.Reconciliation.WorkloadNames.ContainerName(existing.Name);
        var addedWorkload = Composer.Reconciliation.WorkloadNames.ContainerName(added.Name);

        var text = await manager.RunAsync("plan");
        await Assert.That(text.ExitCode).IsEqualTo(0).Because(text.ToString());
        await Assert.That(text.Stdout).StartsWith("opencti: ");
        await Assert.That(text.Stdout).Contains($"deploy {addedWorkload} for ");
        // Added from the catalog: stored stopped, so deployed without being started (the user starts it later).
        await Assert.That(text.Stdout).Contains($"from image {TestConnectorImage.Reference}, not started (the platform asks for it stopped)");
        await Assert.That(text.Stdout).Contains($"refresh {existingWorkload}");
        await Assert.That(text.Stdout).Contains("config hash hash-1 -> hash-2");

        var json = await manager.RunAsync("plan", "--format", "json");
        await Assert.That(json.ExitCode).IsEqualTo(0).Because(json.ToString());
        using (var document = JsonDocument.Parse(json.Stdout))
        {
            var plan = document.RootElement.EnumerateArray().Single();
            await Assert.That(plan.GetProperty("platform").GetString()).IsEqualTo("opencti");
            await Assert.That(plan.GetProperty("planned").GetBoolean()).IsTrue();
            var actions = plan.GetProperty("connectors").EnumerateArray().SelectMany(g => g.GetProperty("actions").EnumerateArray()).ToList();
            var deploy = actions.Single(a => a.GetProperty("action").GetString() == "deploy");
            await Assert.That(deploy.GetProperty("connector_id").GetString()).IsEqualTo(added.Id);
            await Assert.That(deploy.GetProperty("workload").GetString()).IsEqualTo(addedWorkload);
            await Assert.That(deploy.GetProperty("image").GetString()).IsEqualTo(TestConnectorImage.Reference);
            await Assert.That(deploy.GetProperty("start").GetBoolean()).IsFalse();
            var refresh = actions.Single(a => a.GetProperty("action").GetString() == "refresh");
            await Assert.That(refresh.GetProperty("connector_id").GetString()).IsEqualTo(existing.Id);
            await Assert.That(refresh.GetProperty("workload_id").GetString()).IsEqualTo(container.ID);
        }

        // Nothing changed: the same single container, no new one, no report, only listings asked.
        var containers = await manager.ContainersAsync();
        await Assert.That(containers.Count).IsEqualTo(1).Because(EndToEndManager.Describe(containers));
        await Assert.That(containers[0].ID).IsEqualTo(container.ID);
        await Assert.That(containers[0].Labels["composer.config-hash"]).IsEqualTo("hash-1");
        await Assert.That(containers[0].State).IsEqualTo("running");
        await Assert.That(manager.StandIn.StatusReports.Count).IsEqualTo(statuses);
        await Assert.That(manager.StandIn.LogReports.Count).IsEqualTo(logs);
        await Assert.That(manager.StandIn.HealthReports.Count).IsEqualTo(health);
        var asked = manager.StandIn.Requests.Skip(requestsBefore).ToList();
        await Assert.That(asked.Count).IsEqualTo(2);
        await Assert.That(asked.All(r => r.Body.Contains("\"operationName\":\"GetConnectors\"", StringComparison.Ordinal))).IsTrue()
            .Because(string.Join('\n', asked.Select(r => r.Body[..Math.Min(120, r.Body.Length)])));
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task Plan_before_any_registration_says_why_and_registers_nothing()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        manager.StandIn.AddConnector(manager.NewConnector("unplanned", TestConnectorImage.Reference, manager.NewSecret()));

        var result = await manager.RunAsync("plan");
        await Assert.That(result.ExitCode).IsEqualTo(1).Because(result.ToString());
        await Assert.That(result.Stdout).StartsWith("opencti: nothing planned: listing the connectors failed");
        await Assert.That(manager.StandIn.Registrations).IsEmpty();
        await Assert.That(await manager.ContainersAsync()).IsEmpty();
        await manager.AssertNoSecretInOutputAsync();
    }
}

using Composer.Reconciliation;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd;

/// <summary>
/// The main job, end to end, from OpenCTI and from OpenAEV: the published binary (`composer run`) against a platform
/// stand-in and the real Docker engine deploys a connector with its decrypted secret, reports its status, logs and
/// health, and follows the platform when it asks for a stop, a start, a new configuration and a removal.
/// </summary>
[ClassDataSource<TestConnectorImage>(Shared = SharedType.PerTestSession)]
public class LifecycleTests(TestConnectorImage image)
{
    [Test]
    [Arguments(false)]
    [Arguments(true)]
    public async Task Deploys_the_connector_with_its_decrypted_secret_and_reports_status_logs_and_health(bool openAev)
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker, openAev);
        var secret = manager.NewSecret();
        var connector = manager.NewConnector("lifecycle", TestConnectorImage.Reference, secret);
        manager.StandIn.AddConnector(connector);

        // The most verbose logging (Composer's and the Docker library's): still no secret in it.
        var composer = manager.Start(new Dictionary<string, string> { ["MANAGER__DEBUG__SHOW_ENV_VARS"] = "true", ["MANAGER__LOGGER__LEVEL"] = "trace" });
        var container = await manager.WaitForContainerAsync(connector.Id);

        // The secret decrypted into the container's environment, next to the variables every connector gets.
        await Assert.That(EndToEndManager.EnvironmentValue(container, "CONNECTOR_SECRET")).IsEqualTo(secret);
        await Assert.That(EndToEndManager.EnvironmentValue(container, "CONNECTOR_ID")).IsEqualTo(connector.Id);
        await Assert.That(EndToEndManager.EnvironmentValue(container, "OPENCTI_CONFIG_HASH")).IsEqualTo("hash-1");
        await Assert.That(EndToEndManager.EnvironmentValue(container, openAev ? "OPENAEV_URL" : "OPENCTI_URL")).IsEqualTo(manager.StandIn.Url);
        await Assert.That(EndToEndManager.EnvironmentValue(container, openAev ? "OPENCTI_URL" : "OPENAEV_URL")).IsNull();
        await Assert.That(container.Name).IsEqualTo("/" + Composer.Reconciliation.WorkloadNames.ContainerName(connector.Name));
        await Assert.That(container.Config!.Labels["opencti-manager"]).IsEqualTo(manager.ManagerId);
        await Assert.That(container.Config!.Labels["opencti-platform"]).IsEqualTo(openAev ? "openaev" : "opencti");
        await Assert.That(container.Config!.Labels["composer.config-hash"]).IsEqualTo("hash-1");
        await Assert.That(container.HostConfig!.RestartPolicy.Name).IsEqualTo(Docker.DotNet.Models.RestartPolicyKind.UnlessStopped);
        await Assert.That(container.HostConfig!.NetworkMode).IsEqualTo("none");

        var id = connector.Id;
        await manager.StandIn.WaitUntilAsync(s => s.StatusReports.Contains(new StandInStatusReport(id, "started")), EndToEndManager.Timeout, "started reported");
        await manager.StandIn.WaitUntilAsync(s => s.LogReports.Any(r => r.ConnectorId == id && r.Lines.Any(l => l.Contains($"{TestConnectorImage.StartLine}: {id}"))),
            EndToEndManager.Timeout, "the connector's start line uploaded");
        // stderr too, and later lines in later uploads.
        await manager.StandIn.WaitUntilAsync(s => s.LogReports.Any(r => r.ConnectorId == id && r.Lines.Any(l => l.Contains(TestConnectorImage.StderrLine))),
            EndToEndManager.Timeout, "the connector's stderr line uploaded");
        await manager.StandIn.WaitUntilAsync(s => s.LogReports.Count(r => r.ConnectorId == id && r.Lines.Any(l => l.Contains("tick "))) >= 2,
            EndToEndManager.Timeout, "two uploads with ticks");
        await manager.StandIn.WaitUntilAsync(s => s.HealthReports.Any(r => r.ConnectorId == id && r.RestartCount == 0 && !r.IsInRebootLoop),
            EndToEndManager.Timeout, "health reported");
        await Assert.That(manager.StandIn.Rejections).IsEmpty();
        // Each upload holds only new lines: no line is sent twice.
        var uploaded = manager.StandIn.LogReports.Where(r => r.ConnectorId == id).SelectMany(r => r.Lines).ToList();
        await Assert.That(uploaded.Distinct().Count()).IsEqualTo(uploaded.Count).Because(string.Join('\n', uploaded));

        // show_env_vars prints the environment with the secret masked.
        await composer.WaitForOutputAsync("CONNECTOR_SECRET=***", EndToEndManager.Timeout);
        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        // The connector keeps running when the manager stops (restart policy unless-stopped).
        await Assert.That((await manager.ContainersOfAsync(id)).Single().State).IsEqualTo("running");
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    [Arguments(false)]
    [Arguments(true)]
    public async Task Follows_the_platform_through_stop_start_refresh_and_removal(bool openAev)
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker, openAev);
        var secret = manager.NewSecret();
        var connector = manager.NewConnector("follow", TestConnectorImage.Reference, secret);
        var id = connector.Id;
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start();
        var first = await manager.WaitForContainerAsync(id);
        await manager.StandIn.WaitUntilAsync(s => s.GetConnector(id)?.CurrentStatus == "started", EndToEndManager.Timeout, "started");

        // Stopped from the platform.
        manager.StandIn.UpdateConnector(id, c => c with { RequestedStatus = "stopping" });
        await manager.WaitForContainerAsync(id, "exited");
        await manager.StandIn.WaitUntilAsync(s => s.GetConnector(id)?.CurrentStatus == "stopped", EndToEndManager.Timeout, "stopped reported");
        await Assert.That((await manager.ContainersOfAsync(id)).Single().ID).IsEqualTo(first.ID);

        // Started again: the same container.
        manager.StandIn.UpdateConnector(id, c => c with { RequestedStatus = "starting" });
        await manager.WaitForContainerAsync(id);
        await manager.StandIn.WaitUntilAsync(s => s.GetConnector(id)?.CurrentStatus == "started", EndToEndManager.Timeout, "started again");
        await Assert.That((await manager.ContainersOfAsync(id)).Single().ID).IsEqualTo(first.ID);

        // A new configuration (hash): a new container with the new environment.
        // Multi-line, like a PEM key: kept whole in the environment.
        var newSecret = manager.Secret($"-----BEGIN KEY-----\nline+/{Guid.NewGuid():N}=\n-----END KEY-----");
        manager.StandIn.UpdateConnector(id, c => c with
        {
            Hash = "hash-2",
            Configuration = [new StandInEntry("CONNECTOR_ID", id), StandInEntry.Secret("CONNECTOR_SECRET", newSecret, version: 1), new StandInEntry("EXTRA", "a=b=c")],
        });
        var refreshed = await manager.WaitForContainerAsync(id, also: c => c.ID != first.ID);
        await Assert.That(EndToEndManager.EnvironmentValue(refreshed, "OPENCTI_CONFIG_HASH")).IsEqualTo("hash-2");
        await Assert.That(EndToEndManager.EnvironmentValue(refreshed, "CONNECTOR_SECRET")).IsEqualTo(newSecret);
        await Assert.That(EndToEndManager.EnvironmentValue(refreshed, "EXTRA")).IsEqualTo("a=b=c");
        await Assert.That(refreshed.Config!.Labels["composer.config-hash"]).IsEqualTo("hash-2");
        await Assert.That(refreshed.Config.Labels["composer.platform-instance"]).IsEqualTo(Composer.Reconciliation.ConnectorLabels.PlatformInstanceValue(manager.StandIn.Url));
        await Assert.That(refreshed.Name).IsEqualTo(first.Name);

        // Renamed on the platform: a container under the new name, the old one removed.
        manager.StandIn.UpdateConnector(id, c => c with { Name = c.Name + " renamed" });
        var renamed = await manager.WaitForContainerAsync(id, also: c => c.Name.EndsWith("-renamed", StringComparison.Ordinal));
        await Assert.That(EndToEndManager.EnvironmentValue(renamed, "CONNECTOR_SECRET")).IsEqualTo(newSecret);

        // Deleted from the platform: removed.
        manager.StandIn.RemoveConnector(id);
        await manager.EventuallyAsync(async () => (await manager.ContainersAsync()).Count == 0, "the container removed",
            async () => EndToEndManager.Describe(await manager.ContainersAsync()));

        await Assert.That(manager.StandIn.Rejections).IsEmpty();
        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task A_connector_requested_stopping_is_created_but_not_started()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        var connector = manager.NewConnector("parked", TestConnectorImage.Reference, manager.NewSecret(), requestedStatus: "stopping");
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start();
        var created = await manager.WaitForContainerAsync(connector.Id, "created");
        await manager.StandIn.WaitUntilAsync(s => s.GetConnector(connector.Id)?.CurrentStatus == "stopped", EndToEndManager.Timeout, "stopped reported");
        await Assert.That(created.State!.StartedAt).StartsWith("0001-01-01");

        manager.StandIn.UpdateConnector(connector.Id, c => c with { RequestedStatus = "starting" });
        var running = await manager.WaitForContainerAsync(connector.Id);
        await Assert.That(running.ID).IsEqualTo(created.ID);
        await manager.StandIn.WaitUntilAsync(s => s.GetConnector(connector.Id)?.CurrentStatus == "started", EndToEndManager.Timeout, "started reported");

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task A_restarted_manager_adopts_its_containers_and_those_of_the_rust_version()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        var ours = manager.NewConnector("ours", TestConnectorImage.Reference, manager.NewSecret());
        manager.StandIn.AddConnector(ours);
        var first = manager.Start();
        var oursContainer = await manager.WaitForContainerAsync(ours.Id);
        var instance = Composer.Reconciliation.ConnectorLabels.PlatformInstanceValue(manager.StandIn.Url);
        await Assert.That(oursContainer.Config!.Labels["composer.platform-instance"]).IsEqualTo(instance);
        await manager.StandIn.WaitUntilAsync(s => s.GetConnector(ours.Id)?.CurrentStatus == "started", EndToEndManager.Timeout, "started");
        await EndToEndManager.AssertStopsCleanlyAsync(first);

        // What the Rust version leaves: the three labels (no platform instance), the hash only in the environment, no
        // composer.config-hash label.
        var legacy = manager.NewConnector("legacy", TestConnectorImage.Reference) with { CurrentStatus = "started" };
        manager.StandIn.AddConnector(legacy);
        var legacyName = Composer.Reconciliation.WorkloadNames.ContainerName(legacy.Name);
        var created = await manager.Docker.Client.Containers.CreateContainerAsync(new Docker.DotNet.Models.CreateContainerParameters
        {
            Name = legacyName,
            Image = TestConnectorImage.Reference,
            Env = [$"CONNECTOR_ID={legacy.Id}", $"OPENCTI_URL={manager.StandIn.Url}", "OPENCTI_CONFIG_HASH=hash-1"],
            Labels = new Dictionary<string, string>
            {
                ["opencti-manager"] = manager.ManagerId,
                ["opencti-connector-id"] = legacy.Id,
                ["opencti-platform"] = "opencti",
            },
            HostConfig = new Docker.DotNet.Models.HostConfig { NetworkMode = "none" },
        });
        await manager.Docker.Client.Containers.StartContainerAsync(created.ID, new Docker.DotNet.Models.ContainerStartParameters());

        var oursReported = manager.StandIn.HealthReports.Count(r => r.ConnectorId == ours.Id);
        var second = manager.Start();
        await manager.StandIn.WaitUntilAsync(s => s.HealthReports.Any(r => r.ConnectorId == legacy.Id) && s.HealthReports.Count(r => r.ConnectorId == ours.Id) > oursReported,
            EndToEndManager.Timeout, "both adopted and reported");
        await Assert.That((await manager.ContainersOfAsync(ours.Id)).Single().ID).IsEqualTo(oursContainer.ID);
        await Assert.That((await manager.ContainersOfAsync(legacy.Id)).Single().ID).IsEqualTo(created.ID);
        await Assert.That(second.Output).DoesNotContain("\"Deploying connector\"");
        await Assert.That(second.Output).DoesNotContain("\"Refreshing connector\"");
        await Assert.That(second.Output).DoesNotContain("another Composer shares manager id");

        // A new configuration of the adopted container: replaced by one of Composer's, with the hash label.
        manager.StandIn.UpdateConnector(legacy.Id, c => c with { Hash = "hash-2" });
        var refreshed = await manager.WaitForContainerAsync(legacy.Id, also: c => c.ID != created.ID);
        await Assert.That(refreshed.Config!.Labels["composer.config-hash"]).IsEqualTo("hash-2");
        await Assert.That(refreshed.Config.Labels["composer.platform-instance"]).IsEqualTo(instance);
        await Assert.That(refreshed.Name).IsEqualTo("/" + legacyName);

        await EndToEndManager.AssertStopsCleanlyAsync(second);
        await manager.AssertNoSecretInOutputAsync();
    }
}

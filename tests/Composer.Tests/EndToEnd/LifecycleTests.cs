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

        var composer = manager.Start(new Dictionary<string, string> { ["MANAGER__DEBUG__SHOW_ENV_VARS"] = "true" });
        var container = await manager.WaitForContainerAsync(connector.Id);

        // The secret decrypted into the container's environment, next to the variables every connector gets.
        await Assert.That(EndToEndManager.EnvironmentValue(container, "CONNECTOR_SECRET")).IsEqualTo(secret);
        await Assert.That(EndToEndManager.EnvironmentValue(container, "CONNECTOR_ID")).IsEqualTo(connector.Id);
        await Assert.That(EndToEndManager.EnvironmentValue(container, "OPENCTI_CONFIG_HASH")).IsEqualTo("hash-1");
        await Assert.That(EndToEndManager.EnvironmentValue(container, openAev ? "OPENAEV_URL" : "OPENCTI_URL")).IsEqualTo(manager.StandIn.Url);
        await Assert.That(EndToEndManager.EnvironmentValue(container, openAev ? "OPENCTI_URL" : "OPENAEV_URL")).IsNull();
        await Assert.That(container.Name).IsEqualTo("/" + Composer.Orchestration.ConnectorWorkload.ContainerName(connector.Name));
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
        var newSecret = manager.NewSecret();
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
        await Assert.That(refreshed.Name).IsEqualTo(first.Name);

        // Deleted from the platform: removed.
        manager.StandIn.RemoveConnector(id);
        await manager.EventuallyAsync(async () => (await manager.ContainersAsync()).Count == 0, "the container removed",
            async () => EndToEndManager.Describe(await manager.ContainersAsync()));

        await Assert.That(manager.StandIn.Rejections).IsEmpty();
        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }
}

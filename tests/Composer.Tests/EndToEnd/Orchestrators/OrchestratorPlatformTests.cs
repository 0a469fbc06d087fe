using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd.Orchestrators;

/// <summary>
/// What the real platform sends, on Swarm, Portainer and Kubernetes (the Docker engine's own are in
/// <see cref="PlatformAnswersTests"/>): a connector added from the catalog (stored stopped) is deployed without being
/// started and started when asked; the platform's own contract entries reach the workload once each, Composer's
/// with_proxy settings winning over the platform's, as read from the service spec, the container and the Deployment.
/// </summary>
public class OrchestratorPlatformTests : OrchestratorTestBase
{
    [Test]
    [Arguments(Orchestrator.Swarm)]
    [Arguments(Orchestrator.Portainer)]
    [Arguments(Orchestrator.Kubernetes)]
    public async Task A_catalog_connector_is_deployed_stopped_then_started_when_asked(Orchestrator orchestrator)
    {
        await using var target = await StartAsync(orchestrator);
        var manager = target.Manager;
        var connector = manager.NewConnector("catalog", target.RunnableImage, manager.NewSecret(), requestedStatus: "stopped");
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start();

        var stopped = await target.WaitForWorkloadAsync(connector.Id, WorkloadRun.Stopped);
        await WaitForStatusAsync(manager.StandIn, connector.Id, "stopped");
        // More cycles change nothing: it stays deployed and stopped, and nothing about it is a warning or an error.
        var listings = Listings(manager.StandIn);
        await manager.StandIn.WaitUntilAsync(s => Listings(s) >= listings + 2, EndToEndManager.Timeout, "two more cycles");
        await Assert.That((await target.WorkloadsOfAsync(connector.Id)).Single().Run).IsEqualTo(WorkloadRun.Stopped);
        await Assert.That(composer.Output.Split('\n').Where(l => l.Contains("\"level\":\"warn\"") || l.Contains("\"level\":\"error\""))).IsEmpty()
            .Because(composer.Output);

        manager.StandIn.RequestStatus(connector.Id, start: true);
        var running = await target.WaitForWorkloadAsync(connector.Id);
        await Assert.That(running.Id).IsEqualTo(stopped.Id);
        await WaitForStatusAsync(manager.StandIn, connector.Id, "started");
        await Assert.That(manager.StandIn.Rejections).IsEmpty();

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    [Arguments(Orchestrator.Swarm)]
    [Arguments(Orchestrator.Portainer)]
    [Arguments(Orchestrator.Kubernetes)]
    public async Task The_platform_entries_reach_the_workload_once_each_and_composer_proxy_settings_win(Orchestrator orchestrator)
    {
        await using var target = await StartAsync(orchestrator);
        var manager = target.Manager;
        using var ca = target.UseProxy(out var proxyUrl, out var noProxy);
        using var platformCa = new TestCertificateAuthority("Platform proxy CA " + manager.ManagerId);
        manager.StandIn.PlatformProxy = new StandInPlatformProxy(HttpProxy: "http://platform-proxy.example:8080", HttpsProxy: "",
            NoProxy: "platform.internal", CaCertificates: [platformCa.CertificatePem], RejectUnauthorized: false);
        var secret = manager.NewSecret();
        var connector = manager.NewConnector("entries", target.RunnableImage, secret) with
        {
            Configuration = [StandInEntry.Secret("CONNECTOR_SECRET", secret), new StandInEntry("NO_PROXY", "stored.example")],
        };
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start();

        var workload = await target.WaitForWorkloadAsync(connector.Id);
        await Assert.That(workload.RepeatedNames).IsEmpty().Because(string.Join(", ", workload.EnvironmentEntries.Select(e => e[..e.IndexOf('=')])));
        await Assert.That(workload.Variable("CONNECTOR_ID")).IsEqualTo(connector.Id);
        await Assert.That(workload.Variable("CONNECTOR_NAME")).IsEqualTo(connector.Name);
        await Assert.That(workload.Variable("CONNECTOR_TYPE")).IsEqualTo("EXTERNAL_IMPORT");
        await Assert.That(workload.Variable("OPENCTI_TOKEN")).IsEqualTo(manager.StandIn.ConnectorToken(connector.Id));
        await Assert.That(workload.Variable("CONNECTOR_SECRET")).IsEqualTo(secret);
        await Assert.That(workload.Variable("HTTP_PROXY")).IsEqualTo(proxyUrl);
        await Assert.That(workload.Variable("HTTPS_PROXY")).IsEqualTo(proxyUrl).Because("the platform's empty HTTPS_PROXY never erases Composer's");
        await Assert.That(workload.Variable("NO_PROXY")).IsEqualTo(noProxy);
        await Assert.That(workload.Variable("HTTPS_CA_CERTIFICATES")).Contains(ca.CertificatePem.Trim());
        await Assert.That(workload.Variable("HTTPS_CA_CERTIFICATES")).DoesNotContain(platformCa.CertificatePem.Trim());
        await Assert.That(workload.Variable("HTTPS_PROXY_REJECT_UNAUTHORIZED")).IsEqualTo("true");
        await Assert.That(manager.StandIn.Rejections).IsEmpty();

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }
}

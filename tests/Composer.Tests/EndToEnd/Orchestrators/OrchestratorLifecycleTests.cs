using Composer.Reconciliation;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd.Orchestrators;

/// <summary>
/// One connector's whole life on Swarm, Portainer and Kubernetes, driven from the platform, with the published binary
/// and with_proxy on: deployed with its decrypted secret, the proxy variables and its CA bundle (a swarm config, a copy
/// through Portainer's archive API, a mounted Secret); started, health and logs reported; refreshed on a new config
/// hash; stopped (0 replicas, a stopped container) and reported; removed when deleted, with the CA object it created.
/// </summary>
public class OrchestratorLifecycleTests : OrchestratorTestBase
{
    private static readonly string[] ProxyVariables = ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"];
    private static readonly string[] CaVariables = ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"];

    [Test]
    [Arguments(Orchestrator.Swarm)]
    [Arguments(Orchestrator.Portainer)]
    [Arguments(Orchestrator.Kubernetes)]
    public async Task A_connector_is_deployed_with_its_secret_proxy_and_ca_reported_refreshed_stopped_and_removed(Orchestrator orchestrator)
    {
        await using var target = await StartAsync(orchestrator);
        var manager = target.Manager;
        using var ca = target.UseProxy(out var proxyUrl, out var noProxy);
        var secret = manager.NewSecret();
        var connector = manager.NewConnector("lifecycle", target.RunnableImage, secret);
        var id = connector.Id;
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start();

        var deployed = await target.WaitForWorkloadAsync(id);
        await Assert.That(deployed.Variable("CONNECTOR_SECRET")).IsEqualTo(secret);
        foreach (var name in ProxyVariables) await Assert.That(deployed.Variable(name)).IsEqualTo(proxyUrl);
        await Assert.That(deployed.Variable("NO_PROXY")).IsEqualTo(noProxy);
        await Assert.That(deployed.Variable("no_proxy")).IsEqualTo(noProxy);
        foreach (var name in CaVariables) await Assert.That(deployed.Variable(name)).IsEqualTo(TestConnectorImage.CaBundlePath);
        await target.AssertCaBundleAsync(deployed, ca);
        await Assert.That(await target.CaObjectsAsync(deployed)).IsEqualTo(target.HasCaObject ? 1 : 0);

        await WaitForStatusAsync(manager.StandIn, id, "started");
        await manager.StandIn.WaitUntilAsync(s => s.HealthReports.Any(r => r.ConnectorId == id), EndToEndManager.Timeout, "health reported");
        var line = await target.ConnectorLogLineAsync(deployed);
        await manager.StandIn.WaitUntilAsync(s => LinesWith(s, id, line).Count > 0, EndToEndManager.Timeout, $"'{line}' uploaded");

        // A new configuration (hash and secret): the same workload, updated in place or replaced under the same name.
        var newSecret = manager.NewSecret();
        manager.StandIn.UpdateConnector(id, c => c with
        {
            Hash = "hash-2",
            Configuration = [new StandInEntry("CONNECTOR_ID", id), StandInEntry.Secret("CONNECTOR_SECRET", newSecret)],
        });
        var refreshed = await target.WaitForWorkloadAsync(id, also: w => w.ConfigHash == "hash-2");
        await Assert.That(refreshed.Variable("CONNECTOR_SECRET")).IsEqualTo(newSecret);
        await Assert.That(refreshed.Name).IsEqualTo(deployed.Name);
        await Assert.That(await target.CaObjectsAsync(refreshed)).IsEqualTo(target.HasCaObject ? 1 : 0);

        // Stopped from the platform: 0 replicas, or the container stopped; reported.
        manager.StandIn.UpdateConnector(id, c => c with { RequestedStatus = "stopping" });
        var stopped = await target.WaitForWorkloadAsync(id, WorkloadRun.Stopped);
        await Assert.That(stopped.Id).IsEqualTo(refreshed.Id);
        await WaitForStatusAsync(manager.StandIn, id, "stopped");

        // Deleted on the platform: removed, with its CA object.
        manager.StandIn.RemoveConnector(id);
        await target.WaitForNoWorkloadAsync(id);
        await manager.EventuallyAsync(async () => await target.CaObjectsAsync(stopped) == 0, "the CA object removed with the workload");

        await Assert.That(manager.StandIn.Rejections).IsEmpty();
        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }
}

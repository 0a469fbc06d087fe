using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd.Orchestrators;

/// <summary>
/// What only Portainer shows, with the published binary: its settings' mistakes are one clear error naming the key to
/// fix, that deploys and removes nothing: an api_version the engine behind it does not speak (the default v1.44 on a
/// 1.41 engine), a refused API key, an HTTPS certificate of a private CA until daemon.portainer.ca names it.
/// </summary>
public class PortainerEndToEndTests : OrchestratorTestBase
{
    private const string ApiVersionKey = "opencti.daemon.portainer.api_version";
    private const string ApiKeyKey = "opencti.daemon.portainer.api_key";

    /// <summary>The cycles whose orchestrator listing failed with <paramref name="fragment"/> in the error.</summary>
    private static int FailedCycles(string output, string fragment) =>
        output.Split('\n').Count(l => l.Contains("\"orchestrator_error\"", StringComparison.Ordinal) && l.Contains(fragment, StringComparison.Ordinal));

    [Test]
    public async Task The_api_version_and_the_api_key_are_clear_errors_naming_their_keys_that_remove_nothing()
    {
        Swarm.Image.Require();
        // The default (v1.44) where the engine is older, as here (1.41); a version beyond any engine elsewhere.
        var engine = Version.Parse(Fixtures.Docker.ApiVersion);
        var unspoken = engine < new Version(1, 44) ? null : "v9.99";
        await using var target = await PortainerTarget.StartAsync(Fixtures, apiVersion: unspoken);
        var manager = target.Manager;
        var connector = manager.NewConnector("portainer", TestConnectorImage.Reference, manager.NewSecret());
        manager.StandIn.AddConnector(connector);

        var wrongVersion = manager.Start();
        await wrongVersion.WaitForOutputAsync(o => FailedCycles(o, ApiVersionKey) >= 2, EndToEndManager.Timeout, $"two cycles failing on {ApiVersionKey}");
        await Assert.That(wrongVersion.Output).Contains($"set {ApiVersionKey} to v{engine.Major}.{engine.Minor}");
        await Assert.That(await target.WorkloadsAsync()).IsEmpty();
        await Assert.That(target.Portainer.Requests.Any(r => r.DockerPath.Contains("/containers/create", StringComparison.Ordinal))).IsFalse();
        await EndToEndManager.AssertStopsCleanlyAsync(wrongVersion);

        var speaking = new Dictionary<string, string> { ["OPENCTI__DAEMON__PORTAINER__API_VERSION"] = $"v{engine.Major}.{engine.Minor}" };
        var deploying = manager.Start(speaking);
        var deployed = await target.WaitForWorkloadAsync(connector.Id);
        await WaitForStatusAsync(manager.StandIn, connector.Id, "started");
        await EndToEndManager.AssertStopsCleanlyAsync(deploying);

        // A refused API key: the listing fails, so nothing is removed however long it lasts.
        var wrongKey = manager.Secret("ptr_wrong" + Guid.NewGuid().ToString("N"));
        var refused = manager.Start(new Dictionary<string, string>(speaking) { ["OPENCTI__DAEMON__PORTAINER__API_KEY"] = wrongKey });
        await refused.WaitForOutputAsync(o => FailedCycles(o, $"check {ApiKeyKey}") >= 2, EndToEndManager.Timeout, $"two cycles failing on {ApiKeyKey}");
        var line = refused.Output.Split('\n').First(l => l.Contains($"check {ApiKeyKey}", StringComparison.Ordinal));
        await Assert.That(line).Contains("Invalid API key");
        await Assert.That(line).Contains("HTTP 401");
        await Assert.That(line).DoesNotContain(wrongKey);
        await Assert.That(refused.Output).DoesNotContain("Removing");
        var kept = (await target.WorkloadsOfAsync(connector.Id)).Single();
        await Assert.That(kept.Id).IsEqualTo(deployed.Id);
        await Assert.That(kept.Run).IsEqualTo(WorkloadRun.Running);
        await Assert.That(target.Portainer.Requests.Any(r => r.Method == "DELETE" || r.DockerPath.EndsWith("/stop", StringComparison.Ordinal))).IsFalse();

        await EndToEndManager.AssertStopsCleanlyAsync(refused);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task Over_https_a_private_ca_certificate_fails_until_daemon_portainer_ca_names_it()
    {
        await using var target = await PortainerTarget.StartAsync(Fixtures, https: true);
        var manager = target.Manager;
        var connector = manager.NewConnector("tls", TestConnectorImage.Reference, manager.NewSecret());
        manager.StandIn.AddConnector(connector);

        var untrusted = manager.Start();
        await untrusted.WaitForOutputAsync(o => FailedCycles(o, "") >= 2, EndToEndManager.Timeout, "two cycles failing on the certificate");
        var line = untrusted.Output.Split('\n').First(l => l.Contains("\"orchestrator_error\"", StringComparison.Ordinal));
        await Assert.That(line).Contains("certificate");
        await Assert.That(line).Contains("opencti.daemon.portainer.ca");
        await Assert.That(await target.WorkloadsAsync()).IsEmpty();
        // Nothing got through to the engine: the TLS handshake failed before any request.
        await Assert.That(target.Portainer.Requests).IsEmpty();
        await EndToEndManager.AssertStopsCleanlyAsync(untrusted);

        var caPath = target.Portainer.Ca!.WritePem(manager.Directory, "portainer-ca");
        var trusted = manager.Start(new Dictionary<string, string> { ["OPENCTI__DAEMON__PORTAINER__CA"] = caPath });
        await target.WaitForWorkloadAsync(connector.Id);
        await WaitForStatusAsync(manager.StandIn, connector.Id, "started");
        await Assert.That(trusted.Output).DoesNotContain("\"orchestrator_error\"");

        await EndToEndManager.AssertStopsCleanlyAsync(trusted);
        await manager.AssertNoSecretInOutputAsync();
    }
}

using Composer.Tests.Infrastructure;
using Composer.Tests.Orchestration.Docker;

namespace Composer.Tests.EndToEnd;

/// <summary>
/// The product page's proxy promise at deployment time, end to end: with opencti.with_proxy on, HTTP(S)_PROXY pointing
/// at a real tinyproxy that wants credentials, and the Docker API over TCP reached by a test host name (loopback is
/// never proxied), every Docker API call goes through the proxy, and the connector receives the proxy variables in
/// both cases, NO_PROXY, and its CA bundle (system roots plus https_proxy_ca), copied into the container before it
/// starts: the connector itself reads it. The proxy credentials reach the connector, never composer's output.
/// </summary>
[ClassDataSource<DockerTcpFixture>(Shared = SharedType.PerTestSession)]
public class ProxyTests(DockerTcpFixture docker)
{
    [ClassDataSource<TestConnectorImage>(Shared = SharedType.PerTestSession)]
    public required TestConnectorImage Image { get; init; }

    /// <summary>A proxy of this test's own: its log shows only this test's requests.</summary>
    [ClassDataSource<AuthenticatedTinyproxyFixture>(Shared = SharedType.None)]
    public required AuthenticatedTinyproxyFixture Proxy { get; init; }

    [Test]
    public async Task Docker_calls_go_through_the_proxy_and_the_connector_gets_the_proxy_variables_and_its_ca_bundle()
    {
        docker.Require();
        Image.Require();
        await using var manager = await EndToEndManager.CreateAsync(docker.Engine);
        using var ca = new TestCertificateAuthority("Composer end-to-end proxy CA " + manager.ManagerId);
        var caPath = ca.WritePem(manager.Directory, "proxy-ca");
        const string noProxy = "localhost,127.0.0.1,.internal.example";
        manager.Environment["OPENCTI__WITH_PROXY"] = "true";
        manager.Environment["HTTP_PROXY"] = Proxy.UrlWithCredentials;
        manager.Environment["HTTPS_PROXY"] = Proxy.UrlWithCredentials;
        manager.Environment["NO_PROXY"] = noProxy;
        manager.Environment["HTTPS_PROXY_CA"] = caPath;
        manager.Environment["OPENCTI__DAEMON__DOCKER__HOST"] = docker.DockerHost;
        manager.Environment["MANAGER__DEBUG__SHOW_ENV_VARS"] = "true";
        var connector = manager.NewConnector("proxied", TestConnectorImage.Reference, manager.NewSecret());
        manager.StandIn.AddConnector(connector);

        var composer = manager.Start();
        var container = await manager.WaitForContainerAsync(connector.Id);

        foreach (var name in new[] { "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy" })
        {
            await Assert.That(EndToEndManager.EnvironmentValue(container, name)).IsEqualTo(Proxy.UrlWithCredentials);
        }
        await Assert.That(EndToEndManager.EnvironmentValue(container, "NO_PROXY")).IsEqualTo(noProxy);
        await Assert.That(EndToEndManager.EnvironmentValue(container, "no_proxy")).IsEqualTo(noProxy);
        foreach (var name in new[] { "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS" })
        {
            await Assert.That(EndToEndManager.EnvironmentValue(container, name)).IsEqualTo(TestConnectorImage.CaBundlePath);
        }

        // The connector found its bundle when it started (so it was there before the start), and says so in its logs.
        var id = connector.Id;
        await manager.StandIn.WaitUntilAsync(s => s.LogReports.Any(r => r.ConnectorId == id && r.Lines.Any(l => l.Contains(TestConnectorImage.CaPresentLine))),
            EndToEndManager.Timeout, "'ca bundle: present' uploaded");
        var text = (await docker.Engine.RunCliCheckedAsync(["exec", container.ID, "cat", TestConnectorImage.CaBundlePath])).Stdout;
        await Assert.That(text).Contains(ca.CertificatePem.Trim());
        // A full bundle: the system roots too (the variables replace the default store).
        await Assert.That(text.Split("-----BEGIN CERTIFICATE-----").Length - 1).IsGreaterThan(1);

        // Every Docker API call went through the proxy, with the credentials tinyproxy asks for.
        var engine = $"http://{TestHosts.Target}:{docker.Port}";
        await Assert.That(ProxyLogged($"GET {engine}/", "/containers/json")).IsTrue().Because(Proxy.Log);
        await Assert.That(ProxyLogged($"POST {engine}/", "/containers/create")).IsTrue().Because(Proxy.Log);
        await Assert.That(ProxyLogged($"PUT {engine}/", $"/containers/{container.ID}/archive")).IsTrue().Because(Proxy.Log);
        await Assert.That(ProxyLogged($"POST {engine}/", $"/containers/{container.ID}/start")).IsTrue().Because(Proxy.Log);
        // The environment is printed with the proxy credentials masked.
        await composer.WaitForOutputAsync($"HTTP_PROXY=***", EndToEndManager.Timeout);

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    /// <summary>Whether tinyproxy logged a request line starting with <paramref name="request"/> ("POST http://host:port/") for that path.</summary>
    private bool ProxyLogged(string request, string path) =>
        Proxy.Log.Split('\n').Any(l => l.Contains(request, StringComparison.Ordinal) && l.Contains(path, StringComparison.Ordinal));
}

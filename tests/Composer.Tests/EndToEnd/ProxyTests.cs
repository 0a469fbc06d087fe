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

    [Test]
    public async Task The_registry_pre_flight_goes_through_the_proxy_and_the_engine_pulls_the_image()
    {
        docker.Require();
        Image.Require();
        TestHosts.EnsureInstalled();
        await using var manager = await EndToEndManager.CreateAsync(docker.Engine);
        const string user = "proxied-e2e";
        var password = manager.Secret($"reg+/{Guid.NewGuid():N}");
        // A registry reached by name (registry.composer.test, 127.0.0.4): loopback addresses are never proxied.
        await using var registry = await RegistryFixture.StartAsync(new RegistryFixtureOptions
        {
            BindAddress = TestHosts.RegistryAddress,
            Auth = RegistryAuthMode.Htpasswd,
            HtpasswdUsers = new Dictionary<string, string> { [user] = password },
        });
        var host = $"{TestHosts.Registry}:{registry.Port}";
        var reference = await manager.PushForPullAsync(Image, host, user, password, $"{manager.ManagerId}/proxied");
        manager.Environment["OPENCTI__WITH_PROXY"] = "true";
        manager.Environment["HTTP_PROXY"] = Proxy.UrlWithCredentials;
        manager.Environment["HTTPS_PROXY"] = Proxy.UrlWithCredentials;
        // http://: a plain-HTTP registry (Composer assumes https for any registry but a loopback address, as Docker does).
        manager.UseRegistry($"http://{host}", user, password);
        var connector = manager.NewConnector("proxied-pull", $"{manager.ManagerId}/proxied:1", manager.NewSecret());
        manager.StandIn.AddConnector(connector);

        var composer = manager.Start();
        var container = await manager.WaitForContainerAsync(connector.Id);
        await Assert.That(container.Config!.Image).IsEqualTo(reference);
        // Composer's own registry calls (the pre-flight) went through the proxy; the engine pulled on its own.
        await Assert.That(ProxyLogged($"GET http://{host}/", "/v2/ ")).IsTrue().Because(Proxy.Log);
        await Assert.That(ProxyLogged($"HEAD http://{host}/", $"/v2/{manager.ManagerId}/proxied/manifests/1")).IsTrue().Because(Proxy.Log);
        await composer.WaitForOutputAsync("\"Image pulled\"", EndToEndManager.Timeout);
        await Assert.That(composer.Output).Contains("\"Image available\"");

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    /// <summary>Whether tinyproxy logged a request line starting with <paramref name="request"/> ("POST http://host:port/") for that path.</summary>
    private bool ProxyLogged(string request, string path) =>
        Proxy.Log.Split('\n').Any(l => l.Contains(request, StringComparison.Ordinal) && l.Contains(path, StringComparison.Ordinal));
}

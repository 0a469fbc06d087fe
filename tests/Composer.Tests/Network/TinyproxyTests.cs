using System.Net;
using Composer.Configuration;
using Composer.Network;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Network;

/// <summary>Requests through a real tinyproxy, or around it as NO_PROXY, loopback and with_proxy say.</summary>
[ClassDataSource<TinyproxyFixture>(Shared = SharedType.PerTestSession)]
public class TinyproxyTests(TinyproxyFixture proxy)
{
    private static readonly IPAddress TargetIp = IPAddress.Parse(TestHosts.TargetAddress);

    private ComposerSettings ProxiedSettings(Action<ComposerSettings>? more = null)
    {
        var s = new ComposerSettings();
        s.OpenCti.WithProxy = true;
        s.OpenCti.HttpProxy = proxy.Url;
        s.OpenCti.HttpsProxy = proxy.Url;
        more?.Invoke(s);
        return s;
    }

    [Test]
    public async Task Plain_http_goes_through_the_proxy()
    {
        await using var target = new TestHttpServer("plain-target", TargetIp);
        using var client = new OutboundHandlerFactory(TestSettings.Resolve(ProxiedSettings()).Network).CreateClient(OutboundChannel.Registry);
        var path = "/v2/" + Guid.NewGuid().ToString("N");
        var body = await client.GetStringAsync(target.UrlFor(TestHosts.Target, path));
        await Assert.That(body).Contains("served-by: plain-target");
        await Assert.That(body).Contains("(tinyproxy/");
        await Assert.That(proxy.Saw($"GET http://{TestHosts.Target}:{target.Port}{path}")).IsTrue();
    }

    [Test]
    public async Task Https_is_tunnelled_with_connect_and_validated_with_the_proxy_ca()
    {
        using var ca = new TestCertificateAuthority("tunnel origin CA");
        using var cert = ca.Issue(TestHosts.Target, [TestHosts.Target]);
        await using var target = new TestHttpServer("tls-target", TargetIp, cert);
        var settings = ProxiedSettings(s => s.OpenCti.HttpsProxyCa = [ca.CertificatePem]);
        using var client = new OutboundHandlerFactory(TestSettings.Resolve(settings).Network).CreateClient(OutboundChannel.Registry);
        var body = await client.GetStringAsync(target.UrlFor(TestHosts.Target, "/tunnel"));
        await Assert.That(body).Contains("served-by: tls-target");
        await Assert.That(body).DoesNotContain("Via:"); // end-to-end TLS: the proxy saw only the tunnel
        await Assert.That(proxy.Saw($"CONNECT {TestHosts.Target}:{target.Port}")).IsTrue();
    }

    [Test]
    public async Task Platform_server_ca_validates_a_tunnelled_platform_connection()
    {
        // app.https_cert.ca vouches for the OpenCTI server, also when it is reached through a (non-intercepting) proxy.
        using var ca = new TestCertificateAuthority("opencti server CA");
        using var cert = ca.Issue(TestHosts.Target, [TestHosts.Target]);
        await using var target = new TestHttpServer("opencti", TargetIp, cert);
        var settings = ProxiedSettings(s => s.App.HttpsCert.Ca = [ca.CertificatePem]);
        var factory = new OutboundHandlerFactory(TestSettings.Resolve(settings).Network);
        using var openCti = factory.CreateClient(OutboundChannel.OpenCti);
        await Assert.That(await openCti.GetStringAsync(target.UrlFor(TestHosts.Target, "/graphql"))).Contains("served-by: opencti");
        await Assert.That(proxy.Saw($"CONNECT {TestHosts.Target}:{target.Port}")).IsTrue();
        // The server CA is the platform's: another channel does not trust it.
        using var registry = factory.CreateClient(OutboundChannel.Registry);
        await Assert.That(async () => await registry.GetStringAsync(target.UrlFor(TestHosts.Target, "/v2/"))).Throws<HttpRequestException>();
    }

    [Test]
    public async Task No_proxy_entries_go_direct()
    {
        await using var target = new TestHttpServer("bypassed", TargetIp);
        var settings = ProxiedSettings(s => s.OpenCti.NoProxy = "localhost, .composer.test");
        using var client = new OutboundHandlerFactory(TestSettings.Resolve(settings).Network).CreateClient(OutboundChannel.OpenCti);
        var path = "/direct/" + Guid.NewGuid().ToString("N");
        var body = await client.GetStringAsync(target.UrlFor(TestHosts.Target, path));
        await Assert.That(body).Contains("served-by: bypassed");
        await Assert.That(body).DoesNotContain("Via:");
        await Assert.That(proxy.Saw(path)).IsFalse();
    }

    [Test]
    public async Task One_client_routes_each_request_by_its_target()
    {
        await using var proxied = new TestHttpServer("proxied", TargetIp);
        await using var direct = new TestHttpServer("direct", IPAddress.Parse(TestHosts.DirectAddress));
        var settings = ProxiedSettings(s => s.OpenCti.NoProxy = TestHosts.Direct);
        using var client = new OutboundHandlerFactory(TestSettings.Resolve(settings).Network).CreateClient(OutboundChannel.Portainer);
        var p1 = "/a/" + Guid.NewGuid().ToString("N");
        var p2 = "/b/" + Guid.NewGuid().ToString("N");
        await Assert.That(await client.GetStringAsync(proxied.UrlFor(TestHosts.Target, p1))).Contains("(tinyproxy/");
        await Assert.That(await client.GetStringAsync(direct.UrlFor(TestHosts.Direct, p2))).DoesNotContain("Via:");
        await Assert.That(proxy.Saw(p1)).IsTrue();
        await Assert.That(proxy.Saw(p2)).IsFalse();
    }

    [Test]
    public async Task Loopback_is_never_proxied()
    {
        await using var target = new TestHttpServer("loopback", IPAddress.Loopback);
        using var client = new OutboundHandlerFactory(TestSettings.Resolve(ProxiedSettings()).Network).CreateClient(OutboundChannel.OpenCti);
        var path = "/loop/" + Guid.NewGuid().ToString("N");
        await Assert.That(await client.GetStringAsync(target.UrlFor("127.0.0.1", path))).DoesNotContain("Via:");
        await Assert.That(await client.GetStringAsync(target.UrlFor("localhost", path))).DoesNotContain("Via:");
        await Assert.That(proxy.Saw(path)).IsFalse();
    }

    [Test]
    public async Task With_proxy_false_ignores_every_proxy_setting()
    {
        await using var target = new TestHttpServer("no-proxy-at-all", TargetIp);
        var settings = ProxiedSettings(s =>
        {
            s.OpenCti.WithProxy = false;
            s.HttpProxy = proxy.Url; // what HTTP_PROXY in the environment becomes
        });
        using var client = new OutboundHandlerFactory(TestSettings.Resolve(settings).Network).CreateClient(OutboundChannel.OpenCti);
        var path = "/off/" + Guid.NewGuid().ToString("N");
        await Assert.That(await client.GetStringAsync(target.UrlFor(TestHosts.Target, path))).DoesNotContain("Via:");
        await Assert.That(proxy.Saw(path)).IsFalse();
    }

    [Test]
    public async Task Top_level_proxy_applies_when_the_platform_sets_none()
    {
        await using var target = new TestHttpServer("top-level", TargetIp);
        var s = new ComposerSettings { HttpProxy = proxy.Url };
        s.OpenAev.WithProxy = true;
        using var client = new OutboundHandlerFactory(TestSettings.Resolve(s).Network).CreateClient(OutboundChannel.OpenAev);
        var path = "/top/" + Guid.NewGuid().ToString("N");
        await Assert.That(await client.GetStringAsync(target.UrlFor(TestHosts.Target, path))).Contains("(tinyproxy/");
        await Assert.That(proxy.Saw(path)).IsTrue();
    }
}

/// <summary>tinyproxy with BasicAuth: credentials from the proxy URL answer its 407 challenge.</summary>
[ClassDataSource<AuthenticatedTinyproxyFixture>(Shared = SharedType.PerTestSession)]
public class AuthenticatedTinyproxyTests(AuthenticatedTinyproxyFixture proxy)
{
    private static readonly IPAddress TargetIp = IPAddress.Parse(TestHosts.TargetAddress);

    private static HttpClient Client(string proxyUrl, Action<ComposerSettings>? more = null)
    {
        var s = new ComposerSettings();
        s.OpenCti.WithProxy = true;
        s.OpenCti.HttpProxy = proxyUrl;
        s.OpenCti.HttpsProxy = proxyUrl;
        more?.Invoke(s);
        return new OutboundHandlerFactory(TestSettings.Resolve(s).Network).CreateClient(OutboundChannel.Registry);
    }

    [Test]
    public async Task Credentials_in_the_proxy_url_authenticate_plain_http()
    {
        await using var target = new TestHttpServer("auth-plain", TargetIp);
        using var client = Client(proxy.UrlWithCredentials);
        var path = "/auth/" + Guid.NewGuid().ToString("N");
        var response = await client.GetAsync(target.UrlFor(TestHosts.Target, path));
        await Assert.That(response.StatusCode).IsEqualTo(HttpStatusCode.OK);
        await Assert.That(await response.Content.ReadAsStringAsync()).Contains("(tinyproxy/");
        // tinyproxy strips Proxy-Authorization before forwarding: the password never reaches the target.
        await Assert.That(await response.Content.ReadAsStringAsync()).DoesNotContain("Proxy-Authorization");
    }

    [Test]
    public async Task Credentials_authenticate_the_connect_tunnel()
    {
        using var ca = new TestCertificateAuthority("auth tunnel CA");
        using var cert = ca.Issue(TestHosts.Target, [TestHosts.Target]);
        await using var target = new TestHttpServer("auth-tls", TargetIp, cert);
        using var client = Client(proxy.UrlWithCredentials, s => s.OpenCti.HttpsProxyCa = [ca.CertificatePem]);
        await Assert.That(await client.GetStringAsync(target.UrlFor(TestHosts.Target, "/"))).Contains("served-by: auth-tls");
        await Assert.That(proxy.Saw($"CONNECT {TestHosts.Target}:{target.Port}")).IsTrue();
    }

    [Test]
    public async Task Without_credentials_the_proxy_answers_407()
    {
        await using var target = new TestHttpServer("auth-missing", TargetIp);
        using var client = Client(proxy.Url);
        var response = await client.GetAsync(target.UrlFor(TestHosts.Target, "/"));
        await Assert.That(response.StatusCode).IsEqualTo(HttpStatusCode.ProxyAuthenticationRequired);
        await Assert.That(target.RequestCount).IsEqualTo(0);
    }

    [Test]
    public async Task Wrong_credentials_are_refused()
    {
        await using var target = new TestHttpServer("auth-wrong", TargetIp);
        using var client = Client($"http://{AuthenticatedTinyproxyFixture.User}:wrong@127.0.0.1:{proxy.Port}");
        var response = await client.GetAsync(target.UrlFor(TestHosts.Target, "/"));
        // tinyproxy answers a failed Basic check with 401 (after its first 407 challenge).
        await Assert.That(response.StatusCode is HttpStatusCode.ProxyAuthenticationRequired or HttpStatusCode.Unauthorized).IsTrue();
        await Assert.That(target.RequestCount).IsEqualTo(0);
    }
}

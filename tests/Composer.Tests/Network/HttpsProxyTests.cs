using System.Net;
using Composer.Configuration;
using Composer.Network;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Network;

/// <summary>
/// An https:// proxy (stunnel TLS in front of tinyproxy): the TLS to the proxy itself is validated with the system
/// roots + https_proxy_ca, never with the platform's server CA; https_proxy_reject_unauthorized: false turns that off
/// for proxy connections only.
/// </summary>
[ClassDataSource<StunnelFixture>(Shared = SharedType.PerTestSession)]
public class HttpsProxyTests(StunnelFixture proxy)
{
    private static readonly IPAddress TargetIp = IPAddress.Parse(TestHosts.TargetAddress);

    private HttpClient Client(Action<ComposerSettings> configure, OutboundChannel channel = OutboundChannel.Registry)
    {
        var s = new ComposerSettings();
        s.OpenCti.WithProxy = true;
        s.OpenCti.HttpProxy = proxy.Url;
        s.OpenCti.HttpsProxy = proxy.Url;
        configure(s);
        return new OutboundHandlerFactory(TestSettings.Resolve(s).Network).CreateClient(channel);
    }

    [Test]
    public async Task Refused_without_the_proxy_ca()
    {
        await using var target = new TestHttpServer("https-proxy-refused", TargetIp);
        using var client = Client(_ => { });
        var path = "/refused/" + Guid.NewGuid().ToString("N");
        var ex = await Assert.That(async () => await client.GetAsync(target.UrlFor(TestHosts.Target, path))).Throws<HttpRequestException>();
        await Assert.That(ex!.ToString()).Contains("SSL");
        await Assert.That(proxy.Tinyproxy.Saw(path)).IsFalse();
    }

    [Test]
    public async Task Accepted_with_the_proxy_ca_for_http_and_https_targets()
    {
        using var originCa = new TestCertificateAuthority("origin behind https proxy");
        using var cert = originCa.Issue(TestHosts.Target, [TestHosts.Target]);
        await using var plain = new TestHttpServer("https-proxy-plain", TargetIp);
        await using var tls = new TestHttpServer("https-proxy-tls", TargetIp, cert);
        // The proxy CA file and the origin CA as inline PEM: both forms in one list.
        using var client = Client(s => s.OpenCti.HttpsProxyCa = [proxy.ProxyCaPath, originCa.CertificatePem]);
        var path = "/accepted/" + Guid.NewGuid().ToString("N");
        await Assert.That(await client.GetStringAsync(plain.UrlFor(TestHosts.Target, path))).Contains("(tinyproxy/");
        await Assert.That(proxy.Tinyproxy.Saw($"GET http://{TestHosts.Target}:{plain.Port}{path}")).IsTrue();
        await Assert.That(await client.GetStringAsync(tls.UrlFor(TestHosts.Target, "/"))).Contains("served-by: https-proxy-tls");
        await Assert.That(proxy.Tinyproxy.Saw($"CONNECT {TestHosts.Target}:{tls.Port}")).IsTrue();
    }

    [Test]
    public async Task Accepted_without_validation_when_reject_unauthorized_is_false()
    {
        await using var target = new TestHttpServer("https-proxy-unvalidated", TargetIp);
        using var client = Client(s => s.OpenCti.HttpsProxyRejectUnauthorized = false);
        var path = "/unvalidated/" + Guid.NewGuid().ToString("N");
        await Assert.That(await client.GetStringAsync(target.UrlFor(TestHosts.Target, path))).Contains("(tinyproxy/");
        await Assert.That(proxy.Tinyproxy.Saw(path)).IsTrue();
    }

    [Test]
    public async Task Reject_unauthorized_false_does_not_relax_direct_connections()
    {
        using var untrusted = new TestCertificateAuthority("untrusted direct CA");
        using var cert = untrusted.Issue(TestHosts.Direct, [TestHosts.Direct]);
        await using var direct = new TestHttpServer("direct-untrusted", IPAddress.Parse(TestHosts.DirectAddress), cert);
        using var client = Client(s =>
        {
            s.OpenCti.HttpsProxyRejectUnauthorized = false;
            s.OpenCti.NoProxy = TestHosts.Direct;
        });
        await Assert.That(async () => await client.GetAsync(direct.UrlFor(TestHosts.Direct, "/"))).Throws<HttpRequestException>();
        await Assert.That(direct.RequestCount).IsEqualTo(0);
    }

    [Test]
    public async Task The_proxy_ca_does_not_vouch_for_direct_connections()
    {
        // A server whose certificate the proxy CA signed, reached directly (NO_PROXY): not trusted.
        using var cert = proxy.ProxyCa.Issue(TestHosts.Direct, [TestHosts.Direct]);
        await using var direct = new TestHttpServer("direct-proxy-ca", IPAddress.Parse(TestHosts.DirectAddress), cert);
        using var client = Client(s =>
        {
            s.OpenCti.HttpsProxyCa = [proxy.ProxyCaPath];
            s.OpenCti.NoProxy = TestHosts.Direct;
        });
        await Assert.That(async () => await client.GetAsync(direct.UrlFor(TestHosts.Direct, "/"))).Throws<HttpRequestException>();
    }

    [Test]
    public async Task The_platform_server_ca_does_not_vouch_for_the_proxy()
    {
        // app.https_cert.ca (the OpenCTI server CA) holds the proxy's CA, https_proxy_ca is empty: the TLS to the proxy is refused.
        await using var target = new TestHttpServer("server-ca-not-for-proxy", TargetIp);
        using var client = Client(s => s.App.HttpsCert.Ca = [proxy.ProxyCaPath], OutboundChannel.OpenCti);
        var path = "/mixed/" + Guid.NewGuid().ToString("N");
        await Assert.That(async () => await client.GetAsync(target.UrlFor(TestHosts.Target, path))).Throws<HttpRequestException>();
        await Assert.That(proxy.Tinyproxy.Saw(path)).IsFalse();
    }
}

using System.Net;
using System.Net.Security;
using Composer.Configuration;
using Composer.Network;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Network;

/// <summary>
/// A TLS-intercepting proxy (squid ssl-bump) re-signs every HTTPS origin with its own CA: Composer reaches the origin
/// only when https_proxy_ca trusts that CA (or when validation is off for proxy connections).
/// </summary>
[ClassDataSource<SquidFixture>(Shared = SharedType.PerTestSession)]
public class InterceptingProxyTests(SquidFixture squid)
{
    private static readonly IPAddress TargetIp = IPAddress.Parse(TestHosts.TargetAddress);

    private HttpClient Client(Action<ComposerSettings> configure)
    {
        var s = new ComposerSettings();
        s.OpenCti.WithProxy = true;
        s.OpenCti.HttpsProxy = squid.Url;
        configure(s);
        return new OutboundHandlerFactory(TestSettings.Resolve(s).Network).CreateClient(OutboundChannel.Registry);
    }

    [Test]
    public async Task Works_when_the_interception_ca_is_trusted()
    {
        using var cert = squid.IssueOriginCertificate(TestHosts.Target);
        await using var origin = new TestHttpServer("bumped-origin", TargetIp, cert);
        using var client = Client(s => s.OpenCti.HttpsProxyCa = [squid.InterceptionCaPath]);
        var path = "/bumped/" + Guid.NewGuid().ToString("N");
        var body = await client.GetStringAsync(origin.UrlFor(TestHosts.Target, path));
        await Assert.That(body).Contains("served-by: bumped-origin");
        // squid decrypted the request: it added its Via header and logged the full https URL.
        await Assert.That(body).Contains("squid");
        // squid writes its access log line after the response has gone out: give it a moment.
        var line = $"https://{TestHosts.Target}:{origin.Port}{path}";
        for (var waited = 0; !squid.Saw(line) && waited < 5000; waited += 100) await Task.Delay(100);
        await Assert.That(squid.Saw(line)).IsTrue();
    }

    [Test]
    public async Task Fails_when_the_interception_ca_is_not_trusted_even_if_the_origin_ca_is()
    {
        using var cert = squid.IssueOriginCertificate(TestHosts.Target);
        await using var origin = new TestHttpServer("bumped-refused", TargetIp, cert);
        // Trusting the origin's real CA is not enough: the client sees squid's re-signed certificate.
        using var client = Client(s => s.OpenCti.HttpsProxyCa = [squid.OriginCaPath]);
        var ex = await Assert.That(async () => await client.GetAsync(origin.UrlFor(TestHosts.Target, "/"))).Throws<HttpRequestException>();
        await Assert.That(ex!.ToString()).Contains("SSL");
        await Assert.That(origin.RequestCount).IsEqualTo(0);
    }

    [Test]
    public async Task Works_without_validation_when_reject_unauthorized_is_false()
    {
        using var cert = squid.IssueOriginCertificate(TestHosts.Target);
        await using var origin = new TestHttpServer("bumped-unvalidated", TargetIp, cert);
        using var client = Client(s => s.OpenCti.HttpsProxyRejectUnauthorized = false);
        var body = await client.GetStringAsync(origin.UrlFor(TestHosts.Target, "/"));
        await Assert.That(body).Contains("served-by: bumped-unvalidated");
    }

    [Test]
    public async Task A_publicly_rooted_certificate_still_validates_with_extra_roots()
    {
        // The extra roots are added to the system roots, never instead of them: a chain that the system trusts is
        // accepted, and the same leaf with only the extra root is refused. Checked on the trust rule directly since
        // no public site is reachable here.
        var trust = new CertificateTrust(false, [squid.InterceptionCa.Certificate]);
        using var cert = squid.IssueOriginCertificate(TestHosts.Target);
        await Assert.That(trust.Validate(cert, null, SslPolicyErrors.None)).IsTrue();
        await Assert.That(trust.Validate(cert, null, SslPolicyErrors.RemoteCertificateChainErrors)).IsFalse();
        await Assert.That(new CertificateTrust(false, [squid.OriginCa.Certificate]).Validate(cert, null, SslPolicyErrors.RemoteCertificateChainErrors)).IsTrue();
        await Assert.That(new CertificateTrust(false, [squid.OriginCa.Certificate]).Validate(cert, null, SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateChainErrors)).IsFalse();
    }
}

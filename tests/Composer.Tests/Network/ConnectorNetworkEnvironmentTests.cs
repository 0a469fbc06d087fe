using System.Text;
using Composer.Configuration;
using Composer.Network;
using Composer.Orchestration;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Network;

public class ConnectorNetworkEnvironmentTests
{
    private const string FakeRoots = "-----BEGIN CERTIFICATE-----\nSYSTEMROOT\n-----END CERTIFICATE-----\n";

    [Test]
    public async Task Nothing_without_with_proxy()
    {
        var s = new ComposerSettings { HttpsProxy = "http://proxy:3128", HttpsProxyCa = ["/x.pem"], HttpsProxyRejectUnauthorized = false };
        var env = ConnectorNetworkEnvironment.Compute(PlatformNetworkPolicy.Resolve(s, PlatformKind.OpenCti), FakeRoots);
        await Assert.That(env.Variables.Count).IsEqualTo(0);
        await Assert.That(env.CaBundle).IsNull();
    }

    [Test]
    public async Task Proxy_variables_in_both_cases_ca_bundle_and_node_switch()
    {
        using var ca = new TestCertificateAuthority("connector proxy ca");
        var s = new ComposerSettings
        {
            HttpProxy = "http://u:pw@proxy:3128",
            HttpsProxy = "http://u:pw@proxy:3128",
            NoProxy = "localhost,.internal",
            HttpsProxyCa = [ca.CertificatePem],
            HttpsProxyRejectUnauthorized = false,
        };
        s.OpenCti.WithProxy = true;
        s.OpenCti.NoProxy = "opencti.internal";
        var env = ConnectorNetworkEnvironment.Compute(PlatformNetworkPolicy.Resolve(s, PlatformKind.OpenCti), FakeRoots);
        var byName = env.Variables.ToDictionary(v => v.Name);
        foreach (var name in new[] { "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy" })
        {
            await Assert.That(byName[name].Value).IsEqualTo("http://u:pw@proxy:3128");
            await Assert.That(byName[name].Sensitive).IsTrue();
        }
        await Assert.That(byName["NO_PROXY"].Value).IsEqualTo("opencti.internal");
        await Assert.That(byName["no_proxy"].Sensitive).IsFalse();
        foreach (var name in new[] { "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS" })
        {
            await Assert.That(byName[name].Value).IsEqualTo("/etc/ssl/certs/composer-ca-bundle.pem");
        }
        await Assert.That(byName["NODE_TLS_REJECT_UNAUTHORIZED"].Value).IsEqualTo("0");
        // The names OpenCTI lists its own proxy settings under: Composer's values, so that they win over the platform's.
        await Assert.That(byName["HTTPS_CA_CERTIFICATES"].Value.Trim()).IsEqualTo(ca.CertificatePem.Trim());
        await Assert.That(byName["HTTPS_PROXY_REJECT_UNAUTHORIZED"].Value).IsEqualTo("false");
        var bundle = Encoding.UTF8.GetString(env.CaBundle!);
        await Assert.That(bundle).StartsWith(FakeRoots);
        await Assert.That(bundle).Contains(ca.CertificatePem.Trim());
    }

    [Test]
    public async Task Each_platform_gets_its_own_settings()
    {
        var s = new ComposerSettings { HttpsProxy = "http://shared:3128" };
        s.OpenCti.WithProxy = true;
        s.OpenAev.WithProxy = true;
        s.OpenAev.HttpsProxy = "http://aev-only:3128";
        var cti = ConnectorNetworkEnvironment.Compute(PlatformNetworkPolicy.Resolve(s, PlatformKind.OpenCti), FakeRoots);
        var aev = ConnectorNetworkEnvironment.Compute(PlatformNetworkPolicy.Resolve(s, PlatformKind.OpenAev), FakeRoots);
        await Assert.That(cti.Variables.Single(v => v.Name == "HTTPS_PROXY").Value).IsEqualTo("http://shared:3128");
        await Assert.That(aev.Variables.Single(v => v.Name == "HTTPS_PROXY").Value).IsEqualTo("http://aev-only:3128");
    }

    [Test]
    public async Task No_ca_variables_without_proxy_ca_and_no_node_switch_by_default()
    {
        var s = new ComposerSettings();
        s.OpenAev.WithProxy = true;
        s.OpenAev.HttpsProxy = "http://proxy:3128";
        var env = ConnectorNetworkEnvironment.Compute(PlatformNetworkPolicy.Resolve(s, PlatformKind.OpenAev), FakeRoots);
        await Assert.That(env.Variables.Select(v => v.Name)).IsEquivalentTo(new[] { "HTTPS_PROXY", "https_proxy", "HTTPS_PROXY_REJECT_UNAUTHORIZED" });
        await Assert.That(env.Variables.Single(v => v.Name == "HTTPS_PROXY_REJECT_UNAUTHORIZED").Value).IsEqualTo("true");
        await Assert.That(env.CaBundle).IsNull();
    }

    [Test]
    public async Task The_default_bundle_holds_the_system_roots()
    {
        using var ca = new TestCertificateAuthority("bundle ca");
        var s = new ComposerSettings { HttpsProxyCa = [ca.CertificatePem] };
        s.OpenCti.WithProxy = true;
        var env = ConnectorNetworkEnvironment.Compute(PlatformNetworkPolicy.Resolve(s, PlatformKind.OpenCti));
        var bundle = Encoding.UTF8.GetString(env.CaBundle!);
        var certificates = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        certificates.ImportFromPem(bundle);
        // Debian's ca-certificates has well over 100 roots; the proxy CA comes last.
        await Assert.That(certificates.Count).IsGreaterThan(50);
        await Assert.That(certificates[^1].Subject).Contains("bundle ca");
    }

    [Test]
    public async Task System_roots_fall_back_when_no_bundle_file_exists()
    {
        var pem = SystemRootCertificates.LoadPem(["/nonexistent/bundle.crt"]);
        await Assert.That(pem).Contains("-----BEGIN CERTIFICATE-----");
    }
}

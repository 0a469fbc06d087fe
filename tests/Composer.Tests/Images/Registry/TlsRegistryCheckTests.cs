using Composer.Images;
using Composer.Network;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Images.Registry;

/// <summary>A real registry serving TLS with a test CA (the setup the proxy tests put behind an intercepting proxy).</summary>
public class TlsRegistryCheckTests
{
    [Test]
    public async Task A_tls_registry_on_loopback_is_checked_over_https_when_the_server_says_https()
    {
        using var certificates = RegistryTlsCertificates.Create("127.0.0.1", "localhost");
        await using var registry = await RegistryFixture.StartAsync(new RegistryFixtureOptions
        {
            Auth = RegistryAuthMode.Htpasswd,
            HtpasswdUsers = new Dictionary<string, string> { ["tls-user"] = "tls-Pass+/word" },
            TlsCertificatePath = certificates.ServerCertificatePath,
            TlsKeyPath = certificates.ServerKeyPath,
        });
        var trusting = new TestOutboundHandlerFactory(certificates.Ca);
        var digest = await RegistryPusher.PushImageAsync(registry.BaseUri, "secure/app", "1.0", "tls-user", "tls-Pass+/word",
            trusting.CreateHandler(OutboundChannel.Registry));

        using var client = RegistryTestSupport.Client(RegistryTestSupport.Configuration($"https://{registry.Host}", "tls-user", "tls-Pass+/word"), trusting);
        var result = await client.CheckAsync(registry.Host, "secure/app", "1.0");

        await Assert.That(result.Status).IsEqualTo(RegistryCheckStatus.Available).Because(result.Message);
        await Assert.That(result.Digest).IsEqualTo(digest);
        await Assert.That(trusting.Requests.Where(r => r.Uri.Host == "127.0.0.1").All(r => r.Uri.Scheme == "https")).IsTrue();
    }

    [Test]
    public async Task An_untrusted_registry_certificate_fails_at_once_without_retries()
    {
        using var certificates = RegistryTlsCertificates.Create("127.0.0.1");
        await using var registry = await RegistryFixture.StartAsync(new RegistryFixtureOptions
        {
            TlsCertificatePath = certificates.ServerCertificatePath,
            TlsKeyPath = certificates.ServerKeyPath,
        });
        var delays = new List<TimeSpan>();
        var handlers = new TestOutboundHandlerFactory(); // system roots only: the test CA is unknown
        using var client = RegistryTestSupport.Client(RegistryTestSupport.Configuration($"https://{registry.Host}", retryAttempts: 3, retryDelay: 1), handlers, delays: delays);

        var result = await client.CheckAsync(registry.Host, "secure/app", "1.0");

        await Assert.That(result.Status).IsEqualTo(RegistryCheckStatus.Unreachable);
        await Assert.That(result.Message).Contains(registry.Host);
        await Assert.That(result.Message.ToLowerInvariant()).Contains("ssl");
        await Assert.That(delays).IsEmpty();
        await Assert.That(handlers.Requests.Count).IsEqualTo(1);
    }
}

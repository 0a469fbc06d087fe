using Composer.Configuration;
using Composer.Images;
using Composer.Network;
using Composer.Tests.Images.Registry;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Network;

/// <summary>The registry client on the factory's Registry channel, against a real TLS registry behind real proxies.</summary>
[ClassDataSource<ProxiedRegistryFixture, AuthenticatedTinyproxyFixture, SquidFixture>(
    Shared = [SharedType.PerTestSession, SharedType.PerTestSession, SharedType.PerTestSession])]
public class RegistryThroughProxyTests(ProxiedRegistryFixture registry, AuthenticatedTinyproxyFixture tinyproxy, SquidFixture squid)
{
    private async Task<RegistryCheckResult> CheckAsync(Action<ComposerSettings> proxy)
    {
        var settings = new ComposerSettings();
        settings.OpenCti.WithProxy = true;
        settings.OpenCti.Daemon.Registry = new RegistrySettings
        {
            Server = registry.Host,
            Username = ProxiedRegistryFixture.User,
            Password = new Composer.Diagnostics.Secret(ProxiedRegistryFixture.Password),
            RetryAttempts = 0,
        };
        proxy(settings);
        var resolved = TestSettings.Resolve(settings);
        using var client = new RegistryClient(new OutboundHandlerFactory(resolved.Network), resolved.Registry);
        return await client.CheckAsync(registry.Host, ProxiedRegistryFixture.Repository, ProxiedRegistryFixture.Tag);
    }

    [Test]
    public async Task Through_an_authenticating_tinyproxy()
    {
        var result = await CheckAsync(s =>
        {
            s.HttpsProxy = tinyproxy.UrlWithCredentials;
            s.HttpsProxyCa = [registry.CaPath];
        });
        await Assert.That(result.IsAvailable).IsTrue().Because(result.Message ?? "");
        await Assert.That(result.Digest).IsEqualTo(registry.Digest);
        await Assert.That(tinyproxy.Saw($"CONNECT {registry.Host}")).IsTrue();
    }

    [Test]
    public async Task Through_squid_ssl_bump_with_the_interception_ca()
    {
        var result = await CheckAsync(s =>
        {
            s.OpenCti.HttpsProxy = squid.Url;
            s.OpenCti.HttpsProxyCa = [squid.InterceptionCaPath];
        });
        await Assert.That(result.IsAvailable).IsTrue().Because(result.Message ?? "");
        await Assert.That(result.Digest).IsEqualTo(registry.Digest);
        await Assert.That(squid.Saw($"https://{registry.Host}/v2/{ProxiedRegistryFixture.Repository}/manifests/{ProxiedRegistryFixture.Tag}")).IsTrue().Because(squid.AccessLog);
    }

    [Test]
    public async Task Through_squid_without_the_interception_ca_the_registry_is_unreachable()
    {
        var result = await CheckAsync(s =>
        {
            s.OpenCti.HttpsProxy = squid.Url;
            s.OpenCti.HttpsProxyCa = [registry.CaPath];
        });
        await Assert.That(result.IsAvailable).IsFalse();
        await Assert.That(result.Message ?? "").DoesNotContain(ProxiedRegistryFixture.Password);
    }
}

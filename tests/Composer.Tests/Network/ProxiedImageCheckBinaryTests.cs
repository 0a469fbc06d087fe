using Composer.Tests.Infrastructure;

namespace Composer.Tests.Network;

/// <summary>
/// The published native binary reaching a real TLS registry (htpasswd auth) through each kind of proxy:
/// `composer image check` with the proxy configured the way the product page shows (environment variables).
/// </summary>
internal static class ProxiedImageCheck
{
    /// <summary>Environment for `composer image check` against the proxied registry; <paramref name="proxy"/> adds the proxy keys.</summary>
    public static Dictionary<string, string> Environment(ProxiedRegistryFixture registry, Action<Dictionary<string, string>> proxy)
    {
        var env = new Dictionary<string, string>
        {
            ["OPENCTI__WITH_PROXY"] = "true",
            ["OPENCTI__DAEMON__REGISTRY__SERVER"] = registry.Host,
            ["OPENCTI__DAEMON__REGISTRY__USERNAME"] = ProxiedRegistryFixture.User,
            ["OPENCTI__DAEMON__REGISTRY__PASSWORD"] = ProxiedRegistryFixture.Password,
            ["OPENCTI__DAEMON__REGISTRY__RETRY_ATTEMPTS"] = "0",
        };
        proxy(env);
        return env;
    }

    public static Task<ProcessResult> RunAsync(Dictionary<string, string> env) =>
        ComposerBinary.RunAsync(["image", "check", $"{ProxiedRegistryFixture.Repository}:{ProxiedRegistryFixture.Tag}"], env,
            timeout: TimeSpan.FromSeconds(90));

    /// <summary>Exit 0 with the digest the registry holds for the image.</summary>
    public static async Task AssertAvailableAsync(ProcessResult result, ProxiedRegistryFixture registry)
    {
        await Assert.That(result.ExitCode).IsEqualTo(0).Because(result.ToString());
        await Assert.That(result.Stdout).Contains($"digest: {registry.Digest}");
    }

    /// <summary>Exit 1 with a TLS failure naming the registry (and nothing else went wrong).</summary>
    public static async Task AssertTlsFailureAsync(ProcessResult result, ProxiedRegistryFixture registry)
    {
        await Assert.That(result.ExitCode).IsEqualTo(1).Because(result.ToString());
        await Assert.That(result.Stderr).Contains(registry.Host);
        await Assert.That(result.Stderr.ToLowerInvariant()).Contains("ssl").Because(result.ToString());
    }

    public static async Task AssertNoSecretsAsync(ProcessResult result, params string[] secrets)
    {
        foreach (var secret in secrets.Append(ProxiedRegistryFixture.Password))
        {
            await Assert.That(result.Stdout + result.Stderr).DoesNotContain(secret);
        }
    }
}

[ClassDataSource<ProxiedRegistryFixture, AuthenticatedTinyproxyFixture, TinyproxyFixture>(
    Shared = [SharedType.PerTestSession, SharedType.PerTestSession, SharedType.PerTestSession])]
public class TinyproxyImageCheckBinaryTests(ProxiedRegistryFixture registry, AuthenticatedTinyproxyFixture authProxy, TinyproxyFixture openProxy)
{
    [Test]
    public async Task Image_check_goes_through_an_authenticating_proxy()
    {
        var env = ProxiedImageCheck.Environment(registry, e =>
        {
            e["HTTPS_PROXY"] = authProxy.UrlWithCredentials;
            e["HTTPS_PROXY_CA"] = registry.CaPath; // the registry's CA: a CONNECT tunnel shows the origin's certificate
        });
        var result = await ProxiedImageCheck.RunAsync(env);
        await ProxiedImageCheck.AssertAvailableAsync(result, registry);
        await Assert.That(authProxy.Saw($"CONNECT {registry.Host}")).IsTrue().Because(authProxy.Log);
        await ProxiedImageCheck.AssertNoSecretsAsync(result, AuthenticatedTinyproxyFixture.Password);
    }

    [Test]
    public async Task Image_check_goes_around_the_proxy_for_no_proxy_hosts()
    {
        // NO_PROXY sends the registry direct: the proxy never sees it, and the proxy CA does not vouch for a direct
        // connection, so the TLS check of the registry fails (the binary honours both rules).
        var env = ProxiedImageCheck.Environment(registry, e =>
        {
            e["HTTPS_PROXY"] = openProxy.Url;
            e["HTTPS_PROXY_CA"] = registry.CaPath;
            e["NO_PROXY"] = $"localhost,{TestHosts.Registry}";
        });
        var result = await ProxiedImageCheck.RunAsync(env);
        await ProxiedImageCheck.AssertTlsFailureAsync(result, registry);
        await Assert.That(openProxy.Saw(registry.Host)).IsFalse();
        await ProxiedImageCheck.AssertNoSecretsAsync(result);
    }

    [Test]
    public async Task With_proxy_false_ignores_the_proxy_environment()
    {
        var env = ProxiedImageCheck.Environment(registry, e =>
        {
            e["OPENCTI__WITH_PROXY"] = "false";
            e["HTTPS_PROXY"] = openProxy.Url;
            e["HTTPS_PROXY_CA"] = registry.CaPath;
        });
        var result = await ProxiedImageCheck.RunAsync(env);
        await ProxiedImageCheck.AssertTlsFailureAsync(result, registry);
        await Assert.That(openProxy.Saw(registry.Host)).IsFalse();
    }
}

[ClassDataSource<ProxiedRegistryFixture, StunnelFixture>(Shared = [SharedType.PerTestSession, SharedType.PerTestSession])]
public class HttpsProxyImageCheckBinaryTests(ProxiedRegistryFixture registry, StunnelFixture proxy)
{
    [Test]
    public async Task Image_check_through_an_https_proxy_with_its_ca()
    {
        var env = ProxiedImageCheck.Environment(registry, e =>
        {
            e["OPENCTI__HTTPS_PROXY"] = proxy.Url;
            // The JSON-array form of the product page: the proxy's CA and the registry's.
            e["HTTPS_PROXY_CA"] = $"[\"{proxy.ProxyCaPath}\",\"{registry.CaPath}\"]";
        });
        var result = await ProxiedImageCheck.RunAsync(env);
        await ProxiedImageCheck.AssertAvailableAsync(result, registry);
        await Assert.That(proxy.Tinyproxy.Saw($"CONNECT {registry.Host}")).IsTrue();
    }

    [Test]
    public async Task Image_check_through_an_https_proxy_is_refused_without_its_ca()
    {
        var env = ProxiedImageCheck.Environment(registry, e =>
        {
            e["OPENCTI__HTTPS_PROXY"] = proxy.Url;
            e["HTTPS_PROXY_CA"] = registry.CaPath;
        });
        var result = await ProxiedImageCheck.RunAsync(env);
        await ProxiedImageCheck.AssertTlsFailureAsync(result, registry);
        await ProxiedImageCheck.AssertNoSecretsAsync(result);
    }

    [Test]
    public async Task Image_check_through_an_https_proxy_without_validation()
    {
        var env = ProxiedImageCheck.Environment(registry, e =>
        {
            e["OPENCTI__HTTPS_PROXY"] = proxy.Url;
            e["HTTPS_PROXY_REJECT_UNAUTHORIZED"] = "false";
        });
        var result = await ProxiedImageCheck.RunAsync(env);
        await ProxiedImageCheck.AssertAvailableAsync(result, registry);
    }
}

[ClassDataSource<ProxiedRegistryFixture, SquidFixture>(Shared = [SharedType.PerTestSession, SharedType.PerTestSession])]
public class InterceptingProxyImageCheckBinaryTests(ProxiedRegistryFixture registry, SquidFixture squid)
{
    [Test]
    public async Task Image_check_through_a_tls_intercepting_proxy_with_its_ca()
    {
        var env = ProxiedImageCheck.Environment(registry, e =>
        {
            e["HTTPS_PROXY"] = squid.Url;
            e["HTTPS_PROXY_CA"] = squid.InterceptionCaPath;
        });
        var result = await ProxiedImageCheck.RunAsync(env);
        await ProxiedImageCheck.AssertAvailableAsync(result, registry);
        // squid decrypted the traffic: its log holds the registry API URL itself.
        await Assert.That(squid.Saw($"https://{registry.Host}/v2/")).IsTrue().Because(squid.AccessLog);
    }

    [Test]
    public async Task Image_check_through_a_tls_intercepting_proxy_fails_without_its_ca()
    {
        var env = ProxiedImageCheck.Environment(registry, e =>
        {
            e["HTTPS_PROXY"] = squid.Url;
            e["HTTPS_PROXY_CA"] = registry.CaPath; // the registry's real CA is not what the client sees
        });
        var result = await ProxiedImageCheck.RunAsync(env);
        await ProxiedImageCheck.AssertTlsFailureAsync(result, registry);
        await ProxiedImageCheck.AssertNoSecretsAsync(result);
    }
}

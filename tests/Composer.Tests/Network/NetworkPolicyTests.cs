using Composer.Configuration;
using Composer.Network;
using Composer.Resolution;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Network;

/// <summary>Precedence (platform key &gt; top-level/env), with_proxy, channel → platform, and configuration errors.</summary>
public class NetworkPolicyTests
{
    private static ComposerSettings Settings(Action<ComposerSettings> configure)
    {
        var s = new ComposerSettings();
        configure(s);
        return s;
    }

    [Test]
    public async Task Platform_key_wins_over_top_level_key()
    {
        var s = Settings(s =>
        {
            s.OpenCti.WithProxy = true;
            s.HttpsProxy = "http://top:3128";
            s.OpenCti.HttpsProxy = "http://platform:3128";
            s.NoProxy = "top.example";
            s.OpenCti.NoProxy = "platform.example";
        });
        var policy = PlatformNetworkPolicy.Resolve(s, PlatformKind.OpenCti);
        await Assert.That(policy.HttpsProxy!.Address.Host).IsEqualTo("platform");
        await Assert.That(policy.NoProxy).IsEqualTo("platform.example");
    }

    [Test]
    public async Task Top_level_keys_apply_when_the_platform_sets_none()
    {
        var s = Settings(s =>
        {
            s.OpenCti.WithProxy = true;
            s.HttpProxy = "proxy.corp:8080"; // no scheme: http:// assumed
            s.HttpsProxy = "http://proxy.corp:8080";
            s.NoProxy = "internal.corp";
            s.HttpsProxyRejectUnauthorized = false;
        });
        var policy = PlatformNetworkPolicy.Resolve(s, PlatformKind.OpenCti);
        await Assert.That(policy.HttpProxy!.Address.ToString()).IsEqualTo("http://proxy.corp:8080/");
        await Assert.That(policy.HttpsProxy!.Address.Port).IsEqualTo(8080);
        await Assert.That(policy.ProxyFor(new Uri("https://api.internal.corp/"))).IsNull();
        await Assert.That(policy.ProxyFor(new Uri("https://registry-1.docker.io/v2/"))).IsNotNull();
        await Assert.That(policy.ProxyRejectUnauthorized).IsFalse();
    }

    [Test]
    public async Task Platform_reject_unauthorized_wins_and_the_default_is_true()
    {
        var s = Settings(s =>
        {
            s.OpenCti.WithProxy = true;
            s.OpenAev.WithProxy = true;
            s.HttpsProxyRejectUnauthorized = false;
            s.OpenCti.HttpsProxyRejectUnauthorized = true;
        });
        await Assert.That(PlatformNetworkPolicy.Resolve(s, PlatformKind.OpenCti).ProxyRejectUnauthorized).IsTrue();
        await Assert.That(PlatformNetworkPolicy.Resolve(s, PlatformKind.OpenAev).ProxyRejectUnauthorized).IsFalse();
        await Assert.That(PlatformNetworkPolicy.Resolve(new ComposerSettings { OpenCti = { WithProxy = true } }, PlatformKind.OpenCti).ProxyRejectUnauthorized).IsTrue();
    }

    [Test]
    public async Task With_proxy_false_means_no_proxy_whatever_the_environment_says()
    {
        var s = Settings(s =>
        {
            s.OpenCti.WithProxy = false;
            s.HttpProxy = "http://env-proxy:3128";
            s.HttpsProxy = "http://env-proxy:3128";
            s.OpenCti.HttpsProxy = "http://explicit:3128";
            s.HttpsProxyRejectUnauthorized = false;
        });
        var policy = PlatformNetworkPolicy.Resolve(s, PlatformKind.OpenCti);
        await Assert.That(policy.HttpProxy).IsNull();
        await Assert.That(policy.HttpsProxy).IsNull();
        await Assert.That(policy.ProxyRejectUnauthorized).IsTrue();
        var factory = new OutboundHandlerFactory(TestSettings.Resolve(s).Network);
        await Assert.That(factory.RouteFor(OutboundChannel.Registry, PlatformKind.OpenCti, new Uri("https://ghcr.io/v2/"))).IsNull();
    }

    [Test]
    public async Task No_proxy_applies_to_explicit_proxies_too()
    {
        // Upstream defect C5: explicit proxies ignored no_proxy, sending an internal OpenCTI through the proxy.
        var s = Settings(s =>
        {
            s.OpenCti.WithProxy = true;
            s.OpenCti.HttpsProxy = "http://proxy:3128";
            s.OpenCti.NoProxy = "opencti.internal";
        });
        var factory = new OutboundHandlerFactory(TestSettings.Resolve(s).Network);
        await Assert.That(factory.RouteFor(OutboundChannel.OpenCti, PlatformKind.OpenCti, new Uri("https://opencti.internal/graphql"))).IsNull();
        await Assert.That(factory.RouteFor(OutboundChannel.OpenCti, PlatformKind.OpenCti, new Uri("https://opencti.example.com/graphql"))).IsNotNull();
    }

    [Test]
    public async Task Only_the_proxy_of_the_scheme_is_used()
    {
        var s = Settings(s =>
        {
            s.OpenCti.WithProxy = true;
            s.OpenCti.HttpProxy = "http://only-http:3128";
        });
        var factory = new OutboundHandlerFactory(TestSettings.Resolve(s).Network);
        await Assert.That(factory.RouteFor(OutboundChannel.Registry, PlatformKind.OpenCti, new Uri("http://registry.example/v2/"))!.Address.Host).IsEqualTo("only-http");
        await Assert.That(factory.RouteFor(OutboundChannel.Registry, PlatformKind.OpenCti, new Uri("https://registry.example/v2/"))).IsNull();
    }

    [Test]
    public async Task Each_channel_uses_its_platform_settings()
    {
        var s = Settings(s =>
        {
            s.OpenCti.WithProxy = true;
            s.OpenCti.HttpsProxy = "http://cti-proxy:3128";
            s.OpenAev.WithProxy = true;
            s.OpenAev.HttpsProxy = "http://aev-proxy:3128";
        });
        var factory = new OutboundHandlerFactory(TestSettings.Resolve(s).Network);
        var target = new Uri("https://api.example.com/");
        await Assert.That(OutboundHandlerFactory.DefaultPlatform(OutboundChannel.OpenAev)).IsEqualTo(PlatformKind.OpenAev);
        foreach (var channel in new[] { OutboundChannel.OpenCti, OutboundChannel.Registry, OutboundChannel.Portainer, OutboundChannel.DockerTcp, OutboundChannel.Kubernetes })
        {
            await Assert.That(OutboundHandlerFactory.DefaultPlatform(channel)).IsEqualTo(PlatformKind.OpenCti);
        }
        await Assert.That(factory.RouteFor(OutboundChannel.OpenAev, PlatformKind.OpenAev, target)!.Address.Host).IsEqualTo("aev-proxy");
        await Assert.That(factory.RouteFor(OutboundChannel.Portainer, PlatformKind.OpenAev, target)!.Address.Host).IsEqualTo("aev-proxy");
        await Assert.That(factory.RouteFor(OutboundChannel.Portainer, PlatformKind.OpenCti, target)!.Address.Host).IsEqualTo("cti-proxy");
    }

    [Test]
    public async Task Kubernetes_channel_reaches_the_in_cluster_api_server_directly()
    {
        var s = Settings(s =>
        {
            s.OpenCti.WithProxy = true;
            s.OpenCti.HttpsProxy = "http://proxy:3128";
        });
        var factory = new OutboundHandlerFactory(TestSettings.Resolve(s, new Dictionary<string, string> { ["KUBERNETES_SERVICE_HOST"] = "10.96.0.1" }).Network);
        foreach (var url in new[] { "https://kubernetes.default.svc/api", "https://kubernetes.default.svc.cluster.local:443/", "https://10.96.0.1:443/api" })
        {
            await Assert.That(factory.RouteFor(OutboundChannel.Kubernetes, PlatformKind.OpenCti, new Uri(url))).IsNull().Because(url);
        }
        await Assert.That(factory.RouteFor(OutboundChannel.Kubernetes, PlatformKind.OpenCti, new Uri("https://k8s.example.com:6443/"))).IsNotNull();
        // Only the Kubernetes channel gets these exclusions.
        await Assert.That(factory.RouteFor(OutboundChannel.Registry, PlatformKind.OpenCti, new Uri("https://registry.default.svc/"))).IsNotNull();
    }

    [Test]
    public async Task Proxy_credentials_are_parsed_and_redacted()
    {
        var s = Settings(s =>
        {
            s.OpenCti.WithProxy = true;
            s.OpenCti.HttpsProxy = "http://alice:p%40ss%3Aword@proxy:3128";
        });
        var proxy = PlatformNetworkPolicy.Resolve(s, PlatformKind.OpenCti).HttpsProxy!;
        await Assert.That(proxy.Credentials!.UserName).IsEqualTo("alice");
        await Assert.That(proxy.Credentials!.Password).IsEqualTo("p@ss:word");
        await Assert.That(proxy.Address.ToString()).IsEqualTo("http://proxy:3128/");
        await Assert.That(proxy.Redacted).IsEqualTo("http://alice:***@proxy:3128");
        await Assert.That(proxy.ToString()).DoesNotContain("p%40ss");
    }

    [Test]
    public async Task Invalid_proxy_urls_are_errors_naming_the_key_without_the_password()
    {
        var s = Settings(s =>
        {
            s.OpenCti.WithProxy = true;
            s.OpenCti.HttpsProxy = "ftp://bob:hunter2@proxy:21";
            s.HttpProxy = "http://bob:hunter2@proxy:3128/some/path";
        });
        var errors = new List<ConfigDiagnostic>();
        ConfigValidator.Validate(s, new ConfigReport(ConfigProvenance.None, errors, []));
        await Assert.That(errors.Count).IsEqualTo(2);
        var text = string.Join("\n", errors);
        await Assert.That(text).Contains("opencti.https_proxy");
        await Assert.That(text).Contains("unsupported scheme 'ftp'");
        await Assert.That(errors.Select(e => e.Key)).Contains("http_proxy");
        await Assert.That(text).DoesNotContain("hunter2");
    }

    [Test]
    public async Task Timeouts_come_from_the_platform()
    {
        var s = Settings(s =>
        {
            s.OpenCti.RequestTimeout = 42;
            s.OpenCti.ConnectTimeout = 7;
        });
        var factory = new OutboundHandlerFactory(TestSettings.Resolve(s).Network);
        await Assert.That(factory.RequestTimeout(PlatformKind.OpenCti)).IsEqualTo(TimeSpan.FromSeconds(42));
        await Assert.That(factory.Policy(PlatformKind.OpenCti).ConnectTimeout).IsEqualTo(TimeSpan.FromSeconds(7));
        using var client = factory.CreateClient(OutboundChannel.OpenCti);
        await Assert.That(client.Timeout).IsEqualTo(TimeSpan.FromSeconds(42));
    }

    [Test]
    public async Task Connect_timeout_is_applied()
    {
        // A listener with a full backlog leaves further TCP handshakes unanswered: only the connect timeout ends them.
        using var listener = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
        listener.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        listener.Listen(0);
        var port = ((System.Net.IPEndPoint)listener.LocalEndPoint!).Port;
        var fillers = new List<System.Net.Sockets.Socket>();
        try
        {
            for (var i = 0; i < 4; i++)
            {
                var filler = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp);
                fillers.Add(filler);
                _ = filler.ConnectAsync(System.Net.IPAddress.Loopback, port);
            }
            await Task.Delay(300);
            var s = Settings(s => s.OpenCti.ConnectTimeout = 1);
            using var client = new OutboundHandlerFactory(TestSettings.Resolve(s).Network).CreateClient(OutboundChannel.OpenCti);
            client.Timeout = TimeSpan.FromSeconds(60);
            var watch = System.Diagnostics.Stopwatch.StartNew();
            Exception? failure = null;
            try { await client.GetAsync($"http://127.0.0.1:{port}/"); }
            catch (Exception ex) { failure = ex; }
            await Assert.That(failure).IsNotNull();
            await Assert.That(watch.Elapsed).IsLessThan(TimeSpan.FromSeconds(20));
            await Assert.That(watch.Elapsed).IsGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(900));
        }
        finally
        {
            foreach (var f in fillers) f.Dispose();
        }
    }

    [Test]
    public async Task Reject_unauthorized_false_logs_a_warning_at_start()
    {
        var s = Settings(s =>
        {
            s.OpenCti.WithProxy = true;
            s.OpenCti.HttpsProxy = "http://user:topsecret@proxy:3128";
            s.OpenCti.HttpsProxyRejectUnauthorized = false;
        });
        var output = new StringWriter();
        using var logger = new Composer.Diagnostics.Logger(Composer.Diagnostics.LogLevel.Info, Composer.Diagnostics.LogFormat.Json, output);
        _ = new OutboundHandlerFactory(TestSettings.Resolve(s).Network, logger);
        var log = output.ToString();
        await Assert.That(log).Contains("https_proxy_reject_unauthorized is false");
        await Assert.That(log).Contains("http://user:***@proxy:3128");
        await Assert.That(log).DoesNotContain("topsecret");
        var factory = new OutboundHandlerFactory(TestSettings.Resolve(s).Network);
        await Assert.That(factory.Warnings.Count).IsEqualTo(1);
        await Assert.That(factory.Warnings[0]).StartsWith("opencti: https_proxy_reject_unauthorized is false");
        await Assert.That(new OutboundHandlerFactory(TestSettings.Resolve(new ComposerSettings()).Network).Warnings.Count).IsEqualTo(0);
    }
}

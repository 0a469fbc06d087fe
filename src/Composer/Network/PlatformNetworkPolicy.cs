using Composer.Configuration;

namespace Composer.Network;

/// <summary>
/// The effective network settings of one platform, resolved once from <see cref="ComposerSettings"/>:
/// proxies, NO_PROXY, proxy trust, server trust and timeouts. Precedence for every proxy key: the platform's
/// explicit key (<c>opencti.https_proxy</c>) wins over the top-level key (<c>https_proxy</c> in config.json, or
/// HTTPS_PROXY / https_proxy from the environment, filled in by the configuration loader). With
/// <c>with_proxy: false</c> nothing of this applies: no proxy at all, whatever the environment says.
/// </summary>
public sealed class PlatformNetworkPolicy
{
    public PlatformKind Platform { get; }

    /// <summary>"opencti" or "openaev": the configuration section, for messages.</summary>
    public string Section { get; }

    public bool WithProxy { get; }

    /// <summary>Proxy for http:// targets (credentials included; redact before display). Null: http goes direct.</summary>
    public ProxyEndpoint? HttpProxy { get; }

    /// <summary>Proxy for https:// targets (credentials included; redact before display). Null: https goes direct.</summary>
    public ProxyEndpoint? HttpsProxy { get; }

    /// <summary>The NO_PROXY value as configured (null when none or when with_proxy is false).</summary>
    public string? NoProxy { get; }

    public NoProxyMatcher NoProxyMatcher { get; }

    /// <summary>Extra CAs trusted, on top of the system roots, for the TLS of an HTTPS proxy and of targets reached through a proxy.</summary>
    public ProxyCaBundle ProxyCa { get; }

    /// <summary>The https_proxy_ca entries as configured (for the connector bundle), or null.</summary>
    public IReadOnlyList<string>? ProxyCaEntries { get; }

    /// <summary>False disables certificate validation for proxy connections only (default true).</summary>
    public bool ProxyRejectUnauthorized { get; }

    /// <summary>Accept any certificate of this platform's own server (unsecured_certificate, or app.https_cert.reject_unauthorized: false for OpenCTI).</summary>
    public bool AcceptAnyServerCertificate { get; }

    /// <summary>Extra CAs trusted for this platform's own server (app.https_cert.ca, OpenCTI only), on top of the system roots.</summary>
    public ProxyCaBundle ServerCa { get; }

    public TimeSpan ConnectTimeout { get; }
    public TimeSpan RequestTimeout { get; }

    private PlatformNetworkPolicy(ComposerSettings settings, PlatformKind platform, CertificateLoader certificates)
    {
        Platform = platform;
        var p = platform == PlatformKind.OpenCti ? settings.OpenCti : settings.OpenAev;
        Section = platform == PlatformKind.OpenCti ? "opencti" : "openaev";
        WithProxy = p.WithProxy;
        ConnectTimeout = Seconds(p.ConnectTimeout);
        RequestTimeout = Seconds(p.RequestTimeout);

        if (WithProxy)
        {
            HttpProxy = ResolveProxy(p.HttpProxy, settings.HttpProxy);
            HttpsProxy = ResolveProxy(p.HttpsProxy, settings.HttpsProxy);
            NoProxy = NonEmpty(p.NoProxy) ?? NonEmpty(settings.NoProxy);
            NoProxyMatcher = new NoProxyMatcher(NoProxy);
            var (caEntries, caKey) = p.HttpsProxyCa is { Count: > 0 }
                ? (p.HttpsProxyCa, $"{Section}.https_proxy_ca")
                : (settings.HttpsProxyCa, "https_proxy_ca");
            ProxyCaEntries = caEntries is { Count: > 0 } ? caEntries : null;
            ProxyCa = certificates.Load(caKey, ProxyCaEntries);
            ProxyRejectUnauthorized = p.HttpsProxyRejectUnauthorized ?? settings.HttpsProxyRejectUnauthorized ?? true;
        }
        else
        {
            NoProxyMatcher = NoProxyMatcher.Empty;
            ProxyCa = ProxyCaBundle.Empty;
            ProxyRejectUnauthorized = true;
        }

        // app.https_cert.* names the OpenCTI web server (product page); OpenAEV only has unsecured_certificate.
        AcceptAnyServerCertificate = p.UnsecuredCertificate
            || (platform == PlatformKind.OpenCti && settings.App.HttpsCert.RejectUnauthorized == false);
        if (platform == PlatformKind.OpenCti)
        {
            ServerCa = certificates.Load(ServerCaKey, settings.App.HttpsCert.Ca);
        }
        else
        {
            ServerCa = ProxyCaBundle.Empty;
        }
    }

    /// <summary>The key of the OpenCTI server's extra CAs.</summary>
    public const string ServerCaKey = "app.https_cert.ca";

    /// <summary>
    /// The policy of one platform. CA files are read through <paramref name="certificates"/> (shared by every policy of
    /// one configuration, so each file is read once); invalid proxy URLs are the configuration validator's to report and
    /// leave the scheme without a proxy here.
    /// </summary>
    public static PlatformNetworkPolicy Resolve(ComposerSettings settings, PlatformKind platform, CertificateLoader? certificates = null) =>
        new(settings, platform, certificates ?? new CertificateLoader());

    /// <summary>The proxy for a target URL, or null when the request goes direct (no proxy for its scheme, or NO_PROXY/loopback).</summary>
    public ProxyEndpoint? ProxyFor(Uri target, NoProxyMatcher? matcher = null)
    {
        var proxy = target.Scheme switch
        {
            "https" or "wss" => HttpsProxy,
            "http" or "ws" => HttpProxy,
            _ => null,
        };
        if (proxy is null) return null;
        return (matcher ?? NoProxyMatcher).Bypasses(target) ? null : proxy;
    }

    private static TimeSpan Seconds(int seconds) => seconds > 0 ? TimeSpan.FromSeconds(seconds) : Timeout.InfiniteTimeSpan;

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static ProxyEndpoint? ResolveProxy(string? platformValue, string? topValue)
    {
        var value = NonEmpty(platformValue) ?? NonEmpty(topValue);
        return value is not null && ProxyEndpoint.TryParse(value, out var endpoint, out _) ? endpoint : null;
    }
}

/// <summary>The network policies of the process, as the resolve step produced them: what the handler factory needs.</summary>
/// <param name="KubernetesServiceHost">KUBERNETES_SERVICE_HOST as the process saw it (reached directly on the Kubernetes channel), or null.</param>
public sealed record NetworkPolicies(PlatformNetworkPolicy OpenCti, PlatformNetworkPolicy OpenAev, string? KubernetesServiceHost);

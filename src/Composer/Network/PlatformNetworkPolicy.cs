using Composer.Configuration;

namespace Composer.Network;

/// <summary>Which platform's settings (opencti.* or openaev.*) apply to a connection.</summary>
public enum PlatformKind
{
    OpenCti,
    OpenAev,
}

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

    /// <summary>Everything wrong with these settings (invalid proxy URLs, unreadable or invalid CA entries). Never contains a credential.</summary>
    public IReadOnlyList<ConfigDiagnostic> Errors { get; }

    private PlatformNetworkPolicy(ComposerSettings settings, PlatformKind platform)
    {
        Platform = platform;
        var p = platform == PlatformKind.OpenCti ? settings.OpenCti : settings.OpenAev;
        Section = platform == PlatformKind.OpenCti ? "opencti" : "openaev";
        var errors = new List<ConfigDiagnostic>();
        WithProxy = p.WithProxy;
        ConnectTimeout = Seconds(p.ConnectTimeout);
        RequestTimeout = Seconds(p.RequestTimeout);

        if (WithProxy)
        {
            HttpProxy = ResolveProxy(p.HttpProxy, $"{Section}.http_proxy", settings.HttpProxy, "http_proxy", errors);
            HttpsProxy = ResolveProxy(p.HttpsProxy, $"{Section}.https_proxy", settings.HttpsProxy, "https_proxy", errors);
            NoProxy = NonEmpty(p.NoProxy) ?? NonEmpty(settings.NoProxy);
            NoProxyMatcher = new NoProxyMatcher(NoProxy);
            var (caEntries, caKey) = p.HttpsProxyCa is { Count: > 0 }
                ? (p.HttpsProxyCa, $"{Section}.https_proxy_ca")
                : (settings.HttpsProxyCa, "https_proxy_ca");
            ProxyCaEntries = caEntries is { Count: > 0 } ? caEntries : null;
            var (bundle, caErrors) = ProxyCaBundle.Load(ProxyCaEntries, caKey);
            ProxyCa = bundle;
            errors.AddRange(caErrors);
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
            var (serverCa, serverErrors) = ProxyCaBundle.Load(settings.App.HttpsCert.Ca, "app.https_cert.ca");
            ServerCa = serverCa;
            errors.AddRange(serverErrors);
        }
        else
        {
            ServerCa = ProxyCaBundle.Empty;
        }
        Errors = errors;
    }

    public static PlatformNetworkPolicy Resolve(ComposerSettings settings, PlatformKind platform) => new(settings, platform);

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

    private static ProxyEndpoint? ResolveProxy(string? platformValue, string platformKey, string? topValue, string topKey, List<ConfigDiagnostic> errors)
    {
        var (value, key) = NonEmpty(platformValue) is { } pv ? (pv, platformKey) : (NonEmpty(topValue), topKey);
        if (value is null) return null;
        if (ProxyEndpoint.TryParse(value, out var endpoint, out var problem)) return endpoint;
        var source = key == topKey ? $"{topKey} (config.json or {topKey.ToUpperInvariant()} / {topKey} environment)" : key;
        errors.Add(new ConfigDiagnostic(key, source, $"invalid proxy URL '{SecretRedaction.RedactUrl(value)}': {problem}"));
        return null;
    }
}

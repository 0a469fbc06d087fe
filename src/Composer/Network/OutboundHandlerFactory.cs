using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Composer.Configuration;
using Composer.Diagnostics;

namespace Composer.Network;

/// <summary>
/// The one place production code gets an <see cref="HttpMessageHandler"/>. Each handler routes every request,
/// by its target, either through the platform's proxy or directly (NO_PROXY, loopback, no proxy for the scheme),
/// with the trust and timeouts of its channel. See docs/network.md.
/// <para>Trust, never mixed:</para>
/// <list type="bullet">
/// <item>TLS to an HTTPS proxy: system roots + https_proxy_ca (or nothing checked when https_proxy_reject_unauthorized is false).</item>
/// <item>TLS to a target reached through a proxy: accepted by the proxy trust (a TLS-intercepting proxy re-signs
/// with its CA) or, for the platform's own channel, by the server trust below.</item>
/// <item>Direct TLS: system roots, plus for the platform's own channel app.https_cert.ca (OpenCTI) and
/// unsecured_certificate. The proxy CAs and https_proxy_reject_unauthorized never apply to direct connections.</item>
/// <item>An endpoint that brings its own TLS (<see cref="EndpointTls"/>, the Kubernetes API): its roots replace the
/// server trust, directly and through a proxy, and its client certificate is presented.</item>
/// </list>
/// </summary>
public sealed class OutboundHandlerFactory : IOutboundHandlerFactory
{
    private readonly PlatformNetworkPolicy _openCti;
    private readonly PlatformNetworkPolicy _openAev;
    private readonly NoProxyMatcher _kubernetesOpenCti;
    private readonly NoProxyMatcher _kubernetesOpenAev;
    private readonly string[] _kubernetesExclusions;

    /// <param name="network">Each platform's network policy and KUBERNETES_SERVICE_HOST, reached directly on the
    /// Kubernetes channel like <c>.svc</c> and <c>.cluster.local</c>.</param>
    /// <param name="logger">Receives the proxies in use (redacted) and one warning per platform whose proxy validation is off.</param>
    public OutboundHandlerFactory(NetworkPolicies network, Logger? logger = null)
    {
        _openCti = network.OpenCti;
        _openAev = network.OpenAev;
        var kubernetesServiceHost = network.KubernetesServiceHost;
        _kubernetesExclusions = kubernetesServiceHost is null
            ? ["svc", "cluster.local"]
            : ["svc", "cluster.local", kubernetesServiceHost];
        _kubernetesOpenCti = new NoProxyMatcher(_openCti.NoProxy, _kubernetesExclusions);
        _kubernetesOpenAev = new NoProxyMatcher(_openAev.NoProxy, _kubernetesExclusions);
        logger ??= Logger.Null;
        var warnings = new List<string>();
        foreach (var policy in new[] { _openCti, _openAev })
        {
            if (!policy.WithProxy) continue;
            if (!policy.ProxyRejectUnauthorized)
            {
                warnings.Add($"{policy.Section}: https_proxy_reject_unauthorized is false: certificates are not validated on proxy connections");
            }
            logger.Info("Outbound proxy settings",
                ("platform", policy.Section),
                ("http_proxy", policy.HttpProxy?.Redacted),
                ("https_proxy", policy.HttpsProxy?.Redacted),
                ("no_proxy", policy.NoProxy),
                ("proxy_ca_certificates", policy.ProxyCa.Certificates.Count));
            if (!policy.ProxyRejectUnauthorized)
            {
                logger.Warn("https_proxy_reject_unauthorized is false: certificates are NOT validated on proxy connections (TLS to the proxy and to targets reached through it)",
                    ("platform", policy.Section));
            }
        }
        Warnings = warnings;
    }

    /// <summary>What the start-up log warns about (validation switched off), for commands that print to stderr instead of logging.</summary>
    public IReadOnlyList<string> Warnings { get; }

    public PlatformNetworkPolicy Policy(PlatformKind platform) => platform == PlatformKind.OpenCti ? _openCti : _openAev;

    /// <summary>The platform whose settings a channel uses when none is named: OpenAev for its API, opencti.* for the
    /// rest (the registry is global, like upstream's opencti.daemon.registry).</summary>
    public static PlatformKind DefaultPlatform(OutboundChannel channel) =>
        channel == OutboundChannel.OpenAev ? PlatformKind.OpenAev : PlatformKind.OpenCti;

    public HttpMessageHandler CreateHandler(OutboundChannel channel) => CreateHandler(channel, DefaultPlatform(channel));

    /// <summary>A new handler (the caller owns and disposes it; keep one per client, it pools connections).</summary>
    public HttpMessageHandler CreateHandler(OutboundChannel channel, PlatformKind platform)
    {
        var serverTrust = ServerTrust(channel, Policy(platform));
        return CreateHandler(channel, platform, serverTrust.Validate, null);
    }

    /// <summary>
    /// A handler for an endpoint that brings its own TLS (the Kubernetes API of a kubeconfig or service account): the
    /// server is validated by <paramref name="tls"/> instead of the channel's server trust and the client certificate
    /// is presented; proxy routing, the proxy's trust and the timeouts are the channel's as always.
    /// </summary>
    public HttpMessageHandler CreateHandler(OutboundChannel channel, PlatformKind platform, EndpointTls tls) =>
        CreateHandler(channel, platform, tls.Validate, tls.ClientCertificate);

    private HttpMessageHandler CreateHandler(OutboundChannel channel, PlatformKind platform,
        Func<X509Certificate?, X509Chain?, SslPolicyErrors, bool> validateServer, X509Certificate2? clientCertificate)
    {
        var policy = Policy(platform);
        var matcher = MatcherFor(channel, platform);
        var direct = NewSocketsHandler(policy, clientCertificate);
        direct.UseProxy = false;
        direct.SslOptions.RemoteCertificateValidationCallback = (_, cert, chain, errors) => validateServer(cert, chain, errors);
        if (policy.HttpProxy is null && policy.HttpsProxy is null) return new ApiCallCounter(ChannelName(channel), new ProxyRoutingHandler(direct, null, policy, matcher));

        var proxyTrust = new CertificateTrust(!policy.ProxyRejectUnauthorized, policy.ProxyCa.Certificates);
        var proxyHosts = new[] { policy.HttpProxy, policy.HttpsProxy }.Where(p => p is not null).Select(p => p!.Address.IdnHost).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var proxied = NewSocketsHandler(policy, clientCertificate);
        proxied.UseProxy = true;
        proxied.Proxy = new FixedProxy(policy.HttpProxy, policy.HttpsProxy);
        proxied.SslOptions.RemoteCertificateValidationCallback = (sender, cert, chain, errors) =>
        {
            // The same callback sees the TLS to an https:// proxy (target host = the proxy) and the TLS to the
            // target inside the tunnel; the platform server trust must never vouch for the proxy itself.
            var targetHost = (sender as SslStream)?.TargetHostName;
            if (proxyTrust.Validate(cert, chain, errors)) return true;
            return !string.IsNullOrEmpty(targetHost) && !proxyHosts.Contains(targetHost) && validateServer(cert, chain, errors);
        };
        return new ApiCallCounter(ChannelName(channel), new ProxyRoutingHandler(direct, proxied, policy, matcher));
    }

    /// <summary>The channel's tag in metrics: opencti, openaev, portainer, docker, kubernetes, registry.</summary>
    public static string ChannelName(OutboundChannel channel) => channel switch
    {
        OutboundChannel.OpenCti => "opencti",
        OutboundChannel.OpenAev => "openaev",
        OutboundChannel.Portainer => "portainer",
        OutboundChannel.DockerTcp => "docker",
        OutboundChannel.Kubernetes => "kubernetes",
        _ => "registry",
    };

    /// <summary>An HttpClient on a new handler of the channel, with the platform's request_timeout as its Timeout.</summary>
    public HttpClient CreateClient(OutboundChannel channel, PlatformKind platform) =>
        new(CreateHandler(channel, platform), disposeHandler: true) { Timeout = Policy(platform).RequestTimeout };

    public HttpClient CreateClient(OutboundChannel channel) => CreateClient(channel, DefaultPlatform(channel));

    /// <summary>request_timeout of the platform, for HttpClient.Timeout (total time per request).</summary>
    public TimeSpan RequestTimeout(PlatformKind platform) => Policy(platform).RequestTimeout;

    /// <summary>Where a request to <paramref name="target"/> on this channel goes: the proxy, or null for direct.</summary>
    public ProxyEndpoint? RouteFor(OutboundChannel channel, PlatformKind platform, Uri target) =>
        Policy(platform).ProxyFor(target, MatcherFor(channel, platform));

    private NoProxyMatcher MatcherFor(OutboundChannel channel, PlatformKind platform) =>
        channel != OutboundChannel.Kubernetes ? Policy(platform).NoProxyMatcher
        : platform == PlatformKind.OpenCti ? _kubernetesOpenCti : _kubernetesOpenAev;

    private static CertificateTrust ServerTrust(OutboundChannel channel, PlatformNetworkPolicy policy)
    {
        var ownPlatform = (channel == OutboundChannel.OpenCti && policy.Platform == PlatformKind.OpenCti)
            || (channel == OutboundChannel.OpenAev && policy.Platform == PlatformKind.OpenAev);
        if (!ownPlatform) return CertificateTrust.SystemOnly;
        return policy.AcceptAnyServerCertificate ? CertificateTrust.Any : new CertificateTrust(false, policy.ServerCa.Certificates);
    }

    private static SocketsHttpHandler NewSocketsHandler(PlatformNetworkPolicy policy, X509Certificate2? clientCertificate)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = policy.ConnectTimeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5), // pick up DNS changes of long-lived endpoints
            AutomaticDecompression = DecompressionMethods.None,
            AllowAutoRedirect = false, // a redirect must not silently switch route or leak Authorization (registry blobs handle their own)
        };
        // Offered to whichever TLS peer asks for one: the API server (directly or inside a CONNECT tunnel); a proxy
        // that asked would see the public certificate only, never the key.
        if (clientCertificate is not null) handler.SslOptions.ClientCertificates = new X509CertificateCollection { clientCertificate };
        return handler;
    }

    /// <summary>Always the proxy of the request's scheme: the routing handler already decided this request is proxied.</summary>
    private sealed class FixedProxy(ProxyEndpoint? http, ProxyEndpoint? https) : IWebProxy, ICredentials
    {
        public ICredentials? Credentials
        {
            get => this;
            set { }
        }

        public Uri? GetProxy(Uri destination) => ForScheme(destination)?.Address;

        public bool IsBypassed(Uri host) => ForScheme(host) is null;

        // Answer a 407 with the credentials of the proxy that asked.
        public NetworkCredential? GetCredential(Uri uri, string authType)
        {
            foreach (var p in new[] { http, https })
            {
                if (p?.Credentials is not null && Uri.Compare(p.Address, uri, UriComponents.SchemeAndServer, UriFormat.Unescaped, StringComparison.OrdinalIgnoreCase) == 0)
                {
                    return p.Credentials;
                }
            }
            return null;
        }

        private ProxyEndpoint? ForScheme(Uri destination) =>
            destination.Scheme is "https" or "wss" ? https : destination.Scheme is "http" or "ws" ? http : null;
    }
}

/// <summary>Sends each request through the proxied or the direct inner handler, as NO_PROXY and the scheme say.</summary>
internal sealed class ProxyRoutingHandler : HttpMessageHandler
{
    private readonly HttpMessageInvoker _direct;
    private readonly HttpMessageInvoker? _proxied;
    private readonly PlatformNetworkPolicy _policy;
    private readonly NoProxyMatcher _matcher;

    public ProxyRoutingHandler(HttpMessageHandler direct, HttpMessageHandler? proxied, PlatformNetworkPolicy policy, NoProxyMatcher matcher)
    {
        _direct = new HttpMessageInvoker(direct, disposeHandler: true);
        _proxied = proxied is null ? null : new HttpMessageInvoker(proxied, disposeHandler: true);
        _policy = policy;
        _matcher = matcher;
    }

    private HttpMessageInvoker Pick(HttpRequestMessage request) =>
        _proxied is not null && request.RequestUri is { } uri && _policy.ProxyFor(uri, _matcher) is not null ? _proxied : _direct;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        Pick(request).SendAsync(request, cancellationToken);

    protected override HttpResponseMessage Send(HttpRequestMessage request, CancellationToken cancellationToken) =>
        Pick(request).Send(request, cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _direct.Dispose();
            _proxied?.Dispose();
        }
        base.Dispose(disposing);
    }
}

/// <summary>Counts every request of a channel in <see cref="ComposerMetrics"/> (a failure: no answer, or a 5xx).</summary>
internal sealed class ApiCallCounter(string channel, HttpMessageHandler inner) : DelegatingHandler(inner)
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        HttpResponseMessage? response = null;
        try
        {
            response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            return response;
        }
        finally
        {
            ComposerMetrics.RecordApiCall(channel, response is null || (int)response.StatusCode >= 500);
        }
    }
}

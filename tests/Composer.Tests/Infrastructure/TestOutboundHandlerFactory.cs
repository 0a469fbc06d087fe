using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Composer.Configuration;
using Composer.Network;

namespace Composer.Tests.Infrastructure;

/// <summary>One request as it left the client: where it went, which Authorization scheme and which X-Registry-Auth it carried.</summary>
public sealed record RecordedRequest(string Method, Uri Uri, string? AuthorizationScheme, string? AuthorizationParameter, string? RegistryAuth = null);

/// <summary>
/// Outbound handlers for tests: direct connections (no proxy), optionally trusting extra CA certificates, and
/// recording every request so tests can prove where credentials went.
/// </summary>
public sealed class TestOutboundHandlerFactory(params X509Certificate2[] trustedRoots) : IOutboundHandlerFactory
{
    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();
    public ConcurrentQueue<OutboundChannel> Channels { get; } = new();

    /// <summary>The endpoint TLS each handler was created with (the overload that takes one).</summary>
    public ConcurrentQueue<EndpointTls> EndpointTrusts { get; } = new();

    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    public TimeSpan RequestTimeout(PlatformKind platform) => Timeout;

    public HttpMessageHandler CreateHandler(OutboundChannel channel, PlatformKind platform) => CreateHandler(channel);

    /// <summary>Direct, validating the server with the endpoint's own trust and presenting its client certificate.</summary>
    public HttpMessageHandler CreateHandler(OutboundChannel channel, PlatformKind platform, EndpointTls tls)
    {
        Channels.Enqueue(channel);
        EndpointTrusts.Enqueue(tls);
        var inner = new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false };
        inner.SslOptions.RemoteCertificateValidationCallback = (_, certificate, chain, errors) => tls.Validate(certificate, chain, errors);
        if (tls.ClientCertificate is not null) inner.SslOptions.ClientCertificates = [tls.ClientCertificate];
        return new Recorder(inner, Requests);
    }

    public HttpMessageHandler CreateHandler(OutboundChannel channel)
    {
        Channels.Enqueue(channel);
        var inner = new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false };
        if (trustedRoots.Length > 0)
        {
            inner.SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                {
                    if (errors == SslPolicyErrors.None) return true;
                    if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0) return false;
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    chain.ChainPolicy.CustomTrustStore.AddRange(trustedRoots);
                    return chain.Build(new X509Certificate2(certificate));
                },
            };
        }
        return new Recorder(inner, Requests);
    }

    private sealed class Recorder(HttpMessageHandler inner, ConcurrentQueue<RecordedRequest> log) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            log.Enqueue(new RecordedRequest(request.Method.Method, request.RequestUri!, request.Headers.Authorization?.Scheme, request.Headers.Authorization?.Parameter,
                request.Headers.TryGetValues("X-Registry-Auth", out var auth) ? auth.FirstOrDefault() : null));
            return base.SendAsync(request, cancellationToken);
        }
    }
}

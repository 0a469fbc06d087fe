using System.Text.Json;
using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Images;
using Composer.Network;
using Docker.DotNet;
using Docker.DotNet.Handler.Abstractions;
using Docker.DotNet.Models;
using Docker.DotNet.Unix;
using Secret = Composer.Diagnostics.Secret;
using Microsoft.Extensions.Logging.Abstractions;

namespace Composer.Orchestration.Docker;

/// <summary>
/// Creates Docker.DotNet clients for an endpoint. TCP endpoints get their HttpMessageHandler from
/// <see cref="IOutboundHandlerFactory"/> (channel DockerTcp: the platform's proxy, NO_PROXY, trust and
/// connect_timeout), so the product page's "proxy settings apply to Docker API calls" holds. The local Unix socket
/// uses the library's Unix transport and is never proxied, as the docker CLI does. The library's own log messages go
/// to <paramref name="libraryLogger"/> (the run loop passes Composer's logger through ComposerLoggerProvider).
/// Portainer's Docker proxy is a TCP endpoint on channel <see cref="OutboundChannel.Portainer"/>, with its own server
/// trust (<see cref="Tls"/>) and its API key in <see cref="Headers"/>. An engine with TLS settings of its own
/// (<see cref="DockerEndpoint.Tls"/>: its CA only, the client certificate) gets them through the same factory.
/// </summary>
public sealed class DockerClientFactory(IOutboundHandlerFactory handlers, PlatformKind platform = PlatformKind.OpenCti,
    Microsoft.Extensions.Logging.ILogger? libraryLogger = null)
{
    private readonly Microsoft.Extensions.Logging.ILogger _libraryLogger = libraryLogger ?? NullLogger.Instance;

    /// <summary>The channel of TCP endpoints (proxy, trust, metrics tag): DockerTcp, or Portainer.</summary>
    public OutboundChannel Channel { get; init; } = OutboundChannel.DockerTcp;

    /// <summary>The server trust of a TCP endpoint that has its own (Portainer's CA), or null for the endpoint's (<see cref="DockerEndpoint.Tls"/>), else the channel's.</summary>
    public EndpointTls? Tls { get; init; }

    /// <summary>Headers every request carries (Portainer's X-API-Key), secrets revealed only into the client's headers.</summary>
    public IReadOnlyDictionary<string, Secret>? Headers { get; init; }

    /// <summary>
    /// A new client (the caller disposes it). Requests time out after the platform's request_timeout.
    /// </summary>
    /// <param name="apiVersion">The Engine API version every request names (/v1.41/...); null sends unversioned
    /// requests, which the engine serves at its own newest version (for the first contact, to learn that version).</param>
    public DockerClient Create(DockerEndpoint endpoint, System.Version? apiVersion = null) => Connect(endpoint, apiVersion).Client;

    /// <summary>
    /// A new client (the caller disposes it: it owns the handler) and the stream requests Composer sends itself on
    /// that same handler (<see cref="DockerStreamRequests"/>: the container log read in one request).
    /// </summary>
    internal DockerEngineClient Connect(DockerEndpoint endpoint, System.Version? apiVersion)
    {
        var timeout = handlers.RequestTimeout(platform);
        var options = new ClientOptions
        {
            Endpoint = endpoint.Address,
            ApiVersion = apiVersion,
            Timeout = timeout > TimeSpan.Zero ? timeout : Timeout.InfiniteTimeSpan,
            Headers = Headers?.ToDictionary(h => h.Key, h => h.Value.Reveal(), StringComparer.Ordinal) ?? new Dictionary<string, string>(),
        };
        // The typed builders take the endpoint from options; they never consult DOCKER_HOST or docker contexts.
        return endpoint.Transport == DockerTransport.UnixSocket
            ? Build(new TransportCapture<UnixSocketTransportOptions>(CountingUnixHandlerFactory.Instance), new UnixSocketTransportOptions(), options)
            : Build(new TransportCapture<OutboundTransportOptions>(OutboundDockerHandlerFactory.Instance),
                new OutboundTransportOptions(handlers, platform, Channel, Tls ?? endpoint.Tls?.Endpoint), options);
    }

    private DockerEngineClient Build<TOptions>(TransportCapture<TOptions> transports, TOptions transportOptions, ClientOptions options)
    {
        var client = new DockerClientBuilder<TOptions>(transports, transportOptions, options, _libraryLogger).Build();
        var transport = transports.Created ?? throw new InvalidOperationException("Docker.DotNet built a client without asking for its handler");
        // No auth provider is set (TLS and keys are in the handler), so the library sends on the transport's handler as is.
        return new DockerEngineClient(client, new DockerStreamRequests(transport.Handler, transport.EffectiveEndpoint, client.Options));
    }

    /// <summary>Hands the library the inner factory's handler and keeps it, for the requests Composer sends itself.</summary>
    private sealed class TransportCapture<TOptions>(IDockerHandlerFactory<TOptions> inner) : IDockerHandlerFactory<TOptions>
    {
        public ResolvedTransport? Created { get; private set; }

        public ResolvedTransport CreateHandler(TOptions transportOptions, ResolvedClientOptions clientOptions, Microsoft.Extensions.Logging.ILogger logger) =>
            Created = inner.CreateHandler(transportOptions, clientOptions, logger);

        public ResolvedTransport CreateHandler(ResolvedClientOptions clientOptions, Microsoft.Extensions.Logging.ILogger logger) =>
            Created = inner.CreateHandler(clientOptions, logger);

        public Task<WriteClosableStream> HijackStreamAsync(HttpContent content) => inner.HijackStreamAsync(content);
    }
}

/// <summary>A Docker.DotNet client and the requests Composer sends itself on its handler.</summary>
internal sealed record DockerEngineClient(DockerClient Client, DockerStreamRequests Streams);

/// <summary>Which handler factory, platform, channel and endpoint trust (null: the channel's) a TCP Docker client uses.</summary>
public sealed record OutboundTransportOptions(IOutboundHandlerFactory Handlers, PlatformKind Platform, OutboundChannel Channel, EndpointTls? Tls);

/// <summary>
/// A Docker.DotNet transport whose handler comes from the outbound handler factory. The handler is a
/// SocketsHttpHandler router, so upgraded (attach/exec) connections are read like the library's native HTTP
/// transport reads them.
/// </summary>
internal sealed class OutboundDockerHandlerFactory : IDockerHandlerFactory<OutboundTransportOptions>
{
    public static OutboundDockerHandlerFactory Instance { get; } = new();

    public ResolvedTransport CreateHandler(OutboundTransportOptions transportOptions, ResolvedClientOptions clientOptions, Microsoft.Extensions.Logging.ILogger logger)
    {
        var scheme = clientOptions.Endpoint.Scheme;
        if (scheme != Uri.UriSchemeHttp && scheme != Uri.UriSchemeHttps)
        {
            throw new InvalidOperationException($"the outbound Docker transport serves http:// and https:// endpoints, got {scheme}://");
        }
        var handler = transportOptions.Tls is { } tls
            ? transportOptions.Handlers.CreateHandler(transportOptions.Channel, transportOptions.Platform, tls)
            : transportOptions.Handlers.CreateHandler(transportOptions.Channel, transportOptions.Platform);
        return new ResolvedTransport(new RegistryAuthEncoding(handler), clientOptions.Endpoint);
    }

    public ResolvedTransport CreateHandler(ResolvedClientOptions clientOptions, Microsoft.Extensions.Logging.ILogger logger) =>
        throw new InvalidOperationException("the outbound Docker transport needs its options (the handler factory)");

    public Task<WriteClosableStream> HijackStreamAsync(HttpContent content) =>
        global::Docker.DotNet.NativeHttp.DockerHandlerFactory.Instance.HijackStreamAsync(content);
}

/// <summary>The library's Unix socket transport, with every request counted as a "docker" API call (the TCP transport
/// is counted by the outbound handler factory).</summary>
internal sealed class CountingUnixHandlerFactory : IDockerHandlerFactory<UnixSocketTransportOptions>
{
    public static CountingUnixHandlerFactory Instance { get; } = new();

    private static IDockerHandlerFactory<UnixSocketTransportOptions> Inner => global::Docker.DotNet.Unix.DockerHandlerFactory.Instance;

    public ResolvedTransport CreateHandler(UnixSocketTransportOptions transportOptions, ResolvedClientOptions clientOptions, Microsoft.Extensions.Logging.ILogger logger) =>
        Counted(Inner.CreateHandler(transportOptions, clientOptions, logger));

    public ResolvedTransport CreateHandler(ResolvedClientOptions clientOptions, Microsoft.Extensions.Logging.ILogger logger) =>
        Counted(Inner.CreateHandler(clientOptions, logger));

    public Task<WriteClosableStream> HijackStreamAsync(HttpContent content) => Inner.HijackStreamAsync(content);

    private static ResolvedTransport Counted(ResolvedTransport transport) =>
        new(new RegistryAuthEncoding(new ApiCallCounter(OutboundHandlerFactory.ChannelName(OutboundChannel.DockerTcp), transport.Handler)),
            transport.EffectiveEndpoint);
}

/// <summary>The registry credentials of a Docker call, as Docker.DotNet takes them; null credentials: anonymous.</summary>
internal static class DockerRegistryAuth
{
    private const string Header = "X-Registry-Auth";

    /// <summary>The headers of a pull (POST /images/create): X-Registry-Auth by the one encoder, or none.</summary>
    public static Dictionary<string, string>? PullHeaders(RegistryCredentials? credentials) =>
        credentials is null ? null : new Dictionary<string, string>(StringComparer.Ordinal) { [Header] = credentials.ToXRegistryAuth() };

    /// <summary>The AuthConfig of a Swarm service create or update, which the library encodes and <see cref="RegistryAuthEncoding"/> writes again.</summary>
    public static AuthConfig? ForService(RegistryCredentials? credentials) => credentials is null ? null : new AuthConfig
    {
        Username = credentials.Username,
        Password = credentials.Password.Reveal(),
        ServerAddress = credentials.ServerAddress,
        IdentityToken = credentials.IdentityToken?.Reveal(),
        RegistryToken = credentials.RegistryToken?.Reveal(),
    };
}

/// <summary>
/// Every X-Registry-Auth Composer sends is written by the one encoder, <see cref="RegistryCredentials.ToXRegistryAuth"/>
/// (base64url, which the engine decodes with base64.URLEncoding). Docker.DotNet encodes the AuthConfig of a Swarm service
/// create or update its own way (standard base64 of its JSON), so credentials whose encoding holds '+' or '/' would reach
/// the swarm agents undecodable and their pulls would go anonymous: the library's value is read back here and written
/// again (a header already written by the one encoder comes out the same).
/// </summary>
internal sealed class RegistryAuthEncoding(HttpMessageHandler inner) : DelegatingHandler(inner)
{
    private const string Header = "X-Registry-Auth";

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Headers.TryGetValues(Header, out var values) && values.FirstOrDefault() is { } written && Credentials(written) is { } credentials)
        {
            request.Headers.Remove(Header);
            request.Headers.TryAddWithoutValidation(Header, credentials.ToXRegistryAuth());
        }
        return base.SendAsync(request, cancellationToken);
    }

    /// <summary>The credentials in a header as Docker.DotNet writes it (either base64 alphabet), or null when it holds none.</summary>
    private static RegistryCredentials? Credentials(string header)
    {
        var bytes = new byte[header.Length];
        if (!Convert.TryFromBase64String(header.Replace('-', '+').Replace('_', '/'), bytes, out var length)) return null;
        using var json = JsonDocument.Parse(bytes.AsMemory(0, length));
        string? Text(string name) => json.RootElement.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        if (Text("username") is { Length: > 0 } username && Text("password") is { Length: > 0 } password)
        {
            return new RegistryCredentials(username, new Secret(password), Text("email"), Text("serveraddress"));
        }
        if (Text("identitytoken") is { Length: > 0 } identity) return RegistryCredentials.FromIdentityToken(Text("username"), identity, Text("serveraddress"), "");
        if (Text("registrytoken") is { Length: > 0 } token) return RegistryCredentials.FromRegistryToken(token, Text("serveraddress"), "");
        return null;
    }
}

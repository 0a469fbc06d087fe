using Composer.Configuration;
using Composer.Network;
using Docker.DotNet;
using Docker.DotNet.Handler.Abstractions;
using Docker.DotNet.Unix;
using Microsoft.Extensions.Logging.Abstractions;

namespace Composer.Orchestration.Docker;

/// <summary>
/// Creates Docker.DotNet clients for an endpoint. TCP endpoints get their HttpMessageHandler from
/// <see cref="IOutboundHandlerFactory"/> (channel DockerTcp: the platform's proxy, NO_PROXY, trust and
/// connect_timeout), so the product page's "proxy settings apply to Docker API calls" holds. The local Unix socket
/// uses the library's Unix transport and is never proxied, as the docker CLI does. The library's own log messages go
/// to <paramref name="libraryLogger"/> (the run loop passes Composer's logger through ComposerLoggerProvider).
/// </summary>
public sealed class DockerClientFactory(IOutboundHandlerFactory handlers, PlatformKind platform = PlatformKind.OpenCti,
    Microsoft.Extensions.Logging.ILogger? libraryLogger = null)
{
    private readonly Microsoft.Extensions.Logging.ILogger _libraryLogger = libraryLogger ?? NullLogger.Instance;

    /// <summary>
    /// A new client (the caller disposes it). Requests time out after the platform's request_timeout.
    /// </summary>
    /// <param name="apiVersion">The Engine API version every request names (/v1.41/...); null sends unversioned
    /// requests, which the engine serves at its own newest version (for the first contact, to learn that version).</param>
    public DockerClient Create(DockerEndpoint endpoint, Version? apiVersion = null)
    {
        var timeout = handlers.RequestTimeout(platform);
        var options = new ClientOptions
        {
            Endpoint = endpoint.Address,
            ApiVersion = apiVersion,
            Timeout = timeout > TimeSpan.Zero ? timeout : Timeout.InfiniteTimeSpan,
        };
        // The typed builders take the endpoint from options; they never consult DOCKER_HOST or docker contexts.
        return endpoint.Transport == DockerTransport.UnixSocket
            ? new DockerClientBuilder<UnixSocketTransportOptions>(CountingUnixHandlerFactory.Instance,
                new UnixSocketTransportOptions(), options, _libraryLogger).Build()
            : new DockerClientBuilder<OutboundTransportOptions>(OutboundDockerHandlerFactory.Instance,
                new OutboundTransportOptions(handlers, platform), options, _libraryLogger).Build();
    }
}

/// <summary>Which handler factory and platform a TCP Docker client uses.</summary>
public sealed record OutboundTransportOptions(IOutboundHandlerFactory Handlers, PlatformKind Platform);

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
        var handler = transportOptions.Handlers.CreateHandler(OutboundChannel.DockerTcp, transportOptions.Platform);
        return new ResolvedTransport(handler, clientOptions.Endpoint);
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
        new(new ApiCallCounter(OutboundHandlerFactory.ChannelName(OutboundChannel.DockerTcp), transport.Handler), transport.EffectiveEndpoint);
}

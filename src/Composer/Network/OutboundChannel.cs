using Composer.Configuration;

namespace Composer.Network;

/// <summary>Every kind of outbound connection Composer makes; each gets its proxy, trust and timeouts from one factory.</summary>
public enum OutboundChannel
{
    OpenCti,
    OpenAev,
    Portainer,
    DockerTcp,
    Kubernetes,
    Registry,
}

/// <summary>The only place HTTP handlers are created. No other code constructs an HttpClient handler.</summary>
public interface IOutboundHandlerFactory
{
    /// <summary>A handler with the settings of the channel's default platform (opencti.*, or openaev.* for the OpenAev channel).</summary>
    HttpMessageHandler CreateHandler(OutboundChannel channel);

    /// <summary>A handler for a channel used on behalf of a platform (e.g. the Portainer API of OpenAEV's daemon).</summary>
    HttpMessageHandler CreateHandler(OutboundChannel channel, PlatformKind platform);

    /// <summary>
    /// A handler for an endpoint with its own server trust and client certificate (the Kubernetes API: cluster CA,
    /// kubeconfig client certificate); proxy routing stays the channel's.
    /// </summary>
    HttpMessageHandler CreateHandler(OutboundChannel channel, PlatformKind platform, EndpointTls tls);

    /// <summary>The platform's request_timeout, for HttpClient.Timeout.</summary>
    TimeSpan RequestTimeout(PlatformKind platform);
}

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
    HttpMessageHandler CreateHandler(OutboundChannel channel);
}

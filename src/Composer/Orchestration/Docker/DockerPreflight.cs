using System.Net.Sockets;
using System.Security.Authentication;
using Composer.Diagnostics;
using Composer.Network;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Composer.Orchestration.Docker;

/// <summary>Proves an engine answers: GET /_ping, then GET /version (engine and API version).</summary>
public static class DockerPreflight
{
    /// <summary>The engine's version, or why it could not be reached.</summary>
    /// <param name="proxy">The proxy the requests go through (null for direct), named in failures: with plain HTTP an
    /// error status may be the proxy's own answer.</param>
    public static async Task<Result<VersionResponse>> CheckAsync(DockerClient client, DockerEndpoint endpoint, ProxyEndpoint? proxy, CancellationToken cancellationToken)
    {
        try
        {
            await client.System.PingAsync(cancellationToken);
            return Result<VersionResponse>.Success(await client.System.GetVersionAsync(cancellationToken));
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return Failure.Orchestrator(Describe(ex, endpoint, proxy)) with { Outage = DockerErrors.EngineAway(ex, endpoint) ? Outage.Orchestrator : null };
        }
    }

    /// <summary>One line naming the endpoint and the cause (TLS, proxy, refused, timeout, HTTP status), no stack trace.</summary>
    public static string Describe(Exception ex, DockerEndpoint endpoint, ProxyEndpoint? proxy = null)
    {
        var engine = endpoint.Gateway is { } g ? $"the Docker engine of {g.Name}" : "the Docker engine";
        var where = $"{engine} at {endpoint.Display} ({endpoint.Source}{(proxy is null ? "" : $", through proxy {proxy.Redacted}")})";
        var chain = Chain(ex).ToList();
        string cause;
        if (chain.OfType<DockerApiException>().FirstOrDefault() is { } gatewayAnswer && endpoint.Gateway is { } gateway
            && DockerErrors.ApiMessage(gatewayAnswer) is { } said)
        {
            // The gateway's own JSON error ({"message","details"}): its refusals name the key to fix.
            var code = (int)gatewayAnswer.StatusCode;
            cause = gatewayAnswer.StatusCode switch
            {
                System.Net.HttpStatusCode.Unauthorized or System.Net.HttpStatusCode.Forbidden =>
                    $"{gateway.Name} refused the API key (HTTP {code}: {said}): check {gateway.ApiKeyKey}",
                System.Net.HttpStatusCode.NotFound => $"{gateway.Name} answered HTTP 404 ({said}): check {gateway.EnvironmentKey}",
                _ => $"{gateway.Name} answered HTTP {code} {gatewayAnswer.StatusCode}: {said}",
            };
        }
        else if (chain.OfType<DockerApiException>().FirstOrDefault() is { StatusCode: System.Net.HttpStatusCode.BadRequest } plainToTls
                 && (plainToTls.ResponseBody ?? "").Contains("HTTP request to an HTTPS server", StringComparison.Ordinal))
        {
            cause = "the engine speaks TLS (it answered: Client sent an HTTP request to an HTTPS server): set DOCKER_TLS_VERIFY=1 with ca.pem, " +
                    "cert.pem and key.pem in DOCKER_CERT_PATH, or opencti.daemon.docker.tls";
        }
        else if (chain.OfType<DockerApiException>().FirstOrDefault() is { } api)
        {
            // The engine answers errors as JSON ({"message": ...}); an HTML page is a proxy's (or something else's) error page.
            // Secrets masked before the body is cut, so that no part of one is left.
            var body = SecretScrubber.Shared.Scrub(api.ResponseBody ?? "").Trim();
            if (body.Length > 200) body = body[..200] + "...";
            var detail = body.StartsWith('{') ? $": {body}" : "";
            // Some proxies (tinyproxy) answer a forwarded request with bad credentials 401 rather than 407.
            cause = api.StatusCode switch
            {
                System.Net.HttpStatusCode.ProxyAuthenticationRequired =>
                    "the proxy requires authentication (HTTP 407): check the credentials in the proxy URL",
                System.Net.HttpStatusCode.Unauthorized when proxy is not null =>
                    "the engine or the proxy refused authentication (HTTP 401 Unauthorized): check the credentials in the proxy URL",
                _ => $"{(proxy is null ? "it" : "the engine or the proxy")} answered HTTP {(int)api.StatusCode} {api.StatusCode}{detail}",
            };
        }
        else if (chain.OfType<HttpRequestException>().FirstOrDefault(h => h.HttpRequestError == HttpRequestError.ProxyTunnelError) is { } tunnel)
        {
            cause = $"the proxy refused the tunnel: {tunnel.Message}";
        }
        else if (endpoint.Tls is { } tls && RemoteTlsAlert(chain) is { } alert)
        {
            // The engine ended the handshake: with --tlsverify, a missing client certificate or one its CA did not sign.
            cause = tls.ClientCertificateSource is { } presented
                ? $"the engine refused the client certificate {presented} ({tls.Endpoint.ClientCertificate!.Subject}; TLS alert \"{alert}\"): " +
                  "it accepts only certificates signed by its own CA (dockerd --tlscacert)"
                : $"the engine requires a client certificate and none is configured (TLS alert \"{alert}\"): put {tls.ClientCertificateHint}";
        }
        else if (endpoint.Tls is { Verify: true } verified && chain.OfType<AuthenticationException>()
                     .Any(e => e.Message.Contains("RemoteCertificateValidationCallback", StringComparison.Ordinal)))
        {
            cause = $"the TLS handshake failed: the engine's certificate is not signed by the CA of {verified.CaSource}, " +
                    $"or not issued for {endpoint.Address.Host}";
        }
        else if (chain.OfType<AuthenticationException>().Any())
        {
            // .NET says "rejected by the provided RemoteCertificateValidationCallback" when our validation refused it.
            var refused = chain.OfType<AuthenticationException>().Any(e => e.Message.Contains("RemoteCertificateValidationCallback", StringComparison.Ordinal));
            cause = refused
                ? "the TLS handshake failed: the server's certificate is not trusted (not signed by a trusted CA, or not issued for this host name)" +
                  (endpoint.Gateway is { } tlsGateway ? $"; a private CA goes into {tlsGateway.CaKey}" : "")
                : $"the TLS handshake failed: {Messages(chain.SkipWhile(e => e is not AuthenticationException))}";
        }
        else if (chain.OfType<TimeoutException>().Any() || chain.OfType<OperationCanceledException>().Any())
        {
            cause = "the request timed out (connect_timeout / request_timeout)";
        }
        else if (endpoint.SocketPath is { } path && !File.Exists(path))
        {
            // Connecting to a missing socket file reports "Cannot assign requested address"; say what is wrong.
            cause = $"the socket {path} does not exist (is the engine running, and its socket mounted into Composer's container?)";
        }
        else if (chain.OfType<SocketException>().FirstOrDefault() is { } socket)
        {
            cause = $"cannot connect: {socket.Message}";
        }
        else
        {
            cause = Messages(chain);
        }
        return $"cannot reach {where}: {SecretRedaction.RedactUrl(cause)}";
    }

    /// <summary>
    /// The alert the peer sent to end a TLS session ("bad certificate", "certificate required", "unknown ca"), as
    /// OpenSSL words it in the error ("...:SSL routines::sslv3 alert bad certificate"), or null.
    /// </summary>
    private static string? RemoteTlsAlert(IEnumerable<Exception> chain)
    {
        foreach (var e in chain)
        {
            var message = e.Message;
            var at = message.IndexOf(" alert ", StringComparison.Ordinal);
            if (at < 0 || !message.Contains("SSL routines", StringComparison.Ordinal)) continue;
            var alert = message[(at + " alert ".Length)..];
            var end = alert.IndexOfAny(['.', ';', ')', '\n']);
            return (end < 0 ? alert : alert[..end]).Trim();
        }
        return null;
    }

    private static IEnumerable<Exception> Chain(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException) yield return e;
    }

    private static string Messages(IEnumerable<Exception> chain) =>
        string.Join(": ", chain.Select(e => e.Message.Trim().TrimEnd('.')).Where(m => m.Length > 0).Distinct());
}

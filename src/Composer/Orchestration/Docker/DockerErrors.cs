using System.Net;
using System.Text.Json;
using Composer.Diagnostics;
using Composer.Network;
using Docker.DotNet;

namespace Composer.Orchestration.Docker;

/// <summary>
/// Turns what Docker.DotNet throws into one line for an error message. The engine's words may echo what Composer sent
/// (an environment value it refused, in Go's %q form): every known secret is masked in them, and URL credentials.
/// </summary>
internal sealed class DockerErrors(DockerEndpoint endpoint, ProxyEndpoint? proxy)
{
    /// <summary>
    /// The engine's own message ("No such container: x") for an engine answer, else why the engine could not be reached.
    /// Behind a gateway (Portainer), a refusal names the key to fix.
    /// </summary>
    public string Cause(Exception ex)
    {
        if (ex is DockerApiException api && ApiMessage(api) is { } message)
        {
            var hint = endpoint.Gateway is { } gateway && api.StatusCode is (HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                ? $"; check {gateway.ApiKeyKey}"
                : "";
            return $"{message} (HTTP {(int)api.StatusCode}){hint}";
        }
        return OneLine(DockerPreflight.Describe(ex, endpoint, proxy));
    }

    /// <summary>
    /// A failed call as "<paramref name="what"/>: cause", marked as the engine's outage when the engine did not answer
    /// (<see cref="EngineAway"/>): a connector's backoff after it is cut short once the engine answers again.
    /// </summary>
    public Failure Failed(string what, Exception ex) => Failed(ex).Within(what);

    /// <summary><see cref="Failed(string, Exception)"/> with the cause alone (the caller names what failed).</summary>
    public Failure Failed(Exception ex) => Failure.Orchestrator(Cause(ex)) with { Outage = EngineAway(ex, endpoint) ? Outage.Orchestrator : null };

    /// <summary>
    /// The one rule of what is the engine's outage rather than the connector's own failure: no answer at all (refused,
    /// reset, timed out, a proxy's tunnel gone), or, behind a gateway (Portainer), its "bad gateway / unavailable /
    /// gateway timeout" (the agent of the environment is away). Any answer of the engine itself (a refused config, a
    /// conflict, a pull error it reports) is not.
    /// </summary>
    public static bool EngineAway(Exception ex, DockerEndpoint endpoint)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is DockerApiException api)
            {
                return endpoint.Gateway is not null
                       && api.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout;
            }
        }
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException or System.Net.Sockets.SocketException or IOException or TimeoutException or TaskCanceledException) return true;
        }
        return false;
    }

    public static bool IsNotFound(Exception ex) => ex is DockerApiException { StatusCode: HttpStatusCode.NotFound };

    public static bool IsConflict(Exception ex) => ex is DockerApiException { StatusCode: HttpStatusCode.Conflict };

    /// <summary>
    /// The "message" of the engine's JSON error body, followed by its "details" when there are some (Portainer's error
    /// shape, {"message": ..., "details": ...}); null when the body is neither (a proxy's page).
    /// </summary>
    internal static string? ApiMessage(DockerApiException api)
    {
        var body = api.ResponseBody?.Trim();
        if (string.IsNullOrEmpty(body) || body[0] != '{') return null;
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.String)
            {
                return null;
            }
            var text = message.GetString() ?? "";
            if (root.TryGetProperty("details", out var details) && details.ValueKind == JsonValueKind.String
                && details.GetString() is { Length: > 0 } detail && !text.Contains(detail, StringComparison.Ordinal))
            {
                text = text.Length == 0 ? detail : $"{text}: {detail}";
            }
            return OneLine(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string OneLine(string text) =>
        SecretRedaction.RedactUrl(SecretScrubber.Shared.Scrub(text).ReplaceLineEndings(" ").Trim());
}

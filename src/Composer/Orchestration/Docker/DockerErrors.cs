using System.Net;
using System.Text.Json;
using Composer.Network;
using Docker.DotNet;

namespace Composer.Orchestration.Docker;

/// <summary>Turns what Docker.DotNet throws into one line for an error message.</summary>
internal sealed class DockerErrors(DockerEndpoint endpoint, ProxyEndpoint? proxy)
{
    /// <summary>The engine's own message ("No such container: x") for an engine answer, else why the engine could not be reached.</summary>
    public string Cause(Exception ex)
    {
        if (ex is DockerApiException api && EngineMessage(api) is { } message) return $"{message} (HTTP {(int)api.StatusCode})";
        return OneLine(DockerPreflight.Describe(ex, endpoint, proxy));
    }

    /// <summary>
    /// The engine's answer to a create holds what it refused, which may be an environment entry: every sensitive value
    /// of the workload is masked.
    /// </summary>
    public static string MaskSecrets(string message, ConnectorWorkload workload)
    {
        foreach (var variable in workload.Environment)
        {
            if (variable.Sensitive && variable.Value.Length > 0) message = message.Replace(variable.Value, SecretRedaction.Mask, StringComparison.Ordinal);
        }
        return message;
    }

    public static bool IsNotFound(Exception ex) => ex is DockerApiException { StatusCode: HttpStatusCode.NotFound };

    public static bool IsConflict(Exception ex) => ex is DockerApiException { StatusCode: HttpStatusCode.Conflict };

    /// <summary>The "message" of the engine's JSON error body, or null when the body is not the engine's (a proxy's page).</summary>
    private static string? EngineMessage(DockerApiException api)
    {
        var body = api.ResponseBody?.Trim();
        if (string.IsNullOrEmpty(body) || body[0] != '{') return null;
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object
                   && document.RootElement.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String
                ? OneLine(message.GetString() ?? "")
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string OneLine(string text) =>
        SecretRedaction.RedactUrl(text.ReplaceLineEndings(" ").Trim());
}

using System.Net;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Platform.OpenAev;
using Composer.Reconciliation;

namespace Composer.Platform;

/// <summary>
/// The OpenAEV manager API over REST (upstream-behaviour §3), under {url}/api. Unlike upstream, a failed health
/// report is an error, and a non-2xx answer is never a success: each says what to do (<see cref="SendAsync"/>). Status, logs and health accept any 2xx body (their
/// answer is not used); the other calls need their JSON. Owns (and disposes) the HttpClient it is given, which the
/// caller builds on the OpenAev outbound channel.
/// </summary>
public sealed class OpenAevClient : IPlatformClient
{
    private static readonly ListingFieldNames Fields = new("connector_instance_id", "connector_instance_name", "connector_image",
        "connector_instance_hash", "connector_instance_requested_status", "connector_instance_configurations", "configuration_key");

    private static readonly OpenAevJsonContext Json = new(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    private readonly PlatformChannel _channel;
    private readonly PlatformClientOptions _options;
    private readonly string _api;
    private readonly string _manager;

    public OpenAevClient(HttpClient http, PlatformClientOptions options)
    {
        _options = options;
        _channel = new PlatformChannel(http, options, "OpenAEV", "openaev");
        _api = options.Url.TrimEnd('/') + "/api/";
        _manager = "xtm-composer/" + Uri.EscapeDataString(options.ManagerId);
        _ = new Uri(_api, UriKind.Absolute); // an invalid URL is a configuration bug the validator already reports
    }

    public PlatformKind Platform => PlatformKind.OpenAev;

    public async Task<Result<string>> GetVersionAsync(CancellationToken cancellationToken)
    {
        var op = PlatformOperation.Version;
        var (response, error) = await SendAsync(op, HttpMethod.Get, "settings/version", null, cancellationToken).ConfigureAwait(false);
        if (error is not null) return _channel.Complete(op, Result<string>.Failed(error));
        string version;
        try
        {
            version = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(response!.Body).Trim();
        }
        catch (DecoderFallbackException)
        {
            return _channel.Complete(op, Result<string>.Failed(_channel.Malformed(op, "the version is not UTF-8 text", response)));
        }
        return _channel.Complete(op, Result<string>.Success(version));
    }

    public async Task<Failure?> RegisterAsync(CancellationToken cancellationToken)
    {
        var op = PlatformOperation.Register;
        var body = JsonSerializer.SerializeToUtf8Bytes(
            new RegisterBody { Id = _options.ManagerId, Name = _options.ManagerName, PublicKey = _options.Key.PublicKeySpkiPem }, Json.RegisterBody);
        var (response, error) = await SendAsync(op, HttpMethod.Post, "xtm-composer/register", body, cancellationToken).ConfigureAwait(false);
        var result = error is null ? ReadJson(op, response!, Json.ComposerManagerJson) : error;
        if (result.IsSuccess)
        {
            _channel.Logger.Debug("Manager registered with OpenAEV", ("manager_id", result.Value.Id ?? _options.ManagerId),
                ("manager_name", _options.ManagerName), ("key_bits", _options.Key.KeySizeBits));
        }
        return _channel.Complete(op, result.Failure);
    }

    public async Task<Result<string>> PingAsync(CancellationToken cancellationToken)
    {
        var op = PlatformOperation.Ping;
        // No body, but Content-Type: application/json as upstream sends it.
        var (response, error) = await SendAsync(op, HttpMethod.Put, _manager + "/refresh-connectivity", [], cancellationToken).ConfigureAwait(false);
        var manager = error is null ? ReadJson(op, response!, Json.ComposerManagerJson) : error;
        if (!manager.IsSuccess) return _channel.Complete(op, Result<string>.Failed(manager.Failure));
        return _channel.Complete(op, manager.Value.Version is { } version
            ? Result<string>.Success(version)
            : _channel.Malformed(op, "xtm_composer_version is missing", response));
    }

    public async Task<Result<ConnectorListing>> ListConnectorsAsync(CancellationToken cancellationToken)
    {
        var op = PlatformOperation.List;
        var (response, error) = await SendAsync(op, HttpMethod.Get, _manager + "/connector-instances", null, cancellationToken).ConfigureAwait(false);
        if (error is not null) return _channel.Complete(op, Result<ConnectorListing>.Failed(error));
        return _channel.Complete(op, ReadListing(response!));
    }

    public async Task<Failure?> ReportStatusAsync(string connectorId, ConnectorStatus status, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new StatusBody { Status = PlatformChannel.StatusText(status) }, Json.StatusBody);
        var (_, error) = await SendAsync(PlatformOperation.Status, HttpMethod.Put, InstancePath(connectorId, "status"), body, cancellationToken).ConfigureAwait(false);
        return _channel.Complete(PlatformOperation.Status, error);
    }

    public async Task<Failure?> ReportLogsAsync(string connectorId, IReadOnlyList<string> lines, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new LogsBody { Logs = lines }, Json.LogsBody);
        var (_, error) = await SendAsync(PlatformOperation.Logs, HttpMethod.Post, InstancePath(connectorId, "logs"), body, cancellationToken).ConfigureAwait(false);
        return _channel.Complete(PlatformOperation.Logs, error);
    }

    public async Task<Failure?> ReportHealthAsync(string connectorId, ConnectorHealth health, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new HealthBody
        {
            RestartCount = health.RestartCount,
            StartedAt = PlatformChannel.Rfc3339Utc(health.StartedAt),
            IsInRebootLoop = health.IsInRebootLoop,
        }, Json.HealthBody);
        var (_, error) = await SendAsync(PlatformOperation.Health, HttpMethod.Put, InstancePath(connectorId, "health-check"), body, cancellationToken).ConfigureAwait(false);
        return _channel.Complete(PlatformOperation.Health, error);
    }

    public void Dispose() => _channel.Dispose();

    private string InstancePath(string connectorId, string action) => $"{_manager}/connector-instances/{Uri.EscapeDataString(connectorId)}/{action}";

    /// <summary>
    /// Sends to {url}/api/&lt;path&gt;; no answer and non-2xx answers are errors, worded by what they mean here: 401 the
    /// token, 403 the token's user's rights on the connector catalog, 409 at registration another manager, 404 on the
    /// ping or the listing a manager OpenAEV does not know (its data was reset, or another manager replaced it).
    /// </summary>
    private async Task<(PlatformResponse? Response, Failure? Error)> SendAsync(PlatformOperation operation, HttpMethod method, string path, byte[]? body,
        CancellationToken cancellationToken)
    {
        var (response, error) = await _channel.SendAsync(method, new Uri(_api + path, UriKind.Absolute), body, operation, cancellationToken).ConfigureAwait(false);
        if (error is not null) return (null, error);
        if (response!.IsSuccess) return (response, null);
        var status = (int)response.Status;
        var excerpt = _channel.BodyExcerpt(response.Body);
        var said = excerpt.Length > 0 ? $": {excerpt}" : "";
        if (operation == PlatformOperation.Register && response.Status == HttpStatusCode.Conflict)
        {
            return (null, new Failure(FailureKind.Refused, operation.Name,
                $"OpenAEV answered HTTP {status}{said}: another manager, with another id, is registered with this OpenAEV. Either set manager.id to that "
                + $"manager's id (this Composer then takes its place), or remove that manager in OpenAEV's settings; manager.id is now \"{_options.ManagerId}\"", status));
        }
        if (response.Status == HttpStatusCode.Forbidden)
        {
            var access = operation == PlatformOperation.List ? "read" : operation == PlatformOperation.Version ? "any" : "write";
            return (null, new Failure(FailureKind.Forbidden, operation.Name,
                $"OpenAEV answered HTTP {status}{said}: the user of {_channel.TokenKey} lacks {access} access to the connector catalog, which the "
                + $"{operation.Description} needs: give that user a role with it (the listing needs read access, every other operation write access)", status));
        }
        if (response.Status == HttpStatusCode.NotFound && (operation == PlatformOperation.Ping || operation == PlatformOperation.List))
        {
            return (null, new Failure(FailureKind.UnknownManager, operation.Name,
                $"OpenAEV does not know the manager {_options.ManagerId} (HTTP {status}{said}): its data was reset or the manager was removed", status));
        }
        return (null, _channel.HttpStatusError(operation, response));
    }

    private Result<T> ReadJson<T>(PlatformOperation operation, PlatformResponse response, JsonTypeInfo<T> info) where T : class
    {
        try
        {
            var reader = new Utf8JsonReader(response.Body);
            var value = JsonSerializer.Deserialize(ref reader, info);
            if (reader.Read()) throw new JsonException("more than one JSON value");
            return value is not null
                ? Result<T>.Success(value)
                : new Failure(FailureKind.NullResult, operation.Name, $"OpenAEV answered the {operation.Description} with null", (int)response.Status);
        }
        catch (JsonException ex)
        {
            return _channel.Malformed(operation, ex.Message, response);
        }
    }

    /// <summary>The listing, read entry by entry from the body (never one document of the whole listing).</summary>
    private Result<ConnectorListing> ReadListing(PlatformResponse response)
    {
        var op = PlatformOperation.List;
        try
        {
            var reader = new Utf8JsonReader(response.Body);
            if (!reader.Read()) throw new JsonException("the body is empty");
            if (reader.TokenType == JsonTokenType.Null)
            {
                if (reader.Read()) throw new JsonException("more than one JSON value");
                return new Failure(FailureKind.NullResult, op.Name, "OpenAEV answered the connector listing with null", (int)response.Status);
            }
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                var kind = reader.TokenType == JsonTokenType.StartObject ? "Object" : reader.TokenType.ToString();
                reader.Skip();
                if (reader.Read()) throw new JsonException("more than one JSON value");
                return _channel.Malformed(op, $"the body is a {kind}, expected a list", response);
            }
            var listing = ConnectorListingBuilder.FromJson(PlatformKind.OpenAev, Fields, _options.Key, ref reader, Json.ConnectorInstanceJson, c =>
                new ListingEntry(c.Id, c.Name, c.Image, c.Hash, c.RequestedStatus, c.CurrentStatus,
                    c.Configurations?.Select(e => e is null ? null : new ListingConfigurationEntry(e.Key, e.Value, e.IsEncrypted)).ToList()));
            if (reader.Read()) throw new JsonException("more than one JSON value");
            return Result<ConnectorListing>.Success(listing);
        }
        catch (JsonException ex)
        {
            return _channel.Malformed(op, $"the body is not JSON ({ex.Message})", response);
        }
    }
}

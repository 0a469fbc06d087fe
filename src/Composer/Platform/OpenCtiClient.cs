using System.Net;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Platform.OpenCti;
using Composer.Reconciliation;

namespace Composer.Platform;

/// <summary>
/// The OpenCTI manager API over GraphQL (upstream-behaviour §2): POST {url}/graphql with the seven documents of
/// <see cref="OpenCtiDocuments"/>. Unlike upstream, a response that carries errors is an error even when it also
/// carries data, and a non-2xx answer is never a success. Owns (and disposes) the HttpClient it is given, which the
/// caller builds on the OpenCti outbound channel.
/// </summary>
public sealed class OpenCtiClient : IPlatformClient
{
    private static readonly ListingFieldNames Fields = new("id", "name", "manager_contract_image", "manager_contract_hash",
        "manager_requested_status", "manager_contract_configuration", "key");

    // serde_json-like output: '+' and '/' of the public key are not escaped.
    private static readonly OpenCtiJsonContext Json = new(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    private readonly PlatformChannel _channel;
    private readonly PlatformClientOptions _options;
    private readonly Uri _endpoint;

    public OpenCtiClient(HttpClient http, PlatformClientOptions options)
    {
        _options = options;
        _channel = new PlatformChannel(http, options, "OpenCTI", "opencti");
        _endpoint = new Uri(options.Url.TrimEnd('/') + "/graphql", UriKind.Absolute);
    }

    public PlatformKind Platform => PlatformKind.OpenCti;

    public async Task<Result<string>> GetVersionAsync(CancellationToken cancellationToken)
    {
        var request = new GraphQlRequest<NoVariables> { Query = OpenCtiDocuments.GetVersion, Variables = null, OperationName = "GetVersion" };
        var result = await ExecuteAsync(PlatformOperation.Version, request, Json.QueryRequest, "about",
            about => about.Deserialize(Json.AboutJson)?.Version is { } version
                ? Result<string>.Success(version)
                : _channel.Malformed(PlatformOperation.Version, "about.version is missing"),
            cancellationToken).ConfigureAwait(false);
        return _channel.Complete(PlatformOperation.Version, result);
    }

    public async Task<Failure?> RegisterAsync(CancellationToken cancellationToken)
    {
        var request = new GraphQlRequest<InputVariables<RegisterManagerInput>>
        {
            Query = OpenCtiDocuments.RegisterConnectorsManager,
            Variables = new() { Input = new() { Id = _options.ManagerId, Name = _options.ManagerName, PublicKey = _options.Key.PublicKeyPkcs1Pem } },
            OperationName = "RegisterConnectorsManager",
        };
        var result = await ExecuteAsync(PlatformOperation.Register, request, Json.RegisterRequest, "registerConnectorsManager",
            manager => Result<string>.Success(manager.Deserialize(Json.ConnectorManagerJson)?.Id ?? _options.ManagerId),
            cancellationToken).ConfigureAwait(false);
        if (result.IsSuccess)
        {
            _channel.Logger.Debug("Manager registered with OpenCTI", ("manager_id", result.Value), ("manager_name", _options.ManagerName),
                ("key_bits", _options.Key.KeySizeBits));
        }
        return _channel.Complete(PlatformOperation.Register, result.Failure);
    }

    public async Task<Result<string>> PingAsync(CancellationToken cancellationToken)
    {
        var request = new GraphQlRequest<InputVariables<ManagerIdInput>>
        {
            Query = OpenCtiDocuments.UpdateConnectorManagerStatus,
            Variables = new() { Input = new() { Id = _options.ManagerId } },
            OperationName = "UpdateConnectorManagerStatus",
        };
        var result = await ExecuteAsync(PlatformOperation.Ping, request, Json.PingRequest, "updateConnectorManagerStatus",
            manager => manager.Deserialize(Json.ConnectorManagerJson)?.AboutVersion is { } version
                ? Result<string>.Success(version)
                : _channel.Malformed(PlatformOperation.Ping, "updateConnectorManagerStatus.about_version is missing"),
            cancellationToken).ConfigureAwait(false);
        return _channel.Complete(PlatformOperation.Ping, result);
    }

    public async Task<Result<ConnectorListing>> ListConnectorsAsync(CancellationToken cancellationToken)
    {
        var request = new GraphQlRequest<NoVariables> { Query = OpenCtiDocuments.GetConnectors, Variables = null, OperationName = "GetConnectors" };
        var result = await ExecuteAsync(PlatformOperation.List, request, Json.QueryRequest, "connectorsForManagers", ReadListing, cancellationToken)
            .ConfigureAwait(false);
        return _channel.Complete(PlatformOperation.List, result);
    }

    public async Task<Failure?> ReportStatusAsync(string connectorId, ConnectorStatus status, CancellationToken cancellationToken)
    {
        var request = new GraphQlRequest<InputVariables<CurrentStatusInput>>
        {
            Query = OpenCtiDocuments.UpdateConnectorCurrentStatus,
            Variables = new() { Input = new() { Id = connectorId, Status = PlatformChannel.StatusText(status) } },
            OperationName = "UpdateConnectorCurrentStatus",
        };
        // The connector OpenCTI returns is not used (upstream ignores it too): a non-null object is enough.
        var result = await ExecuteAsync(PlatformOperation.Status, request, Json.StatusRequest, "updateConnectorCurrentStatus",
            connector => connector.ValueKind == JsonValueKind.Object
                ? Result<bool>.Success(true)
                : _channel.Malformed(PlatformOperation.Status, $"updateConnectorCurrentStatus is a {connector.ValueKind}, expected an object"),
            cancellationToken).ConfigureAwait(false);
        return _channel.Complete(PlatformOperation.Status, result.Failure);
    }

    public async Task<Failure?> ReportLogsAsync(string connectorId, IReadOnlyList<string> lines, CancellationToken cancellationToken)
    {
        var request = new GraphQlRequest<InputVariables<LogsInput>>
        {
            Query = OpenCtiDocuments.ReportConnectorLogs,
            Variables = new() { Input = new() { Id = connectorId, Logs = lines } },
            OperationName = "ReportConnectorLogs",
        };
        var result = await ExecuteAsync(PlatformOperation.Logs, request, Json.LogsRequest, "updateConnectorLogs",
            id => ReadId(PlatformOperation.Logs, "updateConnectorLogs", id), cancellationToken).ConfigureAwait(false);
        return _channel.Complete(PlatformOperation.Logs, result.Failure);
    }

    public async Task<Failure?> ReportHealthAsync(string connectorId, ConnectorHealth health, CancellationToken cancellationToken)
    {
        var request = new GraphQlRequest<InputVariables<HealthInput>>
        {
            Query = OpenCtiDocuments.UpdateConnectorHealth,
            Variables = new()
            {
                Input = new()
                {
                    Id = connectorId,
                    RestartCount = health.RestartCount,
                    StartedAt = PlatformChannel.Rfc3339Utc(health.StartedAt),
                    IsInRebootLoop = health.IsInRebootLoop,
                },
            },
            OperationName = "UpdateConnectorHealth",
        };
        var result = await ExecuteAsync(PlatformOperation.Health, request, Json.HealthRequest, "updateConnectorHealth",
            id => ReadId(PlatformOperation.Health, "updateConnectorHealth", id), cancellationToken).ConfigureAwait(false);
        return _channel.Complete(PlatformOperation.Health, result.Failure);
    }

    public void Dispose() => _channel.Dispose();

    /// <summary>
    /// Sends one operation and reads data.&lt;rootField&gt; with <paramref name="read"/>. Every answer that is not a
    /// clean GraphQL success becomes an error: no answer, errors (even next to data), a non-2xx status, null data or a
    /// null root field, JSON of the wrong shape.
    /// </summary>
    private async Task<Result<T>> ExecuteAsync<TRequest, T>(PlatformOperation operation, TRequest request, JsonTypeInfo<TRequest> requestInfo,
        string rootField, Func<JsonElement, Result<T>> read, CancellationToken cancellationToken)
    {
        using var message = _channel.Request(HttpMethod.Post, _endpoint, JsonSerializer.SerializeToUtf8Bytes(request, requestInfo));
        var (response, transportError) = await _channel.SendAsync(message, operation, cancellationToken).ConfigureAwait(false);
        if (transportError is not null) return transportError;

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(response!.Body);
        }
        catch (JsonException ex)
        {
            return response!.IsSuccess ? _channel.Malformed(operation, $"the body is not JSON ({ex.Message})", response) : _channel.HttpStatusError(operation, response);
        }
        using (document)
        {
            var root = document.RootElement;
            var hasData = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("data", out _);
            var hasErrors = root.ValueKind == JsonValueKind.Object && root.TryGetProperty("errors", out _);
            if (!hasData && !hasErrors)
            {
                return response.IsSuccess ? _channel.Malformed(operation, "the body is JSON but not a GraphQL response (no data, no errors)", response)
                    : _channel.HttpStatusError(operation, response);
            }
            if (root.TryGetProperty("errors", out var errors) && errors.ValueKind != JsonValueKind.Null)
            {
                if (errors.ValueKind != JsonValueKind.Array) return _channel.Malformed(operation, "errors is not a list", response);
                if (errors.GetArrayLength() > 0) return GraphQlError(operation, errors, response);
            }
            if (!response.IsSuccess) return _channel.HttpStatusError(operation, response);

            if (!root.TryGetProperty("data", out var data) || data.ValueKind == JsonValueKind.Null)
            {
                return new Failure(FailureKind.NullResult, operation.Name,
                    $"OpenCTI returned no data for the {operation.Description} (does this OpenCTI version support XTM Composer?)", (int)response.Status);
            }
            if (data.ValueKind != JsonValueKind.Object) return _channel.Malformed(operation, $"data is a {data.ValueKind}, expected an object", response);
            if (!data.TryGetProperty(rootField, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                return new Failure(FailureKind.NullResult, operation.Name, $"OpenCTI returned null for {rootField}", (int)response.Status);
            }
            try
            {
                return read(value);
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException)
            {
                return _channel.Malformed(operation, $"{rootField}: {ex.Message}", response);
            }
        }
    }

    /// <summary>errors[].message joined; "only one connector manager" at registration is a refusal (peers U7, U8), not a transient failure.</summary>
    private Failure GraphQlError(PlatformOperation operation, JsonElement errors, PlatformResponse response)
    {
        var messages = new List<string>();
        foreach (var error in errors.EnumerateArray())
        {
            messages.Add(error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String
                ? m.GetString()!
                : "(an error without a message)");
        }
        var text = _channel.Safe(string.Join("; ", messages));
        int? status = response.IsSuccess ? null : (int)response.Status;
        if (operation == PlatformOperation.Register && text.Contains("only one connector manager", StringComparison.OrdinalIgnoreCase))
        {
            return new Failure(FailureKind.Refused, operation.Name,
                $"{text} (another manager id is registered with this OpenCTI; use its manager.id or remove it in OpenCTI)", status);
        }
        var hint = response.Status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden
            ? $" (HTTP {(int)response.Status}: the token was not accepted, check opencti.token)"
            : "";
        return new Failure(FailureKind.GraphQl, operation.Name, $"OpenCTI answered with GraphQL errors: {text}{hint}", status);
    }

    private Result<bool> ReadId(PlatformOperation operation, string field, JsonElement id) =>
        id.ValueKind == JsonValueKind.String ? Result<bool>.Success(true) : _channel.Malformed(operation, $"{field} is a {id.ValueKind}, expected an ID");

    private Result<ConnectorListing> ReadListing(JsonElement list)
    {
        if (list.ValueKind != JsonValueKind.Array) return _channel.Malformed(PlatformOperation.List, $"connectorsForManagers is a {list.ValueKind}, expected a list");
        return Result<ConnectorListing>.Success(ConnectorListingBuilder.FromJson(PlatformKind.OpenCti, Fields, _options.Key, list, Json.ManagedConnectorJson, c =>
            new ListingEntry(c.Id, c.Name, c.ContractImage, c.ContractHash, c.RequestedStatus, c.CurrentStatus,
                c.Configuration?.Select(e => e is null ? null : new ListingConfigurationEntry(e.Key, e.Value, e.Encrypted)).ToList())));
    }
}

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
/// carries data, and a non-2xx answer is never a success. Errors are read by their extensions.code, so that each says
/// what to do (<see cref="GraphQlError"/>); answers are read within their bounds (<see cref="PlatformChannel"/>). Owns (and disposes) the HttpClient it is given, which the
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
        var result = await ExecuteAsync<GraphQlRequest<NoVariables>, ConnectorListing>(PlatformOperation.List, request, Json.QueryRequest,
            "connectorsForManagers", ReadListing, cancellationToken).ConfigureAwait(false);
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
    private Task<Result<T>> ExecuteAsync<TRequest, T>(PlatformOperation operation, TRequest request, JsonTypeInfo<TRequest> requestInfo,
        string rootField, Func<JsonElement, Result<T>> read, CancellationToken cancellationToken) =>
        ExecuteAsync(operation, request, requestInfo, rootField, (ref Utf8JsonReader reader) =>
        {
            using var value = JsonDocument.ParseValue(ref reader);
            try
            {
                return read(value.RootElement);
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException)
            {
                // A value of the wrong shape for the operation; the JSON itself is whole, and read past.
                return _channel.Malformed(operation, $"{rootField}: {ex.Message}");
            }
        }, cancellationToken);

    /// <summary>Reads the root field's value from the reader (positioned on its first token), consuming exactly that value.</summary>
    private delegate Result<T> RootReader<T>(ref Utf8JsonReader reader);

    private async Task<Result<T>> ExecuteAsync<TRequest, T>(PlatformOperation operation, TRequest request, JsonTypeInfo<TRequest> requestInfo,
        string rootField, RootReader<T> read, CancellationToken cancellationToken)
    {
        var (response, transportError) = await _channel.SendAsync(HttpMethod.Post, _endpoint, JsonSerializer.SerializeToUtf8Bytes(request, requestInfo), operation,
            cancellationToken).ConfigureAwait(false);
        if (transportError is not null) return transportError;
        return ReadResponse(operation, response!, rootField, read);
    }

    /// <summary>
    /// The GraphQL response, read as a stream of tokens: errors (small) are kept as a document, the root field's value
    /// goes to <paramref name="read"/> as it comes (the listing is read entry by entry, never as one document of the
    /// whole body), every other member is skipped.
    /// </summary>
    private Result<T> ReadResponse<T>(PlatformOperation operation, PlatformResponse response, string rootField, RootReader<T> read)
    {
        JsonDocument? errors = null;
        try
        {
            var hasData = false;
            var dataKind = JsonTokenType.None;
            Result<T>? value = null;
            var rootNull = false;
            var reader = new Utf8JsonReader(response.Body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                return NotGraphQl(operation, response);
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString();
                reader.Read();
                switch (name)
                {
                    case "errors" when errors is null:
                        errors = JsonDocument.ParseValue(ref reader);
                        break;
                    case "data" when !hasData:
                        hasData = true;
                        dataKind = reader.TokenType;
                        if (reader.TokenType != JsonTokenType.StartObject)
                        {
                            reader.Skip();
                            break;
                        }
                        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                        {
                            var field = reader.GetString();
                            reader.Read();
                            if (field != rootField || value is not null || rootNull) reader.Skip();
                            else if (reader.TokenType == JsonTokenType.Null) rootNull = true;
                            else value = read(ref reader);
                        }
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }
            if (reader.Read()) throw new JsonException("more than one JSON value");

            var errorList = errors?.RootElement;
            if (!hasData && errorList is null) return NotGraphQl(operation, response);
            if (errorList is { ValueKind: not JsonValueKind.Null } list)
            {
                if (list.ValueKind != JsonValueKind.Array) return _channel.Malformed(operation, "errors is not a list", response);
                if (list.GetArrayLength() > 0) return GraphQlError(operation, list, response);
            }
            if (!response.IsSuccess) return _channel.HttpStatusError(operation, response);
            if (!hasData || dataKind == JsonTokenType.Null)
            {
                return new Failure(FailureKind.NullResult, operation.Name,
                    $"OpenCTI returned no data for the {operation.Description} (does this OpenCTI version support XTM Composer?)", (int)response.Status);
            }
            if (dataKind != JsonTokenType.StartObject) return _channel.Malformed(operation, $"data is a {Kind(dataKind)}, expected an object", response);
            return value ?? new Failure(FailureKind.NullResult, operation.Name, $"OpenCTI returned null for {rootField}", (int)response.Status);
        }
        catch (JsonException ex)
        {
            return response.IsSuccess ? _channel.Malformed(operation, $"the body is not JSON ({ex.Message})", response) : _channel.HttpStatusError(operation, response);
        }
        finally
        {
            errors?.Dispose();
        }
    }

    private Failure NotGraphQl(PlatformOperation operation, PlatformResponse response) =>
        response.IsSuccess ? _channel.Malformed(operation, "the body is JSON but not a GraphQL response (no data, no errors)", response)
            : _channel.HttpStatusError(operation, response);

    private static string Kind(JsonTokenType token) => token switch
    {
        JsonTokenType.StartArray => "list",
        JsonTokenType.String => "String",
        JsonTokenType.Number => "Number",
        JsonTokenType.True or JsonTokenType.False => "boolean",
        _ => token.ToString(),
    };

    /// <summary>What the token's user needs for each operation (OpenCTI's @auth on the manager's fields).</summary>
    private static string? Capability(PlatformOperation operation) =>
        operation == PlatformOperation.List ? "SETTINGS_SETACCESSES"
        : operation == PlatformOperation.Version ? null
        : "CONNECTORAPI";

    /// <summary>
    /// errors[] read by their extensions.code, which says what to do: AUTH_REQUIRED (the token), FORBIDDEN_ACCESS
    /// (OpenCTI's code; FORBIDDEN accepted too: the capability), UNSUPPORTED_ERROR at registration (another manager),
    /// FUNCTIONAL_ERROR "Cant find element to update" on a ping (the platform forgot the manager), the listing's
    /// auto-upgrade wait. Anything else: the messages joined.
    /// </summary>
    private Failure GraphQlError(PlatformOperation operation, JsonElement errors, PlatformResponse response)
    {
        var messages = new List<string>();
        var codes = new List<string>();
        foreach (var error in errors.EnumerateArray())
        {
            var message = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String
                ? m.GetString()!
                : "(an error without a message)";
            var code = error.ValueKind == JsonValueKind.Object && error.TryGetProperty("extensions", out var extensions) && extensions.ValueKind == JsonValueKind.Object
                && extensions.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
            messages.Add(code is null ? message : $"{code}: {message}");
            if (code is not null) codes.Add(code);
        }
        var text = _channel.Safe(string.Join("; ", messages));
        int? status = response.IsSuccess ? null : (int)response.Status;
        if (codes.Contains("AUTH_REQUIRED"))
        {
            return new Failure(FailureKind.Unauthenticated, operation.Name,
                $"OpenCTI did not accept the token ({text}): set {_channel.TokenKey} to the API token of the OpenCTI user Composer acts as", status);
        }
        if (codes.Contains("FORBIDDEN_ACCESS") || codes.Contains("FORBIDDEN"))
        {
            var capability = Capability(operation);
            return new Failure(FailureKind.Forbidden, operation.Name, capability is null
                ? $"the user of {_channel.TokenKey} may not run the {operation.Description} ({text})"
                : $"the user of {_channel.TokenKey} lacks the capability {capability}, which the {operation.Description} needs ({text}): "
                  + $"give that user a role with {capability} (the listing needs SETTINGS_SETACCESSES, every other operation CONNECTORAPI)", status);
        }
        if (operation == PlatformOperation.Register
            && (codes.Contains("UNSUPPORTED_ERROR") || text.Contains("only one connector manager", StringComparison.OrdinalIgnoreCase)))
        {
            return new Failure(FailureKind.Refused, operation.Name,
                $"{text}: another manager, with another id, is registered with this OpenCTI. Either set manager.id to that manager's id "
                + $"(this Composer then takes its place), or remove that manager in OpenCTI's settings; manager.id is now \"{_options.ManagerId}\"", status);
        }
        if (operation == PlatformOperation.Ping && text.Contains("find element to update", StringComparison.OrdinalIgnoreCase))
        {
            return new Failure(FailureKind.UnknownManager, operation.Name,
                $"OpenCTI does not know the manager {_options.ManagerId} ({text}): its data was reset or the manager was deleted", status);
        }
        if (operation == PlatformOperation.List && text.Contains("auto-upgrade timed out", StringComparison.OrdinalIgnoreCase))
        {
            return new Failure(FailureKind.GraphQl, operation.Name,
                $"OpenCTI is still upgrading managed connectors and did not list them ({text}): nothing is changed or removed; the listing is tried again next cycle", status);
        }
        return new Failure(FailureKind.GraphQl, operation.Name, $"OpenCTI answered with GraphQL errors: {text}", status);
    }

    private Result<bool> ReadId(PlatformOperation operation, string field, JsonElement id) =>
        id.ValueKind == JsonValueKind.String ? Result<bool>.Success(true) : _channel.Malformed(operation, $"{field} is a {id.ValueKind}, expected an ID");

    private Result<ConnectorListing> ReadListing(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            var kind = Kind(reader.TokenType);
            reader.Skip();
            return _channel.Malformed(PlatformOperation.List, $"connectorsForManagers is a {kind}, expected a list");
        }
        return Result<ConnectorListing>.Success(ConnectorListingBuilder.FromJson(PlatformKind.OpenCti, Fields, _options.Key, ref reader, Json.ManagedConnectorJson, c =>
            new ListingEntry(c.Id, c.Name, c.ContractImage, c.ContractHash, c.RequestedStatus, c.CurrentStatus,
                c.Configuration?.Select(e => e is null ? null : new ListingConfigurationEntry(e.Key, e.Value, e.Encrypted)).ToList())));
    }
}

using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// An OpenCTI stand-in over real HTTP: POST /graphql, answered as OpenCTI (Apollo Server 4 with OpenCTI's plugins)
/// answers it, following platform-facts.md. Every document is parsed and validated against
/// <see cref="OpenCtiSchema"/> by <see cref="GraphQlEngine"/> (unknown field, wrong argument, missing non-null, bad
/// enum, bad DateTime: errors with extensions.code GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED or BAD_USER_INPUT,
/// HTTP 200 as OpenCTI's httpResponsePlugin makes every answer with errors), and every answer is shaped by the
/// selection set asked for. Refused requests are listed in <see cref="PlatformStandIn.Rejections"/>.
/// <para>Behaviour worth knowing:</para>
/// <list type="bullet">
/// <item>Tokens carry capabilities: the listing needs SETTINGS_SETACCESSES, the five mutations CONNECTORAPI, about
/// only a login; missing: FORBIDDEN_ACCESS ("You are not allowed to do this."), HTTP 200, the field null. An unknown
/// token: AUTH_REQUIRED as OpenCTI answers it (HTTP 200, the field null; the default), or with setting
/// auth_failure_status 401 answered 401 before anything else, as a proxy or ingress in front of OpenCTI would.</item>
/// <item>Registration: a known id is updated; a new id while another manager exists: UNSUPPORTED_ERROR "Only one
/// connector manager is supported per instance"; a name under 2 characters or blank: BAD_USER_INPUT (OpenCTI's
/// @constraint). Stricter than OpenCTI on purpose: a public key that is not canonical PKCS#1 PEM is refused.</item>
/// <item>A ping for an unknown manager id, a status report for an unknown connector: FUNCTIONAL_ERROR "Cant find
/// element to update". Logs and health for any id are accepted, as OpenCTI stores them without a check.</item>
/// <item>The listing lists entries only with a registered manager (the platform encrypts every contract's
/// OPENCTI_TOKEN for its key): without one, a non-empty listing fails (INTERNAL_SERVER_ERROR, the list null).
/// Every connector (explicit ones unless <see cref="PlatformStandIn.InjectPlatformEntries"/> is turned off) carries the
/// platform's entries after the stored ones; a connector with a missing contract snapshot nulls the whole list with
/// one FUNCTIONAL_ERROR; the auto-upgrade wait holds the listing (<see cref="PlatformStandIn.AutoUpgrade"/>).</item>
/// <item>With <see cref="StrictDocuments"/>, only Composer's seven documents byte for byte, in a body with the keys
/// query, variables, operationName in that order (the extra strict mode of earlier tests).</item>
/// </list>
/// The control API is described on <see cref="PlatformStandIn"/>.
/// </summary>
public sealed class OpenCtiStandIn : PlatformStandIn
{
    public const string OnlyOneManagerMessage = "Only one connector manager is supported per instance";
    public const string NotRegisteredMessage = "Cannot read properties of undefined (reading 'public_key')";
    public const string NotFoundMessage = "Cant find element to update";
    public const string AutoUpgradeTimedOutMessage = "Managed connector auto-upgrade timed out";
    public const string InvalidSnapshotMessage = "Invalid manager contract snapshot";

    private const string ConnectorSelection =
        "    id\n    name\n    manager_contract_hash\n    manager_contract_image\n    manager_current_status\n    manager_requested_status\n" +
        "    manager_contract_configuration {\n      key\n      value\n      encrypted\n    }\n";

    public const string GetVersionDocument = "query GetVersion {\n  about {\n    version\n  }\n}\n";
    public const string GetConnectorsDocument = "query GetConnectors {\n  connectorsForManagers {\n" + ConnectorSelection + "  }\n}\n";
    public const string PingDocument =
        "mutation UpdateConnectorManagerStatus($input: UpdateConnectorManagerStatusInput!) {\n  updateConnectorManagerStatus(input: $input) {\n    id\n    about_version\n  }\n}\n";
    public const string RegisterDocument =
        "mutation RegisterConnectorsManager($input: RegisterConnectorsManagerInput!) {\n  registerConnectorsManager(input: $input) {\n    id\n    about_version\n  }\n}\n";
    public const string StatusDocument =
        "mutation UpdateConnectorCurrentStatus($input: CurrentConnectorStatusInput!) {\n  updateConnectorCurrentStatus(input: $input) {\n" + ConnectorSelection + "  }\n}\n";
    public const string LogsDocument = "mutation ReportConnectorLogs($input: LogsConnectorStatusInput!) {\n  updateConnectorLogs(input: $input)\n}\n";
    public const string HealthDocument = "mutation UpdateConnectorHealth($input: HealthConnectorStatusInput!) {\n  updateConnectorHealth(input: $input)\n}\n";

    private static readonly Dictionary<string, string> ComposerDocuments = new(StringComparer.Ordinal)
    {
        [GetVersionDocument] = "GetVersion",
        [GetConnectorsDocument] = "GetConnectors",
        [PingDocument] = "UpdateConnectorManagerStatus",
        [RegisterDocument] = "RegisterConnectorsManager",
        [StatusDocument] = "UpdateConnectorCurrentStatus",
        [LogsDocument] = "ReportConnectorLogs",
        [HealthDocument] = "UpdateConnectorHealth",
    };

    private static readonly Dictionary<string, StandInOperation> OperationOfField = new(StringComparer.Ordinal)
    {
        ["about"] = StandInOperation.Version,
        ["connectorsForManagers"] = StandInOperation.List,
        ["registerConnectorsManager"] = StandInOperation.Register,
        ["updateConnectorManagerStatus"] = StandInOperation.Ping,
        ["updateConnectorCurrentStatus"] = StandInOperation.Status,
        ["updateConnectorLogs"] = StandInOperation.Logs,
        ["updateConnectorHealth"] = StandInOperation.Health,
    };

    private OpenCtiStandIn(string token) : base(token) { }

    /// <summary>Only Composer's seven documents, byte for byte (besides the schema check). Off by default.</summary>
    public bool StrictDocuments { get; set; }

    /// <summary>
    /// The HTTP status of an answer to an unknown token: 200 (default, OpenCTI: the document runs, each field
    /// protected by @auth errs with AUTH_REQUIRED) or 401 (answered before validation, as a proxy or ingress in front
    /// of OpenCTI with its own authentication answers).
    /// </summary>
    public int AuthFailureStatus { get; set; } = 200;

    public override string CatalogRequestedStatus => "stopped";

    public override string? CatalogCurrentStatus => null;

    /// <summary>Starts on host:port (0: any free port).</summary>
    public static async Task<OpenCtiStandIn> StartAsync(string token = DefaultToken, int port = 0, string host = "127.0.0.1")
    {
        var standIn = new OpenCtiStandIn(token);
        await standIn.StartServerAsync(host, port);
        return standIn;
    }

    protected override JsonObject Settings()
    {
        var settings = base.Settings();
        settings["strict_documents"] = StrictDocuments;
        settings["auth_failure_status"] = AuthFailureStatus;
        return settings;
    }

    protected override bool ApplySetting(string key, JsonNode? value)
    {
        switch (key)
        {
            case "strict_documents":
                StrictDocuments = value!.GetValue<bool>();
                return true;
            case "auth_failure_status":
                AuthFailureStatus = value!.GetValue<int>() is var status and (200 or 401) ? status : throw new ArgumentException("auth_failure_status is 200 or 401");
                return true;
            default:
                return false;
        }
    }

    protected override async Task HandlePlatformAsync(HttpContext context)
    {
        var body = await ReadBodyAsync(context);
        RecordRequest(context, body);
        if (context.Request.Path != "/graphql")
        {
            Reject($"{context.Request.Method} {context.Request.Path}: not the GraphQL endpoint");
            await WriteAsync(context, 404, "text/plain", "Not Found");
            return;
        }
        if (context.Request.Method != "POST")
        {
            Reject($"{context.Request.Method} /graphql: only POST is used");
            await WriteAsync(context, 405, "text/plain", "Method Not Allowed");
            return;
        }
        var capabilities = Capabilities(context);
        if (capabilities is null && AuthFailureStatus == 401)
        {
            Reject("missing or unknown Bearer token");
            await WriteJsonAsync(context, 401, GraphQlEngine.ErrorResponse([new GraphQlError(GraphQlEngine.AuthRequiredMessage, GraphQlEngine.AuthRequired)]));
            return;
        }
        var contentTypeOk = StrictDocuments
            ? context.Request.ContentType == "application/json"
            : MediaTypeHeaderValue.TryParse(context.Request.ContentType, out var mediaType) && mediaType.MediaType == "application/json";
        if (!contentTypeOk)
        {
            await BadRequestAsync(context, $"Content-Type is \"{context.Request.ContentType}\", expected application/json",
                "POST body missing, invalid Content-Type, or JSON object has no keys.");
            return;
        }

        JsonObject request;
        try
        {
            request = JsonNode.Parse(body) as JsonObject ?? throw new JsonException("the body is not a JSON object");
        }
        catch (JsonException ex)
        {
            await BadRequestAsync(context, $"the body is not a JSON object: {ex.Message}", "POST body missing, invalid Content-Type, or JSON object has no keys.");
            return;
        }
        if (request["query"] is not JsonValue queryValue || queryValue.GetValueKind() != JsonValueKind.String || queryValue.GetValue<string>().Length == 0)
        {
            await BadRequestAsync(context, "no query string", "GraphQL operations must contain a non-empty `query` or a `persistedQuery` extension.");
            return;
        }
        if (request["variables"] is { } variablesNode && variablesNode is not JsonObject)
        {
            await BadRequestAsync(context, $"variables are {variablesNode.ToJsonString()}", "`variables` in a POST body should be provided as an object.");
            return;
        }
        if (request["operationName"] is { } nameNode && nameNode.GetValueKind() != JsonValueKind.String)
        {
            await BadRequestAsync(context, $"operationName is {nameNode.ToJsonString()}", "`operationName` in a POST body must be a string if provided.");
            return;
        }
        var query = queryValue.GetValue<string>();
        var operationName = request["operationName"]?.GetValue<string>();
        if (StrictDocuments && StrictProblem(request, query, operationName) is { } strictProblem)
        {
            Reject($"strict documents: {strictProblem}");
            await WriteJsonAsync(context, 200, GraphQlEngine.ErrorResponse([new GraphQlError($"strict documents: {strictProblem}", GraphQlEngine.ValidationFailed)]));
            return;
        }

        var (prepared, errors) = GraphQlEngine.Prepare(OpenCtiSchema.Schema, query, operationName, request["variables"]);
        if (prepared is null)
        {
            Reject($"{operationName ?? "(anonymous)"}: {GraphQlEngine.Describe(errors)}");
            await WriteJsonAsync(context, 200, GraphQlEngine.ErrorResponse(errors));
            return;
        }
        var rootFields = prepared.RootFields;
        var operation = rootFields.Count > 0 ? OperationOfField[rootFields[0].Name] : StandInOperation.Version;
        var rootField = rootFields.Count > 0 ? rootFields[0].ResponseKey : "__typename";

        var fault = TakeFault(operation);
        if (fault?.Kind == StandInFaultKind.Timeout)
        {
            await Task.Delay(fault.Delay, context.RequestAborted);
        }
        else if (fault is not null && !(fault.Kind == StandInFaultKind.GraphQlErrors && fault.WithData))
        {
            await WriteFaultAsync(context, rootField, fault);
            return;
        }

        var response = await GraphQlEngine.ExecuteAsync(prepared, capabilities, field => ResolveAsync(field, context.RequestAborted));
        if (response["errors"] is JsonArray executionErrors)
        {
            foreach (var code in executionErrors.Select(e => e!["extensions"]!["code"]!.GetValue<string>()).Where(c => c is GraphQlEngine.AuthRequired or GraphQlEngine.ForbiddenAccess))
            {
                Reject($"{operationName ?? "(anonymous)"}: {code} ({(capabilities is null ? "unknown token" : "capabilities " + string.Join(",", capabilities))})");
            }
        }
        if (fault is { Kind: StandInFaultKind.GraphQlErrors })
        {
            var injected = new JsonArray(FaultError(fault));
            response = new JsonObject { ["errors"] = injected, ["data"] = response["data"]?.DeepClone() };
        }
        if (operation == StandInOperation.List)
        {
            if (response["data"]?[rootField] is JsonArray listed) InsertRawEntries(listed);
            await WriteListingAsync(context, 200, response);
            return;
        }
        await WriteJsonAsync(context, 200, response);
    }

    private static string? StrictProblem(JsonObject request, string query, string? operationName)
    {
        var keys = request.Select(p => p.Key).ToArray();
        if (!keys.SequenceEqual(["query", "variables", "operationName"])) return $"body keys are [{string.Join(", ", keys)}], expected [query, variables, operationName] in that order";
        if (!ComposerDocuments.TryGetValue(query, out var name)) return $"not one of Composer's documents: {JsonSerializer.Serialize(query)}";
        return operationName == name ? null : $"operationName is {operationName}, the document defines {name}";
    }

    private async Task<object?> ResolveAsync(GraphQlRootField field, CancellationToken cancellationToken)
    {
        var input = field.Arguments.GetValueOrDefault("input") as JsonObject;
        switch (field.Name)
        {
            case "about":
                return new GraphQlObject("AppInfo") { ["version"] = () => Version };
            case "connectorsForManagers":
                if (!await WaitForAutoUpgradeAsync(cancellationToken))
                {
                    throw new GraphQlFieldException(AutoUpgradeTimedOutMessage, "FUNCTIONAL_ERROR",
                        new JsonObject { ["timeout"] = (AutoUpgrade?.Timeout ?? TimeSpan.FromSeconds(90)).TotalMilliseconds, ["http_status"] = 400, ["genre"] = "BUSINESS" });
                }
                return ListedConnectors(injects: true).Select(ManagedConnector).ToList();
            case "registerConnectorsManager":
            {
                var (id, name, pem) = (Text(input, "id"), Text(input, "name"), Text(input, "public_key"));
                if (ImportCanonicalPublicKey(pem, pkcs1: true) is not { } key)
                {
                    Reject("public_key is not an RSA public key in canonical PKCS#1 PEM form");
                    throw new GraphQlFieldException("public_key is not an RSA public key in PKCS#1 PEM form (-----BEGIN RSA PUBLIC KEY-----, 64-column lines, LF, final newline)", GraphQlEngine.BadUserInput);
                }
                if (Register(id, name, pem, key) == RegisterOutcome.AnotherManagerExists)
                {
                    key.Dispose();
                    throw new GraphQlFieldException(OnlyOneManagerMessage, "UNSUPPORTED_ERROR", new JsonObject { ["id"] = id, ["http_status"] = 500, ["genre"] = "BUSINESS" });
                }
                return ConnectorManager();
            }
            case "updateConnectorManagerStatus":
            {
                var id = Text(input, "id");
                if (!IsRegisteredManager(id)) throw NotFound(id, "ConnectorManager");
                RecordPing(id);
                return ConnectorManager();
            }
            case "updateConnectorCurrentStatus":
            {
                var id = Text(input, "id");
                var updated = ReportStatus(id, Text(input, "status")) ?? throw NotFound(id, "Connector");
                return ManagedConnector(Listed(updated, injects: true));
            }
            case "updateConnectorLogs":
            {
                var id = Text(input, "id");
                ReportLogs(id, [.. input!["logs"]!.AsArray().Select(l => l!.GetValue<string>())], knownOnly: false);
                return id;
            }
            default:
            {
                var id = Text(input, "id");
                ReportHealth(new StandInHealthReport(id, input!["restart_count"]!.GetValue<int>(), Text(input, "started_at"), input["is_in_reboot_loop"]!.GetValue<bool>()),
                    knownOnly: false);
                return id;
            }
        }
    }

    /// <summary>What a resolver meets when the optional input is left out: Node's TypeError, as OpenCTI answers it.</summary>
    private static string Text(JsonObject? input, string field) =>
        input is null
            ? throw new GraphQlFieldException($"Cannot read properties of undefined (reading '{field}')", "INTERNAL_SERVER_ERROR")
            : input[field]!.GetValue<string>();

    private static GraphQlFieldException NotFound(string id, string type) =>
        new(NotFoundMessage, "FUNCTIONAL_ERROR", new JsonObject { ["id"] = id, ["type"] = type, ["http_status"] = 400, ["genre"] = "BUSINESS" });

    private static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    private GraphQlObject? ConnectorManager()
    {
        if (Manager is not { } manager) return null;
        return new GraphQlObject("ConnectorManager")
        {
            ["id"] = () => manager.Id,
            ["standard_id"] = () => "connector-manager--" + manager.Id,
            ["entity_type"] = () => "ConnectorManager",
            ["parent_types"] = () => new[] { "Basic-Object", "Internal-Object" },
            ["name"] = () => manager.Name,
            ["public_key"] = () => manager.PublicKeyPem,
            ["last_sync_execution"] = () => ManagerLastSync is { } last ? Iso(last) : null,
            ["about_version"] = () => Version,
            ["active"] = () => ManagerActive,
        };
    }

    private GraphQlObject ManagedConnector(ListedConnector listed)
    {
        var c = listed.Connector;
        return new GraphQlObject("ManagedConnector")
        {
            ["id"] = () => c.Id,
            ["standard_id"] = () => "connector--" + c.Id,
            ["entity_type"] = () => "Connector",
            ["parent_types"] = () => new[] { "Basic-Object", "Internal-Object" },
            ["name"] = () => c.Name,
            ["connector_user_id"] = () => null,
            ["connector_state_timestamp"] = () => c.StateTimestamp is { } t ? Iso(t) : null,
            ["manager"] = ConnectorManager,
            ["manager_contract_image"] = () => c.SnapshotMissing ? throw InvalidSnapshot(c) : c.Image,
            ["manager_current_status"] = () => c.CurrentStatus,
            ["manager_requested_status"] = () => c.RequestedStatus,
            ["manager_contract_configuration"] = () => (listed.Entries ?? throw NoManager()).Select(e => new GraphQlObject("ConnectorContractConfiguration")
            {
                ["key"] = () => e.Key,
                ["value"] = () => e.Value,
                ["encrypted"] = () => e.Encrypted,
            }).ToList(),
            ["manager_contract_hash"] = () => c.SnapshotMissing ? throw InvalidSnapshot(c) : listed.Hash ?? throw NoManager(),
            ["manager_connector_logs"] = () => listed.Logs,
            ["manager_health_metrics"] = () => listed.Health is not { } h ? null : new GraphQlObject("ConnectorHealthMetrics")
            {
                ["restart_count"] = () => h.Report.RestartCount,
                ["started_at"] = () => h.Report.StartedAt,
                ["last_update"] = () => Iso(h.ReceivedAt),
                ["is_in_reboot_loop"] = () => h.Report.IsInRebootLoop,
            },
            ["manager_connector_uptime"] = () => listed.Health is { } h && DateTimeOffset.TryParse(h.Report.StartedAt, CultureInfo.InvariantCulture, out var started)
                && Clock.GetUtcNow() - started is { TotalSeconds: >= 0 } up ? (int)up.TotalSeconds : null,
        };
    }

    private static GraphQlFieldException InvalidSnapshot(StandInConnector c) =>
        new(InvalidSnapshotMessage, "FUNCTIONAL_ERROR", new JsonObject { ["connectorId"] = c.Id, ["http_status"] = 400, ["genre"] = "BUSINESS" });

    private static GraphQlFieldException NoManager() => new(NotRegisteredMessage, "INTERNAL_SERVER_ERROR");

    private static async Task WriteFaultAsync(HttpContext context, string rootField, StandInFault fault)
    {
        switch (fault.Kind)
        {
            case StandInFaultKind.HttpStatus:
                await WriteAsync(context, fault.StatusCode, "text/plain", fault.Message);
                break;
            case StandInFaultKind.GraphQlErrors:
                await WriteJsonAsync(context, 200, new JsonObject { ["errors"] = new JsonArray(FaultError(fault)) });
                break;
            case StandInFaultKind.NullData:
                await WriteJsonAsync(context, 200, new JsonObject { ["data"] = null });
                break;
            case StandInFaultKind.NullRootField:
                await WriteJsonAsync(context, 200, new JsonObject { ["data"] = new JsonObject { [rootField] = null } });
                break;
            case StandInFaultKind.MalformedJson:
                await WriteAsync(context, 200, "application/json", $"{{\"data\":{{\"{rootField}\":{{\"id\":");
                break;
            case StandInFaultKind.EmptyBody:
                await WriteAsync(context, 200, "application/json", "");
                break;
            case StandInFaultKind.WrongType:
                await WriteJsonAsync(context, 200, new JsonObject { ["data"] = new JsonObject { [rootField] = 42 } });
                break;
        }
    }

    private static JsonObject FaultError(StandInFault fault)
    {
        var error = new JsonObject { ["message"] = fault.Message };
        if (fault.Code is { } code) error["extensions"] = new JsonObject { ["code"] = code };
        return error;
    }

    /// <summary>A request Apollo Server refuses before GraphQL runs: HTTP 400 with BAD_REQUEST, and noted.</summary>
    private async Task BadRequestAsync(HttpContext context, string reason, string message)
    {
        Reject(reason);
        await WriteJsonAsync(context, 400, GraphQlEngine.ErrorResponse([new GraphQlError(message, "BAD_REQUEST")]));
    }
}

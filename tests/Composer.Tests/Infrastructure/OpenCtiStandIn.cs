using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// An OpenCTI stand-in over real HTTP: POST /graphql with exactly the seven documents the manager sends
/// (upstream-behaviour §2.2, written out here independently of the product's copy so a drift in either is caught).
/// Every request is validated like the real platform would, and then some: Bearer token (401 otherwise), Content-Type
/// application/json, body keys exactly query, variables, operationName in that order, the document byte for byte
/// (400 with the GraphQL error "unknown operation" otherwise), operationName, variables and their types. Refused
/// requests are listed in <see cref="PlatformStandIn.Rejections"/>.
/// <para>Behaviour worth knowing:</para>
/// <list type="bullet">
/// <item>Secrets are encrypted with the public key the manager registered. Before any registration there is no key,
/// so GetConnectors is answered with a GraphQL error ("no connector manager registered"): OpenCTI cannot produce the
/// listing without the manager's key, and an error (never an empty list) is what the manager must cope with.</item>
/// <item>Only one manager: registering a second manager id is refused with "Only one connector manager is supported
/// per instance" (the error of OpenCTI issue 14844); the same id may register again (new key, new name).</item>
/// <item>Ping with an unregistered id and reports for unknown connectors: the GraphQL error "Cant find element to update".</item>
/// <item>A status report becomes the connector's manager_current_status.</item>
/// </list>
/// The control API is described on <see cref="PlatformStandIn"/>.
/// </summary>
public sealed class OpenCtiStandIn : PlatformStandIn
{
    public const string OnlyOneManagerMessage = "Only one connector manager is supported per instance";
    public const string NotRegisteredMessage = "No connector manager registered: register the manager before listing connectors";
    public const string NotFoundMessage = "Cant find element to update";

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

    private sealed record Operation(string Name, StandInOperation Kind, string RootField, (string Name, FieldType Type)[]? Input);

    private static readonly Dictionary<string, Operation> Operations = new(StringComparer.Ordinal)
    {
        [GetVersionDocument] = new("GetVersion", StandInOperation.Version, "about", null),
        [GetConnectorsDocument] = new("GetConnectors", StandInOperation.List, "connectorsForManagers", null),
        [PingDocument] = new("UpdateConnectorManagerStatus", StandInOperation.Ping, "updateConnectorManagerStatus", [("id", FieldType.NonEmptyString)]),
        [RegisterDocument] = new("RegisterConnectorsManager", StandInOperation.Register, "registerConnectorsManager",
            [("id", FieldType.NonEmptyString), ("name", FieldType.String), ("public_key", FieldType.String)]),
        [StatusDocument] = new("UpdateConnectorCurrentStatus", StandInOperation.Status, "updateConnectorCurrentStatus",
            [("id", FieldType.NonEmptyString), ("status", FieldType.CurrentStatus)]),
        [LogsDocument] = new("ReportConnectorLogs", StandInOperation.Logs, "updateConnectorLogs", [("id", FieldType.NonEmptyString), ("logs", FieldType.Strings)]),
        [HealthDocument] = new("UpdateConnectorHealth", StandInOperation.Health, "updateConnectorHealth",
            [("id", FieldType.NonEmptyString), ("restart_count", FieldType.Int32), ("started_at", FieldType.Rfc3339), ("is_in_reboot_loop", FieldType.Bool)]),
    };

    private OpenCtiStandIn(string token) : base(token) { }

    /// <summary>Starts on host:port (0: any free port).</summary>
    public static async Task<OpenCtiStandIn> StartAsync(string token = DefaultToken, int port = 0, string host = "127.0.0.1")
    {
        var standIn = new OpenCtiStandIn(token);
        await standIn.StartServerAsync(host, port);
        return standIn;
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
        if (!HasToken(context))
        {
            Reject("missing or wrong Bearer token");
            await WriteJsonAsync(context, 401, Errors("You must be logged in", "AUTH_REQUIRED"));
            return;
        }
        if (context.Request.ContentType != "application/json")
        {
            await RefuseAsync(context, $"Content-Type is \"{context.Request.ContentType}\", expected application/json");
            return;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException ex)
        {
            await RefuseAsync(context, $"the body is not JSON: {ex.Message}");
            return;
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                await RefuseAsync(context, "the body is not a JSON object");
                return;
            }
            var keys = root.EnumerateObject().Select(p => p.Name).ToArray();
            if (!keys.SequenceEqual(["query", "variables", "operationName"]))
            {
                await RefuseAsync(context, $"body keys are [{string.Join(", ", keys)}], expected [query, variables, operationName] in that order");
                return;
            }
            var query = root.GetProperty("query");
            if (query.ValueKind != JsonValueKind.String || !Operations.TryGetValue(query.GetString()!, out var operation))
            {
                await RefuseAsync(context, $"unknown operation: {query.GetRawText()}", "unknown operation");
                return;
            }
            var name = root.GetProperty("operationName");
            if (name.ValueKind != JsonValueKind.String || name.GetString() != operation.Name)
            {
                await RefuseAsync(context, $"operationName is {name.GetRawText()}, the document defines {operation.Name}");
                return;
            }
            var variables = root.GetProperty("variables");
            if (CheckVariables(operation, variables) is { } problem)
            {
                await RefuseAsync(context, $"{operation.Name}: {problem}");
                return;
            }
            var input = operation.Input is null ? default : variables.GetProperty("input");
            await AnswerAsync(context, operation, input);
        }
    }

    private async Task AnswerAsync(HttpContext context, Operation operation, JsonElement input)
    {
        var fault = TakeFault(operation.Kind);
        if (fault?.Kind == StandInFaultKind.Timeout)
        {
            await Task.Delay(fault.Delay, context.RequestAborted);
        }
        else if (fault is not null && !(fault.Kind == StandInFaultKind.GraphQlErrors && fault.WithData))
        {
            await WriteFaultAsync(context, operation, fault);
            return;
        }

        var (result, error) = Execute(operation, input);
        JsonObject response;
        if (error is not null)
        {
            response = Errors(error);
        }
        else
        {
            response = new JsonObject { ["data"] = new JsonObject { [operation.RootField] = result } };
            if (fault is { Kind: StandInFaultKind.GraphQlErrors }) response["errors"] = Errors(fault.Message)["errors"]!.DeepClone();
        }
        await WriteJsonAsync(context, 200, response);
    }

    private (JsonNode? Result, string? Error) Execute(Operation operation, JsonElement input)
    {
        switch (operation.Kind)
        {
            case StandInOperation.Version:
                return (new JsonObject { ["version"] = Version }, null);
            case StandInOperation.List:
                return Listing(ToJson) is { } listing ? (new JsonArray([.. listing]), null) : (null, NotRegisteredMessage);
            case StandInOperation.Register:
            {
                var id = input.GetProperty("id").GetString()!;
                var pem = input.GetProperty("public_key").GetString()!;
                if (ImportCanonicalPublicKey(pem, pkcs1: true) is not { } key) return (null, "public_key is not an RSA public key in PKCS#1 PEM form (-----BEGIN RSA PUBLIC KEY-----, 64-column lines, LF, final newline)");
                if (!TryRegister(id, input.GetProperty("name").GetString()!, pem, key))
                {
                    key.Dispose();
                    return (null, OnlyOneManagerMessage);
                }
                return (new JsonObject { ["id"] = id, ["about_version"] = Version }, null);
            }
            case StandInOperation.Ping:
            {
                var id = input.GetProperty("id").GetString()!;
                if (!IsRegisteredManager(id)) return (null, NotFoundMessage);
                RecordPing(id);
                return (new JsonObject { ["id"] = id, ["about_version"] = Version }, null);
            }
            case StandInOperation.Status:
                return ReportStatus(input.GetProperty("id").GetString()!, input.GetProperty("status").GetString()!) is { } updated
                    ? (ConvertConnector(updated, ToJson), null)
                    : (null, NotFoundMessage);
            case StandInOperation.Logs:
            {
                var id = input.GetProperty("id").GetString()!;
                var lines = input.GetProperty("logs").EnumerateArray().Select(l => l.GetString()!).ToList();
                return ReportLogs(id, lines) ? (JsonValue.Create(id), null) : (null, NotFoundMessage);
            }
            default:
            {
                var id = input.GetProperty("id").GetString()!;
                var report = new StandInHealthReport(id, input.GetProperty("restart_count").GetInt32(), input.GetProperty("started_at").GetString()!,
                    input.GetProperty("is_in_reboot_loop").GetBoolean());
                return ReportHealth(report) is not null ? (JsonValue.Create(id), null) : (null, NotFoundMessage);
            }
        }
    }

    private static JsonNode ToJson(StandInConnector c, Func<StandInEntry, string?> value) => new JsonObject
    {
        ["id"] = c.Id,
        ["name"] = c.Name,
        ["manager_contract_hash"] = c.Hash,
        ["manager_contract_image"] = c.Image,
        ["manager_current_status"] = c.CurrentStatus,
        ["manager_requested_status"] = c.RequestedStatus,
        ["manager_contract_configuration"] = new JsonArray([.. c.Configuration.Select(e => (JsonNode)new JsonObject
        {
            ["key"] = e.Key,
            ["value"] = value(e),
            ["encrypted"] = e.Encrypted,
        })]),
    };

    private static async Task WriteFaultAsync(HttpContext context, Operation operation, StandInFault fault)
    {
        switch (fault.Kind)
        {
            case StandInFaultKind.HttpStatus:
                await WriteAsync(context, fault.StatusCode, "text/plain", fault.Message);
                break;
            case StandInFaultKind.GraphQlErrors:
                await WriteJsonAsync(context, 200, Errors(fault.Message));
                break;
            case StandInFaultKind.NullData:
                await WriteJsonAsync(context, 200, new JsonObject { ["data"] = null });
                break;
            case StandInFaultKind.NullRootField:
                await WriteJsonAsync(context, 200, new JsonObject { ["data"] = new JsonObject { [operation.RootField] = null } });
                break;
            case StandInFaultKind.MalformedJson:
                await WriteAsync(context, 200, "application/json", $"{{\"data\":{{\"{operation.RootField}\":{{\"id\":");
                break;
            case StandInFaultKind.EmptyBody:
                await WriteAsync(context, 200, "application/json", "");
                break;
            case StandInFaultKind.WrongType:
                await WriteJsonAsync(context, 200, new JsonObject { ["data"] = new JsonObject { [operation.RootField] = 42 } });
                break;
        }
    }

    /// <summary>A request the real platform would refuse: 400 with a GraphQL error, and noted.</summary>
    private async Task RefuseAsync(HttpContext context, string reason, string? message = null)
    {
        Reject(reason);
        await WriteJsonAsync(context, 400, Errors(message ?? reason, "GRAPHQL_VALIDATION_FAILED"));
    }

    private static JsonObject Errors(string message, string? code = null)
    {
        var error = new JsonObject { ["message"] = message };
        if (code is not null) error["extensions"] = new JsonObject { ["code"] = code };
        return new JsonObject { ["errors"] = new JsonArray(error) };
    }

    private static string? CheckVariables(Operation operation, JsonElement variables)
    {
        if (operation.Input is null)
        {
            return variables.ValueKind == JsonValueKind.Null ? null : $"variables are {variables.GetRawText()}, expected null (the query has none)";
        }
        if (variables.ValueKind != JsonValueKind.Object || variables.EnumerateObject().Select(p => p.Name).SingleOrDefault() != "input"
            || variables.EnumerateObject().Count() != 1)
        {
            return "variables must be exactly {\"input\": {...}}";
        }
        var input = variables.GetProperty("input");
        if (input.ValueKind != JsonValueKind.Object) return "input is not an object";
        var names = input.EnumerateObject().Select(p => p.Name).ToList();
        var expected = operation.Input.Select(f => f.Name).ToList();
        if (!names.Order(StringComparer.Ordinal).SequenceEqual(expected.Order(StringComparer.Ordinal)) || names.Count != names.Distinct().Count())
        {
            return $"input fields are [{string.Join(", ", names)}], expected [{string.Join(", ", expected)}]";
        }
        foreach (var (name, type) in operation.Input)
        {
            var value = input.GetProperty(name);
            var ok = IsValid(value, type);
            if (!ok) return $"input.{name} is {value.GetRawText()}, not a valid {type}";
        }
        return null;
    }
}

using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// An OpenAEV stand-in over real HTTP: the seven REST calls of upstream-behaviour §3 under /api. Every request is
/// validated: method and path, Bearer token (401 otherwise), Content-Type application/json on POST/PUT (none on
/// GET), the JSON body's keys (in upstream's order) and types. Refused requests are listed in
/// <see cref="PlatformStandIn.Rejections"/> and answered 400 (404 for an unknown path).
/// <para>Behaviour worth knowing:</para>
/// <list type="bullet">
/// <item>Paths carry the manager id: before registration (and for another id) every manager path answers 404
/// {"message": "Connector manager not found"}, so there is no listing (and no secret) without a registered key.</item>
/// <item>Only one manager: registering a second id answers 409 {"message": "Only one connector manager is supported"}
/// (our picture; OpenAEV overwrites the stored manager: setting one_manager_rule false).</item>
/// <item>A connector added the catalog way is stored requested "stopping", current "stopped" (OpenAEV's catalog
/// deployment); a null current status is left out of the JSON, as Jackson's NON_NULL does.</item>
/// <item>Logs are answered 200 with an empty body (upstream had to learn to accept that); status and health answer
/// the connector instance.</item>
/// </list>
/// The control API is described on <see cref="PlatformStandIn"/>.
/// </summary>
public sealed class OpenAevStandIn : PlatformStandIn
{
    public const string OnlyOneManagerMessage = "Only one connector manager is supported";

    private OpenAevStandIn(string token) : base(token) { }

    /// <summary>
    /// Registering a second manager id is refused with 409 (default, what these tests have always seen). OpenAEV's
    /// XtmComposerService itself overwrites the stored manager (false): the new id replaces the old one.
    /// </summary>
    public bool OneManagerRule { get; set; } = true;

    public override string CatalogRequestedStatus => "stopping";

    public override string? CatalogCurrentStatus => "stopped";

    protected override JsonObject Settings()
    {
        var settings = base.Settings();
        settings["one_manager_rule"] = OneManagerRule;
        return settings;
    }

    protected override bool ApplySetting(string key, JsonNode? value)
    {
        if (key != "one_manager_rule") return false;
        OneManagerRule = value!.GetValue<bool>();
        return true;
    }

    public static async Task<OpenAevStandIn> StartAsync(string token = DefaultToken, int port = 0, string host = "127.0.0.1")
    {
        var standIn = new OpenAevStandIn(token);
        await standIn.StartServerAsync(host, port);
        return standIn;
    }

    protected override async Task HandlePlatformAsync(HttpContext context)
    {
        var body = await ReadBodyAsync(context);
        RecordRequest(context, body);
        var method = context.Request.Method;
        var path = context.Request.Path.Value ?? "";
        var segments = path.Split('/');
        // "", "api", ...
        (StandInOperation Operation, string? Manager, string? Connector)? route = (method, segments.Length > 2 && segments[1] == "api" ? segments[2..] : Array.Empty<string>()) switch
        {
            ("GET", ["settings", "version"]) => (StandInOperation.Version, null, null),
            ("POST", ["xtm-composer", "register"]) => (StandInOperation.Register, null, null),
            ("PUT", ["xtm-composer", var m, "refresh-connectivity"]) => (StandInOperation.Ping, m, null),
            ("GET", ["xtm-composer", var m, "connector-instances"]) => (StandInOperation.List, m, null),
            ("PUT", ["xtm-composer", var m, "connector-instances", var c, "status"]) => (StandInOperation.Status, m, c),
            ("POST", ["xtm-composer", var m, "connector-instances", var c, "logs"]) => (StandInOperation.Logs, m, c),
            ("PUT", ["xtm-composer", var m, "connector-instances", var c, "health-check"]) => (StandInOperation.Health, m, c),
            _ => null,
        };
        if (route is not var (operation, managerSegment, connectorSegment))
        {
            Reject($"{method} {path}: no such OpenAEV endpoint");
            await WriteJsonAsync(context, 404, Message("Not Found"));
            return;
        }
        if (!HasToken(context))
        {
            Reject("missing or wrong Bearer token");
            await WriteJsonAsync(context, 401, Message("Unauthorized"));
            return;
        }
        var expectedContentType = method == "GET" ? null : "application/json";
        if (context.Request.ContentType != expectedContentType)
        {
            await RefuseAsync(context, $"{method} {path}: Content-Type is \"{context.Request.ContentType}\", expected {expectedContentType ?? "none"}");
            return;
        }
        var managerId = managerSegment is null ? null : Uri.UnescapeDataString(managerSegment);
        var connectorId = connectorSegment is null ? null : Uri.UnescapeDataString(connectorSegment);

        JsonElement input = default;
        JsonDocument? document = null;
        try
        {
            var fields = Fields(operation);
            if (fields is null)
            {
                if (body.Length > 0)
                {
                    await RefuseAsync(context, $"{method} {path}: expected no body, got {body.Length} characters");
                    return;
                }
            }
            else
            {
                try
                {
                    document = JsonDocument.Parse(body);
                }
                catch (JsonException ex)
                {
                    await RefuseAsync(context, $"{method} {path}: the body is not JSON: {ex.Message}");
                    return;
                }
                input = document.RootElement;
                if (CheckBody(input, fields) is { } problem)
                {
                    await RefuseAsync(context, $"{method} {path}: {problem}");
                    return;
                }
            }

            var fault = TakeFault(operation);
            if (fault?.Kind == StandInFaultKind.Timeout)
            {
                await Task.Delay(fault.Delay, context.RequestAborted);
            }
            else if (fault is not null)
            {
                await WriteFaultAsync(context, operation, fault);
                return;
            }
            await AnswerAsync(context, operation, managerId, connectorId, input);
        }
        finally
        {
            document?.Dispose();
        }
    }

    private async Task AnswerAsync(HttpContext context, StandInOperation operation, string? managerId, string? connectorId, JsonElement body)
    {
        if (managerId is not null && !IsRegisteredManager(managerId))
        {
            await WriteJsonAsync(context, 404, Message("Connector manager not found"));
            return;
        }
        switch (operation)
        {
            case StandInOperation.Version:
                await WriteAsync(context, 200, "text/plain", Version);
                return;
            case StandInOperation.Register:
            {
                var id = body.GetProperty("id").GetString()!;
                var pem = body.GetProperty("public_key").GetString()!;
                if (ImportCanonicalPublicKey(pem, pkcs1: false) is not { } key)
                {
                    await RefuseAsync(context, "public_key is not an RSA public key in SPKI PEM form (-----BEGIN PUBLIC KEY-----, 64-column lines, LF, final newline)");
                    return;
                }
                if (Register(id, body.GetProperty("name").GetString()!, pem, key, OneManagerRule) == RegisterOutcome.AnotherManagerExists)
                {
                    key.Dispose();
                    await WriteJsonAsync(context, 409, Message(OnlyOneManagerMessage));
                    return;
                }
                await WriteJsonAsync(context, 200, ManagerJson(id));
                return;
            }
            case StandInOperation.Ping:
                RecordPing(managerId!);
                await WriteJsonAsync(context, 200, ManagerJson(managerId!));
                return;
            case StandInOperation.List:
            {
                var listed = new JsonArray([.. ListedConnectors(injects: false).Select(ToJson)]);
                InsertRawEntries(listed);
                await WriteListingAsync(context, 200, listed);
            }
                return;
            case StandInOperation.Status:
                if (ReportStatus(connectorId!, body.GetProperty("connector_instance_current_status").GetString()!) is { } updated)
                {
                    await WriteJsonAsync(context, 200, ToJson(Listed(updated, injects: false)));
                }
                else
                {
                    await WriteJsonAsync(context, 404, Message("Connector instance not found"));
                }
                return;
            case StandInOperation.Logs:
                var lines = body.GetProperty("connector_instance_logs").EnumerateArray().Select(l => l.GetString()!).ToList();
                if (ReportLogs(connectorId!, lines, knownOnly: true)) await WriteAsync(context, 200, "text/plain", "");
                else await WriteJsonAsync(context, 404, Message("Connector instance not found"));
                return;
            default:
                var report = new StandInHealthReport(connectorId!, body.GetProperty("connector_instance_restart_count").GetInt32(),
                    body.GetProperty("connector_instance_started_at").GetString()!, body.GetProperty("connector_instance_is_in_reboot_loop").GetBoolean());
                if (ReportHealth(report, knownOnly: true)) await WriteJsonAsync(context, 200, ToJson(Listed(GetConnector(connectorId!)!, injects: false)));
                else await WriteJsonAsync(context, 404, Message("Connector instance not found"));
                return;
        }
    }

    private JsonObject ManagerJson(string id) => new() { ["xtm_composer_id"] = id, ["xtm_composer_version"] = Version };

    /// <summary>A connector instance as XtmComposerInstanceOutput writes it (Jackson NON_NULL: a null current status is left out).</summary>
    private static JsonNode ToJson(ListedConnector listed)
    {
        var c = listed.Connector;
        var json = new JsonObject
        {
            ["connector_instance_id"] = c.Id,
            ["connector_instance_name"] = c.Name,
            ["connector_instance_hash"] = listed.Hash,
            ["connector_image"] = c.Image,
        };
        if (c.CurrentStatus is not null) json["connector_instance_current_status"] = c.CurrentStatus;
        json["connector_instance_requested_status"] = c.RequestedStatus;
        json["connector_instance_configurations"] = new JsonArray([.. (listed.Entries ?? []).Select(e => (JsonNode)new JsonObject
        {
            ["configuration_key"] = e.Key,
            ["configuration_value"] = e.Value,
            ["configuration_is_encrypted"] = e.Encrypted ?? false,
        })]);
        return json;
    }

    /// <summary>The body fields of an operation, in upstream's order; null for the calls without a body.</summary>
    private static (string Name, FieldType Type)[]? Fields(StandInOperation operation) => operation switch
    {
        // @NotBlank on all three (XtmComposerRegisterInput).
        StandInOperation.Register => [("id", FieldType.NonBlankString), ("name", FieldType.NonBlankString), ("public_key", FieldType.NonBlankString)],
        StandInOperation.Status => [("connector_instance_current_status", FieldType.CurrentStatus)],
        StandInOperation.Logs => [("connector_instance_logs", FieldType.Strings)],
        StandInOperation.Health => [("connector_instance_restart_count", FieldType.Count), ("connector_instance_started_at", FieldType.Rfc3339),
            ("connector_instance_is_in_reboot_loop", FieldType.Bool)],
        _ => null,
    };

    private static string? CheckBody(JsonElement body, (string Name, FieldType Type)[] fields)
    {
        if (body.ValueKind != JsonValueKind.Object) return "the body is not a JSON object";
        var names = body.EnumerateObject().Select(p => p.Name).ToList();
        if (!names.SequenceEqual(fields.Select(f => f.Name)))
        {
            return $"body keys are [{string.Join(", ", names)}], expected [{string.Join(", ", fields.Select(f => f.Name))}]";
        }
        foreach (var (name, type) in fields)
        {
            var value = body.GetProperty(name);
            var ok = IsValid(value, type);
            if (!ok) return $"{name} is {value.GetRawText()}, not a valid {type}";
        }
        return null;
    }

    private static async Task WriteFaultAsync(HttpContext context, StandInOperation operation, StandInFault fault)
    {
        switch (fault.Kind)
        {
            case StandInFaultKind.HttpStatus:
                await WriteAsync(context, fault.StatusCode, "text/plain", fault.Message);
                break;
            case StandInFaultKind.GraphQlErrors:
                await WriteJsonAsync(context, 400, Message(fault.Message));
                break;
            case StandInFaultKind.NullData or StandInFaultKind.NullRootField:
                await WriteAsync(context, 200, "application/json", "null");
                break;
            case StandInFaultKind.MalformedJson:
                await WriteAsync(context, 200, "application/json", operation == StandInOperation.List ? "[{\"connector_instance_id\":" : "{\"xtm_composer_id\":");
                break;
            case StandInFaultKind.EmptyBody:
                await WriteAsync(context, 200, "application/json", "");
                break;
            case StandInFaultKind.WrongType:
                await WriteAsync(context, 200, "application/json", "42");
                break;
        }
    }

    private async Task RefuseAsync(HttpContext context, string reason)
    {
        Reject(reason);
        await WriteJsonAsync(context, 400, Message(reason));
    }

    private static JsonObject Message(string message) => new() { ["message"] = message };
}

using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Composer.Tests.Infrastructure;

public abstract partial class PlatformStandIn
{
    /// <summary>
    /// The control API: no token, JSON bodies, under /_standin/ on the platform's port. A bad body answers 400 with the
    /// reason, an unknown connector 404.
    /// <list type="bullet">
    /// <item><c>GET state</c>: {"version", "now", "manager": {id, name, public_key, last_sync_execution, active} | null,
    /// "connectors": [connector + "current_health" (null once 300 s old) + "current_logs"], "registrations",
    /// "pings", "ping_times", "status_reports" (with "received_at"), "log_reports", "health_reports" (with "received_at"), "rejections",
    /// "requests"}. Times are the stand-in clock's.</item>
    /// <item><c>POST connectors</c> with a connector or a list of them. The explicit way (default): {"id", "name",
    /// "image", "hash" (optional: computed), "requested_status" (default starting), "current_status", "type",
    /// "state_timestamp", "snapshot_missing", "start_once_deployed" (a scripted user starts it once it shows up
    /// deployed), "configuration": [{"key", "value", "encrypted", "version" (1 or 2), "raw_ciphertext"}]}, added or
    /// replacing the one with its id. With "origin": "catalog" the catalog way
    /// (managedConnectorAdd: name cleaned and unique, 409 when taken; requested status stopped on OpenCTI, stopping
    /// and current stopped on OpenAEV; hash computed; platform entries injected; "id" optional) and with "origin":
    /// "migrated" the same keeping the name as given.</item>
    /// <item><c>PATCH connectors/{id}</c> with any of those fields: changes only them. <c>DELETE connectors/{id}</c>.</item>
    /// <item><c>POST connectors/{id}/start</c>, <c>.../stop</c>: requested status starting / stopping (the platform's
    /// buttons). <c>POST connectors/{id}/renew-token</c>: a new OPENCTI_TOKEN (new ciphertext, new hash).
    /// <c>POST connectors/{id}/reset-state</c>: a new state timestamp (new hash).</item>
    /// <item><c>POST raw-entries</c> {"position" (optional, default last), "entry": any JSON}: listed verbatim.</item>
    /// <item><c>POST faults</c> {"operation": version|register|ping|list|status|logs|health, "kind":
    /// http_status|graphql_errors|timeout|null_data|null_root_field|malformed_json|empty_body|wrong_type, "status",
    /// "message", "code" (OpenCTI graphql_errors: extensions.code), "with_data", "delay_ms", "times"}; <c>DELETE faults</c>.</item>
    /// <item><c>DELETE manager</c>: reset platform data: the manager is forgotten (its pings fail, listing entries cannot be encrypted).</item>
    /// <item><c>POST tokens</c> {"token", "capabilities": ["CONNECTORAPI", ...]}: another accepted API token (the
    /// configured one holds BYPASS); <c>DELETE tokens/{token}</c>.</item>
    /// <item><c>PUT settings</c> {"inject_platform_entries": bool, and per platform: OpenCTI "strict_documents",
    /// "auth_failure_status" (401 or 200); OpenAEV "one_manager_rule"}; <c>GET settings</c>.</item>
    /// <item><c>PUT platform-proxy</c> {"http_proxy", "https_proxy", "no_proxy", "https_proxy_ca": [PEM], "https_proxy_reject_unauthorized", "omit_empty"}.</item>
    /// <item><c>PUT auto-upgrade</c> {"ready_in_seconds": n | null (never), "timeout_seconds" (90), "poll_seconds" (5)}:
    /// listings wait for the catalog manager's auto-upgrades; <c>DELETE auto-upgrade</c>: no wait (the default).</item>
    /// <item><c>PUT listing-shape</c> {"pad_bytes", "pad_as": value|connectors, "dribble_bytes", "dribble_interval_ms"}; <c>DELETE listing-shape</c>.</item>
    /// <item><c>POST clock</c> {"advance_seconds": n}: moves the stand-in clock forward (health expiry, manager activity).</item>
    /// </list>
    /// </summary>
    private async Task ControlAsync(HttpContext context)
    {
        var path = context.Request.Path.Value!["/_standin".Length..].TrimEnd('/');
        var method = context.Request.Method;
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToArray();
        try
        {
            switch (method, segments)
            {
                case ("GET", ["state"]):
                    await WriteAsync(context, 200, "application/json", StateJson());
                    return;
                case ("POST", ["connectors"]):
                {
                    var node = JsonNode.Parse(await ReadBodyAsync(context));
                    var items = node is JsonArray array ? array.ToList() : [node];
                    var added = new JsonArray();
                    foreach (var item in items) added.Add(AddFromControl(item!.AsObject()));
                    await WriteJsonAsync(context, 200, added);
                    return;
                }
                case ("PATCH", ["connectors", var id]):
                {
                    var patch = JsonNode.Parse(await ReadBodyAsync(context))!.AsObject();
                    await Done(context, UpdateConnector(id, c => StandInJson.Patch(c, patch)));
                    return;
                }
                case ("DELETE", ["connectors", var id]):
                    await Done(context, RemoveConnector(id));
                    return;
                case ("POST", ["connectors", var id, "start"]):
                    await Done(context, RequestStatus(id, start: true));
                    return;
                case ("POST", ["connectors", var id, "stop"]):
                    await Done(context, RequestStatus(id, start: false));
                    return;
                case ("POST", ["connectors", var id, "renew-token"]):
                    await Done(context, RenewToken(id));
                    return;
                case ("POST", ["connectors", var id, "reset-state"]):
                    await Done(context, ResetState(id));
                    return;
                case ("POST", ["raw-entries"]):
                {
                    var body = JsonNode.Parse(await ReadBodyAsync(context))!.AsObject();
                    AddRawListingEntry(body["entry"]?.ToJsonString() ?? "null", body["position"]?.GetValue<int>());
                    context.Response.StatusCode = 204;
                    return;
                }
                case ("POST", ["faults"]):
                {
                    var (operation, fault) = StandInJson.ReadFault(JsonNode.Parse(await ReadBodyAsync(context))!.AsObject());
                    InjectFault(operation, fault);
                    context.Response.StatusCode = 204;
                    return;
                }
                case ("DELETE", ["faults"]):
                    ClearFaults();
                    context.Response.StatusCode = 204;
                    return;
                case ("DELETE", ["manager"]):
                    ForgetManager();
                    context.Response.StatusCode = 204;
                    return;
                case ("POST", ["tokens"]):
                {
                    var body = JsonNode.Parse(await ReadBodyAsync(context))!.AsObject();
                    AddToken(StandInJson.Required(body, "token"), body["capabilities"]?.AsArray().Select(c => c!.GetValue<string>()) ?? []);
                    context.Response.StatusCode = 204;
                    return;
                }
                case ("DELETE", ["tokens", var token]):
                    await Done(context, RemoveToken(token));
                    return;
                case ("GET", ["settings"]):
                    await WriteJsonAsync(context, 200, Settings());
                    return;
                case ("PUT", ["settings"]):
                    ApplySettings(JsonNode.Parse(await ReadBodyAsync(context))!.AsObject());
                    await WriteJsonAsync(context, 200, Settings());
                    return;
                case ("PUT", ["platform-proxy"]):
                    PlatformProxy = StandInJson.ReadPlatformProxy(JsonNode.Parse(await ReadBodyAsync(context))!.AsObject());
                    context.Response.StatusCode = 204;
                    return;
                case ("PUT", ["auto-upgrade"]):
                    AutoUpgrade = StandInJson.ReadAutoUpgrade(JsonNode.Parse(await ReadBodyAsync(context))!.AsObject(), Clock.GetUtcNow());
                    context.Response.StatusCode = 204;
                    return;
                case ("DELETE", ["auto-upgrade"]):
                    AutoUpgrade = null;
                    context.Response.StatusCode = 204;
                    return;
                case ("PUT", ["listing-shape"]):
                    ListingShape = StandInJson.ReadListingShape(JsonNode.Parse(await ReadBodyAsync(context))!.AsObject());
                    context.Response.StatusCode = 204;
                    return;
                case ("DELETE", ["listing-shape"]):
                    ListingShape = new StandInListingShape();
                    context.Response.StatusCode = 204;
                    return;
                case ("POST", ["clock"]):
                {
                    var body = JsonNode.Parse(await ReadBodyAsync(context))!.AsObject();
                    Clock.Advance(TimeSpan.FromSeconds(body["advance_seconds"]?.GetValue<double>() ?? throw new ArgumentException("\"advance_seconds\" is required")));
                    await WriteJsonAsync(context, 200, new JsonObject { ["now"] = Clock.GetUtcNow().ToString("O", System.Globalization.CultureInfo.InvariantCulture) });
                    return;
                }
                default:
                    await WriteAsync(context, 404, "text/plain", $"no control endpoint {method} /_standin{path}");
                    return;
            }
        }
        catch (InvalidOperationException ex) when (ex.Message.StartsWith("CONNECTOR_NAME_ALREADY_EXISTS", StringComparison.Ordinal) || ex.Message.StartsWith("a connector with id", StringComparison.Ordinal))
        {
            await WriteAsync(context, 409, "text/plain", ex.Message);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or ArgumentException or KeyNotFoundException)
        {
            await WriteAsync(context, 400, "text/plain", ex.Message);
        }
    }

    private static async Task Done(HttpContext context, bool found)
    {
        if (found) context.Response.StatusCode = 204;
        else await WriteAsync(context, 404, "text/plain", "no such connector (or token)");
    }

    private JsonObject AddFromControl(JsonObject o)
    {
        var origin = o["origin"]?.GetValue<string>() ?? "explicit";
        if (origin == "explicit")
        {
            var connector = StandInJson.ReadConnector(o);
            AddConnector(connector);
            return StandInJson.WriteConnector(connector);
        }
        if (origin is not ("catalog" or "migrated")) throw new ArgumentException($"origin is \"{origin}\", expected explicit, catalog or migrated");
        var added = AddCatalogConnector(StandInJson.Required(o, "name"), StandInJson.Required(o, "image"), StandInJson.ReadConfiguration(o["configuration"]),
            o["id"]?.GetValue<string>(), o["type"]?.GetValue<string>() ?? "EXTERNAL_IMPORT", migrated: origin == "migrated",
            startOnceDeployed: o["start_once_deployed"]?.GetValue<bool>() ?? false);
        return StandInJson.WriteConnector(added);
    }

    /// <summary>The settings as <c>GET settings</c> shows them; platforms add their own.</summary>
    protected virtual JsonObject Settings() => new() { ["inject_platform_entries"] = InjectPlatformEntries };

    /// <summary>Applies <c>PUT settings</c>; platforms read their own keys too. Unknown keys are an error.</summary>
    private void ApplySettings(JsonObject settings)
    {
        foreach (var (key, value) in settings)
        {
            if (key == "inject_platform_entries") InjectPlatformEntries = value!.GetValue<bool>();
            else if (!ApplySetting(key, value)) throw new ArgumentException($"unknown setting \"{key}\"; known: {string.Join(", ", Settings().Select(p => p.Key))}");
        }
    }

    /// <summary>A platform's own setting; false when the key is not one of its settings.</summary>
    protected abstract bool ApplySetting(string key, JsonNode? value);
}

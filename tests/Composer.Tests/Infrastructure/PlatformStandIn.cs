using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// What the OpenCTI and OpenAEV stand-ins share: a Kestrel server on 127.0.0.1, the platform state (the registered
/// manager, the connectors, injected faults), the record of what the manager sent, and the control API.
/// <para>Control API (no token; JSON; same port as the platform API):</para>
/// <list type="bullet">
/// <item><c>GET /_standin/state</c>: {"version", "manager": {id, name, public_key} | null, "connectors": [connector],
/// "registrations": [{id, name}], "pings": n, "status_reports": [{connector_id, status}], "log_reports":
/// [{connector_id, lines}], "health_reports": [{connector_id, restart_count, started_at, is_in_reboot_loop}],
/// "rejections": ["why a request was refused"], "requests": n}.</item>
/// <item><c>POST /_standin/connectors</c> with a connector (added, or replacing the one with its id):
/// {"id", "name", "image", "hash", "requested_status" (default starting), "current_status" (optional),
/// "configuration": [{"key", "value", "encrypted" (default false), "version" (1 or 2, default 2), "raw_ciphertext"
/// (optional: sent instead of encrypting value)}]}; or a list of them.</item>
/// <item><c>PATCH /_standin/connectors/{id}</c> with any of those fields: changes only them (e.g.
/// {"requested_status": "stopping"} to stop a connector from the platform side). 404 for an unknown id.</item>
/// <item><c>DELETE /_standin/connectors/{id}</c>: the platform no longer lists it.</item>
/// <item><c>POST /_standin/raw-entries</c> {"position": n (optional, default last), "entry": any JSON}: listed verbatim
/// (e.g. null, or an entry with a missing field).</item>
/// <item><c>POST /_standin/faults</c> {"operation": version|register|ping|list|status|logs|health, "kind":
/// http_status|graphql_errors|timeout|null_data|null_root_field|malformed_json|empty_body|wrong_type, "status" (500),
/// "message", "with_data" (false), "delay_ms" (30000), "times" (optional; default until cleared)};
/// <c>DELETE /_standin/faults</c> clears them.</item>
/// <item><c>DELETE /_standin/manager</c>: forget the registered manager (as if OpenCTI were reset).</item>
/// </list>
/// </summary>
public abstract partial class PlatformStandIn : IAsyncDisposable
{
    public const string DefaultToken = "standin-token-7c1e";

    /// <summary>Like Node's JSON.stringify: '+', '&lt;', quotes in text and non-ASCII are not escaped.</summary>
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly Lock _gate = new();
    private readonly List<StandInConnector> _connectors = [];
    private readonly List<(int? Position, string Json)> _rawEntries = [];
    private readonly Dictionary<StandInOperation, StandInFault> _faults = [];
    private readonly List<StandInRequest> _requests = [];
    private readonly List<StandInRegistration> _registrations = [];
    private readonly List<string> _pings = [];
    private readonly List<StandInStatusReport> _statusReports = [];
    private readonly List<StandInLogReport> _logReports = [];
    private readonly List<StandInHealthReport> _healthReports = [];
    private readonly List<string> _rejections = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private StandInRegistration? _manager;
    private RSA? _managerKey;
    private WebApplication? _app;

    protected PlatformStandIn(string token) => Token = token;

    /// <summary>The API token the manager must send as Authorization: Bearer.</summary>
    public string Token { get; }

    /// <summary>The platform version (GetVersion / settings/version, and what pings return).</summary>
    public string Version
    {
        get { lock (_gate) return field; }
        set { lock (_gate) field = value; }
    } = "6.9.4";

    public int Port { get; private set; }

    /// <summary>The platform URL to configure (opencti.url / openaev.url).</summary>
    public string Url => $"http://127.0.0.1:{Port}";

    public StandInRegistration? Manager { get { lock (_gate) return _manager; } }

    public IReadOnlyList<StandInConnector> Connectors { get { lock (_gate) return [.. _connectors]; } }
    public IReadOnlyList<StandInRequest> Requests { get { lock (_gate) return [.. _requests]; } }
    public IReadOnlyList<StandInRegistration> Registrations { get { lock (_gate) return [.. _registrations]; } }
    public IReadOnlyList<string> Pings { get { lock (_gate) return [.. _pings]; } }
    public IReadOnlyList<StandInStatusReport> StatusReports { get { lock (_gate) return [.. _statusReports]; } }
    public IReadOnlyList<StandInLogReport> LogReports { get { lock (_gate) return [.. _logReports]; } }
    public IReadOnlyList<StandInHealthReport> HealthReports { get { lock (_gate) return [.. _healthReports]; } }

    /// <summary>Requests refused because they were not what the real platform accepts (wrong document, variables, body ...).</summary>
    public IReadOnlyList<string> Rejections { get { lock (_gate) return [.. _rejections]; } }

    /// <summary>Adds a connector, or replaces the one with the same id (keeping its place).</summary>
    public void AddConnector(StandInConnector connector)
    {
        lock (_gate)
        {
            var i = _connectors.FindIndex(c => c.Id == connector.Id);
            if (i >= 0) _connectors[i] = connector;
            else _connectors.Add(connector);
        }
        Signal();
    }

    public bool RemoveConnector(string id)
    {
        bool removed;
        lock (_gate) removed = _connectors.RemoveAll(c => c.Id == id) > 0;
        Signal();
        return removed;
    }

    /// <summary>Changes a connector (e.g. <c>c =&gt; c with { RequestedStatus = "stopping" }</c>); false when there is none with that id.</summary>
    public bool UpdateConnector(string id, Func<StandInConnector, StandInConnector> change)
    {
        lock (_gate)
        {
            var i = _connectors.FindIndex(c => c.Id == id);
            if (i < 0) return false;
            _connectors[i] = change(_connectors[i]) with { Id = id };
        }
        Signal();
        return true;
    }

    public StandInConnector? GetConnector(string id)
    {
        lock (_gate) return _connectors.Find(c => c.Id == id);
    }

    /// <summary>A listing entry sent verbatim (JSON text, e.g. "null"), at a position among the connectors (default: last).</summary>
    public void AddRawListingEntry(string json, int? position = null)
    {
        JsonNode.Parse(json, documentOptions: new JsonDocumentOptions()); // must be JSON (null parses to null)
        lock (_gate) _rawEntries.Add((position, json));
    }

    public void ClearRawListingEntries()
    {
        lock (_gate) _rawEntries.Clear();
    }

    public void InjectFault(StandInOperation operation, StandInFault fault)
    {
        lock (_gate) _faults[operation] = fault;
    }

    public void ClearFaults()
    {
        lock (_gate) _faults.Clear();
    }

    /// <summary>Forgets the registered manager, as a reset platform would.</summary>
    public void ForgetManager()
    {
        lock (_gate)
        {
            _manager = null;
            _managerKey?.Dispose();
            _managerKey = null;
        }
        Signal();
    }

    /// <summary>Waits (without polling) until the condition holds on this stand-in's state; a timeout says what was seen.</summary>
    public async Task WaitUntilAsync(Func<PlatformStandIn, bool> condition, TimeSpan timeout, string? what = null)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            Task changed;
            lock (_gate) changed = _changed.Task;
            if (condition(this)) return;
            try
            {
                await changed.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                if (condition(this)) return;
                throw new TimeoutException($"{GetType().Name}: {what ?? "condition"} not met within {timeout}; state: {StateJson()}");
            }
        }
    }

    protected async Task StartServerAsync(string host, int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Parse(host), port));
        var app = builder.Build();
        app.Run(DispatchAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Port = new Uri(address).Port;
        _app = app;
    }

    /// <summary>Runs until the host is stopped (Ctrl-C / SIGTERM in the console entry).</summary>
    public Task WaitForShutdownAsync() => _app!.WaitForShutdownAsync();

    private async Task DispatchAsync(HttpContext context)
    {
        try
        {
            if (context.Request.Path.StartsWithSegments("/_standin")) await ControlAsync(context);
            else await HandlePlatformAsync(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client gave up (a timeout fault): nothing to answer.
        }
        catch (Exception ex) when (!context.Response.HasStarted)
        {
            // A stand-in bug must show, not pass for a platform answer.
            Reject($"stand-in failure on {context.Request.Method} {context.Request.Path}: {ex}");
            await WriteAsync(context, 500, "text/plain", "stand-in failure: " + ex.Message);
        }
    }

    /// <summary>The platform API: validate everything, then answer as the platform does.</summary>
    protected abstract Task HandlePlatformAsync(HttpContext context);

    // ---- helpers for the platform handlers ----

    /// <summary>The JSON types of request fields, as the platforms' schemas declare them.</summary>
    protected enum FieldType { NonEmptyString, String, Int32, Count, Bool, Strings, CurrentStatus, Rfc3339 }

    protected static bool IsValid(JsonElement value, FieldType type) => type switch
    {
        FieldType.NonEmptyString => value.ValueKind == JsonValueKind.String && value.GetString()!.Length > 0,
        FieldType.String => value.ValueKind == JsonValueKind.String,
        FieldType.Int32 => value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out _),
        FieldType.Count => value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n) && n >= 0,
        FieldType.Bool => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        FieldType.Strings => value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(l => l.ValueKind == JsonValueKind.String),
        FieldType.CurrentStatus => value.ValueKind == JsonValueKind.String && value.GetString() is "started" or "stopped",
        _ => value.ValueKind == JsonValueKind.String && Rfc3339().IsMatch(value.GetString()!),
    };

    /// <summary>
    /// The key, when the text is exactly the canonical PEM of an RSA public key (64-column lines, LF, final newline):
    /// PKCS#1 ("RSA PUBLIC KEY", OpenCTI) or SPKI ("PUBLIC KEY", OpenAEV).
    /// </summary>
    protected static RSA? ImportCanonicalPublicKey(string pem, bool pkcs1)
    {
        var rsa = RSA.Create();
        try
        {
            var fields = PemEncoding.Find(pem);
            if (pem[fields.Label] != (pkcs1 ? "RSA PUBLIC KEY" : "PUBLIC KEY")) throw new CryptographicException("another PEM label");
            var der = Convert.FromBase64String(pem[fields.Base64Data]);
            if (pkcs1) rsa.ImportRSAPublicKey(der, out _);
            else rsa.ImportSubjectPublicKeyInfo(der, out _);
            if ((pkcs1 ? rsa.ExportRSAPublicKeyPem() : rsa.ExportSubjectPublicKeyInfoPem()) + "\n" == pem) return rsa;
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException or FormatException) { }
        rsa.Dispose();
        return null;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")]
    private static partial System.Text.RegularExpressions.Regex Rfc3339();

    protected static async Task<string> ReadBodyAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        return await reader.ReadToEndAsync(context.RequestAborted);
    }

    protected void RecordRequest(HttpContext context, string body)
    {
        lock (_gate)
        {
            _requests.Add(new StandInRequest(context.Request.Method, context.Request.Path + context.Request.QueryString,
                context.Request.Headers.Authorization.FirstOrDefault(), context.Request.ContentType, body));
        }
        Signal();
    }

    /// <summary>True when the request carries exactly "Bearer &lt;token&gt;".</summary>
    protected bool HasToken(HttpContext context) =>
        context.Request.Headers.Authorization.Count == 1 && context.Request.Headers.Authorization[0] == "Bearer " + Token;

    protected void Reject(string reason)
    {
        lock (_gate) _rejections.Add(reason);
        Signal();
    }

    /// <summary>The fault injected for this operation, counting one use.</summary>
    protected StandInFault? TakeFault(StandInOperation operation)
    {
        lock (_gate)
        {
            if (!_faults.TryGetValue(operation, out var fault)) return null;
            if (fault.Times is { } times)
            {
                if (times <= 1) _faults.Remove(operation);
                else _faults[operation] = fault with { Times = times - 1 };
            }
            return fault;
        }
    }

    /// <summary>Registers the manager, or refuses a second manager id (only one manager per platform).</summary>
    protected bool TryRegister(string id, string name, string publicKeyPem, RSA publicKey)
    {
        lock (_gate)
        {
            if (_manager is not null && _manager.Id != id) return false;
            _manager = new StandInRegistration(id, name, publicKeyPem);
            _managerKey?.Dispose();
            _managerKey = publicKey;
            _registrations.Add(_manager);
        }
        Signal();
        return true;
    }

    protected bool IsRegisteredManager(string id)
    {
        lock (_gate) return _manager?.Id == id;
    }

    protected void RecordPing(string managerId)
    {
        lock (_gate) _pings.Add(managerId);
        Signal();
    }

    /// <summary>Records a status report and makes it the connector's current status; null when the connector is unknown.</summary>
    protected StandInConnector? ReportStatus(string connectorId, string status)
    {
        StandInConnector? updated = null;
        lock (_gate)
        {
            var i = _connectors.FindIndex(c => c.Id == connectorId);
            if (i >= 0)
            {
                updated = _connectors[i] = _connectors[i] with { CurrentStatus = status };
                _statusReports.Add(new StandInStatusReport(connectorId, status));
            }
        }
        Signal();
        return updated;
    }

    protected bool ReportLogs(string connectorId, IReadOnlyList<string> lines)
    {
        lock (_gate)
        {
            if (_connectors.All(c => c.Id != connectorId)) return false;
            _logReports.Add(new StandInLogReport(connectorId, lines));
        }
        Signal();
        return true;
    }

    protected StandInConnector? ReportHealth(StandInHealthReport report)
    {
        StandInConnector? connector;
        lock (_gate)
        {
            connector = _connectors.Find(c => c.Id == report.ConnectorId);
            if (connector is not null) _healthReports.Add(report);
        }
        Signal();
        return connector;
    }

    /// <summary>The listing: every connector converted, raw entries inserted at their positions; null before registration.</summary>
    protected List<JsonNode?>? Listing(Func<StandInConnector, Func<StandInEntry, string?>, JsonNode> convert)
    {
        lock (_gate)
        {
            if (_managerKey is null) return null;
            var key = _managerKey;
            var list = _connectors.Select(c => (JsonNode?)convert(c, e => EntryValue(key, e))).ToList();
            foreach (var (position, json) in _rawEntries)
            {
                var node = JsonNode.Parse(json);
                list.Insert(position is { } p ? Math.Clamp(p, 0, list.Count) : list.Count, node);
            }
            return list;
        }
    }

    /// <summary>The wire value of an entry: plaintext, or encrypted for the registered key.</summary>
    private static string? EntryValue(RSA key, StandInEntry entry) =>
        !entry.Encrypted ? entry.Value
        : entry.RawCiphertext ?? (entry.Value is null ? null : SecretEncryption.Encrypt(key, entry.Value, entry.Version));

    /// <summary>One connector as its platform shows it (secrets encrypted for the registered key, or null without one).</summary>
    protected JsonNode ConvertConnector(StandInConnector connector, Func<StandInConnector, Func<StandInEntry, string?>, JsonNode> convert)
    {
        lock (_gate)
        {
            var key = _managerKey;
            return convert(connector, e => key is null ? (e.Encrypted ? null : e.Value) : EntryValue(key, e));
        }
    }

    protected static async Task WriteAsync(HttpContext context, int status, string contentType, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        await context.Response.WriteAsync(body, context.RequestAborted);
    }

    protected static Task WriteJsonAsync(HttpContext context, int status, JsonNode? body) =>
        WriteAsync(context, status, "application/json", body?.ToJsonString(Relaxed) ?? "null");

    private void Signal()
    {
        TaskCompletionSource previous;
        lock (_gate)
        {
            previous = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        previous.TrySetResult();
    }

    // ---- control API ----

    private async Task ControlAsync(HttpContext context)
    {
        var path = context.Request.Path.Value!["/_standin".Length..].TrimEnd('/');
        var method = context.Request.Method;
        try
        {
            switch (method, path)
            {
                case ("GET", "/state"):
                    await WriteAsync(context, 200, "application/json", StateJson());
                    return;
                case ("POST", "/connectors"):
                {
                    var node = JsonNode.Parse(await ReadBodyAsync(context));
                    var items = node is JsonArray array ? array.ToList() : [node];
                    foreach (var item in items) AddConnector(StandInJson.ReadConnector(item!.AsObject()));
                    context.Response.StatusCode = 204;
                    return;
                }
                case ("PATCH", _) when path.StartsWith("/connectors/", StringComparison.Ordinal):
                {
                    var patch = JsonNode.Parse(await ReadBodyAsync(context))!.AsObject();
                    var found = UpdateConnector(Uri.UnescapeDataString(path["/connectors/".Length..]), c => StandInJson.Patch(c, patch));
                    if (found) context.Response.StatusCode = 204;
                    else await WriteAsync(context, 404, "text/plain", "no such connector");
                    return;
                }
                case ("DELETE", _) when path.StartsWith("/connectors/", StringComparison.Ordinal):
                {
                    var found = RemoveConnector(Uri.UnescapeDataString(path["/connectors/".Length..]));
                    if (found) context.Response.StatusCode = 204;
                    else await WriteAsync(context, 404, "text/plain", "no such connector");
                    return;
                }
                case ("POST", "/raw-entries"):
                {
                    var body = JsonNode.Parse(await ReadBodyAsync(context))!.AsObject();
                    AddRawListingEntry(body["entry"]?.ToJsonString() ?? "null", body["position"]?.GetValue<int>());
                    context.Response.StatusCode = 204;
                    return;
                }
                case ("POST", "/faults"):
                {
                    var (operation, fault) = StandInJson.ReadFault(JsonNode.Parse(await ReadBodyAsync(context))!.AsObject());
                    InjectFault(operation, fault);
                    context.Response.StatusCode = 204;
                    return;
                }
                case ("DELETE", "/faults"):
                    ClearFaults();
                    context.Response.StatusCode = 204;
                    return;
                case ("DELETE", "/manager"):
                    ForgetManager();
                    context.Response.StatusCode = 204;
                    return;
                default:
                    await WriteAsync(context, 404, "text/plain", $"no control endpoint {method} /_standin{path}");
                    return;
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException or ArgumentException or KeyNotFoundException)
        {
            await WriteAsync(context, 400, "text/plain", ex.Message);
        }
    }

    /// <summary>The whole state as the control API shows it.</summary>
    public string StateJson()
    {
        lock (_gate)
        {
            var state = new JsonObject
            {
                ["version"] = Version,
                ["manager"] = _manager is null ? null : new JsonObject { ["id"] = _manager.Id, ["name"] = _manager.Name, ["public_key"] = _manager.PublicKeyPem },
                ["connectors"] = new JsonArray([.. _connectors.Select(StandInJson.WriteConnector)]),
                ["registrations"] = new JsonArray([.. _registrations.Select(r => (JsonNode)new JsonObject { ["id"] = r.Id, ["name"] = r.Name })]),
                ["pings"] = _pings.Count,
                ["status_reports"] = new JsonArray([.. _statusReports.Select(r => (JsonNode)new JsonObject { ["connector_id"] = r.ConnectorId, ["status"] = r.Status })]),
                ["log_reports"] = new JsonArray([.. _logReports.Select(r => (JsonNode)new JsonObject
                {
                    ["connector_id"] = r.ConnectorId,
                    ["lines"] = new JsonArray([.. r.Lines.Select(l => (JsonNode)JsonValue.Create(l))]),
                })]),
                ["health_reports"] = new JsonArray([.. _healthReports.Select(r => (JsonNode)new JsonObject
                {
                    ["connector_id"] = r.ConnectorId,
                    ["restart_count"] = r.RestartCount,
                    ["started_at"] = r.StartedAt,
                    ["is_in_reboot_loop"] = r.IsInRebootLoop,
                })]),
                ["rejections"] = new JsonArray([.. _rejections.Select(r => (JsonNode)JsonValue.Create(r))]),
                ["requests"] = _requests.Count,
            };
            return state.ToJsonString(Relaxed);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _app.StopAsync(cts.Token);
            await _app.DisposeAsync();
        }
        lock (_gate) _managerKey?.Dispose();
        GC.SuppressFinalize(this);
    }
}

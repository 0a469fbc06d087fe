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
/// What the OpenCTI and OpenAEV stand-ins share: a Kestrel server on 127.0.0.1, the platform state (API tokens and
/// their capabilities, the registered manager, the connectors with their tokens, logs and health, the platform's
/// proxy settings, injected faults), the record of what the manager sent, and the control API (under /_standin/ on
/// the same port, described in <see cref="ControlAsync"/>'s comment and in the README's fixtures section).
/// Time is the stand-in's <see cref="Clock"/> (the system clock plus an offset the control API can advance).
/// </summary>
public abstract partial class PlatformStandIn : IAsyncDisposable
{
    public const string DefaultToken = "standin-token-7c1e";

    /// <summary>OpenCTI keeps a connector's health this long (connector-&lt;id&gt;-health, expiry 300 s).</summary>
    public static readonly TimeSpan HealthKept = TimeSpan.FromSeconds(300);

    /// <summary>A manager is active while its last ping is younger than this.</summary>
    public static readonly TimeSpan ActiveWindow = TimeSpan.FromMinutes(5);

    /// <summary>Like Node's JSON.stringify: '+', '&lt;', quotes in text and non-ASCII are not escaped.</summary>
    protected static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly Lock _gate = new();
    private readonly Dictionary<string, HashSet<string>> _tokens = new(StringComparer.Ordinal);
    private readonly List<StandInConnector> _connectors = [];
    private readonly List<(int? Position, string Json)> _rawEntries = [];
    private readonly Dictionary<StandInOperation, StandInFault> _faults = [];
    private readonly List<StandInRequest> _requests = [];
    private readonly List<StandInRegistration> _registrations = [];
    private readonly List<(string ManagerId, DateTimeOffset At)> _pings = [];
    private readonly List<StandInStatusReport> _statusReports = [];
    // When each status report arrived (same index as _statusReports): benchmarks time a crash's report from it.
    private readonly List<DateTimeOffset> _statusReportTimes = [];
    private readonly List<StandInLogReport> _logReports = [];
    private readonly List<StandInHealthArrival> _healthReports = [];
    private readonly Dictionary<string, IReadOnlyList<string>> _currentLogs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, StandInHealthArrival> _currentHealth = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _connectorTokens = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Connector, string Key, string Value, int Version), string> _ciphertexts = [];
    private readonly List<string> _rejections = [];
    private readonly List<string> _startedOnceDeployed = [];
    private readonly Dictionary<string, int> _listings = new(StringComparer.Ordinal);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private StandInRegistration? _manager;
    private DateTimeOffset? _managerLastSync;
    private RSA? _managerKey;
    private WebApplication? _app;

    protected PlatformStandIn(string token)
    {
        Token = token;
        _tokens[token] = ["BYPASS"];
    }

    /// <summary>The API token the manager is configured with (an administrator's: capability BYPASS).</summary>
    public string Token { get; }

    /// <summary>The stand-in's clock: health expiry, manager activity, arrival times, the auto-upgrade wait.</summary>
    public StandInClock Clock { get; } = new();

    /// <summary>The platform version (GetVersion / settings/version, and what pings return).</summary>
    public string Version
    {
        get { lock (_gate) return field; }
        set { lock (_gate) field = value; }
    } = "6.9.4";

    /// <summary>
    /// The platform's own entries (CONNECTOR_ID, CONNECTOR_NAME, CONNECTOR_TYPE, OPENCTI_TOKEN, the five proxy keys)
    /// in explicitly added connectors too, as a real OpenCTI lists them in every contract (the default); catalog and
    /// migrated connectors always carry them. False: explicit connectors list only their own entries.
    /// </summary>
    public bool InjectPlatformEntries
    {
        get { lock (_gate) return field; }
        set { lock (_gate) field = value; }
    } = true;

    public StandInPlatformProxy PlatformProxy
    {
        get { lock (_gate) return field; }
        set { lock (_gate) field = value; }
    } = new();

    /// <summary>The catalog manager's auto-upgrade wait before listings; null (the default): the catalog manager is off, no wait.</summary>
    public StandInAutoUpgrade? AutoUpgrade
    {
        get { lock (_gate) return field; }
        set { lock (_gate) field = value; }
    }

    public StandInListingShape ListingShape
    {
        get { lock (_gate) return field; }
        set { lock (_gate) field = value; }
    } = new();

    public int Port { get; private set; }

    /// <summary>The platform URL to configure (opencti.url / openaev.url).</summary>
    public string Url => $"http://127.0.0.1:{Port}";

    public StandInRegistration? Manager { get { lock (_gate) return _manager; } }

    /// <summary>When the manager last registered or pinged (OpenCTI last_sync_execution), on the stand-in clock.</summary>
    public DateTimeOffset? ManagerLastSync { get { lock (_gate) return _managerLastSync; } }

    /// <summary>OpenCTI's ConnectorManager.active: the last ping (or registration) is under 5 minutes old.</summary>
    public bool ManagerActive
    {
        get { lock (_gate) return _managerLastSync is { } last && Clock.GetUtcNow() - last < ActiveWindow; }
    }

    public IReadOnlyList<StandInConnector> Connectors { get { lock (_gate) return [.. _connectors]; } }
    public IReadOnlyList<StandInRequest> Requests { get { lock (_gate) return [.. _requests]; } }
    public IReadOnlyList<StandInRegistration> Registrations { get { lock (_gate) return [.. _registrations]; } }

    /// <summary>The manager id of every accepted ping.</summary>
    public IReadOnlyList<string> Pings { get { lock (_gate) return [.. _pings.Select(p => p.ManagerId)]; } }

    /// <summary>When each accepted ping arrived, on the stand-in clock.</summary>
    public IReadOnlyList<DateTimeOffset> PingTimes { get { lock (_gate) return [.. _pings.Select(p => p.At)]; } }

    public IReadOnlyList<StandInStatusReport> StatusReports { get { lock (_gate) return [.. _statusReports]; } }
    public IReadOnlyList<StandInLogReport> LogReports { get { lock (_gate) return [.. _logReports]; } }
    public IReadOnlyList<StandInHealthReport> HealthReports { get { lock (_gate) return [.. _healthReports.Select(h => h.Report)]; } }

    /// <summary>Every health report with its arrival time: "health reached the platform at least every 4 minutes" is read here.</summary>
    public IReadOnlyList<StandInHealthArrival> HealthArrivals { get { lock (_gate) return [.. _healthReports]; } }

    /// <summary>Requests refused because they were not what the real platform accepts (wrong document, variables, body, token, capability ...).</summary>
    public IReadOnlyList<string> Rejections { get { lock (_gate) return [.. _rejections]; } }

    /// <summary>The health the platform shows for a connector now: the last report, unless older than 300 s.</summary>
    public StandInHealthArrival? CurrentHealth(string connectorId)
    {
        lock (_gate) return CurrentHealthLocked(connectorId);
    }

    private StandInHealthArrival? CurrentHealthLocked(string connectorId) =>
        _currentHealth.TryGetValue(connectorId, out var health) && Clock.GetUtcNow() - health.ReceivedAt < HealthKept ? health : null;

    /// <summary>The logs the platform shows for a connector: the last upload (each one replaces the previous).</summary>
    public IReadOnlyList<string> CurrentLogs(string connectorId)
    {
        lock (_gate) return _currentLogs.GetValueOrDefault(connectorId) ?? [];
    }

    /// <summary>Accepts another API token, whose user holds these capabilities (e.g. CONNECTORAPI, SETTINGS_SETACCESSES, BYPASS).</summary>
    public void AddToken(string token, IEnumerable<string> capabilities)
    {
        lock (_gate) _tokens[token] = [.. capabilities];
    }

    public bool RemoveToken(string token)
    {
        lock (_gate) return _tokens.Remove(token);
    }

    /// <summary>The capabilities of the request's Bearer token; null when it carries no token the platform knows.</summary>
    protected IReadOnlySet<string>? Capabilities(HttpContext context)
    {
        var header = context.Request.Headers.Authorization;
        if (header.Count != 1 || header[0] is not { } value || !value.StartsWith("Bearer ", StringComparison.Ordinal)) return null;
        lock (_gate) return _tokens.TryGetValue(value["Bearer ".Length..], out var capabilities) ? capabilities : null;
    }

    /// <summary>True when the request carries a Bearer token the platform knows.</summary>
    protected bool HasToken(HttpContext context) => Capabilities(context) is not null;

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

    /// <summary>
    /// Adds a connector the catalog way (OpenCTI managedConnectorAdd): name cleaned (runs of non-alphanumerics to
    /// '-', lower case, trimmed, 63 characters at most) and refused when taken, requested status <c>stopped</c>
    /// (OpenAEV: <c>stopping</c>, current <c>stopped</c>), hash computed, the platform's entries injected, state
    /// timestamp now. With <paramref name="migrated"/> (connectorMigrateToManaged) the name is kept as given, taken or not.
    /// With <paramref name="startOnceDeployed"/>, a scripted user starts it once it shows up deployed.
    /// </summary>
    /// <returns>The stored connector.</returns>
    public StandInConnector AddCatalogConnector(string name, string image, IReadOnlyList<StandInEntry>? configuration = null, string? id = null,
        string type = "EXTERNAL_IMPORT", bool migrated = false, bool startOnceDeployed = false)
    {
        StandInConnector connector;
        lock (_gate)
        {
            var storedName = migrated ? name : CleanName(name);
            if (storedName.Length < 2) throw new ArgumentException($"Invalid connector name \"{name}\"");
            if (!migrated && _connectors.Any(c => c.Name == storedName)) throw new InvalidOperationException("CONNECTOR_NAME_ALREADY_EXISTS");
            connector = new StandInConnector(id ?? Guid.NewGuid().ToString(), storedName, image, null, CatalogRequestedStatus, CatalogCurrentStatus)
            {
                Configuration = configuration ?? [],
                Origin = migrated ? StandInOrigin.Migrated : StandInOrigin.Catalog,
                Type = type,
                StateTimestamp = Clock.GetUtcNow(),
                StartOnceDeployed = startOnceDeployed,
            };
            if (_connectors.Any(c => c.Id == connector.Id)) throw new InvalidOperationException($"a connector with id {connector.Id} exists");
            _connectors.Add(connector);
        }
        Signal();
        return connector;
    }

    /// <summary>The requested status a catalog add stores (OpenCTI "stopped", OpenAEV "stopping").</summary>
    public abstract string CatalogRequestedStatus { get; }

    /// <summary>The current status a catalog add stores (OpenCTI none, OpenAEV "stopped").</summary>
    public abstract string? CatalogCurrentStatus { get; }

    /// <summary>OpenCTI's sanitizeContainerName.</summary>
    public static string CleanName(string label)
    {
        var cleaned = NonAlphanumerics().Replace(label, "-").ToLowerInvariant().Trim('-');
        if (cleaned.Length > 63) cleaned = cleaned[..63].TrimEnd('-');
        return cleaned;
    }

    [System.Text.RegularExpressions.GeneratedRegex("[^a-zA-Z0-9]+")]
    private static partial System.Text.RegularExpressions.Regex NonAlphanumerics();

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

    /// <summary>The start and stop buttons (updateConnectorRequestedStatus): requested status starting / stopping.</summary>
    public bool RequestStatus(string id, bool start) => UpdateConnector(id, c => c with { RequestedStatus = start ? "starting" : "stopping" });

    /// <summary>Renews the connector's platform token (OPENCTI_TOKEN): a new token, a new ciphertext, a new contract hash.</summary>
    public bool RenewToken(string id)
    {
        lock (_gate)
        {
            if (_connectors.All(c => c.Id != id)) return false;
            _connectorTokens[id] = NewConnectorToken();
        }
        Signal();
        return true;
    }

    /// <summary>Resets the connector's state (resetStateConnector): a new state timestamp, so a new contract hash.</summary>
    public bool ResetState(string id) => UpdateConnector(id, c => c with { StateTimestamp = Clock.GetUtcNow() });

    public StandInConnector? GetConnector(string id)
    {
        lock (_gate) return _connectors.Find(c => c.Id == id);
    }

    /// <summary>The platform token of a connector (plaintext, what OPENCTI_TOKEN decrypts to), created on first use.</summary>
    public string ConnectorToken(string id)
    {
        lock (_gate) return ConnectorTokenLocked(id);
    }

    private string ConnectorTokenLocked(string id)
    {
        if (!_connectorTokens.TryGetValue(id, out var token)) _connectorTokens[id] = token = NewConnectorToken();
        return token;
    }

    private static string NewConnectorToken() => Guid.NewGuid().ToString();

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

    /// <summary>Forgets the registered manager, as a reset platform (or a deleted manager) would: its next ping finds nothing to update.</summary>
    public void ForgetManager()
    {
        lock (_gate)
        {
            _manager = null;
            _managerLastSync = null;
            _managerKey?.Dispose();
            _managerKey = null;
            _ciphertexts.Clear();
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
        // Log uploads of a flooding connector are large: let them arrive and be judged by the test, not by Kestrel.
        builder.WebHost.UseKestrel(o =>
        {
            o.Listen(IPAddress.Parse(host), port);
            o.Limits.MaxRequestBodySize = 512L * 1024 * 1024;
        });
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
            // The client gave up (a timeout fault, a held listing): nothing to answer.
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
    protected enum FieldType { NonEmptyString, NonBlankString, String, Int32, Count, Bool, Strings, CurrentStatus, Rfc3339 }

    protected static bool IsValid(JsonElement value, FieldType type) => type switch
    {
        FieldType.NonEmptyString => value.ValueKind == JsonValueKind.String && value.GetString()!.Length > 0,
        FieldType.NonBlankString => value.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(value.GetString()),
        FieldType.String => value.ValueKind == JsonValueKind.String,
        FieldType.Int32 => value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out _),
        FieldType.Count => value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var n) && n >= 0,
        FieldType.Bool => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
        FieldType.Strings => value.ValueKind == JsonValueKind.Array && value.EnumerateArray().All(l => l.ValueKind == JsonValueKind.String),
        FieldType.CurrentStatus => value.ValueKind == JsonValueKind.String && value.GetString() is "started" or "stopped",
        _ => value.ValueKind == JsonValueKind.String && GraphQlEngine.IsRfc3339(value.GetString()!),
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

    protected enum RegisterOutcome { Registered, Updated, AnotherManagerExists }

    /// <summary>
    /// Registers the manager: a known id is updated (name, key, last sync); a new id while another manager exists is
    /// refused (<paramref name="oneManager"/>) or replaces it.
    /// </summary>
    protected RegisterOutcome Register(string id, string name, string publicKeyPem, RSA publicKey, bool oneManager = true)
    {
        RegisterOutcome outcome;
        lock (_gate)
        {
            if (_manager is not null && _manager.Id != id && oneManager) return RegisterOutcome.AnotherManagerExists;
            outcome = _manager?.Id == id ? RegisterOutcome.Updated : RegisterOutcome.Registered;
            if (_manager?.PublicKeyPem != publicKeyPem) _ciphertexts.Clear();
            _manager = new StandInRegistration(id, name, publicKeyPem);
            _managerLastSync = Clock.GetUtcNow();
            _managerKey?.Dispose();
            _managerKey = publicKey;
            _registrations.Add(_manager);
        }
        Signal();
        return outcome;
    }

    protected bool IsRegisteredManager(string id)
    {
        lock (_gate) return _manager?.Id == id;
    }

    protected bool HasManager
    {
        get { lock (_gate) return _manager is not null; }
    }

    /// <summary>Records an accepted ping: the manager's last sync is now.</summary>
    protected void RecordPing(string managerId)
    {
        lock (_gate)
        {
            var now = Clock.GetUtcNow();
            _pings.Add((managerId, now));
            _managerLastSync = now;
        }
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
                _statusReportTimes.Add(Clock.GetUtcNow());
                StartIfDeployedLocked(i);
            }
        }
        Signal();
        return updated;
    }

    /// <summary>
    /// The user's start button for a connector added with <see cref="StandInConnector.StartOnceDeployed"/>: pressed once
    /// the platform sees the connector deployed (a status report, or its logs arriving), or once it was listed twice to
    /// the registered manager (OpenAEV's catalog adds are already shown stopped, so no status report comes for them).
    /// </summary>
    private void StartIfDeployedLocked(int i)
    {
        if (!_connectors[i].StartOnceDeployed) return;
        _connectors[i] = _connectors[i] with { StartOnceDeployed = false, RequestedStatus = "starting" };
        _startedOnceDeployed.Add(_connectors[i].Id);
    }

    /// <summary>The connectors the scripted user started once they showed up deployed, in that order.</summary>
    public IReadOnlyList<string> StartedOnceDeployed { get { lock (_gate) return [.. _startedOnceDeployed]; } }

    /// <summary>Records an upload; it replaces the connector's shown logs. <paramref name="knownOnly"/>: refuse (false) for an unknown connector.</summary>
    protected bool ReportLogs(string connectorId, IReadOnlyList<string> lines, bool knownOnly)
    {
        lock (_gate)
        {
            var i = _connectors.FindIndex(c => c.Id == connectorId);
            if (knownOnly && i < 0) return false;
            _logReports.Add(new StandInLogReport(connectorId, lines));
            _currentLogs[connectorId] = lines;
            if (i >= 0) StartIfDeployedLocked(i);
        }
        Signal();
        return true;
    }

    /// <summary>Records a health report with its arrival time; false when <paramref name="knownOnly"/> and the connector is unknown.</summary>
    protected bool ReportHealth(StandInHealthReport report, bool knownOnly)
    {
        lock (_gate)
        {
            if (knownOnly && _connectors.All(c => c.Id != report.ConnectorId)) return false;
            var arrival = new StandInHealthArrival(report, Clock.GetUtcNow());
            _healthReports.Add(arrival);
            _currentHealth[report.ConnectorId] = arrival;
        }
        Signal();
        return true;
    }

    /// <summary>A listed entry of a contract, as the platform sends it (value already encrypted when it is a secret).</summary>
    protected sealed record ListedEntry(string Key, string? Value, bool? Encrypted);

    /// <summary>What the platform lists for a connector (one consistent snapshot, so that the hash matches the entries).</summary>
    protected sealed record ListedConnector(StandInConnector Connector, IReadOnlyList<ListedEntry>? Entries, string? Hash,
        IReadOnlyList<string> Logs, StandInHealthArrival? Health);

    /// <summary>
    /// The connectors as listed now, padding included; entries and hash null when no manager is registered (the
    /// platform cannot encrypt a contract without the manager's key). <paramref name="injects"/>: this platform adds its own entries.
    /// </summary>
    protected List<ListedConnector> ListedConnectors(bool injects)
    {
        lock (_gate)
        {
            var shape = ListingShape;
            var connectors = new List<StandInConnector>(_connectors);
            if (shape.PadBytes > 0 && !shape.PadAsConnectors && connectors.Count > 0)
            {
                // Values of at most 64 MB: System.Text.Json writes no string token longer than about 166 MB.
                const int LargestValue = 64_000_000;
                var padding = new List<StandInEntry>();
                for (long left = shape.PadBytes; left > 0; left -= LargestValue)
                {
                    padding.Add(new StandInEntry(padding.Count == 0 ? "STANDIN_PADDING" : $"STANDIN_PADDING_{padding.Count}", new string('x', (int)Math.Min(left, LargestValue))));
                }
                connectors[0] = connectors[0] with { Configuration = [.. connectors[0].Configuration, .. padding] };
            }
            else if (shape.PadBytes > 0)
            {
                var padding = new string('x', 1000);
                for (var i = 0; i < (shape.PadBytes + 999) / 1000; i++)
                {
                    connectors.Add(new StandInConnector($"standin-padding-{i}", $"padding-{i}", "composer-test/padding:none", "padding", "stopping")
                    {
                        Configuration = [new StandInEntry("STANDIN_PADDING", padding)],
                    });
                }
            }
            List<ListedConnector> listed = [.. connectors.Select(c => ListLocked(c, injects))];
            if (_managerKey is not null) CountListingLocked();
            return listed;
        }
    }

    /// <summary>
    /// Counts a listing served to the registered manager. The second one of a connector means the manager had a whole
    /// cycle to deploy it: for OpenAEV, whose catalog adds are shown stopped from the start (so no status report comes),
    /// that is when the scripted user presses start.
    /// </summary>
    private void CountListingLocked()
    {
        for (var i = 0; i < _connectors.Count; i++)
        {
            var id = _connectors[i].Id;
            _listings[id] = _listings.GetValueOrDefault(id) + 1;
            if (_listings[id] >= 2) StartIfDeployedLocked(i);
        }
    }

    /// <summary>One connector as listed now (status and health reports answer with it too).</summary>
    protected ListedConnector Listed(StandInConnector connector, bool injects)
    {
        lock (_gate) return ListLocked(connector, injects);
    }

    private ListedConnector ListLocked(StandInConnector c, bool injects)
    {
        var logs = _currentLogs.GetValueOrDefault(c.Id) ?? [];
        var health = CurrentHealthLocked(c.Id);
        if (_managerKey is not { } key) return new ListedConnector(c, null, c.Hash, logs, health);
        var entries = EntriesLocked(c, key, injects && (c.IsPlatformManaged || InjectPlatformEntries));
        return new ListedConnector(c, entries, c.Hash ?? ContractHash(c, entries), logs, health);
    }

    private List<ListedEntry> EntriesLocked(StandInConnector c, RSA key, bool inject)
    {
        var entries = new List<ListedEntry>();
        foreach (var e in c.Configuration)
        {
            if (inject && ProxyKeys.Contains(e.Key)) continue; // the platform's proxy settings replace stored ones
            entries.Add(new ListedEntry(e.Key, EntryValueLocked(c.Id, key, e), e.Encrypted));
        }
        if (!inject) return entries;
        entries.Add(new ListedEntry("CONNECTOR_ID", c.Id, null));
        entries.Add(new ListedEntry("CONNECTOR_NAME", c.Name, null));
        entries.Add(new ListedEntry("CONNECTOR_TYPE", c.Type, null));
        entries.Add(new ListedEntry("OPENCTI_TOKEN", EntryValueLocked(c.Id, key, StandInEntry.Secret("OPENCTI_TOKEN", ConnectorTokenLocked(c.Id))), true));
        foreach (var (proxyKey, value) in ProxyEntries(PlatformProxy)) entries.Add(new ListedEntry(proxyKey, value, null));
        return entries;
    }

    private static readonly string[] ProxyKeys = ["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "HTTPS_CA_CERTIFICATES", "HTTPS_PROXY_REJECT_UNAUTHORIZED"];

    /// <summary>
    /// OpenCTI's proxy-config: NO_PROXY trimmed, deduplicated, without entries Python's urllib cannot use (a '*' not
    /// in a leading-dot suffix, a CIDR); CA certificates joined by a newline; reject_unauthorized as "true"/"false".
    /// </summary>
    public static IReadOnlyList<(string Key, string Value)> ProxyEntries(StandInPlatformProxy proxy)
    {
        var noProxy = string.Join(",", proxy.NoProxy.Split(',').Select(s => s.Trim()).Where(s => s.Length > 0).Distinct(StringComparer.Ordinal)
            .Where(s => !(s.Contains('*') && !s.StartsWith('.')) && !Cidr().IsMatch(s)));
        var ca = string.Join("\n", proxy.CaCertificates ?? []);
        var entries = new List<(string Key, string Value)>
        {
            ("HTTP_PROXY", proxy.HttpProxy), ("HTTPS_PROXY", proxy.HttpsProxy), ("NO_PROXY", noProxy), ("HTTPS_CA_CERTIFICATES", ca),
        };
        if (proxy.OmitEmpty) entries.RemoveAll(e => e.Value.Length == 0);
        entries.Add(("HTTPS_PROXY_REJECT_UNAUTHORIZED", proxy.RejectUnauthorized ? "true" : "false"));
        return entries;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"/\d{1,2}$")]
    private static partial System.Text.RegularExpressions.Regex Cidr();

    /// <summary>
    /// The contract hash as the platform computes it: over the image, every listed key and value (ciphertexts
    /// included) and the state timestamp (a short SHA-256 here; OpenCTI's own shortHash differs, its inputs do not).
    /// </summary>
    private static string ContractHash(StandInConnector c, IReadOnlyList<ListedEntry> entries)
    {
        var text = new StringBuilder(c.Image).Append('\n');
        foreach (var e in entries) text.Append(e.Key).Append('|').Append(e.Value).Append('\n');
        text.Append(c.StateTimestamp?.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..16];
    }

    /// <summary>The wire value of an entry: plaintext, or encrypted once for the registered key and then listed the same.</summary>
    private string? EntryValueLocked(string connectorId, RSA key, StandInEntry entry)
    {
        if (!entry.Encrypted) return entry.Value;
        if (entry.RawCiphertext is not null || entry.Value is null) return entry.RawCiphertext;
        var cacheKey = (connectorId, entry.Key, entry.Value, entry.Version);
        if (!_ciphertexts.TryGetValue(cacheKey, out var ciphertext)) _ciphertexts[cacheKey] = ciphertext = SecretEncryption.Encrypt(key, entry.Value, entry.Version);
        return ciphertext;
    }

    /// <summary>The raw entries to insert into a listing, with their positions.</summary>
    protected List<(int? Position, string Json)> RawEntries()
    {
        lock (_gate) return [.. _rawEntries];
    }

    /// <summary>Inserts the raw entries into a listed array, at their positions (default: last).</summary>
    protected void InsertRawEntries(JsonArray list)
    {
        foreach (var (position, json) in RawEntries())
        {
            list.Insert(position is { } p ? Math.Clamp(p, 0, list.Count) : list.Count, JsonNode.Parse(json));
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

    /// <summary>Writes a listing answer, slowly when <see cref="ListingShape"/> says to dribble.</summary>
    protected async Task WriteListingAsync(HttpContext context, int status, JsonNode? body)
    {
        var shape = ListingShape;
        if (shape.DribbleBytes <= 0)
        {
            await WriteJsonAsync(context, status, body);
            return;
        }
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        var bytes = Encoding.UTF8.GetBytes(body?.ToJsonString(Relaxed) ?? "null");
        for (var offset = 0; offset < bytes.Length; offset += shape.DribbleBytes)
        {
            await context.Response.Body.WriteAsync(bytes.AsMemory(offset, Math.Min(shape.DribbleBytes, bytes.Length - offset)), context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            if (offset + shape.DribbleBytes < bytes.Length) await Task.Delay(shape.DribbleInterval, context.RequestAborted);
        }
    }

    /// <summary>
    /// The catalog manager's auto-upgrade wait (managed-connector-auto-upgrade-readiness): returns once upgrades have
    /// settled (checked every poll interval), or false when the timeout passed first.
    /// </summary>
    protected async Task<bool> WaitForAutoUpgradeAsync(CancellationToken cancellationToken)
    {
        if (AutoUpgrade is not { } wait) return true;
        var timeoutAt = Clock.GetUtcNow() + wait.Timeout;
        while (Clock.GetUtcNow() < timeoutAt)
        {
            if (AutoUpgrade is not { } current || current.ReadyAt is { } ready && Clock.GetUtcNow() >= ready) return true;
            var left = timeoutAt - Clock.GetUtcNow();
            await Task.Delay(left < current.Poll ? left : current.Poll, cancellationToken);
        }
        return false;
    }

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

    /// <summary>The whole state as the control API shows it (no token, no decrypted secret).</summary>
    public string StateJson()
    {
        lock (_gate)
        {
            var now = Clock.GetUtcNow();
            var state = new JsonObject
            {
                ["version"] = Version,
                ["now"] = now.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                ["manager"] = _manager is null ? null : new JsonObject
                {
                    ["id"] = _manager.Id,
                    ["name"] = _manager.Name,
                    ["public_key"] = _manager.PublicKeyPem,
                    ["last_sync_execution"] = _managerLastSync?.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                    ["active"] = _managerLastSync is { } last && now - last < ActiveWindow,
                },
                ["connectors"] = new JsonArray([.. _connectors.Select(c =>
                {
                    var node = StandInJson.WriteConnector(c);
                    node["current_health"] = CurrentHealthLocked(c.Id) is { } h ? StandInJson.WriteHealth(h) : null;
                    node["current_logs"] = new JsonArray([.. (_currentLogs.GetValueOrDefault(c.Id) ?? []).Select(l => (JsonNode)JsonValue.Create(l))]);
                    return node;
                })]),
                ["registrations"] = new JsonArray([.. _registrations.Select(r => (JsonNode)new JsonObject { ["id"] = r.Id, ["name"] = r.Name })]),
                ["pings"] = _pings.Count,
                ["ping_times"] = new JsonArray([.. _pings.Select(p => (JsonNode)JsonValue.Create(p.At.ToString("O", System.Globalization.CultureInfo.InvariantCulture)))]),
                ["status_reports"] = new JsonArray([.. _statusReports.Select((r, i) => (JsonNode)new JsonObject
                {
                    ["connector_id"] = r.ConnectorId,
                    ["status"] = r.Status,
                    ["received_at"] = _statusReportTimes[i].ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                })]),
                ["log_reports"] = new JsonArray([.. _logReports.Select(r => (JsonNode)new JsonObject
                {
                    ["connector_id"] = r.ConnectorId,
                    ["lines"] = new JsonArray([.. r.Lines.Select(l => (JsonNode)JsonValue.Create(l))]),
                })]),
                ["health_reports"] = new JsonArray([.. _healthReports.Select(StandInJson.WriteHealth)]),
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

/// <summary>
/// The stand-ins' clock: the system clock plus an offset that tests (or the control API) move forward. Not a
/// FakeTimeProvider: the binary under test runs in real time against the stand-in, so this clock must keep moving
/// (uptimes, the auto-upgrade wait); tests only jump it ahead.
/// </summary>
public sealed class StandInClock : TimeProvider
{
    private long _offsetTicks;

    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));

    public void Advance(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
}

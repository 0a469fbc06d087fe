using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Composer.Tests.Infrastructure;

/// <summary>One request the stand-in answered: the Docker path after /api/endpoints/{id}/docker (or the whole path), and what it carried; status 0 when it was held.</summary>
public sealed record PortainerRequest(string Method, string DockerPath, string Query, int Status, string? ApiKey, string? RegistryAuth);

/// <summary>
/// A Portainer stand-in (Kestrel on 127.0.0.1, plain HTTP or HTTPS with a certificate of its own test CA): it checks
/// X-API-Key (401 otherwise) and the environment id (404 for another one), answering with Portainer's JSON error shape
/// {"message": ..., "details": ...}, and forwards /api/endpoints/{id}/docker/{rest} to the real engine's Unix socket,
/// streaming bodies both ways (pulls, logs, archive uploads), so deployments through it really run containers.
/// Every request is recorded. Faults: failing container lists (<see cref="FailContainerLists"/>), and Docker calls held
/// unanswered and not forwarded (<see cref="Hold"/>), e.g. to kill the manager between a create and its start, until
/// they are forwarded late (<see cref="Release"/>).
/// </summary>
public sealed class PortainerStandIn : IAsyncDisposable
{
    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "TE", "Trailer", "Host", "X-API-Key",
    };

    private readonly WebApplication _app;
    private readonly HttpClient _engine;
    private readonly ConcurrentQueue<PortainerRequest> _requests = new();
    private readonly Lock _gate = new();
    private readonly RequestHold _hold = new();
    private int _failContainerLists;
    private CancellationTokenSource _eventStreams = new();

    private PortainerStandIn(WebApplication app, HttpClient engine, string environmentId, TestCertificateAuthority? ca)
    {
        _app = app;
        _engine = engine;
        EnvironmentId = environmentId;
        Ca = ca;
        ApiKey = "ptr_" + Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)).Replace('+', '-').Replace('/', '_');
    }

    /// <summary>The accepted X-API-Key.</summary>
    public string ApiKey { get; }

    /// <summary>The id of the one Docker environment it serves.</summary>
    public string EnvironmentId { get; }

    /// <summary>The CA of its HTTPS certificate (null over plain HTTP).</summary>
    public TestCertificateAuthority? Ca { get; }

    /// <summary>http(s)://127.0.0.1:port (or the host name): the value of daemon.portainer.api.</summary>
    public Uri Api { get; private set; } = null!;

    public IReadOnlyList<PortainerRequest> Requests => _requests.ToArray();

    /// <summary>
    /// The number of next container lists (GET .../docker/v*/containers/json) answered 500 in Portainer's error shape;
    /// -1: all of them. While it is not 0 the engine's event streams (GET .../events) fail the same way and the open
    /// ones are cut: the engine behind Portainer is unusable, not only its list call.
    /// </summary>
    public int FailContainerLists
    {
        get { lock (_gate) return _failContainerLists; }
        set
        {
            CancellationTokenSource? cut = null;
            lock (_gate)
            {
                _failContainerLists = value;
                if (value != 0)
                {
                    cut = _eventStreams;
                    _eventStreams = new CancellationTokenSource();
                }
            }
            cut?.Cancel();
        }
    }

    private bool _refuseEvents;

    /// <summary>
    /// While set, the engine's event streams fail (500 in Portainer's error shape) and setting it cuts the open ones,
    /// while every other call still works: only the events are gone.
    /// </summary>
    public bool RefuseEvents
    {
        get { lock (_gate) return _refuseEvents; }
        set
        {
            CancellationTokenSource? cut = null;
            lock (_gate)
            {
                _refuseEvents = value;
                if (value)
                {
                    cut = _eventStreams;
                    _eventStreams = new CancellationTokenSource();
                }
            }
            cut?.Cancel();
        }
    }

    /// <summary>
    /// From now on, Docker calls whose "METHOD /docker-path" (e.g. "POST /v1.41/containers/{id}/start") matches
    /// <paramref name="pattern"/> are neither forwarded nor answered until their client goes away; the task completes
    /// with the first one. <see cref="StopHolding"/> ends it; <see cref="Release"/> ends it and forwards the held calls.
    /// </summary>
    public Task<string> Hold(string pattern) => _hold.Hold(pattern);

    public void StopHolding() => _hold.StopHolding();

    /// <summary>The calls held so far are forwarded (late, as through a slow Portainer) and no more are held.</summary>
    public void Release() => _hold.Release();

    public void ClearRequests() => _requests.Clear();

    /// <param name="engineSocket">The engine's Unix socket the Docker calls are forwarded to.</param>
    /// <param name="https">Serve HTTPS with a certificate for its address signed by a fresh test CA (<see cref="Ca"/>).</param>
    /// <param name="hostName">A name of tests/hosts.txt to serve as (its address, and in the certificate), e.g. to be reached through a proxy; default 127.0.0.1.</param>
    public static async Task<PortainerStandIn> StartAsync(string engineSocket, bool https = false, string environmentId = "3", string? hostName = null)
    {
        var address = hostName is null ? IPAddress.Loopback : IPAddress.Parse(HostsList.AddressOf(hostName));
        var ca = https ? new TestCertificateAuthority("Composer test Portainer CA " + Guid.NewGuid().ToString("N")[..8]) : null;
        var certificate = ca?.Issue("portainer", hostName is null ? ["localhost"] : [hostName], [address]);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Listen(address, 0, listen =>
            {
                if (certificate is not null) listen.UseHttps(certificate);
            });
        });
        var app = builder.Build();
        var engine = new HttpClient(new SocketsHttpHandler
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(engineSocket), cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
            UseProxy = false,
            AllowAutoRedirect = false,
        }) { Timeout = Timeout.InfiniteTimeSpan, BaseAddress = new Uri("http://docker/") };
        var standIn = new PortainerStandIn(app, engine, environmentId, ca);
        app.Run(standIn.HandleAsync);
        await app.StartAsync();
        var bound = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        standIn.Api = new Uri($"{(https ? "https" : "http")}://{hostName ?? "127.0.0.1"}:{bound.Port}");
        return standIn;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "/";
        var apiKey = request.Headers.TryGetValue("X-API-Key", out var key) ? key.ToString() : null;
        var registryAuth = request.Headers.TryGetValue("X-Registry-Auth", out var auth) ? auth.ToString() : null;
        var segments = path.Split('/', 6);
        // "", "api", "endpoints", "{id}", "docker", "{rest}"
        var dockerPath = segments.Length >= 5 && segments[1] == "api" && segments[2] == "endpoints" && segments[4] == "docker"
            ? "/" + (segments.Length == 6 ? segments[5] : "")
            : null;
        int status;
        if (apiKey is null)
        {
            status = await ErrorAsync(context, 401, "A valid authorisation token is missing", "Unauthorized");
        }
        else if (!CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(apiKey), System.Text.Encoding.UTF8.GetBytes(ApiKey)))
        {
            status = await ErrorAsync(context, 401, "Invalid API key", "Unauthorized");
        }
        else if (dockerPath is null)
        {
            status = await ErrorAsync(context, 404, "Not found", "the stand-in serves /api/endpoints/{id}/docker/* only");
        }
        else if (segments[3] != EnvironmentId)
        {
            status = await ErrorAsync(context, 404, "Unable to find an environment with the specified identifier inside the database",
                "Object not found inside the database");
        }
        else if (FailsContainerList(request.Method, dockerPath))
        {
            status = await ErrorAsync(context, 500, "Unable to proxy the request via the Docker socket", "injected container list failure");
        }
        else if (_hold.Holds($"{request.Method} {dockerPath}", out var released))
        {
            // Recorded once, when held (status 0): released, it is forwarded late and not recorded again.
            _requests.Enqueue(new PortainerRequest(request.Method, dockerPath, request.QueryString.Value ?? "", 0, apiKey, registryAuth));
            if (await RequestHold.UntilReleasedAsync(released, context.RequestAborted)) await ForwardAsync(context, dockerPath);
            return;
        }
        else
        {
            status = await ForwardAsync(context, dockerPath);
        }
        _requests.Enqueue(new PortainerRequest(request.Method, dockerPath ?? path, request.QueryString.Value ?? "", status, apiKey, registryAuth));
    }

    private bool FailsContainerList(string method, string dockerPath)
    {
        lock (_gate)
        {
            if ((_failContainerLists != 0 || _refuseEvents) && method == "GET" && IsEvents(dockerPath)) return true;
            if (_failContainerLists == 0 || method != "GET" || !dockerPath.EndsWith("/containers/json", StringComparison.Ordinal)) return false;
            if (_failContainerLists > 0) _failContainerLists--;
            return true;
        }
    }

    private static bool IsEvents(string dockerPath) => dockerPath.EndsWith("/events", StringComparison.Ordinal);

    private static async Task<int> ErrorAsync(HttpContext context, int status, string message, string details)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(new JsonObject { ["message"] = message, ["details"] = details }.ToJsonString());
        return status;
    }

    /// <summary>The request to the engine as it came (minus the API key and hop-by-hop headers), the answer streamed back.</summary>
    private async Task<int> ForwardAsync(HttpContext context, string dockerPath)
    {
        var request = context.Request;
        using var forward = new HttpRequestMessage(new HttpMethod(request.Method), dockerPath.TrimStart('/') + request.QueryString.Value);
        var hasBody = request.ContentLength > 0 || request.Headers.ContainsKey("Transfer-Encoding");
        if (hasBody) forward.Content = new StreamContent(request.Body);
        foreach (var (name, values) in request.Headers)
        {
            if (HopByHop.Contains(name)) continue;
            if (!forward.Headers.TryAddWithoutValidation(name, values.ToArray()) && forward.Content is not null)
            {
                forward.Content.Headers.TryAddWithoutValidation(name, values.ToArray());
            }
        }
        CancellationToken cut;
        lock (_gate) cut = IsEvents(dockerPath) ? _eventStreams.Token : CancellationToken.None;
        using var forwarding = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, cut);
        using var answer = await _engine.SendAsync(forward, HttpCompletionOption.ResponseHeadersRead, forwarding.Token);
        var response = context.Response;
        response.StatusCode = (int)answer.StatusCode;
        foreach (var (name, values) in answer.Headers.Concat(answer.Content.Headers))
        {
            if (!HopByHop.Contains(name)) response.Headers[name] = values.ToArray();
        }
        await using var body = await answer.Content.ReadAsStreamAsync(forwarding.Token);
        var buffer = new byte[16 * 1024];
        int read;
        try
        {
            while ((read = await body.ReadAsync(buffer, forwarding.Token)) > 0)
            {
                await response.Body.WriteAsync(buffer.AsMemory(0, read), forwarding.Token);
                await response.Body.FlushAsync(forwarding.Token);
            }
        }
        catch (OperationCanceledException) when (cut.IsCancellationRequested)
        {
            // An event stream cut: the connection is dropped mid-answer, as an engine going away does.
            context.Abort();
        }
        return response.StatusCode;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _engine.Dispose();
        Ca?.Dispose();
    }
}

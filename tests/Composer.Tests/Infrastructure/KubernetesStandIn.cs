using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;

namespace Composer.Tests.Infrastructure;

/// <summary>One request the stand-in answered, with the RBAC (resource, verb) it needs.</summary>
public sealed record KubernetesRequest(string Method, string Path, string Query, string? Resource, string? Verb, string UserAgent, string? ContentType, int Status, string? User);

/// <summary>
/// A Kubernetes API server stand-in over HTTPS on 127.0.0.1 (Kestrel), signed by its own test CA, with bearer-token
/// and client-certificate authentication, so that a generated kubeconfig is used for real by Composer and by kubectl.
/// It serves what Composer and kubectl get/describe use, with the API's REST shapes: apps/v1 deployments (list with
/// labelSelector, get, create, JSON merge patch, delete), v1 pods (list, get) and pods/{name}/log (container,
/// tailLines, sinceTime, timestamps, limitBytes), v1 secrets (list, get, create, update with resourceVersion
/// conflicts, merge patch, delete), empty replicasets and events lists, discovery (/api, /apis, /api/v1,
/// /apis/apps/v1, /version), meta/v1 Table answers for kubectl, and Status objects for errors (401, 404 NotFound,
/// 409 AlreadyExists/Conflict, 415, 422 Invalid with the API's immutable-selector messages).
/// Like the controllers it replaces, it keeps one running pod per deployment scaled to 1 or more (a new pod when the
/// pod template changes) and none at 0; like a kubelet, it crash-loops the test connector image's crash mode
/// (KubernetesStandIn.CrashLoops.cs). Faults: failing deployment lists, a 409 on the next update of a secret, and
/// requests carried out but never answered (<see cref="HoldAnswers"/>), e.g. a deployment created while its creator is killed,
/// or answered late (<see cref="ReleaseAnswers"/>).
/// Every request is recorded with its (resource, verb); Composer's own (User-Agent composer/*) also in
/// <see cref="SessionComposerCalls"/> for the RBAC check.
/// </summary>
public sealed partial class KubernetesStandIn : IAsyncDisposable
{
    /// <summary>(resource, verb) of every request Composer made to any stand-in during the test session.</summary>
    public static ConcurrentDictionary<(string Resource, string Verb), int> SessionComposerCalls { get; } = new();

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<KubernetesRequest> _requests = new();
    private readonly Dictionary<string, string> _tokens = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly RequestHold _hold = new();

    private KubernetesStandIn(WebApplication app, TestCertificateAuthority ca, X509Certificate2 serverCertificate, TimeProvider time)
    {
        _app = app;
        Ca = ca;
        ServerCertificate = serverCertificate;
        _time = time;
        Token = "standin-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        _tokens[Token] = "composer";
    }

    /// <summary>The cluster CA: signs the server certificate and the client certificates it accepts.</summary>
    public TestCertificateAuthority Ca { get; }

    public X509Certificate2 ServerCertificate { get; }

    /// <summary>https://127.0.0.1:port</summary>
    public Uri Server { get; private set; } = null!;

    /// <summary>A bearer token the stand-in accepts (user "composer").</summary>
    public string Token { get; }

    public IReadOnlyList<KubernetesRequest> Requests => _requests.ToArray();

    /// <summary>The requests Composer made (User-Agent composer/*).</summary>
    public IReadOnlyList<KubernetesRequest> ComposerRequests => _requests.Where(r => r.UserAgent.StartsWith("composer/", StringComparison.Ordinal)).ToArray();

    /// <summary>The number of next deployment lists answered 500 (then normal again); -1: all of them.</summary>
    public int FailDeploymentLists { get; set; }

    /// <summary>The number of next pod lists answered 500.</summary>
    public int FailPodLists { get; set; }

    /// <param name="hostName">A name of tests/hosts.txt to serve as (its address, and in the certificate), e.g. to be reached through a proxy; default 127.0.0.1.</param>
    public static async Task<KubernetesStandIn> StartAsync(TimeProvider? time = null, string? hostName = null)
    {
        var ca = new TestCertificateAuthority("Composer test Kubernetes CA " + Guid.NewGuid().ToString("N")[..8]);
        var address = hostName is null ? IPAddress.Loopback : IPAddress.Parse(HostsList.AddressOf(hostName));
        var certificate = ca.Issue("kube-apiserver", hostName is null ? ["localhost", "kubernetes.default.svc"] : [hostName], [address]);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(address, 0, listen => listen.UseHttps(https =>
            {
                https.ServerCertificate = certificate;
                https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
                // Checked against the cluster CA per request (AuthenticateAsync): the handshake accepts any.
                https.AllowAnyClientCertificate();
            }));
        });
        var app = builder.Build();
        var standIn = new KubernetesStandIn(app, ca, certificate, time ?? TimeProvider.System);
        app.Run(standIn.HandleAsync);
        await app.StartAsync();
        standIn.StartKubelet();
        var bound = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        standIn.Server = new Uri($"https://{hostName ?? "127.0.0.1"}:{bound.Port}");
        return standIn;
    }

    /// <summary>
    /// From now on, requests whose "METHOD /path" matches <paramref name="pattern"/> are carried out (the object is
    /// created, updated...) but their answer is held until the client goes away; the task completes with the first
    /// one. <see cref="StopHolding"/> ends it; <see cref="ReleaseAnswers"/> ends it and sends the held answers.
    /// </summary>
    public Task<string> HoldAnswers(string pattern) => _hold.Hold(pattern);

    public void StopHolding() => _hold.StopHolding();

    /// <summary>The answers held so far are sent (late, as from a slow API server) and no more are held.</summary>
    public void ReleaseAnswers() => _hold.Release();

    /// <summary>Another accepted token, for user <paramref name="user"/> (e.g. kubectl's, so its calls are told apart).</summary>
    public string AddToken(string user)
    {
        var token = "standin-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        lock (_gate) _tokens[token] = user;
        return token;
    }

    /// <summary>Accept <paramref name="token"/> (as <paramref name="user"/>) from now on and stop accepting the others (a rotated service account token).</summary>
    public void RotateTokens(string token, string user = "composer")
    {
        lock (_gate)
        {
            _tokens.Clear();
            _tokens[token] = user;
        }
    }

    /// <summary>A client certificate (with key) the stand-in accepts as user <paramref name="user"/>.</summary>
    public X509Certificate2 IssueClientCertificate(string user) => Ca.IssueClient(user);

    /// <summary>
    /// Writes a kubeconfig for this server: the CA as certificate-authority-data, one context (current unless
    /// <paramref name="current"/> is false) with <paramref name="ns"/>, and a user with the token or, when
    /// <paramref name="clientCertificate"/> is given, that certificate and key as *-data fields.
    /// </summary>
    public string WriteKubeconfig(string path, string? ns = null, string? token = null, X509Certificate2? clientCertificate = null,
        string context = "standin", bool current = true)
    {
        var user = new StringBuilder();
        if (clientCertificate is not null)
        {
            user.Append($"    client-certificate-data: {Base64(clientCertificate.ExportCertificatePem())}\n");
            user.Append($"    client-key-data: {Base64(clientCertificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem())}\n");
        }
        else
        {
            user.Append($"    token: {token ?? Token}\n");
        }
        var yaml = $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: standin-cluster
              cluster:
                server: {Server.ToString().TrimEnd('/')}
                certificate-authority-data: {Base64(Ca.CertificatePem)}
            users:
            - name: standin-user
              user:
            {user}contexts:
            - name: {context}
              context:
                cluster: standin-cluster
                user: standin-user
            {(ns is null ? "" : $"    namespace: {ns}\n")}{(current ? $"current-context: {context}\n" : "")}
            """;
        File.WriteAllText(path, yaml);
        return path;
    }

    private static string Base64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "/";
        var segments = path.Trim('/').Split('/', StringSplitOptions.RemoveEmptyEntries);
        var (resource, verb) = RbacOf(request.Method, segments);
        if (IsWatch(request) && verb == "list") verb = "watch";
        Reply reply;
        var user = await AuthenticateAsync(context);
        if (user is not null && verb == "watch" && segments is [.., var ns, "deployments" or "pods"])
        {
            var userAgentOfWatch = request.Headers.UserAgent.ToString();
            _requests.Enqueue(new KubernetesRequest(request.Method, path, request.QueryString.Value ?? "", resource, verb, userAgentOfWatch, request.ContentType, RefuseWatches ? 503 : 200, user));
            if (userAgentOfWatch.StartsWith("composer/", StringComparison.Ordinal)) SessionComposerCalls.AddOrUpdate((resource!, verb), 1, (_, n) => n + 1);
            await ServeWatchAsync(context, resource!, ns);
            return;
        }
        if (user is null)
        {
            reply = Reply.Status(401, "Unauthorized", "Unauthorized");
        }
        else
        {
            string body;
            using (var reader = new StreamReader(request.Body, Encoding.UTF8)) body = await reader.ReadToEndAsync();
            try
            {
                lock (_gate)
                {
                    reply = Route(request, segments, body);
                    Publish();
                }
            }
            catch (System.Text.Json.JsonException ex)
            {
                reply = Reply.Status(400, "BadRequest", $"the body of the request was in an unknown format: {ex.Message}");
            }
        }
        var userAgent = request.Headers.UserAgent.ToString();
        _requests.Enqueue(new KubernetesRequest(request.Method, path, request.QueryString.Value ?? "", resource, verb, userAgent, request.ContentType, reply.Code, user));
        if (resource is not null && verb is not null && userAgent.StartsWith("composer/", StringComparison.Ordinal))
        {
            SessionComposerCalls.AddOrUpdate((resource, verb), 1, (_, n) => n + 1);
        }
        if (_hold.Holds($"{request.Method} {path}", out var released) && !await RequestHold.UntilReleasedAsync(released, context.RequestAborted))
        {
            return;
        }
        context.Response.StatusCode = reply.Code;
        context.Response.ContentType = reply.ContentType;
        await context.Response.WriteAsync(reply.Body);
    }

    /// <summary>The user of a request (its token's, or its client certificate's CN), or null when unauthenticated.</summary>
    private async Task<string?> AuthenticateAsync(HttpContext context)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            lock (_gate) return _tokens.GetValueOrDefault(authorization["Bearer ".Length..].Trim());
        }
        var certificate = await context.Connection.GetClientCertificateAsync();
        if (certificate is null) return null;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.Add(Ca.Certificate);
        return chain.Build(certificate) ? certificate.GetNameInfo(X509NameType.SimpleName, false) : null;
    }

    /// <summary>The RBAC resource and verb of a request, as the API server's authorizer sees it.</summary>
    private static (string? Resource, string? Verb) RbacOf(string method, string[] s)
    {
        // /api/v1/namespaces/{ns}/{resource}[/{name}[/{sub}]] and /apis/{group}/{version}/namespaces/...
        var offset = s.Length > 0 && s[0] == "api" ? 2 : s.Length > 0 && s[0] == "apis" ? 3 : -1;
        if (offset < 0 || s.Length < offset + 3 || s[offset] != "namespaces") return (null, null);
        var resource = s[offset + 2];
        var named = s.Length > offset + 3;
        if (s.Length > offset + 4) resource += "/" + s[offset + 4];
        var verb = method switch
        {
            "GET" => named ? "get" : "list",
            "POST" => "create",
            "PUT" => "update",
            "PATCH" => "patch",
            "DELETE" => named ? "delete" : "deletecollection",
            _ => method.ToLowerInvariant(),
        };
        return (resource, verb);
    }

    private Reply Route(HttpRequest request, string[] s, string body)
    {
        AdvanceCrashLoops();
        var wantsTable = request.Headers.Accept.ToString().Contains("as=Table", StringComparison.Ordinal);
        switch (s)
        {
            case ["version"]: return Reply.Json(VersionInfo());
            case ["api"]: return Reply.Json(ApiVersions());
            case ["apis"]: return Reply.Json(ApiGroups());
            case ["api", "v1"]: return Reply.Json(CoreResources());
            case ["apis", "apps", "v1"]: return Reply.Json(AppsResources());
            case ["apis", "apps", "v1", "namespaces", var ns, "deployments", .. var rest]:
                return Deployments(request, ns, rest, body, wantsTable);
            case ["apis", "apps", "v1", "namespaces", _, "replicasets"]:
                return Reply.Json(EmptyList("ReplicaSetList", "apps/v1"));
            case ["api", "v1", "namespaces", _, "events"]:
                return Reply.Json(EmptyList("EventList", "v1"));
            case ["api", "v1", "namespaces", var ns, "pods", .. var rest]:
                return Pods(request, ns, rest, wantsTable);
            case ["api", "v1", "namespaces", var ns, "secrets", .. var rest]:
                return Secrets(request, ns, rest, body, wantsTable);
            default:
                return Reply.Status(404, "NotFound", "the server could not find the requested resource");
        }
    }

    /// <summary>An HTTP answer: status, content type and body.</summary>
    private sealed record Reply(int Code, string ContentType, string Body)
    {
        public static Reply Json(JsonNode node, int code = 200) => new(code, "application/json", node.ToJsonString());

        public static Reply Text(string text) => new(200, "text/plain", text);

        /// <summary>A meta/v1 Status failure, as the API server writes it.</summary>
        public static Reply Status(int code, string reason, string message, JsonObject? details = null) => Json(new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = message,
            ["reason"] = reason,
            ["details"] = details,
            ["code"] = code,
        }, code);
    }

    public async ValueTask DisposeAsync()
    {
        if (_kubelet is not null) await _kubelet.DisposeAsync();
        CloseWatches();
        await _app.StopAsync();
        await _app.DisposeAsync();
        ServerCertificate.Dispose();
        Ca.Dispose();
    }
}

using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Network;
using Composer.Reconciliation;

namespace Composer.Orchestration.Kubernetes;

/// <summary>One answer of the API: the status code and body, or why no answer came.</summary>
internal sealed class KubeReply
{
    private KubeReply(HttpStatusCode status, byte[] body, string? transportError)
    {
        Status = status;
        Body = body;
        TransportError = transportError;
    }

    public HttpStatusCode Status { get; }
    public byte[] Body { get; }

    /// <summary>Connection, TLS or timeout failure: no HTTP answer at all.</summary>
    public string? TransportError { get; }

    public bool IsSuccess => TransportError is null && (int)Status is >= 200 and < 300;
    public bool IsNotFound => TransportError is null && Status == HttpStatusCode.NotFound;
    public bool IsConflict => TransportError is null && Status == HttpStatusCode.Conflict;

    public static KubeReply Answer(HttpStatusCode status, byte[] body) => new(status, body, null);
    public static KubeReply Failed(string error) => new(0, [], error);

    /// <summary>The Status object of an error answer (null when the body is not one).</summary>
    public KubeStatus? StatusObject
    {
        get
        {
            if (_statusRead) return _status;
            _statusRead = true;
            if (Body.Length == 0 || Body[0] != (byte)'{') return null;
            try
            {
                var status = JsonSerializer.Deserialize(Body, KubernetesJsonContext.Default.KubeStatus);
                _status = status?.Kind == "Status" ? status : null;
            }
            catch (JsonException)
            {
                _status = null;
            }
            return _status;
        }
    }

    private KubeStatus? _status;
    private bool _statusRead;

    /// <summary>
    /// The Status message (or the start of the body), for matching and for messages. The API may quote what it refused
    /// (an environment value): known secrets are masked, before the body is cut so that no part of one is left.
    /// </summary>
    public string Message => StatusObject?.Message is { } message
        ? SecretScrubber.Shared.Scrub(message)
        : Body.Length == 0 ? "" : Truncate(SecretScrubber.Shared.Scrub(Encoding.UTF8.GetString(Body, 0, Math.Min(Body.Length, 16 * 1024))));

    /// <summary>"listing deployments in namespace n: 403 Forbidden: deployments.apps is forbidden: …".</summary>
    public string Describe(string what)
    {
        if (TransportError is not null) return $"{what}: {TransportError}";
        var reason = StatusObject?.Reason is { Length: > 0 } r ? r : Status.ToString();
        var message = Message;
        return message.Length == 0 ? $"{what}: {(int)Status} {reason}" : $"{what}: {(int)Status} {reason}: {message}";
    }

    /// <summary>
    /// <see cref="Describe"/> as a failure, marked as the orchestrator's outage when the API server did not answer (no
    /// HTTP answer, or 502/503/504 from what stands in front of it): the one rule of what is not the connector's own.
    /// </summary>
    public Failure Fail(string what) => Failure.Orchestrator(Describe(what)) with
    {
        Outage = TransportError is not null || Status is HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout
            ? Outage.Orchestrator
            : null,
    };

    public T? Read<T>(System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type) where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(Body, type);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public JsonObject? ReadObject()
    {
        try
        {
            return JsonNode.Parse(Body) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Truncate(string text)
    {
        var line = text.ReplaceLineEndings(" ").Trim();
        return line.Length > 200 ? line[..200] + "…" : line;
    }
}

/// <summary>
/// The Kubernetes REST calls Composer makes, in one namespace, and nothing else: deployments (list, watch, create,
/// merge patch, delete), pods (list, watch), pods/log (get), secrets (get, create, update, delete). Every call goes through the
/// outbound handler factory (channel Kubernetes: proxy per with_proxy, the API server of the cluster never proxied
/// by default) with the endpoint's own TLS (cluster CA, client certificate). A hand-written client instead of
/// KubernetesClient: that library adds 16.6 MB to the stripped native binary (86 MB unstripped) and needs a newer
/// YamlDotNet, for the eleven calls below.
/// </summary>
internal sealed class KubernetesApiClient : IDisposable
{
    private const string MergePatch = "application/merge-patch+json";

    private readonly HttpClient _http;
    private readonly HttpClient _watchHttp;
    private readonly KubernetesEndpoint _endpoint;
    private readonly TimeProvider _time;
    private readonly string _base;

    public KubernetesApiClient(KubernetesEndpoint endpoint, IOutboundHandlerFactory handlers, PlatformKind platform, TimeProvider time)
    {
        _endpoint = endpoint;
        _time = time;
        _http = new HttpClient(handlers.CreateHandler(OutboundChannel.Kubernetes, platform, endpoint.Tls), disposeHandler: true)
        {
            Timeout = handlers.RequestTimeout(platform),
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd($"composer/{BuildInfo.Version}");
        // A watch answers at once and then streams for minutes: only its opening is bounded by request_timeout.
        _watchHttp = new HttpClient(handlers.CreateHandler(OutboundChannel.Kubernetes, platform, endpoint.Tls), disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _watchHttp.DefaultRequestHeaders.UserAgent.ParseAdd($"composer/{BuildInfo.Version}");
        _base = endpoint.Server.GetLeftPart(UriPartial.Authority) + endpoint.Server.AbsolutePath.TrimEnd('/');
    }

    public string Namespace => _endpoint.Namespace;

    private string Deployments => $"/apis/apps/v1/namespaces/{Namespace}/deployments";
    private string Pods => $"/api/v1/namespaces/{Namespace}/pods";
    private string Secrets => $"/api/v1/namespaces/{Namespace}/secrets";

    public Task<KubeReply> ListDeploymentsAsync(string labelSelector, int? limit, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, Deployments + "?labelSelector=" + Uri.EscapeDataString(labelSelector) + (limit is { } l ? "&limit=" + l : ""),
            null, null, cancellationToken);

    public Task<KubeReply> CreateDeploymentAsync(JsonObject deployment, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, Deployments, deployment, "application/json", cancellationToken);

    public Task<KubeReply> PatchDeploymentAsync(string name, JsonObject patch, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Patch, $"{Deployments}/{Uri.EscapeDataString(name)}", patch, MergePatch, cancellationToken);

    /// <summary>Background propagation: the deployment goes at once, its replica sets and pods are collected after.</summary>
    public Task<KubeReply> DeleteDeploymentAsync(string name, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Delete, $"{Deployments}/{Uri.EscapeDataString(name)}?propagationPolicy=Background", null, null, cancellationToken);

    /// <summary>
    /// Opens a watch of the deployments or pods (<paramref name="pods"/>) with this label selector from
    /// <paramref name="resourceVersion"/>, with bookmarks, which the API ends after <paramref name="timeoutSeconds"/>.
    /// </summary>
    public async Task<KubeWatchStream> WatchAsync(bool pods, string labelSelector, string resourceVersion, int timeoutSeconds, CancellationToken cancellationToken)
    {
        var path = (pods ? Pods : Deployments) + "?labelSelector=" + Uri.EscapeDataString(labelSelector) + "&watch=1&allowWatchBookmarks=true&resourceVersion="
            + Uri.EscapeDataString(resourceVersion) + "&timeoutSeconds=" + timeoutSeconds.ToString(CultureInfo.InvariantCulture);
        var opened = await OpenWatchAsync(path, cancellationToken).ConfigureAwait(false);
        // A projected token may have been rotated since it was read: read the file again and retry once.
        if (opened.Refused?.Status == HttpStatusCode.Unauthorized && _endpoint.Token?.Invalidate() == true)
        {
            opened = await OpenWatchAsync(path, cancellationToken).ConfigureAwait(false);
        }
        ComposerMetrics.RecordApiCall("kubernetes", opened.Refused is not null);
        return opened;
    }

    private async Task<KubeWatchStream> OpenWatchAsync(string pathAndQuery, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _base + pathAndQuery);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (_endpoint.Token is { } token)
        {
            var value = token.Get(_time);
            if (!value.IsSuccess) return new KubeWatchStream(null, null, KubeReply.Failed(value.Failure.Message));
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", value.Value.Reveal());
        }
        using var opening = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        opening.CancelAfter(_http.Timeout);
        HttpResponseMessage? response = null;
        try
        {
            response = await _watchHttp.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, opening.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                // An error answer is a Status object: small, read whole (bounded all the same).
                var bytes = await ReadBoundedAsync(await response.Content.ReadAsStreamAsync(opening.Token).ConfigureAwait(false), 64 * 1024, opening.Token).ConfigureAwait(false);
                var refused = KubeReply.Answer(response.StatusCode, bytes);
                response.Dispose();
                return new KubeWatchStream(null, null, refused);
            }
            var body = await response.Content.ReadAsStreamAsync(opening.Token).ConfigureAwait(false);
            return new KubeWatchStream(response, body, null);
        }
        catch (HttpRequestException ex)
        {
            response?.Dispose();
            return new KubeWatchStream(null, null, KubeReply.Failed($"{_endpoint.Server.Authority} unreachable: {ExceptionText.Describe(ex)}"));
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            response?.Dispose();
            return new KubeWatchStream(null, null, KubeReply.Failed($"{_endpoint.Server.Authority} did not answer within {_http.Timeout.TotalSeconds:0} s"));
        }
        catch
        {
            response?.Dispose();
            throw;
        }
    }

    private static async Task<byte[]> ReadBoundedAsync(Stream stream, int limit, CancellationToken cancellationToken)
    {
        await using var _ = stream.ConfigureAwait(false);
        var buffer = new byte[limit];
        var length = 0;
        int read;
        while (length < limit && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false)) > 0) length += read;
        return buffer[..length];
    }

    public Task<KubeReply> ListPodsAsync(string labelSelector, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, Pods + "?labelSelector=" + Uri.EscapeDataString(labelSelector), null, null, cancellationToken);

    /// <summary>
    /// The log of one container with RFC 3339 timestamps, streamed into <paramref name="collector"/>: the newest
    /// <see cref="LogLimits.MaxLines"/> lines (tailLines), written since a time (sinceTime) when there is a cursor, and
    /// at most <see cref="LogReadBytes"/> bytes (limitBytes), as the kubelet applies them: tail, then since, then the
    /// byte limit. The answer is never held whole.
    /// </summary>
    public Task<KubeReply> ReadPodLogAsync(string pod, string container, DateTimeOffset? sinceTime, LogLimits limits, LogCollector collector,
        CancellationToken cancellationToken)
    {
        var query = new StringBuilder("?container=").Append(Uri.EscapeDataString(container))
            .Append("&timestamps=true&tailLines=").Append(limits.MaxLines).Append("&limitBytes=").Append(LogReadBytes(limits));
        if (sinceTime is { } since)
        {
            // The API takes whole seconds: ask from the second of the cursor, the collector drops what it already has.
            var second = since.ToUniversalTime();
            second = new DateTimeOffset(second.Ticks - second.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
            query.Append("&sinceTime=").Append(Uri.EscapeDataString(second.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)));
        }
        return SendAsync(HttpMethod.Get, $"{Pods}/{Uri.EscapeDataString(pod)}/log{query}", null, null, cancellationToken,
            async (content, ct) =>
            {
                var stream = collector.NewStream();
                await using var body = await content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
                try
                {
                    int read;
                    while ((read = await body.ReadAsync(buffer.AsMemory(), ct).ConfigureAwait(false)) > 0) stream.Write(buffer.AsSpan(0, read));
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
                // A last line cut by limitBytes is kept as it is (cut), so the cursor moves past it.
                stream.Complete();
            });
    }

    /// <summary>
    /// limitBytes of a log read: room for <see cref="LogLimits.MaxLines"/> lines as long as they are kept (1 MiB at
    /// least, 32 MiB at most). It bounds the transfer; memory is bounded by the collector whatever comes.
    /// </summary>
    internal static long LogReadBytes(LogLimits limits) => Math.Clamp((long)limits.MaxLines * limits.RawLineBytes, 1L << 20, 32L << 20);

    public Task<KubeReply> GetSecretAsync(string name, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, $"{Secrets}/{Uri.EscapeDataString(name)}", null, null, cancellationToken);

    public Task<KubeReply> CreateSecretAsync(JsonObject secret, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, Secrets, secret, "application/json", cancellationToken);

    /// <summary>PUT with the resourceVersion in the body: 409 when someone else changed it since it was read.</summary>
    public Task<KubeReply> ReplaceSecretAsync(string name, JsonObject secret, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, $"{Secrets}/{Uri.EscapeDataString(name)}", secret, "application/json", cancellationToken);

    public Task<KubeReply> DeleteSecretAsync(string name, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Delete, $"{Secrets}/{Uri.EscapeDataString(name)}", null, null, cancellationToken);

    /// <param name="streamSuccess">Reads a successful answer's body as it streams (the reply then has no body); null reads it whole.</param>
    private async Task<KubeReply> SendAsync(HttpMethod method, string pathAndQuery, JsonObject? body, string? contentType, CancellationToken cancellationToken,
        Func<HttpContent, CancellationToken, Task>? streamSuccess = null)
    {
        var payload = body is null ? null : Encoding.UTF8.GetBytes(body.ToJsonString());
        var reply = await SendOnceAsync(method, pathAndQuery, payload, contentType, streamSuccess, cancellationToken).ConfigureAwait(false);
        // A projected token may have been rotated since it was read: read the file again and retry once.
        if (reply.Status == HttpStatusCode.Unauthorized && _endpoint.Token?.Invalidate() == true)
        {
            reply = await SendOnceAsync(method, pathAndQuery, payload, contentType, streamSuccess, cancellationToken).ConfigureAwait(false);
        }
        ComposerMetrics.RecordApiCall("kubernetes", !reply.IsSuccess && !reply.IsNotFound);
        return reply;
    }

    private async Task<KubeReply> SendOnceAsync(HttpMethod method, string pathAndQuery, byte[]? payload, string? contentType,
        Func<HttpContent, CancellationToken, Task>? streamSuccess, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, _base + pathAndQuery);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (_endpoint.Token is { } token)
        {
            var value = token.Get(_time);
            if (!value.IsSuccess) return KubeReply.Failed(value.Failure.Message);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", value.Value.Reveal());
        }
        if (payload is not null)
        {
            request.Content = new ByteArrayContent(payload);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType!);
        }
        try
        {
            using var response = await _http.SendAsync(request, streamSuccess is null ? HttpCompletionOption.ResponseContentRead : HttpCompletionOption.ResponseHeadersRead,
                cancellationToken).ConfigureAwait(false);
            if (streamSuccess is not null && response.IsSuccessStatusCode)
            {
                // The client's timeout ends with the headers: the body gets the same time again, not forever.
                using var bodyTime = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                if (_http.Timeout != Timeout.InfiniteTimeSpan) bodyTime.CancelAfter(_http.Timeout);
                await streamSuccess(response.Content, bodyTime.Token).ConfigureAwait(false);
                return KubeReply.Answer(response.StatusCode, []);
            }
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            return KubeReply.Answer(response.StatusCode, bytes);
        }
        catch (HttpRequestException ex)
        {
            return KubeReply.Failed($"{_endpoint.Server.Authority} unreachable: {ExceptionText.Describe(ex)}");
        }
        catch (IOException ex)
        {
            return KubeReply.Failed($"{_endpoint.Server.Authority} closed the connection while answering: {ExceptionText.Describe(ex)}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return KubeReply.Failed($"{_endpoint.Server.Authority} did not answer within {_http.Timeout.TotalSeconds:0} s");
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        _watchHttp.Dispose();
    }
}

/// <summary>An open watch (its streaming body, disposed with it) or the answer that refused it.</summary>
internal sealed class KubeWatchStream(HttpResponseMessage? response, Stream? body, KubeReply? refused) : IDisposable
{
    public Stream? Body { get; } = body;

    /// <summary>The error answer or transport failure when the watch could not be opened; null when it is open.</summary>
    public KubeReply? Refused { get; } = refused;

    public void Dispose()
    {
        Body?.Dispose();
        response?.Dispose();
    }
}

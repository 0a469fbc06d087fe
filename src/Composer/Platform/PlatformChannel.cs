using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Composer.Diagnostics;
using Composer.Reconciliation;

namespace Composer.Platform;

/// <summary>An HTTP answer of the platform: its status and the whole body (read within its bound).</summary>
internal sealed record PlatformResponse(HttpStatusCode Status, string? ReasonPhrase, ReadOnlySequence<byte> Body)
{
    public bool IsSuccess => (int)Status is >= 200 and < 300;
}

/// <summary>
/// What both platform clients share: sending (transport failures and timeouts as values) within each operation's
/// bounds, the wording of errors, the log line of a failed operation and the API call metric. Every operation has a
/// total time (request_timeout; the listing its own listing_timeout, since the platform may hold it) and a largest
/// answer (listing_max_size for the listing, <see cref="MaxAnswerBytes"/> for the others): nothing the platform sends
/// is read past its bound. Everything platform-provided that goes into a message passes through <see cref="Safe"/>:
/// one line, bounded, with the token masked.
/// </summary>
internal sealed class PlatformChannel : IDisposable
{
    private const int MaxQuotedLength = 300;

    /// <summary>The largest answer read for any operation but the listing: each is one small object (a connector at most).</summary>
    public const long MaxAnswerBytes = 1024 * 1024;

    private readonly HttpClient _http;
    private readonly PlatformClientOptions _options;
    private readonly AuthenticationHeaderValue _authorization;

    public PlatformChannel(HttpClient http, PlatformClientOptions options, string displayName, string configSection)
    {
        _http = http;
        // Each operation has its own total time (see SendAsync); the client's single timeout would cut the listing short.
        _http.Timeout = Timeout.InfiniteTimeSpan;
        _options = options;
        DisplayName = displayName;
        ConfigSection = configSection;
        _authorization = new AuthenticationHeaderValue("Bearer", options.Token);
    }

    /// <summary>"OpenCTI" or "OpenAEV", as messages name the platform.</summary>
    public string DisplayName { get; }

    /// <summary>"opencti" or "openaev": the configuration section and the metric channel.</summary>
    public string ConfigSection { get; }

    public Logger Logger => _options.Logger;

    /// <summary>A request with the bearer token; a JSON body (Content-Type application/json, no charset) when given.</summary>
    private HttpRequestMessage Request(HttpMethod method, Uri uri, byte[]? jsonBody)
    {
        var request = new HttpRequestMessage(method, uri);
        request.Headers.Authorization = _authorization;
        if (jsonBody is not null)
        {
            request.Content = new ByteArrayContent(jsonBody);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        return request;
    }

    /// <summary>
    /// Sends and reads the whole answer within the operation's time and size. No answer (connection, TLS, proxy,
    /// timeout) and an answer over its size are errors; cancellation throws. A connection that ends before any answer
    /// is tried once more on a new one, within the same time: a proxy may close a kept-alive connection without saying
    /// so (tinyproxy does), and every manager operation can be repeated safely (a query, or an update to a value).
    /// </summary>
    public async Task<(PlatformResponse? Response, Failure? Error)> SendAsync(HttpMethod method, Uri uri, byte[]? jsonBody, PlatformOperation operation,
        CancellationToken cancellationToken)
    {
        var listing = operation == PlatformOperation.List;
        var timeout = listing ? _options.ListingTimeout : _options.RequestTimeout;
        var limit = listing ? _options.ListingMaxSize : MaxAnswerBytes;
        var started = Stopwatch.GetTimestamp();
        using var deadline = new CancellationTokenSource(timeout, _options.Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline.Token);
        try
        {
            HttpResponseMessage answer;
            try
            {
                using var first = Request(method, uri, jsonBody);
                answer = await _http.SendAsync(first, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            }
            catch (HttpRequestException ex) when (ex.HttpRequestError == HttpRequestError.ResponseEnded)
            {
                Logger.Debug($"{DisplayName} closed the connection before answering; trying once more", ("operation", operation.Name));
                using var again = Request(method, uri, jsonBody);
                answer = await _http.SendAsync(again, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
            }
            // Headers first: the body is read here, within its bound, never buffered whole by HttpClient.
            using var response = answer;
            var body = await BoundedBody.ReadAsync(response.Content, limit, linked.Token).ConfigureAwait(false);
            Logger.Debug($"{DisplayName} answered", ("operation", operation.Name), ("status", (int)response.StatusCode),
                ("bytes", body?.Length), ("elapsed_ms", Stopwatch.GetElapsedTime(started).TotalMilliseconds));
            // Disposing the response before the body's end closes the connection: the rest is never received.
            if (body is not { } read) return (null, TooLarge(operation, limit, (int)response.StatusCode));
            return (new PlatformResponse(response.StatusCode, response.ReasonPhrase, read), null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            var key = listing ? "listing_timeout" : "request_timeout";
            var held = listing ? " (the platform may hold a listing while managed connectors auto-upgrade)" : "";
            return (null, new Failure(FailureKind.Timeout, operation.Name,
                $"no complete answer from {DisplayName} at {Where} within {Seconds(timeout)} ({ConfigSection}.{key}){held}"));
        }
        catch (HttpRequestException ex) when (ex.InnerException is TimeoutException)
        {
            return (null, new Failure(FailureKind.Timeout, operation.Name,
                $"no connection to {DisplayName} at {Where} in time ({ConfigSection}.connect_timeout): {Safe(ExceptionText.Describe(ex))}"));
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return (null, new Failure(FailureKind.Unreachable, operation.Name,
                $"cannot reach {DisplayName} at {Where}: {Safe(ExceptionText.Describe(ex))}"));
        }
    }

    private Failure TooLarge(PlatformOperation operation, long limit, int status)
    {
        var bound = operation == PlatformOperation.List
            ? $"{ConfigSection}.listing_max_size, {Size(limit)}; raise it if the platform really lists that much"
            : $"{Size(limit)}, the bound of every answer but the listing";
        var consequence = operation == PlatformOperation.List ? ": nothing is changed this cycle" : "";
        return new Failure(FailureKind.TooLarge, operation.Name,
            $"{DisplayName}'s answer to the {operation.Description} is larger than allowed ({bound}); it was not read further{consequence}", status);
    }

    private static string Size(long bytes) => bytes % (1024 * 1024) == 0 ? $"{bytes / (1024 * 1024)} MiB"
        : bytes % 1024 == 0 ? $"{bytes / 1024} KiB" : $"{bytes} bytes";

    /// <summary>
    /// The error for a non-2xx answer whose body says nothing usable. A 401 or 403 is about who is asking: the token
    /// (or a proxy or ingress in front of the platform with its own authentication), never "cannot reach".
    /// </summary>
    public Failure HttpStatusError(PlatformOperation operation, PlatformResponse response)
    {
        var code = (int)response.Status;
        var text = $"{DisplayName} answered HTTP {code}{(string.IsNullOrEmpty(response.ReasonPhrase) ? "" : $" ({response.ReasonPhrase})")}";
        var kind = FailureKind.HttpStatus;
        if (response.Status == HttpStatusCode.Unauthorized)
        {
            kind = FailureKind.Unauthenticated;
            text += $": the token was not accepted (check {TokenKey}), or a proxy or ingress in front of {DisplayName} asks for its own authentication";
        }
        else if (response.Status == HttpStatusCode.Forbidden)
        {
            kind = FailureKind.Forbidden;
            text += $": the request was refused (the user of {TokenKey} may lack a permission, or a proxy or ingress in front of {DisplayName} refused it)";
        }
        var body = BodyExcerpt(response.Body);
        if (body.Length > 0) text += $"; body: {body}";
        return new Failure(kind, operation.Name, text, code);
    }

    /// <summary>"opencti.token (OPENCTI__TOKEN)": where the token comes from, for messages.</summary>
    public string TokenKey => $"{ConfigSection}.token ({ConfigSection.ToUpperInvariant()}__TOKEN)";

    public Failure Malformed(PlatformOperation operation, string problem, PlatformResponse? response = null) =>
        new(FailureKind.Malformed, operation.Name, $"{DisplayName} sent an answer that is not what the {operation.Description} expects: {Safe(problem)}",
            response is null ? null : (int)response.Status);

    /// <summary>Counts a failed answer and notes it at debug (the caller decides what a user sees); returns the result unchanged.</summary>
    public Result<T> Complete<T>(PlatformOperation operation, Result<T> result)
    {
        Complete(operation, result.Failure);
        return result;
    }

    public Failure? Complete(PlatformOperation operation, Failure? error)
    {
        if (error is null) return null;
        // Calls, missing answers and 5xx are counted where every request passes (the outbound handler); an answer that
        // came back but failed (GraphQL error, 4xx, malformed, null) only this layer can tell.
        if (error.Kind is not (FailureKind.Unreachable or FailureKind.Timeout) && error.HttpStatus is null or < 500)
        {
            ComposerMetrics.RecordApiError(ConfigSection);
        }
        Logger.Debug($"{DisplayName} {operation.Description} failed: {error.Message}", ("platform", ConfigSection), ("kind", error.Kind.ToString()));
        return error;
    }

    /// <summary>Platform-provided text made fit for a message: one line, at most a few hundred characters, token masked.</summary>
    public string Safe(string text)
    {
        var token = _options.Token;
        if (token.Length > 0) text = text.Replace(token, SecretRedaction.Mask, StringComparison.Ordinal);
        var sb = new StringBuilder(Math.Min(text.Length, MaxQuotedLength + 3));
        foreach (var c in text)
        {
            if (sb.Length >= MaxQuotedLength)
            {
                sb.Append("...");
                break;
            }
            sb.Append(char.IsControl(c) ? ' ' : c);
        }
        return sb.ToString().Trim();
    }

    public string BodyExcerpt(ReadOnlySequence<byte> body) =>
        body.IsEmpty ? "" : Safe(Encoding.UTF8.GetString(body.Slice(0, Math.Min(body.Length, 4 * MaxQuotedLength))));

    /// <summary>The platform URL as messages show it (credentials in it masked).</summary>
    private string Where => SecretRedaction.RedactUrl(_options.Url);

    private static string Seconds(TimeSpan t) =>
        t == Timeout.InfiniteTimeSpan ? "the time allowed" : t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";

    /// <summary>RFC 3339 in UTC, fractional seconds only when there are some: what the health reports carry.</summary>
    public static string Rfc3339Utc(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    public static string StatusText(ConnectorStatus status) => status == ConnectorStatus.Started ? "started" : "stopped";

    public void Dispose() => _http.Dispose();
}

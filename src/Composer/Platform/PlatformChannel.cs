using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Composer.Diagnostics;
using Composer.Reconciliation;

namespace Composer.Platform;

/// <summary>An HTTP answer of the platform: its status and the whole body.</summary>
internal sealed record PlatformResponse(HttpStatusCode Status, string? ReasonPhrase, byte[] Body)
{
    public bool IsSuccess => (int)Status is >= 200 and < 300;
}

/// <summary>
/// What both platform clients share: sending (transport failures and timeouts as values), the wording of errors,
/// the log line of a failed operation and the API call metric. Everything platform-provided that goes into a message
/// passes through <see cref="Safe"/>: one line, bounded, with every known secret (the token first) masked.
/// </summary>
internal sealed class PlatformChannel : IDisposable
{
    private const int MaxQuotedLength = 300;

    private readonly HttpClient _http;
    private readonly PlatformClientOptions _options;
    private readonly AuthenticationHeaderValue _authorization;

    public PlatformChannel(HttpClient http, PlatformClientOptions options, string displayName, string configSection)
    {
        _http = http;
        _options = options;
        DisplayName = displayName;
        ConfigSection = configSection;
        _authorization = new AuthenticationHeaderValue("Bearer", options.Token.Reveal());
    }

    /// <summary>"OpenCTI" or "OpenAEV", as messages name the platform.</summary>
    public string DisplayName { get; }

    /// <summary>"opencti" or "openaev": the configuration section and the metric channel.</summary>
    public string ConfigSection { get; }

    public Logger Logger => _options.Logger;

    /// <summary>A request with the bearer token; a JSON body (Content-Type application/json, no charset) when given.</summary>
    public HttpRequestMessage Request(HttpMethod method, Uri uri, byte[]? jsonBody)
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

    /// <summary>Sends and reads the whole answer. No answer (connection, TLS, proxy, timeout) is an error; cancellation throws.</summary>
    public async Task<(PlatformResponse? Response, Failure? Error)> SendAsync(HttpRequestMessage request, PlatformOperation operation, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            Logger.Debug($"{DisplayName} answered", ("operation", operation.Name), ("status", (int)response.StatusCode),
                ("elapsed_ms", Stopwatch.GetElapsedTime(started).TotalMilliseconds));
            return (new PlatformResponse(response.StatusCode, response.ReasonPhrase, body), null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, new Failure(FailureKind.Timeout, operation.Name,
                $"no answer from {DisplayName} at {Where} within {Seconds(_http.Timeout)} ({ConfigSection}.request_timeout)"));
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

    /// <summary>The error for a non-2xx answer whose body says nothing usable.</summary>
    public Failure HttpStatusError(PlatformOperation operation, PlatformResponse response)
    {
        var code = (int)response.Status;
        var text = $"{DisplayName} answered HTTP {code}{(string.IsNullOrEmpty(response.ReasonPhrase) ? "" : $" ({response.ReasonPhrase})")}";
        if (response.Status is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            text += $": the token was not accepted (check {ConfigSection}.token)";
        }
        var body = BodyExcerpt(response.Body);
        if (body.Length > 0) text += $"; body: {body}";
        return new Failure(FailureKind.HttpStatus, operation.Name, text, code);
    }

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

    /// <summary>
    /// Platform-provided text made fit for a message: secrets masked first (so that cutting it never leaves part of
    /// one), then one line of at most a few hundred characters.
    /// </summary>
    public string Safe(string text)
    {
        text = SecretScrubber.Shared.Scrub(text);
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

    /// <summary>The start of a body for a message; read well past what is shown, so that a secret across the cut is still masked whole.</summary>
    public string BodyExcerpt(byte[] body) => body.Length == 0 ? "" : Safe(Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 16 * 1024)));

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

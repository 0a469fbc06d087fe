using System.Net;
using System.Security.Authentication;
using Composer.Diagnostics;

namespace Composer.Images;

/// <summary>Raised when a registry stays unreachable (connection errors or timeouts) after every attempt.</summary>
public sealed class RegistryUnreachableException(string target, int attempts, string reason, Exception? inner)
    : Exception($"{target} unreachable after {attempts} attempt{(attempts == 1 ? "" : "s")}: {reason}", inner)
{
    /// <summary>What could not be reached, e.g. "registry host:port" or "token server x of registry y".</summary>
    public string Target { get; } = target;
    public int Attempts { get; } = attempts;
    public string Reason { get; } = reason;
}

/// <summary>
/// Retries transient registry failures: connection errors, timeouts, 5xx and 429. At most 1 + retryAttempts
/// tries, retryDelay apart with ±25 % jitter; a Retry-After (429/503) is honoured up to MaxRetryAfter.
/// Other statuses (401, 403, 404 ...) are returned at once: retrying cannot fix them.
/// </summary>
public sealed class RetryPolicy
{
    public static readonly TimeSpan DefaultMaxRetryAfter = TimeSpan.FromSeconds(60);

    private readonly Func<TimeSpan, CancellationToken, Task> _delay;
    private readonly Random _random;

    public RetryPolicy(int retryAttempts, TimeSpan retryDelay, TimeSpan requestTimeout,
        Func<TimeSpan, CancellationToken, Task>? delay = null, Random? random = null, TimeSpan? maxRetryAfter = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(retryAttempts);
        RetryAttempts = retryAttempts;
        RetryDelay = retryDelay < TimeSpan.Zero ? TimeSpan.Zero : retryDelay;
        RequestTimeout = requestTimeout;
        MaxRetryAfter = maxRetryAfter ?? DefaultMaxRetryAfter;
        _delay = delay ?? ((d, ct) => Task.Delay(d, ct));
        _random = random ?? Random.Shared;
    }

    public int RetryAttempts { get; }
    public TimeSpan RetryDelay { get; }
    public TimeSpan RequestTimeout { get; }
    public TimeSpan MaxRetryAfter { get; }

    public static bool IsTransient(HttpStatusCode status) => (int)status >= 500 || status == HttpStatusCode.TooManyRequests;

    /// <summary>
    /// Sends (a fresh request per attempt) until a non-transient answer or the last attempt. Returns the last
    /// response (possibly a 5xx) and how many attempts were made; throws RegistryUnreachableException when
    /// the last attempt failed without a response.
    /// </summary>
    public async Task<(HttpResponseMessage Response, int Attempts)> SendAsync(
        Func<CancellationToken, Task<HttpResponseMessage>> send, string target, CancellationToken cancellationToken)
    {
        var maxAttempts = RetryAttempts + 1;
        for (var attempt = 1; ; attempt++)
        {
            HttpResponseMessage? response = null;
            Exception? failure = null;
            using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                timeout.CancelAfter(RequestTimeout);
                try
                {
                    response = await send(timeout.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    failure = new TimeoutException($"no answer within {RequestTimeout.TotalSeconds:0.#} s", ex);
                }
                catch (HttpRequestException ex) when (IsTransient(ex))
                {
                    failure = ex;
                }
            }
            if (response is not null && !IsTransient(response.StatusCode)) return (response, attempt);
            if (attempt >= maxAttempts)
            {
                if (response is not null) return (response, attempt);
                throw new RegistryUnreachableException(target, attempt, ExceptionText.Describe(failure!), failure);
            }
            var wait = NextDelay(response);
            response?.Dispose();
            await _delay(wait, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The pause before the next attempt: Retry-After when the server gave one (capped), else the jittered delay.</summary>
    public TimeSpan NextDelay(HttpResponseMessage? response)
    {
        if (response is not null && response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable
            && response.Headers.RetryAfter is { } retryAfter)
        {
            var requested = retryAfter.Delta ?? (retryAfter.Date is { } date ? date - DateTimeOffset.UtcNow : (TimeSpan?)null);
            if (requested is { } r)
            {
                if (r < TimeSpan.Zero) r = TimeSpan.Zero;
                return r > MaxRetryAfter ? MaxRetryAfter : r;
            }
        }
        var factor = 0.75 + _random.NextDouble() * 0.5;
        return TimeSpan.FromMilliseconds(RetryDelay.TotalMilliseconds * factor);
    }

    /// <summary>TLS and proxy-authentication failures are configuration problems: retrying will not help.</summary>
    private static bool IsTransient(HttpRequestException ex) =>
        ex.HttpRequestError is not (HttpRequestError.SecureConnectionError or HttpRequestError.UserAuthenticationError
            or HttpRequestError.ConfigurationLimitExceeded or HttpRequestError.InvalidResponse)
        && ex.InnerException is not AuthenticationException;
}

using System.Net;
using System.Net.Http.Headers;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Text.Json;
using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Network;
using Polly;
using Polly.Retry;

namespace Composer.Images;

public sealed class RegistryClientOptions
{
    /// <summary>The clock of token lifetimes and of the pause between retries.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Time allowed for one HTTP attempt (a timeout is a transient failure and is retried); null: opencti.request_timeout from the handler factory.</summary>
    public TimeSpan? RequestTimeout { get; init; }

    public Logger Logger { get; init; } = Logger.Null;
}

/// <summary>
/// Docker Registry HTTP API v2 client for pre-flight checks: ping /v2/, answer the WWW-Authenticate
/// challenge (Basic, or the Bearer token flow with a token cache), HEAD the manifest and resolve its digest.
/// The caller gives the credentials of each check (one snapshot per operation, see <see cref="RegistryAccess"/>).
/// All HTTP goes through the Registry outbound channel (proxy, NO_PROXY and trust are the factory's business).
/// <para>
/// Transient failures (connection errors, timeouts, 5xx and 429) are retried with Polly: at most 1 + retry_attempts
/// tries, retry_delay apart with ±25 % jitter; a Retry-After (429/503) is honoured up to <see cref="MaxRetryAfter"/>.
/// Other statuses (401, 403, 404 ...) and TLS or proxy-authentication failures are returned at once: retrying
/// cannot fix them. Nothing throws for what the registry or the network does; only cancellation throws.
/// </para>
/// </summary>
public sealed partial class RegistryClient : IDisposable
{
    /// <summary>Manifest media types we accept, multi-platform indexes first (a pull resolves those too).</summary>
    public static readonly string[] ManifestMediaTypes =
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ];

    /// <summary>The longest Retry-After honoured: a registry asking for more is asked again after this.</summary>
    public static readonly TimeSpan MaxRetryAfter = TimeSpan.FromSeconds(60);

    /// <summary>The longest token server answer read: a token answer is a few KiB.</summary>
    private const int MaxTokenResponseBytes = 64 * 1024;

    /// <summary>Polly's bound on a retry delay; a longer retry_delay would block a cycle for that long anyway.</summary>
    private static readonly TimeSpan LongestRetryDelay = TimeSpan.FromDays(1);

    private readonly HttpClient _http;
    private readonly RegistryClientOptions _options;
    private readonly TimeSpan _requestTimeout;
    private readonly ResiliencePipeline<HttpResponseMessage> _retry;

    public RegistryClient(IOutboundHandlerFactory handlers, RegistryConfiguration configuration, RegistryClientOptions? options = null)
    {
        Configuration = configuration;
        _options = options ?? new RegistryClientOptions();
        _http = new HttpClient(handlers.CreateHandler(OutboundChannel.Registry), disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan, // per attempt, in SendAsync
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd($"composer/{BuildInfo.Version}");
        _requestTimeout = _options.RequestTimeout ?? handlers.RequestTimeout(PlatformKind.OpenCti);
        _retry = RetryPipeline(configuration, _options);
        Tokens = new RegistryTokenCache(_options.Clock, configuration.TokenTtl);
    }

    public RegistryTokenCache Tokens { get; }

    /// <summary>opencti.daemon.registry: which registry is the configured one (for messages), the scheme, token and retry limits.</summary>
    internal RegistryConfiguration Configuration { get; }

    /// <summary>
    /// Proves that the image exists and is readable with <paramref name="credentials"/> (anonymously when null), and
    /// resolves its digest (docker.io is mapped to its API host here). The result says what went wrong.
    /// </summary>
    public Task<RegistryCheckResult> CheckAsync(ResolvedImage image, RegistryCredentials? credentials, CancellationToken cancellationToken) =>
        CheckAsync(image.RegistryHost, image.Repository, image.ManifestReference, credentials, cancellationToken);

    /// <summary>registryHost/repository:reference (a tag or a digest), checked as <see cref="CheckAsync(ResolvedImage, RegistryCredentials?, CancellationToken)"/> does.</summary>
    internal Task<RegistryCheckResult> CheckAsync(string registryHost, string repository, string reference, RegistryCredentials? credentials,
        CancellationToken cancellationToken)
    {
        var check = new Check(this, registryHost, repository, reference, credentials);
        if (check.InvalidHost)
        {
            return Task.FromResult(check.Fail(RegistryCheckStatus.ProtocolError, $"'{registryHost}' is not a usable registry address for {check.Image}"));
        }
        return check.RunAsync(cancellationToken);
    }

    public void Dispose() => _http.Dispose();

    private static ResiliencePipeline<HttpResponseMessage> RetryPipeline(RegistryConfiguration configuration, RegistryClientOptions options)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = options.Clock };
        if (configuration.RetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = configuration.RetryAttempts,
                Delay = configuration.RetryDelay > LongestRetryDelay ? LongestRetryDelay : configuration.RetryDelay,
                BackoffType = DelayBackoffType.Constant,
                UseJitter = true,
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome)),
                DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Result, options.Clock)),
                OnRetry = args =>
                {
                    options.Logger.Debug("Registry request failed, retrying", ("attempt", args.AttemptNumber + 1),
                        ("delay_seconds", args.RetryDelay.TotalSeconds),
                        ("error", args.Outcome.Exception is { } ex ? ExceptionText.Describe(ex) : $"HTTP {(int)args.Outcome.Result!.StatusCode}"));
                    args.Outcome.Result?.Dispose();
                    return default;
                },
            });
        }
        return builder.Build();
    }

    private static bool IsTransient(HttpStatusCode status) => (int)status >= 500 || status == HttpStatusCode.TooManyRequests;

    private static bool IsTransient(Outcome<HttpResponseMessage> outcome) => outcome.Exception switch
    {
        null => IsTransient(outcome.Result!.StatusCode),
        TimeoutException => true,
        // TLS and proxy-authentication failures are configuration problems: retrying will not help.
        HttpRequestException ex => ex.HttpRequestError is not (HttpRequestError.SecureConnectionError or HttpRequestError.UserAuthenticationError
            or HttpRequestError.ConfigurationLimitExceeded or HttpRequestError.InvalidResponse) && ex.InnerException is not AuthenticationException,
        _ => false,
    };

    /// <summary>The Retry-After of a 429 or 503 (capped at <see cref="MaxRetryAfter"/>), or null for the jittered retry_delay.</summary>
    private static TimeSpan? RetryAfter(HttpResponseMessage? response, TimeProvider clock)
    {
        if (response is not { StatusCode: HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable, Headers.RetryAfter: { } retryAfter }) return null;
        var requested = retryAfter.Delta ?? (retryAfter.Date is { } date ? date - clock.GetUtcNow() : null);
        if (requested is not { } wait) return null;
        if (wait < TimeSpan.Zero) return TimeSpan.Zero;
        return wait > MaxRetryAfter ? MaxRetryAfter : wait;
    }

    /// <summary>
    /// Sends a fresh request per attempt until a non-transient answer or the last attempt: the last answer (possibly a
    /// 5xx) with the number of attempts, or why no answer came. Only cancellation throws.
    /// </summary>
    private async Task<Sent> SendAsync(Func<HttpRequestMessage> request, CancellationToken cancellationToken)
    {
        var attempts = 0;
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            var outcome = await _retry.ExecuteOutcomeAsync(async (ctx, build) =>
            {
                attempts++;
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ctx.CancellationToken);
                timeout.CancelAfter(_requestTimeout);
                try
                {
                    return Outcome.FromResult(await _http.SendAsync(build(), HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false));
                }
                catch (OperationCanceledException ex) when (!ctx.CancellationToken.IsCancellationRequested)
                {
                    return Outcome.FromException<HttpResponseMessage>(new TimeoutException($"no answer within {_requestTimeout.TotalSeconds:0.#} s", ex));
                }
                catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
                {
                    return Outcome.FromException<HttpResponseMessage>(ex);
                }
            }, context, request).ConfigureAwait(false);
            if (outcome.Exception is OperationCanceledException) outcome.ThrowIfException();
            return new Sent(outcome.Result, attempts, outcome.Exception);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>
    /// The token server's JSON, read within the request timeout and at most <see cref="MaxTokenResponseBytes"/> long; a
    /// body that is not JSON, or longer, reads as an answer without a token. A failure: the answer broke off or stalled.
    /// </summary>
    private async Task<Result<RegistryTokenResponse>> ReadTokenAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_requestTimeout);
        var buffer = new byte[MaxTokenResponseBytes + 1];
        var length = 0;
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            int read;
            while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), timeout.Token).ConfigureAwait(false)) > 0) length += read;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new Failure(FailureKind.Timeout, null, $"no complete answer within {_requestTimeout.TotalSeconds:0.#} s");
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            return new Failure(FailureKind.Unreachable, null, ExceptionText.Describe(ex));
        }
        if (length > MaxTokenResponseBytes) return Result<RegistryTokenResponse>.Success(new RegistryTokenResponse());
        try
        {
            return Result<RegistryTokenResponse>.Success(
                JsonSerializer.Deserialize(buffer.AsSpan(0, length), RegistryJsonContext.Default.RegistryTokenResponse) ?? new RegistryTokenResponse());
        }
        catch (JsonException)
        {
            return Result<RegistryTokenResponse>.Success(new RegistryTokenResponse());
        }
    }

    /// <summary>What <see cref="SendAsync"/> got: the answer, or the failure of the last attempt.</summary>
    private sealed record Sent(HttpResponseMessage? Response, int Attempts, Exception? Failure) : IDisposable
    {
        public void Dispose() => Response?.Dispose();
    }

    /// <summary>How a request is authorised: nothing, Basic, or a bearer token (from the cache or fresh).</summary>
    private sealed record Authorization(AuthenticationHeaderValue? Header, TokenScope? Scope, bool FromCache)
    {
        // The header holds the password or the token: never print it.
        public override string ToString() => $"{Header?.Scheme ?? "none"} (redacted){(FromCache ? ", cached" : "")}";
    }

    /// <summary>The authorisation to send, or the check's result when the registry or its token server said no.</summary>
    private sealed record Authorized(Authorization? Authorization, RegistryCheckResult? Refused)
    {
        public static Authorized With(Authorization authorization) => new(authorization, null);

        public static Authorized No(RegistryCheckResult refused) => new(null, refused);
    }

    /// <summary>One check's state: keeps the image names and the credentials of this check in one place.</summary>
    private sealed partial class Check
    {
        private readonly RegistryClient _client;
        private readonly RegistryCredentials? _credentials;
        private readonly Uri _base;
        private readonly string _pullScope;

        public Check(RegistryClient client, string registryHost, string repository, string reference, RegistryCredentials? credentials)
        {
            _client = client;
            RegistryHost = registryHost;
            Repository = repository;
            Reference = reference;
            Image = $"{registryHost}/{repository}{(reference.Contains(':') ? "@" : ":")}{reference}";
            _credentials = credentials;
            var scheme = client.Configuration.SchemeFor(registryHost);
            InvalidHost = !Uri.TryCreate($"{scheme}://{RegistryHosts.ApiHost(registryHost)}/", UriKind.Absolute, out var baseUri);
            _base = baseUri ?? new Uri("http://invalid/");
            _pullScope = $"repository:{repository}:pull";
        }

        public bool InvalidHost { get; }
        public string RegistryHost { get; }
        public string Repository { get; }
        public string Reference { get; }
        public string Image { get; }
        private string Who => _credentials is null ? "anonymous access" : _credentials.Who;
        private Logger Log => _client._options.Logger;

        public RegistryCheckResult Fail(RegistryCheckStatus status, string message) => Result(status, message, digest: null, mediaType: null);

        /// <summary>The outcome for this image, with what was checked and whether credentials were used.</summary>
        private RegistryCheckResult Result(RegistryCheckStatus status, string message, string? digest, string? mediaType) => new()
        {
            Status = status,
            RegistryHost = RegistryHost,
            Repository = Repository,
            Reference = Reference,
            Image = Image,
            Digest = digest,
            MediaType = mediaType,
            Message = message,
            UsedCredentials = _credentials is not null,
        };

        public async Task<RegistryCheckResult> RunAsync(CancellationToken ct)
        {
            Log.Debug("Registry check", ("image", Image), ("registry", _base.Authority), ("credentials", _credentials is not null));

            // 1. Ping: learn whether and how the registry wants us to authenticate.
            IReadOnlyList<AuthChallenge> challenges;
            using (var ping = await SendAsync(HttpMethod.Get, "v2/", null, ct).ConfigureAwait(false))
            {
                if (ping.Response is not { } answer) return NoAnswer(ping, $"registry {RegistryHost}");
                if (answer.StatusCode == HttpStatusCode.OK) challenges = [];
                else if (answer.StatusCode == HttpStatusCode.Unauthorized) challenges = Challenges(answer);
                else return Unexpected(answer, ping.Attempts, $"{_base}v2/");
            }

            Authorization? authorization = null;
            if (challenges.Count > 0)
            {
                var first = await AuthorizeAsync(challenges, allowCache: true, ct).ConfigureAwait(false);
                if (first.Refused is { } refused) return refused;
                authorization = first.Authorization;
            }

            // 2. The manifest, at most three rounds: cached token → fresh token (a 401 drops the cached one),
            //    or anonymous → authorised (registries that only challenge on repositories).
            for (var round = 0; ; round++)
            {
                using var head = await SendAsync(HttpMethod.Head, ManifestPath, authorization?.Header, ct).ConfigureAwait(false);
                if (head.Response is not { } answer) return NoAnswer(head, $"registry {RegistryHost}");
                switch (answer.StatusCode)
                {
                    case HttpStatusCode.OK:
                        return await AvailableAsync(answer, authorization, ct).ConfigureAwait(false);
                    case HttpStatusCode.NotFound:
                        return Fail(RegistryCheckStatus.NotFound,
                            $"image not found: {Image} does not exist on registry {RegistryHost} (no repository '{Repository}' or no manifest '{Reference}')");
                    case HttpStatusCode.Forbidden:
                        return NoAccess();
                    case HttpStatusCode.Unauthorized when round < 2:
                        var again = Challenges(answer);
                        if (authorization is { Scope: { } cachedScope, FromCache: true })
                        {
                            Log.Debug("Registry rejected a cached token; fetching a new one", ("image", Image));
                            _client.Tokens.Invalidate(cachedScope);
                            var fresh = await AuthorizeAsync(again.Count > 0 ? again : challenges, allowCache: false, ct).ConfigureAwait(false);
                            if (fresh.Refused is { } refused) return refused;
                            authorization = fresh.Authorization;
                            continue;
                        }
                        if (authorization is null && (again.Count > 0 || challenges.Count > 0))
                        {
                            var late = await AuthorizeAsync(again.Count > 0 ? again : challenges, allowCache: true, ct).ConfigureAwait(false);
                            if (late.Refused is { } refused) return refused;
                            authorization = late.Authorization;
                            if (authorization is not null) continue;
                        }
                        if (authorization?.Scope is { } rejectedScope) _client.Tokens.Invalidate(rejectedScope);
                        return Rejected(again, authorization);
                    case HttpStatusCode.Unauthorized:
                        if (authorization?.Scope is { } lastScope) _client.Tokens.Invalidate(lastScope);
                        return Rejected(Challenges(answer), authorization);
                    default:
                        return Unexpected(answer, head.Attempts, $"{_base}{ManifestPath}");
                }
            }
        }

        private string ManifestPath => $"v2/{Repository}/manifests/{Reference}";

        private async Task<RegistryCheckResult> AvailableAsync(HttpResponseMessage head, Authorization? authorization, CancellationToken ct)
        {
            var digest = head.Headers.TryGetValues("Docker-Content-Digest", out var values) ? values.FirstOrDefault()?.Trim() : null;
            var mediaType = head.Content.Headers.ContentType?.MediaType;
            if (string.IsNullOrEmpty(digest))
            {
                // No digest header (some proxies and older registries): the digest is the sha256 of the manifest bytes.
                using var get = await SendAsync(HttpMethod.Get, ManifestPath, authorization?.Header, ct).ConfigureAwait(false);
                if (get.Response is not { } answer) return NoAnswer(get, $"registry {RegistryHost}");
                if (answer.StatusCode != HttpStatusCode.OK) return Unexpected(answer, get.Attempts, $"{_base}{ManifestPath}");
                var body = await answer.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
                digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body));
                mediaType ??= answer.Content.Headers.ContentType?.MediaType;
            }
            Log.Debug("Registry check passed", ("image", Image), ("digest", digest));
            return Result(RegistryCheckStatus.Available, $"{Image} is available on registry {RegistryHost} ({Who}), digest {digest}", digest, mediaType);
        }

        private RegistryCheckResult NoAccess() => _credentials is null
            ? Fail(RegistryCheckStatus.AuthenticationRequired, AuthRequiredMessage())
            : Fail(RegistryCheckStatus.AccessDenied,
                $"no access: registry {RegistryHost} accepted {_credentials.Who} but denies pull access to {Image}");

        private RegistryCheckResult Rejected(IReadOnlyList<AuthChallenge> challenges, Authorization? authorization)
        {
            var insufficientScope = challenges.Any(c => string.Equals(c["error"], "insufficient_scope", StringComparison.OrdinalIgnoreCase));
            if (_credentials is null) return Fail(RegistryCheckStatus.AuthenticationRequired, AuthRequiredMessage());
            if (insufficientScope) return NoAccess();
            if (authorization?.Scope is { } scope)
            {
                // The token server accepted the credentials but the registry refuses its token (expired, or the
                // registry does not trust that token server): still a credentials problem, said precisely.
                var error = challenges.Select(c => c["error"]).FirstOrDefault(e => !string.IsNullOrEmpty(e));
                return Fail(RegistryCheckStatus.BadCredentials,
                    $"bad credentials: registry {RegistryHost} rejected the token that {new Uri(scope.Realm).Authority} issued to {_credentials.Who} for {Image}{(error is null ? "" : $" (error={error})")}");
            }
            return Fail(RegistryCheckStatus.BadCredentials,
                $"bad credentials: registry {RegistryHost} rejected {_credentials.Who} for {Image} (check {_credentials.Source})");
        }

        private string AuthRequiredMessage()
        {
            var configuration = _client.Configuration;
            var why = configuration.Credentials is null
                ? "no credentials are configured (opencti.daemon.registry.username/password)"
                : $"the configured credentials belong to {configuration.ServerHost ?? RegistryHosts.DockerHub} and are not sent to other registries";
            if (configuration.DockerConfigPath is { } dockerConfig) why += $", and the Docker config {dockerConfig} has none for it";
            return $"authentication required: registry {RegistryHost} requires credentials to pull {Image}, and {why}";
        }

        private RegistryCheckResult Unexpected(HttpResponseMessage response, int attempts, string url)
        {
            var status = (int)response.StatusCode;
            var transient = IsTransient(response.StatusCode);
            return Fail(transient ? RegistryCheckStatus.Unreachable : RegistryCheckStatus.ProtocolError,
                $"registry {RegistryHost} answered {status} {response.ReasonPhrase} for {Image} ({new Uri(url).AbsolutePath}){Retries(transient, attempts)}");
        }

        /// <summary>No answer at all: unreachable after every retry, or a failure retrying cannot fix (TLS, proxy authentication).</summary>
        private RegistryCheckResult NoAnswer(Sent sent, string target)
        {
            var failure = sent.Failure!;
            var reason = ExceptionText.Describe(failure);
            return Fail(RegistryCheckStatus.Unreachable, IsTransient(Outcome.FromException<HttpResponseMessage>(failure))
                ? $"{target} unreachable after {sent.Attempts} attempt{(sent.Attempts == 1 ? "" : "s")} while checking {Image}: {reason}"
                : $"{target} failed while checking {Image}: {reason}");
        }

        private static string Retries(bool transient, int attempts) => transient ? $" after {attempts} attempt{(attempts == 1 ? "" : "s")}" : "";

        private Task<Sent> SendAsync(HttpMethod method, string path, AuthenticationHeaderValue? authorization, CancellationToken ct)
        {
            var uri = new Uri(_base, path);
            return _client.SendAsync(() =>
            {
                var request = new HttpRequestMessage(method, uri);
                if (path.Contains("/manifests/", StringComparison.Ordinal))
                {
                    foreach (var mediaType in ManifestMediaTypes) request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(mediaType));
                }
                if (authorization is not null) request.Headers.Authorization = authorization;
                return request;
            }, ct);
        }

        private static IReadOnlyList<AuthChallenge> Challenges(HttpResponseMessage response)
        {
            if (!response.Headers.NonValidated.TryGetValues("WWW-Authenticate", out var values)) return [];
            var list = new List<AuthChallenge>();
            foreach (var value in values) list.AddRange(AuthChallenge.Parse(value));
            return list;
        }

        /// <summary>Answers a challenge: Bearer (preferred) via the token flow, or Basic with the credentials.</summary>
        private async Task<Authorized> AuthorizeAsync(IReadOnlyList<AuthChallenge> challenges, bool allowCache, CancellationToken ct)
        {
            // A registry token is the bearer token itself (docker's registrytoken): no exchange.
            if (_credentials?.RegistryToken is { } registryToken) return Authorized.With(new Authorization(new AuthenticationHeaderValue("Bearer", registryToken.Reveal()), null, false));
            var bearer = challenges.FirstOrDefault(c => c.IsBearer);
            if (bearer is not null) return await BearerAsync(bearer, allowCache, ct).ConfigureAwait(false);
            if (challenges.Any(c => c.IsBasic))
            {
                if (_credentials is null) return Authorized.No(Fail(RegistryCheckStatus.AuthenticationRequired, AuthRequiredMessage()));
                if (!_credentials.HasPassword)
                {
                    return Authorized.No(Fail(RegistryCheckStatus.BadCredentials,
                        $"registry {RegistryHost} asks for a username and password (Basic) for {Image}, and {_credentials.Source} holds {_credentials.Who}"));
                }
                return Authorized.With(new Authorization(new AuthenticationHeaderValue("Basic", _credentials.BasicParameter()), null, false));
            }
            return Authorized.No(Fail(RegistryCheckStatus.ProtocolError,
                $"registry {RegistryHost} asks for an unsupported authentication scheme ({string.Join(", ", challenges.Select(c => c.Scheme))}) for {Image}"));
        }

        private async Task<Authorized> BearerAsync(AuthChallenge challenge, bool allowCache, CancellationToken ct)
        {
            var realm = challenge["realm"];
            if (string.IsNullOrEmpty(realm) || !Uri.TryCreate(realm, UriKind.Absolute, out var realmUri) || realmUri.Scheme is not ("http" or "https"))
            {
                return Authorized.No(Fail(RegistryCheckStatus.ProtocolError, $"registry {RegistryHost} sent a Bearer challenge without a usable realm URL for {Image}"));
            }
            var service = challenge["service"] ?? "";
            var key = new TokenScope(realm, service, _pullScope);
            if (allowCache && _client.Tokens.TryGet(key, out var cached))
            {
                return Authorized.With(new Authorization(new AuthenticationHeaderValue("Bearer", cached.Reveal()), key, true));
            }

            var query = (service.Length > 0 ? "service=" + Uri.EscapeDataString(service) + "&" : "") + "scope=" + Uri.EscapeDataString(_pullScope);
            var tokenUri = new Uri(realm + (realm.Contains('?') ? "&" : "?") + query);
            var tokenServer = realmUri.Authority;
            using var sent = await _client.SendAsync(() =>
            {
                if (_credentials?.IdentityToken is { } refreshToken)
                {
                    // An identity token is an OAuth2 refresh token: exchanged at the realm (POST, docker's client_id), as the engine does.
                    var form = new Dictionary<string, string> { ["grant_type"] = "refresh_token", ["client_id"] = "docker", ["refresh_token"] = refreshToken.Reveal(), ["scope"] = _pullScope };
                    if (service.Length > 0) form["service"] = service;
                    return new HttpRequestMessage(HttpMethod.Post, realm) { Content = new FormUrlEncodedContent(form) };
                }
                var request = new HttpRequestMessage(HttpMethod.Get, tokenUri);
                if (_credentials is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Basic", _credentials.BasicParameter());
                return request;
            }, ct).ConfigureAwait(false);
            if (sent.Response is not { } response) return Authorized.No(NoAnswer(sent, $"token server {tokenServer} of registry {RegistryHost}"));
            switch (response.StatusCode)
            {
                case HttpStatusCode.OK:
                    break;
                case HttpStatusCode.Unauthorized when _credentials is not null:
                    return Authorized.No(Fail(RegistryCheckStatus.BadCredentials,
                        $"bad credentials: the token server {tokenServer} of registry {RegistryHost} rejected {_credentials.Who} for {Image} (check {_credentials.Source})"));
                case HttpStatusCode.Unauthorized:
                    return Authorized.No(Fail(RegistryCheckStatus.AuthenticationRequired, AuthRequiredMessage()));
                case HttpStatusCode.Forbidden:
                    return Authorized.No(NoAccess());
                default:
                    var transient = IsTransient(response.StatusCode);
                    return Authorized.No(Fail(transient ? RegistryCheckStatus.Unreachable : RegistryCheckStatus.ProtocolError,
                        $"token server {tokenServer} of registry {RegistryHost} answered {(int)response.StatusCode} {response.ReasonPhrase} for {Image}{Retries(transient, sent.Attempts)}"));
            }
            var receivedAt = _client._options.Clock.GetUtcNow();
            var read = await _client.ReadTokenAsync(response, ct).ConfigureAwait(false);
            if (!read.IsSuccess)
            {
                return Authorized.No(Fail(RegistryCheckStatus.Unreachable,
                    $"token server {tokenServer} of registry {RegistryHost} did not finish its answer for {Image}: {read.Failure.Message}"));
            }
            var body = read.Value;
            var bearerToken = !string.IsNullOrEmpty(body.Token) ? body.Token : body.AccessToken;
            if (string.IsNullOrEmpty(bearerToken))
            {
                return Authorized.No(Fail(RegistryCheckStatus.ProtocolError,
                    $"token server {tokenServer} of registry {RegistryHost} returned no token (expected JSON with \"token\" or \"access_token\") for {Image}"));
            }
            DateTimeOffset? issuedAt = DateTimeOffset.TryParse(body.IssuedAt, System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.AssumeUniversal, out var issued) ? issued : null;
            var secret = new Secret(bearerToken);
            var lifetime = _client.Tokens.Store(key, secret, body.ExpiresIn, issuedAt, receivedAt);
            Log.Debug("Registry token obtained", ("registry", RegistryHost), ("scope", _pullScope), ("reuse_seconds", (long)lifetime.TotalSeconds));
            return Authorized.With(new Authorization(new AuthenticationHeaderValue("Bearer", secret.Reveal()), key, false));
        }

    }
}

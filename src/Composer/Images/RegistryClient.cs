using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Network;

namespace Composer.Images;

public sealed class RegistryClientOptions
{
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>The pause between retries; tests pass a function that records instead of sleeping.</summary>
    public Func<TimeSpan, CancellationToken, Task>? Delay { get; init; }

    public Random? Jitter { get; init; }

    /// <summary>Time allowed for one HTTP attempt (a timeout is a transient failure and is retried); null: opencti.request_timeout from the handler factory.</summary>
    public TimeSpan? RequestTimeout { get; init; }

    public TimeSpan TokenExpirySkew { get; init; } = RegistryTokenCache.DefaultSkew;

    public Logger Logger { get; init; } = Logger.Null;
}

/// <summary>
/// Docker Registry HTTP API v2 client for pre-flight checks: ping /v2/, answer the WWW-Authenticate
/// challenge (Basic, or the Bearer token flow with a token cache), HEAD the manifest and resolve its digest.
/// Credentials are only sent to the configured registry (RegistryConfiguration.CredentialsFor).
/// All HTTP goes through the Registry outbound channel (proxy, NO_PROXY and trust are the factory's business).
/// </summary>
public sealed class RegistryClient : IDisposable
{
    /// <summary>Manifest media types we accept, multi-platform indexes first (a pull resolves those too).</summary>
    public static readonly string[] ManifestMediaTypes =
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ];

    private readonly HttpClient _http;
    private readonly RegistryConfigurationSource _source;
    private readonly RegistryClientOptions _options;
    private readonly RetryPolicy _retry;

    public RegistryClient(IOutboundHandlerFactory handlers, RegistryConfiguration configuration, RegistryClientOptions? options = null)
        : this(handlers, new RegistryConfigurationSource(configuration), options)
    {
    }

    /// <summary>A client whose credentials follow <paramref name="source"/> (rotated passwords are used from the next check on).</summary>
    public RegistryClient(IOutboundHandlerFactory handlers, RegistryConfigurationSource source, RegistryClientOptions? options = null)
    {
        _source = source;
        var configuration = source.Current;
        _options = options ?? new RegistryClientOptions();
        _http = new HttpClient(handlers.CreateHandler(OutboundChannel.Registry), disposeHandler: true)
        {
            Timeout = Timeout.InfiniteTimeSpan, // per attempt, in RetryPolicy
        };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd($"composer/{BuildInfo.Version}");
        _retry = new RetryPolicy(configuration.RetryAttempts, configuration.RetryDelay,
            _options.RequestTimeout ?? handlers.RequestTimeout(PlatformKind.OpenCti), _options.Delay, _options.Jitter);
        Tokens = new RegistryTokenCache(_options.Clock, configuration.TokenTtl, _options.TokenExpirySkew);
    }

    public RegistryTokenCache Tokens { get; }
    public RegistryConfiguration Configuration => _source.Current;

    /// <summary>
    /// Proves that registryHost/repository:reference exists and is readable with the credentials configured for
    /// that host (anonymously otherwise), and resolves its digest. Never throws for registry failures: the
    /// result says what went wrong. reference is a tag or a digest.
    /// </summary>
    public async Task<RegistryCheckResult> CheckAsync(string registryHost, string repository, string reference, CancellationToken cancellationToken = default)
    {
        var check = new Check(this, registryHost, repository, reference);
        if (check.InvalidHost) return check.Fail(RegistryCheckStatus.ProtocolError, $"'{registryHost}' is not a usable registry address for {check.Image}");
        try
        {
            return await check.RunAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (RegistryUnreachableException ex)
        {
            return check.Fail(RegistryCheckStatus.Unreachable,
                $"{ex.Target} unreachable after {ex.Attempts} attempt{(ex.Attempts == 1 ? "" : "s")} while checking {check.Image}: {ex.Reason}");
        }
        catch (HttpRequestException ex)
        {
            return check.Fail(RegistryCheckStatus.Unreachable, $"registry {registryHost} failed while checking {check.Image}: {ExceptionText.Describe(ex)}");
        }
    }

    /// <summary>The deploy pre-flight for an image resolved by ImageResolver (docker.io is mapped to its API host here).</summary>
    public Task<RegistryCheckResult> CheckAsync(ResolvedImage image, CancellationToken cancellationToken = default) =>
        CheckAsync(image.RegistryHost, image.Repository, image.ManifestReference, cancellationToken);

    public void Dispose() => _http.Dispose();

    /// <summary>How a request is authorised: nothing, Basic, or a bearer token (from the cache or fresh).</summary>
    private sealed record Authorization(AuthenticationHeaderValue? Header, TokenScope? Scope, bool FromCache)
    {
        // The header holds the password or the token: never print it.
        public override string ToString() => $"{Header?.Scheme ?? "none"} (redacted){(FromCache ? ", cached" : "")}";
    }

    private sealed class AuthorizationFailure(RegistryCheckResult result) : Exception(result.Message)
    {
        public RegistryCheckResult Result { get; } = result;
    }

    /// <summary>One check's state: keeps the image names and the credentials decision in one place.</summary>
    private sealed class Check
    {
        private readonly RegistryClient _client;
        private readonly RegistryConfiguration _configuration; // one snapshot per check: credentials do not change halfway
        private readonly RegistryCredentials? _credentials;
        private readonly Uri _base;
        private readonly string _pullScope;

        public Check(RegistryClient client, string registryHost, string repository, string reference)
        {
            _client = client;
            RegistryHost = registryHost;
            Repository = repository;
            Reference = reference;
            Image = $"{registryHost}/{repository}{(reference.Contains(':') ? "@" : ":")}{reference}";
            var configuration = client.Configuration;
            _configuration = configuration;
            _credentials = configuration.CredentialsFor(registryHost);
            var scheme = configuration.SchemeFor(registryHost);
            InvalidHost = !Uri.TryCreate($"{scheme}://{RegistryHosts.ApiHost(registryHost)}/", UriKind.Absolute, out var baseUri);
            _base = baseUri ?? new Uri("http://invalid/");
            _pullScope = $"repository:{repository}:pull";
        }

        public bool InvalidHost { get; }
        public string RegistryHost { get; }
        public string Repository { get; }
        public string Reference { get; }
        public string Image { get; }
        private string Who => _credentials is null ? "anonymous access" : $"user '{_credentials.Username}'";

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
            var log = _client._options.Logger;
            log.Debug("Registry check", ("image", Image), ("registry", _base.Authority), ("credentials", _credentials is not null));

            // 1. Ping: learn whether and how the registry wants us to authenticate.
            var (ping, pingAttempts) = await SendAsync(HttpMethod.Get, "v2/", null, ct).ConfigureAwait(false);
            IReadOnlyList<AuthChallenge> challenges;
            using (ping)
            {
                if (ping.StatusCode == HttpStatusCode.OK)
                {
                    challenges = [];
                }
                else if (ping.StatusCode == HttpStatusCode.Unauthorized)
                {
                    challenges = Challenges(ping);
                }
                else
                {
                    return Unexpected(ping, pingAttempts, $"{_base}v2/");
                }
            }

            Authorization? authorization = null;
            try
            {
                if (challenges.Count > 0) authorization = await AuthorizeAsync(challenges, allowCache: true, ct).ConfigureAwait(false);

                // 2. The manifest, at most three rounds: cached token → fresh token (a 401 drops the cached one),
                //    or anonymous → authorised (registries that only challenge on repositories).
                for (var round = 0; ; round++)
                {
                    var (head, attempts) = await SendAsync(HttpMethod.Head, ManifestPath, authorization?.Header, ct).ConfigureAwait(false);
                    using (head)
                    {
                        switch (head.StatusCode)
                        {
                            case HttpStatusCode.OK:
                                return await AvailableAsync(head, authorization, ct).ConfigureAwait(false);
                            case HttpStatusCode.NotFound:
                                return Fail(RegistryCheckStatus.NotFound,
                                    $"image not found: {Image} does not exist on registry {RegistryHost} (no repository '{Repository}' or no manifest '{Reference}')");
                            case HttpStatusCode.Forbidden:
                                return NoAccess();
                            case HttpStatusCode.Unauthorized when round < 2:
                                var again = Challenges(head);
                                if (authorization is { Scope: { } cachedScope, FromCache: true })
                                {
                                    log.Debug("Registry rejected a cached token; fetching a new one", ("image", Image));
                                    _client.Tokens.Invalidate(cachedScope);
                                    authorization = await AuthorizeAsync(again.Count > 0 ? again : challenges, allowCache: false, ct).ConfigureAwait(false);
                                    continue;
                                }
                                if (authorization is null && (again.Count > 0 || challenges.Count > 0))
                                {
                                    authorization = await AuthorizeAsync(again.Count > 0 ? again : challenges, allowCache: true, ct).ConfigureAwait(false);
                                    if (authorization is not null) continue;
                                }
                                if (authorization?.Scope is { } rejectedScope) _client.Tokens.Invalidate(rejectedScope);
                                return Rejected(again, authorization);
                            case HttpStatusCode.Unauthorized:
                                if (authorization?.Scope is { } lastScope) _client.Tokens.Invalidate(lastScope);
                                return Rejected(Challenges(head), authorization);
                            default:
                                return Unexpected(head, attempts, $"{_base}{ManifestPath}");
                        }
                    }
                }
            }
            catch (AuthorizationFailure failure)
            {
                return failure.Result;
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
                var (get, attempts) = await SendAsync(HttpMethod.Get, ManifestPath, authorization?.Header, ct).ConfigureAwait(false);
                using (get)
                {
                    if (get.StatusCode != HttpStatusCode.OK) return Unexpected(get, attempts, $"{_base}{ManifestPath}");
                    var body = await get.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
                    digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body));
                    mediaType ??= get.Content.Headers.ContentType?.MediaType;
                }
            }
            _client._options.Logger.Debug("Registry check passed", ("image", Image), ("digest", digest));
            return Result(RegistryCheckStatus.Available, $"{Image} is available on registry {RegistryHost} ({Who}), digest {digest}", digest, mediaType);
        }

        private RegistryCheckResult NoAccess() => _credentials is null
            ? Fail(RegistryCheckStatus.AuthenticationRequired, AuthRequiredMessage())
            : Fail(RegistryCheckStatus.AccessDenied,
                $"no access: registry {RegistryHost} accepted user '{_credentials.Username}' but denies pull access to {Image}");

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
                    $"bad credentials: registry {RegistryHost} rejected the token that {new Uri(scope.Realm).Authority} issued to user '{_credentials.Username}' for {Image}{(error is null ? "" : $" (error={error})")}");
            }
            return Fail(RegistryCheckStatus.BadCredentials,
                $"bad credentials: registry {RegistryHost} rejected user '{_credentials.Username}' for {Image} (check opencti.daemon.registry.username/password)");
        }

        private string AuthRequiredMessage()
        {
            var server = _configuration.ServerHost;
            var why = _configuration.Credentials is null
                ? "no credentials are configured (opencti.daemon.registry.username/password)"
                : $"the configured credentials belong to {server ?? RegistryHosts.DockerHub} and are not sent to other registries";
            return $"authentication required: registry {RegistryHost} requires credentials to pull {Image}, and {why}";
        }

        private RegistryCheckResult Unexpected(HttpResponseMessage response, int attempts, string url)
        {
            var status = (int)response.StatusCode;
            var transient = RetryPolicy.IsTransient(response.StatusCode);
            var retries = transient ? $" after {attempts} attempt{(attempts == 1 ? "" : "s")}" : "";
            return Fail(transient ? RegistryCheckStatus.Unreachable : RegistryCheckStatus.ProtocolError,
                $"registry {RegistryHost} answered {status} {response.ReasonPhrase} for {Image} ({new Uri(url).AbsolutePath}){retries}");
        }

        private Task<(HttpResponseMessage, int)> SendAsync(HttpMethod method, string path, AuthenticationHeaderValue? authorization, CancellationToken ct)
        {
            var uri = new Uri(_base, path);
            return _client._retry.SendAsync(token =>
            {
                var request = new HttpRequestMessage(method, uri);
                if (path.Contains("/manifests/", StringComparison.Ordinal))
                {
                    foreach (var mediaType in ManifestMediaTypes) request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(mediaType));
                }
                if (authorization is not null) request.Headers.Authorization = authorization;
                return _client._http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token);
            }, $"registry {RegistryHost}", ct);
        }

        private static IReadOnlyList<AuthChallenge> Challenges(HttpResponseMessage response)
        {
            if (!response.Headers.NonValidated.TryGetValues("WWW-Authenticate", out var values)) return [];
            var list = new List<AuthChallenge>();
            foreach (var value in values) list.AddRange(AuthChallenge.Parse(value));
            return list;
        }

        /// <summary>Answers a challenge: Bearer (preferred) via the token flow, or Basic with the credentials.</summary>
        private async Task<Authorization?> AuthorizeAsync(IReadOnlyList<AuthChallenge> challenges, bool allowCache, CancellationToken ct)
        {
            var bearer = challenges.FirstOrDefault(c => c.IsBearer);
            if (bearer is not null) return await BearerAsync(bearer, allowCache, ct).ConfigureAwait(false);
            if (challenges.Any(c => c.IsBasic))
            {
                if (_credentials is null) throw new AuthorizationFailure(Fail(RegistryCheckStatus.AuthenticationRequired, AuthRequiredMessage()));
                return new Authorization(new AuthenticationHeaderValue("Basic", _credentials.BasicParameter()), null, false);
            }
            throw new AuthorizationFailure(Fail(RegistryCheckStatus.ProtocolError,
                $"registry {RegistryHost} asks for an unsupported authentication scheme ({string.Join(", ", challenges.Select(c => c.Scheme))}) for {Image}"));
        }

        private async Task<Authorization> BearerAsync(AuthChallenge challenge, bool allowCache, CancellationToken ct)
        {
            var realm = challenge["realm"];
            if (string.IsNullOrEmpty(realm) || !Uri.TryCreate(realm, UriKind.Absolute, out var realmUri) || realmUri.Scheme is not ("http" or "https"))
            {
                throw new AuthorizationFailure(Fail(RegistryCheckStatus.ProtocolError,
                    $"registry {RegistryHost} sent a Bearer challenge without a usable realm URL for {Image}"));
            }
            var service = challenge["service"] ?? "";
            var key = new TokenScope(realm, service, _pullScope);
            if (allowCache && _client.Tokens.TryGet(key, out var cached))
            {
                return new Authorization(new AuthenticationHeaderValue("Bearer", cached.Reveal()), key, true);
            }

            var query = (service.Length > 0 ? "service=" + Uri.EscapeDataString(service) + "&" : "") + "scope=" + Uri.EscapeDataString(_pullScope);
            var tokenUri = new Uri(realm + (realm.Contains('?') ? "&" : "?") + query);
            var tokenServer = realmUri.Authority;
            var (response, attempts) = await _client._retry.SendAsync(token =>
            {
                var request = new HttpRequestMessage(HttpMethod.Get, tokenUri);
                if (_credentials is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Basic", _credentials.BasicParameter());
                return _client._http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, token);
            }, $"token server {tokenServer} of registry {RegistryHost}", ct).ConfigureAwait(false);
            using (response)
            {
                switch (response.StatusCode)
                {
                    case HttpStatusCode.OK:
                        break;
                    case HttpStatusCode.Unauthorized when _credentials is not null:
                        throw new AuthorizationFailure(Fail(RegistryCheckStatus.BadCredentials,
                            $"bad credentials: the token server {tokenServer} of registry {RegistryHost} rejected user '{_credentials.Username}' for {Image} (check opencti.daemon.registry.username/password)"));
                    case HttpStatusCode.Unauthorized:
                        throw new AuthorizationFailure(Fail(RegistryCheckStatus.AuthenticationRequired, AuthRequiredMessage()));
                    case HttpStatusCode.Forbidden:
                        throw new AuthorizationFailure(NoAccess());
                    default:
                        var retries = RetryPolicy.IsTransient(response.StatusCode) ? $" after {attempts} attempt{(attempts == 1 ? "" : "s")}" : "";
                        throw new AuthorizationFailure(Fail(RetryPolicy.IsTransient(response.StatusCode) ? RegistryCheckStatus.Unreachable : RegistryCheckStatus.ProtocolError,
                            $"token server {tokenServer} of registry {RegistryHost} answered {(int)response.StatusCode} {response.ReasonPhrase} for {Image}{retries}"));
                }
                var receivedAt = _client._options.Clock.GetUtcNow();
                RegistryTokenResponse? body;
                try
                {
                    await using var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                    body = await JsonSerializer.DeserializeAsync(stream, RegistryJsonContext.Default.RegistryTokenResponse, ct).ConfigureAwait(false);
                }
                catch (JsonException)
                {
                    body = null;
                }
                var bearerToken = !string.IsNullOrEmpty(body?.Token) ? body.Token : body?.AccessToken;
                if (string.IsNullOrEmpty(bearerToken))
                {
                    throw new AuthorizationFailure(Fail(RegistryCheckStatus.ProtocolError,
                        $"token server {tokenServer} of registry {RegistryHost} returned no token (expected JSON with \"token\" or \"access_token\") for {Image}"));
                }
                DateTimeOffset? issuedAt = DateTimeOffset.TryParse(body!.IssuedAt, System.Globalization.CultureInfo.InvariantCulture,
                    System.Globalization.DateTimeStyles.AssumeUniversal, out var issued) ? issued : null;
                var secret = new Secret(bearerToken);
                var lifetime = _client.Tokens.Store(key, secret, body.ExpiresIn, issuedAt, receivedAt);
                _client._options.Logger.Debug("Registry token obtained", ("registry", RegistryHost), ("scope", _pullScope), ("reuse_seconds", (long)lifetime.TotalSeconds));
                return new Authorization(new AuthenticationHeaderValue("Bearer", secret.Reveal()), key, false);
            }
        }
    }
}

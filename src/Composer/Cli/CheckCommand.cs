using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography;
using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Hosting;
using Composer.Images;
using Composer.Network;
using Composer.Orchestration.Docker;
using Composer.Orchestration.Kubernetes;
using Composer.Orchestration.Portainer;
using Composer.Orchestration.Swarm;
using Composer.Platform;
using Composer.Reconciliation;
using Composer.Resolution;

namespace Composer.Cli;

/// <summary>
/// `composer check [--image IMAGE]`, the doctor: every part a running Composer depends on, one line each, in the
/// order they are needed: the configuration, the manager key, then per enabled platform its proxied channels, the
/// platform (version query), its connector listing (run once: the token's capabilities) and its orchestrator (<see cref="IOrchestrator.CheckAsync"/>), then the
/// registry (login and a check of IMAGE, the deploy pre-flight). A check whose proxy channel failed is skipped.
/// Lines are printed as the checks finish: mark (<c>ok  </c>, <c>FAIL</c>, <c>skip</c>), name, time, detail, and on
/// failure a hint. Exit 0 when everything passed, 1 when a check failed, 2 for configuration errors. Nothing
/// secret is printed: tokens and passwords never enter a line, proxy URLs are redacted.
/// </summary>
public static class CheckCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var image = new Option<string?>("--image")
        {
            Description = "A connector image to check in its registry (name as the platform lists it: the registry prefix applies)",
        };
        var command = new Command("check", "Check every part Composer depends on (configuration, key, platforms, proxies, orchestrators, registry); changes nothing") { image };
        command.SetAction((parse, cancellationToken) =>
            RunAsync(CliSettings.Request(parse, resolveOrchestrators: true), parse.GetValue(image), stdout, stderr, cancellationToken));
        return command;
    }

    public static async Task<int> RunAsync(ConfigLoadRequest request, string? image, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var report = new Report(stdout);

        var started = Stopwatch.GetTimestamp();
        var loaded = SettingsLoader.Load(request);
        var loadTime = Stopwatch.GetElapsedTime(started);
        foreach (var w in loaded.Warnings) await stderr.WriteLineAsync($"warning: {w}");
        // Key problems get their own line; the resolve step reports them among the configuration errors.
        var keyErrors = loaded.Errors.Where(e => e.Key.StartsWith("manager.credentials_key", StringComparison.Ordinal)).ToList();
        var otherErrors = loaded.Errors.Except(keyErrors).ToList();
        if (otherErrors.Count > 0)
        {
            await report.WriteAsync("configuration", loadTime, Outcome.Fail(
                $"{otherErrors.Count} error{(otherErrors.Count == 1 ? "" : "s")}:\n" + string.Join("\n", otherErrors.Select(e => $"  {e}")),
                "fix the keys named above; `composer config show --sources` shows where each value comes from"));
        }
        else
        {
            var files = loaded.FilesRead.Count == 0 ? "no files" : string.Join(", ", loaded.FilesRead);
            await report.WriteAsync("configuration", loadTime,
                Outcome.Ok($"{files}; {loaded.Warnings.Count} warning{(loaded.Warnings.Count == 1 ? "" : "s")}"));
        }
        if (keyErrors.Count > 0)
        {
            await report.WriteAsync("manager key", TimeSpan.Zero, Outcome.Fail(string.Join("; ", keyErrors.Select(e => e.ToString())),
                "generate one with: openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out manager-key.pem, and set manager.credentials_key_filepath"));
        }
        if (loaded.Resolved is not { } settings)
        {
            await report.SummaryAsync();
            return ExitCodes.ConfigurationError;
        }
        if (settings.Key is { } key) await report.RunAsync("manager key", () => Task.FromResult(KeyCheck(key)));

        var platforms = settings.EnabledPlatforms.ToList();
        if (platforms.Count == 0)
        {
            await report.WriteAsync("platforms", TimeSpan.Zero, Outcome.Fail("opencti.enable and openaev.enable are both false: nothing to manage",
                "set opencti.enable (OPENCTI__ENABLE) or openaev.enable to true"));
            await report.SummaryAsync();
            return ExitCodes.ConfigurationError;
        }

        // Every outcome is a line of the report; the components' own log lines would only repeat them.
        var logger = Logger.Null;
        var handlers = new OutboundHandlerFactory(settings.Network);
        foreach (var warning in handlers.Warnings) await stderr.WriteLineAsync($"warning: {warning}");
        using var registry = new RegistryAccess(settings.Registry, handlers, logger);
        var libraryLogger = new ComposerLoggerProvider(logger);
        var proxied = new Dictionary<(OutboundChannel, PlatformKind, string), bool>();
        ResolvedImage? resolved = null;
        if (image is not null)
        {
            var resolution = registry.Images.Resolve(image);
            if (!resolution.IsSuccess)
            {
                // A command-line error, like `composer image check` with an invalid name: nothing else is tried.
                await report.WriteAsync("registry", TimeSpan.Zero, Outcome.Fail($"--image: {resolution.Failure.Message}",
                    "give an image as the platform lists it, e.g. opencti/connector-mitre:6.9.4"));
                await report.SummaryAsync();
                return ExitCodes.ConfigurationError;
            }
            resolved = resolution.Value;
        }

        foreach (var platform in platforms)
        {
            var section = platform.Section;
            var platformProxyOk = await ProxyChannelAsync(report, proxied, handlers, platform.Kind == PlatformKind.OpenCti ? OutboundChannel.OpenCti : OutboundChannel.OpenAev,
                platform.Kind, $"{section} proxy", new Uri(platform.Url), cancellationToken);
            using (var client = ManagerRuntime.CreateClient(settings, platform, handlers, logger))
            {
                if (!platformProxyOk)
                {
                    await report.WriteAsync($"{section} platform", TimeSpan.Zero, Outcome.Skip($"not tried: the {section} proxy channel failed"));
                    await report.WriteAsync($"{section} listing", TimeSpan.Zero, Outcome.Skip($"not tried: the {section} proxy channel failed"));
                }
                else if ((await report.RunAsync($"{section} platform", () => PlatformCheckAsync(client, platform, handlers, cancellationToken))).Mark == Mark.Ok)
                {
                    await report.RunAsync($"{section} listing", () => ListingCheckAsync(client, platform, cancellationToken));
                }
                else
                {
                    await report.WriteAsync($"{section} listing", TimeSpan.Zero, Outcome.Skip($"not tried: the {section} platform check failed"));
                }
            }

            // The Docker TCP probe carries the engine's own TLS (its CA, the client certificate); Portainer and
            // Kubernetes bring their own CAs, so their route is proved by the orchestrator's own check (named on its line).
            var orchestratorProxyOk = true;
            if (EngineOf(platform) is { Transport: not DockerTransport.UnixSocket } tcp)
            {
                orchestratorProxyOk = await ProxyChannelAsync(report, proxied, handlers, OutboundChannel.DockerTcp, platform.Kind, $"{section} docker proxy",
                    new Uri(tcp.Address, "_ping"), cancellationToken, tcp.Tls?.Endpoint);
            }
            if (!orchestratorProxyOk)
            {
                await report.WriteAsync($"{section} orchestrator", TimeSpan.Zero, Outcome.Skip($"not tried: the {section} {platform.SelectorName} proxy channel failed"));
                continue;
            }
            await report.RunAsync($"{section} orchestrator", () => OrchestratorCheckAsync(settings, platform, handlers, registry, libraryLogger, logger,
                cancellationToken));
        }

        // Each platform's image policy: what it requires, and with --image whether that image would run (and as which digest).
        foreach (var platform in platforms.Where(p => p.ImagePolicy.IsSet))
        {
            await report.RunAsync($"{platform.Section} image policy", () => ImagePolicyCheckAsync(platform, registry, resolved, cancellationToken));
        }

        if (resolved is not null)
        {
            var scheme = settings.Registry.SchemeFor(resolved.RegistryHost);
            var registryProxyOk = await ProxyChannelAsync(report, proxied, handlers, OutboundChannel.Registry, PlatformKind.OpenCti, "registry proxy",
                new Uri($"{scheme}://{RegistryHosts.ApiHost(resolved.RegistryHost)}/v2/"), cancellationToken);
            if (registryProxyOk) await report.RunAsync("registry", () => RegistryCheckAsync(registry, resolved, cancellationToken));
            else await report.WriteAsync("registry", TimeSpan.Zero, Outcome.Skip("not tried: the registry proxy channel failed"));
        }
        else if (settings.Registry.ServerHost is { } server)
        {
            await report.WriteAsync("registry", TimeSpan.Zero, Outcome.Skip(
                $"{server}: not checked without an image (composer check --image <connector image> logs in and checks it)"));
        }

        await report.SummaryAsync();
        return report.Failures > 0 ? ExitCodes.RuntimeFailure : ExitCodes.Success;
    }

    /// <summary>The key decrypts what is encrypted for its public half, with the padding the platforms use (OAEP-SHA256).</summary>
    private static Outcome KeyCheck(ManagerKey key)
    {
        var source = key.Source;
        var probe = RandomNumberGenerator.GetBytes(32);
        try
        {
            var decrypted = key.Rsa.Decrypt(key.Rsa.Encrypt(probe, RSAEncryptionPadding.OaepSHA256), RSAEncryptionPadding.OaepSHA256);
            if (!decrypted.AsSpan().SequenceEqual(probe)) return Outcome.Fail($"RSA-{key.KeySizeBits} key from {source} does not decrypt what its public key encrypts", "the key file is corrupt: generate a new key");
        }
        catch (CryptographicException)
        {
            return Outcome.Fail($"RSA-{key.KeySizeBits} key from {source} cannot decrypt (OAEP-SHA256)", "the key file is corrupt: generate a new key");
        }
        return Outcome.Ok($"RSA-{key.KeySizeBits} from {source}; decrypts OAEP-SHA256{(key.KeySizeBits < 4096 ? " (4096 bits recommended)" : "")}");
    }

    private static async Task<Outcome> PlatformCheckAsync(IPlatformClient client, ResolvedPlatform platform, OutboundHandlerFactory handlers, CancellationToken cancellationToken)
    {
        var channel = platform.Kind == PlatformKind.OpenCti ? OutboundChannel.OpenCti : OutboundChannel.OpenAev;
        var proxy = handlers.RouteFor(channel, platform.Kind, new Uri(platform.Url));
        var route = proxy is null ? "direct" : $"via proxy {proxy.Redacted}";
        var result = await client.GetVersionAsync(cancellationToken).ConfigureAwait(false);
        if (result.IsSuccess) return Outcome.Ok($"{platform.DisplayName} {result.Value} at {SecretRedaction.RedactUrl(platform.Url)} ({route})");
        var error = result.Failure;
        var s = platform.Section;
        var hint = error.Kind switch
        {
            // OpenCTI answers a bad token with AUTH_REQUIRED (HTTP 200); a proxy or ingress may answer 401 itself.
            FailureKind.Unauthenticated or FailureKind.Forbidden =>
                $"the token was refused: set {s}.token ({s.ToUpperInvariant()}__TOKEN) to the API token of the platform user Composer acts as",
            FailureKind.Unreachable or FailureKind.Timeout =>
                $"is {s}.url right and the platform up, reachable from here ({route})? with_proxy, https_proxy and no_proxy decide the route",
            _ => $"is {s}.url the platform's base URL (the address its users open)?",
        };
        return Outcome.Fail(error.Message, hint);
    }

    /// <summary>
    /// The connector listing, once, as `composer run` reads it (secrets decrypted, within listing_timeout and
    /// listing_max_size): proves the token's user has what the listing needs (OpenCTI: SETTINGS_SETACCESSES). Nothing
    /// is registered or changed on the platform.
    /// </summary>
    private static async Task<Outcome> ListingCheckAsync(IPlatformClient client, ResolvedPlatform platform, CancellationToken cancellationToken)
    {
        var result = await client.ListConnectorsAsync(cancellationToken).ConfigureAwait(false);
        var s = platform.Section;
        if (result.IsSuccess)
        {
            var listing = result.Value;
            var blocked = listing.Connectors.Count(c => c.Blocked is not null);
            var starting = listing.Connectors.Count(c => c.RequestedStatus == RequestedStatus.Starting);
            var detail = $"{listing.Connectors.Count} connector{(listing.Connectors.Count == 1 ? "" : "s")} listed ({starting} to run)";
            if (blocked + listing.Skipped.Count == 0) return Outcome.Ok(detail);
            var problems = listing.Connectors.Where(c => c.Blocked is not null).Select(c => $"  {c}: {c.Blocked}")
                .Concat(listing.Skipped.Select(k => $"  {(k.Name is null ? "" : k.Name + ": ")}{k.Reason}"));
            return Outcome.Fail($"{detail}; {blocked} blocked and {listing.Skipped.Count} unusable:\n{string.Join("\n", problems)}",
                "these connectors are not deployed or changed until the platform lists them right (the reasons above)");
        }
        var error = result.Failure;
        // The platform checks the token's rights before it looks for the manager, so these answers prove them; only the
        // listing itself waits for the manager to be registered (OpenCTI encrypts each connector's token for its key).
        if (error.Kind == FailureKind.UnknownManager || error.Message.Contains("'public_key'", StringComparison.Ordinal))
        {
            return Outcome.Ok($"the token may list connectors; the platform lists them once this manager is registered (`composer run` registers it)");
        }
        var hint = error.Kind switch
        {
            FailureKind.Forbidden => platform.Kind == PlatformKind.OpenCti
                ? "give the user of the token a role with the capability SETTINGS_SETACCESSES (the listing) and CONNECTORAPI (every other manager operation)"
                : "give the user of the token read and write access to the connector catalog",
            FailureKind.Unauthenticated => $"set {s}.token ({s.ToUpperInvariant()}__TOKEN) to the API token of the platform user Composer acts as",
            FailureKind.Timeout => $"the platform may hold the listing while managed connectors auto-upgrade (up to 90 s); {s}.listing_timeout bounds it",
            FailureKind.TooLarge => $"raise {s}.listing_max_size if the platform really lists that much",
            _ => $"see the error; `composer run` retries the listing every cycle and changes nothing while it fails",
        };
        return Outcome.Fail(error.Message, hint);
    }

    private static async Task<Outcome> OrchestratorCheckAsync(ResolvedSettings settings, ResolvedPlatform platform, OutboundHandlerFactory handlers,
        RegistryAccess registry, ComposerLoggerProvider libraryLogger, Logger logger, CancellationToken cancellationToken)
    {
        await using var orchestrator = ManagerRuntime.CreateOrchestrator(settings, platform, handlers, registry, libraryLogger, logger,
            TimeProvider.System, observeOnly: true);
        var failure = await orchestrator.CheckAsync(cancellationToken).ConfigureAwait(false);
        var engine = EngineOf(platform);
        var (where, route) = platform.Orchestrator switch
        {
            _ when engine is not null => ($" at {engine.Display}",
                engine.Transport == DockerTransport.UnixSocket ? null : handlers.RouteFor(OutboundChannel.DockerTcp, platform.Kind, engine.Address)),
            ResolvedPortainer portainer => ($" at {SecretRedaction.RedactUrl(portainer.Api.ToString())}",
                handlers.RouteFor(OutboundChannel.Portainer, platform.Kind, portainer.Api)),
            ResolvedKubernetes { Endpoint: var kubernetes } => (
                $" at {SecretRedaction.RedactUrl(kubernetes.Server.ToString().TrimEnd('/'))} (namespace {kubernetes.Namespace})",
                handlers.RouteFor(OutboundChannel.Kubernetes, platform.Kind, kubernetes.Server)),
            _ => ("", null),
        };
        var via = route is null ? "" : $" (via proxy {route.Redacted})";
        var tls = engine is { Transport: DockerTransport.Tcp } ? $"; {engine.TlsSummary}" : "";
        return failure is null
            ? Outcome.Ok($"{orchestrator.Kind}{where} answers{via}{tls}")
            : Outcome.Fail(failure.Message + via + tls, SelectorHint(platform));
    }

    /// <summary>The Docker engine of a docker or swarm platform, else null.</summary>
    private static DockerEndpoint? EngineOf(ResolvedPlatform platform) => platform.Orchestrator switch
    {
        ResolvedDocker docker => docker.Endpoint,
        ResolvedSwarm swarm => swarm.Endpoint,
        _ => null,
    };

    private static string SelectorHint(ResolvedPlatform platform) => (platform.Orchestrator, EngineOf(platform)) switch
    {
        (_, { Tls: not null }) =>
            "is the engine listening there with TLS? Its CA and the client certificate come from opencti.daemon.docker.tls (ca, cert, key), else ca.pem, cert.pem and key.pem in DOCKER_CERT_PATH (docs/network.md)",
        (_, { Transport: DockerTransport.Tcp }) =>
            "is the engine listening at that address? (opencti.daemon.docker.host, else DOCKER_HOST; an engine with --tlsverify needs DOCKER_TLS_VERIFY or opencti.daemon.docker.tls)",
        (_, not null) => "is the engine running, and its socket mounted and readable by Composer's user? (opencti.daemon.docker.host, else DOCKER_HOST)",
        (ResolvedKubernetes, _) => $"check the kubeconfig (KUBECONFIG, {platform.Section}.daemon.kubernetes.context) or the pod's service account, and its RBAC (deploy/kubernetes)",
        _ => $"check {platform.Section}.daemon.portainer.api, api_key and env_id",
    };

    private static async Task<Outcome> ImagePolicyCheckAsync(ResolvedPlatform platform, RegistryAccess registry, ResolvedImage? image, CancellationToken cancellationToken)
    {
        var policy = platform.ImagePolicy;
        if (image is null) return Outcome.Ok($"{policy.Describe()} (composer check --image <image> puts an image to it)");
        var verdict = await new ImageGate(policy, registry, TimeProvider.System, Logger.Null).CheckAsync(image, cancellationToken).ConfigureAwait(false);
        if (verdict.Image is { } approved) return Outcome.Ok($"{image.Reference} approved; runs {approved.Reference}{(verdict.SignedBy is { } key ? $"; signed by {key}" : "")}");
        return Outcome.Fail(verdict.Refusal!, $"see {policy.Section} (allow, cosign_public_keys) and docs/image-trust.md");
    }

    private static async Task<Outcome> RegistryCheckAsync(RegistryAccess registry, ResolvedImage image, CancellationToken cancellationToken)
    {
        var (check, credentials) = await registry.LookUpAndCheckAsync(image, cancellationToken).ConfigureAwait(false);
        if (check.IsAvailable)
        {
            var who = credentials is null ? "anonymous"
                : (credentials.HasPassword ? $"logged in as {credentials.Username}" : credentials.Who)
                  + (credentials.Source == RegistryCredentials.SettingsSource ? "" : $" from {credentials.Source}");
            return Outcome.Ok($"{image.Reference} ({who}): digest {check.Digest}");
        }
        var hint = check.Status switch
        {
            RegistryCheckStatus.BadCredentials when credentials is not null && credentials.Source != RegistryCredentials.SettingsSource =>
                $"check the credentials in {credentials.Source} (docker login, or the credential helper)",
            RegistryCheckStatus.BadCredentials => "check opencti.daemon.registry.username and password (OPENCTI__DAEMON__REGISTRY__PASSWORD, or ..._PASSWORD_FILE)",
            RegistryCheckStatus.CredentialsUnavailable => "check the Docker config (opencti.daemon.registry.docker_config, DOCKER_CONFIG) and the credential helper it names (docs/registries.md)",
            RegistryCheckStatus.AuthenticationRequired => "set opencti.daemon.registry.server, username and password for this registry, or log in to it in the Docker config (docker login; opencti.daemon.registry.docker_config)",
            RegistryCheckStatus.AccessDenied => "the registry knows the user but denies it pull access to this repository: grant it there",
            RegistryCheckStatus.NotFound => "check the image name and tag, and opencti.daemon.registry.server (prefixed to images that name no registry)",
            RegistryCheckStatus.Unreachable => "check the registry address and the route to it (with_proxy, https_proxy, no_proxy); retry_attempts and retry_delay bound the retries",
            _ => "is opencti.daemon.registry.server a Docker registry (distribution API v2)?",
        };
        return Outcome.Fail(check.Message, hint);
    }

    /// <summary>
    /// When <paramref name="target"/> is reached through a proxy on this channel: one request through the channel's
    /// handler (its proxy, credentials and proxy CAs, exactly what the real calls use) and a line saying the route
    /// and what answered. Any HTTP answer of the target proves the channel; the target's own checks come after.
    /// Returns false when the channel failed. Direct routes print nothing (the checks using them name the route).
    /// </summary>
    /// <param name="tls">The endpoint's own TLS (the Docker engine's CA and client certificate), or null for the channel's trust.</param>
    private static async Task<bool> ProxyChannelAsync(Report report, Dictionary<(OutboundChannel, PlatformKind, string), bool> done,
        OutboundHandlerFactory handlers, OutboundChannel channel, PlatformKind platform, string name, Uri target, CancellationToken cancellationToken,
        EndpointTls? tls = null)
    {
        if (handlers.RouteFor(channel, platform, target) is not { } proxy) return true;
        var key = (channel, platform, target.GetLeftPart(UriPartial.Authority));
        if (done.TryGetValue(key, out var passed)) return passed;
        var outcome = await report.RunAsync(name, () => ProxyRequestAsync(handlers, channel, platform, target, proxy, tls, cancellationToken));
        done[key] = outcome.Mark != Mark.Fail;
        return done[key];
    }

    private static async Task<Outcome> ProxyRequestAsync(OutboundHandlerFactory handlers, OutboundChannel channel, PlatformKind platform, Uri target,
        ProxyEndpoint proxy, EndpointTls? endpointTls, CancellationToken cancellationToken)
    {
        var policy = handlers.Policy(platform);
        var s = policy.Section;
        var shown = SecretRedaction.RedactUrl(target.GetLeftPart(UriPartial.Authority));
        var route = $"{shown} via {proxy.Redacted}";
        var caHint = policy.ProxyCa.Certificates.Count == 0
            ? $"no proxy CA is configured: a TLS-intercepting proxy re-signs every site with its own CA; add it to https_proxy_ca (HTTPS_PROXY_CA, or {s}.https_proxy_ca)"
            : $"the {policy.ProxyCa.Certificates.Count} CA certificate(s) of https_proxy_ca do not validate it: add the CA the proxy re-signs with";
        using var client = endpointTls is null ? handlers.CreateClient(channel, platform)
            : new HttpClient(handlers.CreateHandler(channel, platform, endpointTls), disposeHandler: true) { Timeout = handlers.RequestTimeout(platform) };
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, target);
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            var code = (int)response.StatusCode;
            if (response.StatusCode == HttpStatusCode.ProxyAuthenticationRequired)
            {
                return Outcome.Fail($"{route}: the proxy requires authentication (HTTP 407)",
                    "put the proxy credentials in its URL: http://user:password@host:port (never printed)");
            }
            if (target.Scheme == Uri.UriSchemeHttp && response.StatusCode is HttpStatusCode.BadGateway or HttpStatusCode.GatewayTimeout)
            {
                // A plain-HTTP request is forwarded by the proxy: a gateway error is the proxy saying it could not reach the target.
                return Outcome.Fail($"{route}: the proxy answered HTTP {code} (it could not reach the target)",
                    $"check the proxy's access rules, or reach {target.Host} directly by listing it in no_proxy ({s}.no_proxy, NO_PROXY)");
            }
            var tls = target.Scheme != Uri.UriSchemeHttps ? ""
                : endpointTls is { SkipVerification: true } ? ", TLS certificate NOT validated (the endpoint's TLS verification is off)"
                : policy.ProxyRejectUnauthorized ? ", TLS certificate validated" : ", TLS certificate NOT validated (https_proxy_reject_unauthorized: false)";
            return Outcome.Ok($"{route}: answered HTTP {code}{tls}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Outcome.Fail($"{route}: no answer within {handlers.RequestTimeout(platform).TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s",
                $"is the proxy up and allowed to reach {target.Host}? ({s}.request_timeout bounds each request)");
        }
        catch (HttpRequestException ex)
        {
            var chain = new List<Exception>();
            for (Exception? e = ex; e is not null; e = e.InnerException) chain.Add(e);
            var cause = SecretRedaction.RedactUrl(ExceptionText.Describe(ex));
            if (chain.OfType<AuthenticationException>().Any() || ex.HttpRequestError == HttpRequestError.SecureConnectionError)
            {
                return Outcome.Fail($"{route}: the TLS certificate presented for {target.Host} is not trusted ({cause})", caHint);
            }
            if (ex.HttpRequestError == HttpRequestError.ProxyTunnelError)
            {
                return cause.Contains("407", StringComparison.Ordinal)
                    ? Outcome.Fail($"{route}: the proxy refused the credentials (HTTP 407)", "check the user and password in the proxy URL (never printed)")
                    : Outcome.Fail($"{route}: the proxy refused the tunnel ({cause})",
                        $"check the proxy's access rules, or reach {target.Host} directly by listing it in no_proxy ({s}.no_proxy, NO_PROXY)");
            }
            if (ex.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError || chain.OfType<SocketException>().Any())
            {
                return Outcome.Fail($"cannot connect to the proxy {proxy.Redacted} ({cause})",
                    $"is the proxy running at that address? It comes from {s}.http_proxy/https_proxy, else http_proxy/https_proxy (HTTP_PROXY, HTTPS_PROXY)");
            }
            return Outcome.Fail($"{route}: {cause}", "check the proxy settings (docs/network.md)");
        }
    }

    private enum Mark
    {
        Ok,
        Fail,
        Skip,
    }

    private sealed record Outcome(Mark Mark, string Detail, string? Hint = null)
    {
        public static Outcome Ok(string detail) => new(Mark.Ok, detail);

        public static Outcome Fail(string detail, string hint) => new(Mark.Fail, detail, hint);

        public static Outcome Skip(string detail) => new(Mark.Skip, detail);
    }

    /// <summary>Prints each check as it finishes (a hanging check shows where it hangs) and counts the failures.</summary>
    private sealed class Report(TextWriter output)
    {
        private int _total;

        public int Failures { get; private set; }

        public async Task<Outcome> RunAsync(string name, Func<Task<Outcome>> check)
        {
            var started = Stopwatch.GetTimestamp();
            var outcome = await check().ConfigureAwait(false);
            await WriteAsync(name, Stopwatch.GetElapsedTime(started), outcome).ConfigureAwait(false);
            return outcome;
        }

        public async Task WriteAsync(string name, TimeSpan took, Outcome outcome)
        {
            _total++;
            if (outcome.Mark == Mark.Fail) Failures++;
            var mark = outcome.Mark switch { Mark.Ok => "ok  ", Mark.Fail => "FAIL", _ => "skip" };
            var time = outcome.Mark == Mark.Skip ? "" : $"{took.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)} ms";
            // What engines, registries and platforms answered is in the details: no secret known to the process is printed.
            await output.WriteLineAsync(SecretScrubber.Shared.Scrub($"{mark}  {name,-24} {time,8}  {outcome.Detail}")).ConfigureAwait(false);
            if (outcome.Hint is not null) await output.WriteLineAsync(SecretScrubber.Shared.Scrub($"      hint: {outcome.Hint}")).ConfigureAwait(false);
            await output.FlushAsync().ConfigureAwait(false);
        }

        public Task SummaryAsync() => output.WriteLineAsync(Failures == 0
            ? $"\nall {_total} checks passed"
            : $"\n{Failures} of {_total} checks failed");
    }
}

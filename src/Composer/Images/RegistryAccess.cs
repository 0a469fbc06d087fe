using Composer.Diagnostics;
using Composer.Network;

namespace Composer.Images;

/// <summary>
/// The registry as Composer reaches it, built once per process from the resolved opencti.daemon.registry: prefix
/// resolution (<see cref="Images"/>), the credentials of every registry (<see cref="CredentialsForAsync(string, CancellationToken)"/>:
/// the registry block's for its server, re-read when their password file rotates, and the Docker config's for every
/// other registry, re-read every token_ttl) and the registry client with its bearer-token cache. An image is resolved once, where the reconcile cycle
/// builds its input; every operation on it (a deploy: check, pull; a Swarm service create) takes one snapshot of the
/// credentials and uses it throughout, so the registry check and the pull never use two
/// different passwords.
/// </summary>
public sealed class RegistryAccess : IDisposable
{
    private readonly RegistryClient _client;
    private readonly Logger _logger;

    /// <param name="time">The clock of token lifetimes, retry delays and credential re-reads.</param>
    public RegistryAccess(RegistryConfiguration configuration, IOutboundHandlerFactory handlers, Logger? logger = null, TimeProvider? time = null)
    {
        _logger = logger ?? Logger.Null;
        time ??= TimeProvider.System;
        Configuration = configuration;
        Credentials = new RegistryCredentialSource(configuration, time, _logger);
        if (configuration.DockerConfigPath is { } dockerConfig) DockerConfig = new DockerCredentialStore(dockerConfig, configuration.TokenTtl, time, _logger);
        _client = new RegistryClient(handlers, configuration, new RegistryClientOptions { Logger = _logger, Clock = time });
    }

    /// <summary>opencti.daemon.registry as the resolve step decided it: prefix, scheme, token and retry limits.</summary>
    public RegistryConfiguration Configuration { get; }

    /// <summary>Prefix resolution with opencti.daemon.registry.server.</summary>
    public ImageResolver Images => Configuration.Images;

    /// <summary>The credentials as of now (a rotated password file is read again every token_ttl).</summary>
    public RegistryCredentialSource Credentials { get; }

    /// <summary>The Docker CLI config.json (auths, credHelpers, credsStore) of every other registry, or null when there is none to read.</summary>
    public DockerCredentialStore? DockerConfig { get; }

    /// <summary>
    /// The one per-registry credential lookup: what a pull, a pre-flight, a signature fetch, a Swarm service create or
    /// a Kubernetes pull secret sends to <paramref name="registryHost"/> (host[:port], docker.io for Docker Hub).
    /// opencti.daemon.registry's credentials for its own server first (the product page's meaning), else what the
    /// Docker config holds for that registry (<see cref="DockerConfigFile"/>: credHelpers, credsStore, auths, as the
    /// docker CLI matches them), else anonymous. A failure (a credential helper that failed or hung, an unreadable
    /// config file) says why, bounded and without secrets. Take it once per operation and use that snapshot throughout.
    /// </summary>
    public async Task<Result<RegistryLogin>> CredentialsForAsync(string registryHost, CancellationToken cancellationToken)
    {
        if (Credentials.Current is { } current && current.IsFor(registryHost)) return Result<RegistryLogin>.Success(new RegistryLogin(current));
        if (DockerConfig is null) return Result<RegistryLogin>.Success(RegistryLogin.Anonymous);
        return await DockerConfig.LookupAsync(registryHost, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One operation's credentials for <paramref name="image"/>: <see cref="CredentialsForAsync(string, CancellationToken)"/> of its registry.</summary>
    public Task<Result<RegistryLogin>> CredentialsForAsync(ResolvedImage image, CancellationToken cancellationToken) =>
        CredentialsForAsync(image.RegistryHost, cancellationToken);

    /// <summary>
    /// Looks up <paramref name="image"/>'s credentials (<see cref="CredentialsForAsync(ResolvedImage, CancellationToken)"/>)
    /// and checks it with them (<see cref="CheckAsync"/>); a failed lookup is a failed check that says why.
    /// </summary>
    public async Task<(RegistryCheckResult Check, RegistryCredentials? Credentials)> LookUpAndCheckAsync(ResolvedImage image, CancellationToken cancellationToken)
    {
        var login = await CredentialsForAsync(image, cancellationToken).ConfigureAwait(false);
        if (!login.IsSuccess)
        {
            _logger.Error("Image pre-flight failed", ("image", image.Reference), ("status", RegistryCheckStatus.BadCredentials.ToString()), ("error", login.Failure.Message));
            return (RegistryCheckResult.CredentialsUnavailable(image, login.Failure.Message), null);
        }
        return (await CheckAsync(image, login.Value.Credentials, cancellationToken).ConfigureAwait(false), login.Value.Credentials);
    }

    /// <summary>
    /// Checks with the registry API that <paramref name="image"/> exists and can be pulled with
    /// <paramref name="credentials"/> (the operation's snapshot), and resolves its digest; the outcome is logged.
    /// </summary>
    public async Task<RegistryCheckResult> CheckAsync(ResolvedImage image, RegistryCredentials? credentials, CancellationToken cancellationToken)
    {
        var check = await _client.CheckAsync(image, credentials, cancellationToken).ConfigureAwait(false);
        if (check.RegistryAnswered) RegistryAnswered?.Invoke(check.RegistryHost);
        if (check.IsAvailable) _logger.Info("Image available", ("image", image.Reference), ("digest", check.Digest));
        else _logger.Error("Image pre-flight failed", ("image", image.Reference), ("status", check.Status.ToString()), ("error", check.Message));
        return check;
    }

    /// <summary>
    /// Asks <paramref name="image"/>'s registry whether it answers (a pre-flight of the image with its credentials,
    /// logged at debug only: it is asked again every cycle while it does not): a reconcile cycle's probe of a registry
    /// that connectors' backoffs wait on. <see cref="RegistryAnswered"/> is raised when it answers.
    /// </summary>
    public async Task ProbeAsync(ResolvedImage image, CancellationToken cancellationToken)
    {
        var login = await CredentialsForAsync(image, cancellationToken).ConfigureAwait(false);
        if (!login.IsSuccess) return;
        var check = await _client.CheckAsync(image, login.Value.Credentials, cancellationToken).ConfigureAwait(false);
        _logger.Debug("Registry probed", ("registry", check.RegistryHost), ("answered", check.RegistryAnswered), ("status", check.Status.ToString()));
        if (check.RegistryAnswered) RegistryAnswered?.Invoke(check.RegistryHost);
    }

    /// <summary>
    /// Raised with the registry host after every check the registry answered (<see cref="RegistryCheckResult.RegistryAnswered"/>),
    /// whoever asked (a pull's pre-flight, the image policy, a reconcile cycle's probe): the reconcile cycles cut short
    /// the backoffs that waited on that registry. Raised on the checking thread; handlers return at once.
    /// </summary>
    public event Action<string>? RegistryAnswered;

    /// <summary>The client, for the signature fetches of <see cref="ImageGate"/> (same credentials, proxy, CA and token cache as the pull).</summary>
    internal RegistryClient Client => _client;

    public void Dispose() => _client.Dispose();
}

using Composer.Diagnostics;
using Composer.Network;

namespace Composer.Images;

/// <summary>
/// The registry as Composer reaches it, built once per process from the resolved opencti.daemon.registry: prefix
/// resolution (<see cref="Images"/>), the credentials (<see cref="Credentials"/>, re-read when their password file
/// rotates) and the registry client with its bearer-token cache. An image is resolved once, where the reconcile cycle
/// builds its input; every operation on it (a deploy: check, pull; a Swarm service create) takes one snapshot of the
/// credentials (<see cref="CredentialsFor"/>) and uses it throughout, so the registry check and the pull never use two
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
        _client = new RegistryClient(handlers, configuration, new RegistryClientOptions { Logger = _logger, Clock = time });
    }

    /// <summary>opencti.daemon.registry as the resolve step decided it: prefix, scheme, token and retry limits.</summary>
    public RegistryConfiguration Configuration { get; }

    /// <summary>Prefix resolution with opencti.daemon.registry.server.</summary>
    public ImageResolver Images => Configuration.Images;

    /// <summary>The credentials as of now (a rotated password file is read again every token_ttl).</summary>
    public RegistryCredentialSource Credentials { get; }

    /// <summary>One operation's credentials for <paramref name="image"/>: the configured ones when the image is on their registry, else null (anonymous).</summary>
    public RegistryCredentials? CredentialsFor(ResolvedImage image) => Credentials.Current is { } current && current.IsFor(image.RegistryHost) ? current : null;

    /// <summary>
    /// Checks with the registry API that <paramref name="image"/> exists and can be pulled with
    /// <paramref name="credentials"/> (the operation's snapshot), and resolves its digest; the outcome is logged.
    /// </summary>
    public async Task<RegistryCheckResult> CheckAsync(ResolvedImage image, RegistryCredentials? credentials, CancellationToken cancellationToken)
    {
        var check = await _client.CheckAsync(image, credentials, cancellationToken).ConfigureAwait(false);
        if (check.IsAvailable) _logger.Info("Image available", ("image", image.Reference), ("digest", check.Digest));
        else _logger.Error("Image pre-flight failed", ("image", image.Reference), ("status", check.Status.ToString()), ("error", check.Message));
        return check;
    }

    /// <summary>The client, for the signature fetches of <see cref="ImageGate"/> (same credentials, proxy, CA and token cache as the pull).</summary>
    internal RegistryClient Client => _client;

    public void Dispose() => _client.Dispose();
}

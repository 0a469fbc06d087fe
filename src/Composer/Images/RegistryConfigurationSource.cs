using Composer.Diagnostics;

namespace Composer.Images;

/// <summary>
/// The registry configuration as of now. Credentials may rotate while Composer runs: a password given as
/// <c>OPENCTI__DAEMON__REGISTRY__PASSWORD_FILE</c> (a mounted Kubernetes or Docker secret that an external job
/// refreshes, e.g. an ECR token) or edited in a configuration file. The configuration loader reads those once, so
/// this source re-reads them: <see cref="Current"/> reloads when the last load is older than token_ttl, and
/// <see cref="Reload"/> reloads now (the Kubernetes pull secret is re-rendered from it every token_ttl). The
/// pre-flight and the orchestrators read the same source, so the credentials Composer checks are the credentials
/// the kubelet or the engine gets. A reload that fails keeps the last good configuration and logs why.
/// </summary>
public sealed class RegistryConfigurationSource
{
    private readonly Func<RegistryConfiguration?>? _reload;
    private readonly TimeProvider _time;
    private readonly Logger _logger;
    private readonly Lock _gate = new();
    private RegistryConfiguration _current;
    private long _loadedAt;

    /// <param name="initial">The configuration loaded at start-up.</param>
    /// <param name="reload">Reads the configuration again (null on failure, having logged why); null: never changes.</param>
    public RegistryConfigurationSource(RegistryConfiguration initial, Func<RegistryConfiguration?>? reload = null, TimeProvider? time = null, Logger? logger = null)
    {
        _current = initial;
        _reload = reload;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? Logger.Null;
        _loadedAt = _time.GetTimestamp();
    }

    /// <summary>The configuration, reloaded first when the last load is token_ttl old.</summary>
    public RegistryConfiguration Current
    {
        get
        {
            lock (_gate)
            {
                if (_reload is not null && _time.GetElapsedTime(_loadedAt) >= _current.TokenTtl) ReloadLocked();
                return _current;
            }
        }
    }

    /// <summary>Reloads now (a no-op without a reload function) and returns the configuration.</summary>
    public RegistryConfiguration Reload()
    {
        lock (_gate)
        {
            if (_reload is not null) ReloadLocked();
            return _current;
        }
    }

    private void ReloadLocked()
    {
        _loadedAt = _time.GetTimestamp();
        var fresh = _reload!();
        if (fresh is null) return;
        if (!SameCredentials(_current, fresh)) _logger.Info("Registry credentials changed", ("registry", fresh.ImagePrefix ?? RegistryHosts.DockerHub));
        _current = fresh;
    }

    private static bool SameCredentials(RegistryConfiguration a, RegistryConfiguration b) =>
        a.ImagePrefix == b.ImagePrefix
        && a.Credentials?.Username == b.Credentials?.Username
        && a.Credentials?.Password == b.Credentials?.Password
        && a.Credentials?.Email == b.Credentials?.Email;
}

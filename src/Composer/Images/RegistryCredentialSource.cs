using Composer.Configuration;
using Composer.Diagnostics;

namespace Composer.Images;

/// <summary>
/// The registry credentials as of now. A password given as <c>OPENCTI__DAEMON__REGISTRY__PASSWORD_FILE</c> may rotate
/// while Composer runs (a mounted Kubernetes or Docker secret that an external job refreshes, e.g. an ECR token): this
/// source reads that file again, and nothing else, when the last read is token_ttl old (<see cref="Current"/>) or at
/// once (<see cref="Reload"/>: the Kubernetes pull secret is rendered from it every token_ttl). The registry check and
/// the orchestrators take their credentials from the same source, so the credentials Composer checks are the
/// credentials the engine or the kubelet gets. A read that fails, or an emptied file, keeps the last good password
/// and says why in the log. A password given as a value, in a file of the configuration or a variable, never changes.
/// </summary>
public sealed class RegistryCredentialSource
{
    private readonly RegistryConfiguration _configuration;
    private readonly TimeProvider _time;
    private readonly Logger _logger;
    private readonly Lock _gate = new();
    private RegistryCredentials? _current;
    private long _readAt;

    public RegistryCredentialSource(RegistryConfiguration configuration, TimeProvider? time = null, Logger? logger = null)
    {
        _configuration = configuration;
        _current = configuration.Credentials;
        _time = time ?? TimeProvider.System;
        _logger = logger ?? Logger.Null;
        _readAt = _time.GetTimestamp();
    }

    /// <summary>The credentials (null: none configured), the password file read again first when the last read is token_ttl old.</summary>
    public RegistryCredentials? Current
    {
        get
        {
            lock (_gate)
            {
                if (_configuration.PasswordFile is not null && _time.GetElapsedTime(_readAt) >= _configuration.TokenTtl) ReadLocked();
                return _current;
            }
        }
    }

    /// <summary>Reads the password file now (nothing to do without one) and returns the credentials.</summary>
    public RegistryCredentials? Reload()
    {
        lock (_gate)
        {
            if (_configuration.PasswordFile is not null) ReadLocked();
            return _current;
        }
    }

    private void ReadLocked()
    {
        _readAt = _time.GetTimestamp();
        var file = _configuration.PasswordFile!;
        var read = SecretFile.Read(file);
        if (!read.IsSuccess || read.Value.Length == 0)
        {
            _logger.Warn("Reading the registry password again failed; the previous credentials stay in use",
                ("file", file), ("error", read.IsSuccess ? "the file is empty" : read.Failure.Message));
            return;
        }
        if (_current!.Password.Reveal() == read.Value) return;
        _current = _current.WithPassword(new Secret(read.Value));
        _logger.Info("Registry credentials changed", ("registry", _configuration.ImagePrefix ?? RegistryHosts.DockerHub), ("file", file));
    }
}

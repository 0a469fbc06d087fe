using Composer.Diagnostics;

namespace Composer.Images;

/// <summary>
/// Per-registry credentials from a Docker CLI config.json (<see cref="DockerConfigFile"/>) and the credential helpers
/// it names (<see cref="CredentialHelper"/>): the file is read again, and each registry's answer asked again, once the
/// last one is token_ttl old, so rotated files and short-lived cloud tokens are picked up without a restart. A file
/// that cannot be read keeps the last good reading (and says why in the log); a helper's failure is that lookup's
/// failure and is asked again at the next lookup.
/// </summary>
public sealed class DockerCredentialStore
{
    private readonly string _path;
    private readonly TimeSpan _ttl;
    private readonly TimeProvider _time;
    private readonly Logger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, (RegistryLogin Login, long At)> _answers = new(StringComparer.Ordinal);
    private DockerConfigFile? _file;
    private long _fileReadAt;

    public DockerCredentialStore(string path, TimeSpan ttl, TimeProvider time, Logger logger)
    {
        _path = path;
        _ttl = ttl;
        _time = time;
        _logger = logger;
    }

    /// <summary>The config.json this store reads.</summary>
    public string Path => _path;

    /// <summary>The credentials the Docker config holds for <paramref name="registryHost"/> (host[:port], docker.io for Docker Hub), as the docker CLI would find them.</summary>
    public async Task<Result<RegistryLogin>> LookupAsync(string registryHost, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var key = DockerConfigFile.ConfigKey(registryHost);
            if (_answers.TryGetValue(key, out var answer) && _time.GetElapsedTime(answer.At) < _ttl) return Result<RegistryLogin>.Success(answer.Login);
            var file = FileLocked();
            if (!file.IsSuccess) return file.Failure;
            Result<RegistryLogin> found = file.Value.HelperFor(registryHost) is { } helper
                ? await CredentialHelper.GetAsync(helper, registryHost,
                    file.Value.CredHelpers.ContainsKey(key) ? $"credHelpers of {_path}" : $"credsStore of {_path}", cancellationToken).ConfigureAwait(false)
                : file.Value.AuthsFor(registryHost);
            if (!found.IsSuccess)
            {
                _answers.Remove(key);
                return found;
            }
            if (!_answers.TryGetValue(key, out var previous) || !SameSecret(previous.Login, found.Value))
            {
                _logger.Info("Registry credentials found", ("registry", registryHost), ("source", found.Value.Credentials?.Source ?? _path),
                    ("credentials", found.Value.Credentials?.Who ?? "none (anonymous)"));
            }
            _answers[key] = (found.Value, _time.GetTimestamp());
            return found;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The file as last read, read again when token_ttl old; a failed re-read keeps the last good one.</summary>
    private Result<DockerConfigFile> FileLocked()
    {
        if (_file is not null && _time.GetElapsedTime(_fileReadAt) < _ttl) return Result<DockerConfigFile>.Success(_file);
        var read = DockerConfigFile.Read(_path);
        _fileReadAt = _time.GetTimestamp();
        if (read.IsSuccess)
        {
            _file = read.Value;
            return read;
        }
        if (_file is null) return read.Failure;
        _logger.Warn("Reading the Docker config file again failed; the previous reading stays in use", ("file", _path), ("error", read.Failure.Message));
        return Result<DockerConfigFile>.Success(_file);
    }

    private static bool SameSecret(RegistryLogin a, RegistryLogin b) =>
        (a.Credentials, b.Credentials) switch
        {
            (null, null) => true,
            ({ } x, { } y) => x.Username == y.Username && x.Password == y.Password && x.IdentityToken == y.IdentityToken && x.RegistryToken == y.RegistryToken,
            _ => false,
        };
}

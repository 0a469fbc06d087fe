using Composer.Configuration;
using Composer.Diagnostics;

namespace Composer.Orchestration.Kubernetes;

/// <summary>
/// The bearer token of the Kubernetes API: a fixed one (kubeconfig token) or a file (kubeconfig tokenFile, the
/// service account's projected token). The kubelet rotates projected tokens (about hourly, atomically replacing the
/// file), so a file is read again when the last read is a minute old (what client-go does) and at once after a 401.
/// The token is a <see cref="Secret"/>, revealed only into the Authorization header.
/// </summary>
public sealed class KubernetesToken
{
    /// <summary>How long a token read from a file is used before the file is read again.</summary>
    public static readonly TimeSpan FileRefreshInterval = TimeSpan.FromMinutes(1);

    private readonly Secret? _fixed;
    private readonly string? _path;
    private readonly Lock _gate = new();
    private Secret? _cached;
    private long _readAt;

    private KubernetesToken(Secret? fixedToken, string? path)
    {
        _fixed = fixedToken;
        _path = path;
    }

    public static KubernetesToken Fixed(string token) => new(new Secret(token.Trim()), null);

    public static KubernetesToken FromFile(string path) => new(null, path);

    /// <summary>The file the token is read from, or null for a fixed token.</summary>
    public string? Path => _path;

    /// <summary>The token, or the reason it cannot be read (the file is missing or empty).</summary>
    /// <param name="time">The API client's clock: a file is read again when the last read is <see cref="FileRefreshInterval"/> old.</param>
    public Result<Secret> Get(TimeProvider time)
    {
        if (_fixed is not null) return Result<Secret>.Success(_fixed);
        lock (_gate)
        {
            if (_cached is null || time.GetElapsedTime(_readAt) >= FileRefreshInterval)
            {
                try
                {
                    var text = File.ReadAllText(_path!).Trim();
                    if (text.Length == 0) return Failure.Orchestrator($"the token file {_path} is empty");
                    // The same token read again stays the same Secret (one known value for the scrubber).
                    if (_cached is null || _cached.Reveal() != text) _cached = new Secret(text);
                    _readAt = time.GetTimestamp();
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    // A rotation in progress or a transient error: the last token read is better than none.
                    if (_cached is null) return Failure.Orchestrator($"cannot read the token file {_path}: {FileErrors.Describe(ex, _path!)}");
                }
            }
            return Result<Secret>.Success(_cached);
        }
    }

    /// <summary>After a 401: the next <see cref="Get"/> reads the file again. Returns whether that can change anything.</summary>
    public bool Invalidate()
    {
        if (_path is null) return false;
        lock (_gate) _cached = null;
        return true;
    }

    public override string ToString() => _path is null ? "KubernetesToken { fixed, *** }" : $"KubernetesToken {{ file = {_path} }}";
}

using Composer.Diagnostics;

namespace Composer.Images;

/// <summary>The image policy's answer for one image.</summary>
/// <param name="Image">The image to run (pinned to the digest that was checked when a policy is set), or null when refused.</param>
/// <param name="Refusal">Why it is refused: one line naming the image, the rule and, for signatures, the keys.</param>
/// <param name="Lasting">Whether the answer is about the image (kept for <see cref="ImageGate.Recheck"/>), not a registry that could not be asked (kept for <see cref="ImageGate.RetryUnasked"/>).</param>
/// <param name="SignedBy">The key whose signature was verified, or null.</param>
public sealed record ImageVerdict(ResolvedImage? Image, string? Refusal, bool Lasting, string? SignedBy)
{
    public bool Approved => Image is not null;
}

/// <summary>
/// Decides whether an image may run under a platform's <see cref="ImagePolicy"/>, before anything is pulled: its
/// repository must match the allow list; its tag is turned into the digest the registry serves (the same pre-flight,
/// credentials, proxy and CA as the pull); with cosign keys configured, a signature of that digest by one of them must
/// verify (<see cref="CosignSignatures"/>). An approved image is returned pinned to that digest (repository@sha256:…),
/// so the digest that was checked is the one that runs, on every orchestrator. Answers about the image are kept for
/// <see cref="Recheck"/> (a tag moved or a signature added is seen within it); that a registry could not be asked is
/// kept <see cref="RetryUnasked"/>, so that the re-plans of one cycle do not ask it again each. One check per image
/// runs at a time, and at most <see cref="MaxChecksAtOnce"/> images are checked at once. Without a policy, images pass
/// unchanged and the registry is not asked.
/// </summary>
public sealed class ImageGate
{
    /// <summary>How long an answer about an image is kept before the registry is asked again.</summary>
    public static readonly TimeSpan Recheck = TimeSpan.FromMinutes(5);

    /// <summary>How long the answer that a registry could not be asked is kept before it is asked again.</summary>
    public static readonly TimeSpan RetryUnasked = TimeSpan.FromSeconds(10);

    /// <summary>Answers kept at most (a listing's images; beyond this the oldest go first).</summary>
    private const int MaxRemembered = 4096;

    /// <summary>Images checked at once: a listing of many new images does not open a connection per image.</summary>
    private const int MaxChecksAtOnce = 4;

    private readonly RegistryAccess _registry;
    private readonly TimeProvider _time;
    private readonly Logger _logger;
    private readonly Dictionary<string, (ImageVerdict Verdict, DateTimeOffset Until)> _answers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Task<ImageVerdict>> _checking = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _slots = new(MaxChecksAtOnce);
    private readonly Lock _gate = new();

    public ImageGate(ImagePolicy policy, RegistryAccess registry, TimeProvider time, Logger logger)
    {
        Policy = policy;
        _registry = registry;
        _time = time;
        _logger = logger;
    }

    public ImagePolicy Policy { get; }

    /// <summary>
    /// The image to run, or why not: the kept answer at once, else the check under way for this image, else a new one.
    /// Throws only on cancellation.
    /// </summary>
    public Task<ImageVerdict> CheckAsync(ResolvedImage image, CancellationToken cancellationToken)
    {
        if (!Policy.IsSet) return Task.FromResult(new ImageVerdict(image, null, true, null));
        lock (_gate)
        {
            if (_answers.TryGetValue(image.Reference, out var kept) && kept.Until > _time.GetUtcNow()) return Task.FromResult(kept.Verdict);
            if (_checking.TryGetValue(image.Reference, out var running)) return running.WaitAsync(cancellationToken);
            var check = CheckOnceAsync(image, cancellationToken);
            // A check that ended at once (cancelled) has already left _checking.
            if (!check.IsCompleted) _checking[image.Reference] = check;
            return check;
        }
    }

    private async Task<ImageVerdict> CheckOnceAsync(ResolvedImage image, CancellationToken cancellationToken)
    {
        try
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            ImageVerdict verdict;
            try
            {
                verdict = await DecideAsync(image, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _slots.Release();
            }
            if (verdict.Approved) _logger.Info("Image approved by the image policy", ("image", image.Reference), ("runs", verdict.Image!.Reference), ("signed_by", verdict.SignedBy));
            else _logger.Debug("Image refused by the image policy", ("image", image.Reference), ("reason", verdict.Refusal));
            Remember(image, verdict);
            return verdict;
        }
        finally
        {
            lock (_gate) _checking.Remove(image.Reference);
        }
    }

    private void Remember(ResolvedImage image, ImageVerdict verdict)
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (_answers.Count >= MaxRemembered)
            {
                foreach (var stale in _answers.Where(a => a.Value.Until <= now).Select(a => a.Key).ToList()) _answers.Remove(stale);
                if (_answers.Count >= MaxRemembered) _answers.Remove(_answers.MinBy(a => a.Value.Until).Key);
            }
            _answers[image.Reference] = (verdict, now + (verdict.Lasting ? Recheck : RetryUnasked));
        }
    }

    private async Task<ImageVerdict> DecideAsync(ResolvedImage image, CancellationToken ct)
    {
        if (!Policy.Allows(image))
        {
            var patterns = Policy.Allow!.Count == 0 ? "it is empty" : string.Join(", ", Policy.Allow);
            return Refused($"outside the image policy: {image.RegistryHost}/{image.Repository} matches no pattern of {Policy.AllowKey} ({patterns})", lasting: true);
        }
        var login = await _registry.CredentialsForAsync(image, ct).ConfigureAwait(false);
        if (!login.IsSuccess)
        {
            return Refused($"the image policy cannot ask the registry of {image.Reference}: {login.Failure.Message}", lasting: false);
        }
        var credentials = login.Value.Credentials;
        var digest = image.Digest;
        if (digest is null)
        {
            var check = await _registry.CheckAsync(image, credentials, ct).ConfigureAwait(false);
            if (!check.IsAvailable || check.Digest is null)
            {
                return Refused($"the image policy needs the digest of {image.Reference}, and the registry did not give it: {check.Message}", lasting: false);
            }
            digest = check.Digest;
        }
        if (!digest.StartsWith("sha256:", StringComparison.Ordinal))
        {
            return Refused($"the image policy checks sha256 digests; {image.Reference} resolves to {digest}", lasting: true);
        }
        var pinned = Pin(image, digest);
        if (Policy.Keys.Count == 0) return new ImageVerdict(pinned, null, true, null);
        var signatures = await CosignSignatures.VerifyAsync(_registry.Client, image, digest, credentials, Policy.Keys, ct).ConfigureAwait(false);
        if (signatures.SignedBy is { } key) return new ImageVerdict(pinned, null, true, key.Name);
        return Refused($"{signatures.Refusal} ({Policy.KeysKey} requires a signature by one of its {Policy.Keys.Count} key{(Policy.Keys.Count == 1 ? "" : "s")})",
            signatures.Lasting);

        ImageVerdict Refused(string reason, bool lasting) => new(null, $"image {image.Reference} refused: {reason}", lasting, null);
    }

    /// <summary>The image as repository@digest: what every orchestrator then creates its workload from.</summary>
    internal static ResolvedImage Pin(ResolvedImage image, string digest)
    {
        var name = image.Reference;
        if (image.Digest is { } d && name.EndsWith("@" + d, StringComparison.Ordinal)) name = name[..^(d.Length + 1)];
        if (image.Tag is { } t && name.EndsWith(":" + t, StringComparison.Ordinal)) name = name[..^(t.Length + 1)];
        return image with { Reference = $"{name}@{digest}", Tag = null, Digest = digest };
    }
}

using System.Security.Cryptography;
using System.Text;
using Composer.Configuration;
using Composer.Diagnostics;

namespace Composer.Images;

/// <summary>
/// One <c>&lt;platform&gt;.daemon.image_policy.allow</c> entry: a fully-qualified repository pattern, matched segment by
/// segment against <c>registry/repository</c> of the image after the registry prefix. <c>*</c> matches within one path
/// segment (<c>connector-*</c>, <c>*</c>), <c>**</c> (a whole segment) any number of segments, zero included.
/// </summary>
public sealed class RepositoryPattern
{
    private readonly string[] _segments;

    private RepositoryPattern(string text, string[] segments)
    {
        Text = text;
        _segments = segments;
    }

    /// <summary>The pattern as configured.</summary>
    public string Text { get; }

    /// <summary>The pattern, or why it is not one (for the diagnostic of its key).</summary>
    public static Result<RepositoryPattern> Parse(string? text)
    {
        var trimmed = text?.Trim() ?? "";
        if (trimmed.Length == 0) return Failure.Input("empty pattern; expected a repository such as registry.example.com/opencti/*");
        if (trimmed.Contains('@')) return Failure.Input($"\"{trimmed}\" names a digest; a pattern names repositories (registry/path, no tag or digest)");
        var segments = trimmed.Split('/');
        if (segments.Length < 2 || !LooksLikeRegistry(segments[0]))
        {
            return Failure.Input($"\"{trimmed}\" does not start with a registry host; expected a fully-qualified repository such as registry.example.com/opencti/* or docker.io/library/*");
        }
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            if (segment.Length == 0) return Failure.Input($"\"{trimmed}\" has an empty path segment");
            if (i > 0 && segment.Contains(':')) return Failure.Input($"\"{trimmed}\" names a tag; a pattern names repositories (registry/path, no tag or digest)");
            if (segment.Contains("**", StringComparison.Ordinal) && segment != "**") return Failure.Input($"\"{trimmed}\": ** must be a whole path segment (registry/team/**)");
        }
        // Docker Hub has two names; images are normalized to docker.io, so are patterns.
        if (segments[0] is ImageReference.LegacyDockerHubDomain or "registry-1.docker.io") segments[0] = ImageReference.DockerHubDomain;
        segments[0] = segments[0].ToLowerInvariant();
        return Result<RepositoryPattern>.Success(new RepositoryPattern(trimmed, segments));
    }

    /// <summary>Whether <paramref name="registryHost"/>/<paramref name="repository"/> matches.</summary>
    public bool Matches(string registryHost, string repository)
    {
        if (!Segment(_segments[0], registryHost.ToLowerInvariant())) return false;
        return Match(1, repository.Split('/'), 0);
    }

    private bool Match(int p, string[] path, int n)
    {
        if (p == _segments.Length) return n == path.Length;
        if (_segments[p] == "**")
        {
            for (var skip = n; skip <= path.Length; skip++)
            {
                if (Match(p + 1, path, skip)) return true;
            }
            return false;
        }
        return n < path.Length && Segment(_segments[p], path[n]) && Match(p + 1, path, n + 1);
    }

    /// <summary>A glob within one segment: * is any run of characters (no '/' can occur in a segment).</summary>
    private static bool Segment(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && pattern[p] != '*' && pattern[p] == text[t]) { p++; t++; }
            else if (p < pattern.Length && pattern[p] == '*') { star = p++; mark = t; }
            else if (star >= 0) { p = star + 1; t = ++mark; }
            else return false;
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }

    /// <summary>Docker's rule for a first component that names a registry: localhost, or with '.' or ':'.</summary>
    private static bool LooksLikeRegistry(string segment) => segment == "localhost" || segment.Contains('.') || segment.Contains(':');

    public override string ToString() => Text;
}

/// <summary>
/// A cosign public key of <c>&lt;platform&gt;.daemon.image_policy.cosign_public_keys</c>: ECDSA P-256 (what
/// <c>cosign generate-key-pair</c> writes), named for messages after where it came from and its fingerprint.
/// </summary>
public sealed class CosignPublicKey : IDisposable
{
    private readonly ECDsa _key;
    private readonly Lock _gate = new();

    private CosignPublicKey(ECDsa key, int index, string source)
    {
        _key = key;
        var fingerprint = Convert.ToHexStringLower(SHA256.HashData(key.ExportSubjectPublicKeyInfo()))[..16];
        Name = $"key {index} ({source}, sha256:{fingerprint})";
    }

    /// <summary>Where the key came from and the start of the SHA-256 of its public key info: "key 1 (file /etc/cosign.pub, sha256:…)".</summary>
    public string Name { get; }

    /// <summary>Whether <paramref name="signature"/> (ASN.1 DER, as cosign writes it) is this key's ECDSA-SHA256 signature of <paramref name="payload"/>.</summary>
    public bool Verifies(ReadOnlySpan<byte> payload, ReadOnlySpan<byte> signature)
    {
        lock (_gate)
        {
            return _key.VerifyData(payload, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        }
    }

    /// <summary>The key of one list entry (a path or a PEM block), or why it is not usable.</summary>
    public static Result<CosignPublicKey> Load(string? entry, int index)
    {
        var text = entry?.Trim() ?? "";
        if (text.Length == 0) return Failure.Input($"entry {index}: empty; expected a cosign public key file path or a -----BEGIN PUBLIC KEY----- block");
        string pem, where;
        if (text.StartsWith("-----BEGIN", StringComparison.Ordinal))
        {
            pem = text;
            where = "inline PEM";
        }
        else
        {
            try
            {
                var info = new FileInfo(text);
                // A public key is a few hundred bytes: anything much larger is not one.
                if (info.Exists && info.Length > 64 * 1024) return Failure.Input($"entry {index} (file {text}): {info.Length} bytes, not a public key (at most 64 KiB read)");
                pem = Encoding.UTF8.GetString(File.ReadAllBytes(text));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                return Failure.Input($"entry {index} (file {text}): cannot read the public key: {FileErrors.Describe(ex, text)}");
            }
            where = $"file {text}";
        }
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(pem);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            key.Dispose();
            return Failure.Input($"entry {index} ({where}): not an ECDSA public key in PEM (-----BEGIN PUBLIC KEY-----, as cosign generate-key-pair writes): {ex.Message}");
        }
        var curve = key.ExportParameters(false).Curve;
        if (curve.Oid?.Value != "1.2.840.10045.3.1.7")
        {
            key.Dispose();
            return Failure.Input($"entry {index} ({where}): the key is on curve {curve.Oid?.FriendlyName ?? curve.Oid?.Value ?? "unknown"}; cosign keys are ECDSA P-256");
        }
        return Result<CosignPublicKey>.Success(new CosignPublicKey(key, index, where));
    }

    public void Dispose() => _key.Dispose();

    public override string ToString() => Name;
}

/// <summary>
/// <c>&lt;platform&gt;.daemon.image_policy</c> as the resolve step decided it: the allowed repository patterns and the cosign
/// keys. Empty (<see cref="None"/>): every image is run as the platform names it, as before.
/// </summary>
public sealed class ImagePolicy
{
    private ImagePolicy(string section, IReadOnlyList<RepositoryPattern>? allow, IReadOnlyList<CosignPublicKey> keys)
    {
        Section = section;
        Allow = allow;
        Keys = keys;
    }

    /// <summary>No policy: images are not checked beyond the registry pre-flight.</summary>
    public static ImagePolicy None { get; } = new("", null, []);

    /// <summary>The key prefix, "opencti.daemon.image_policy", for messages.</summary>
    public string Section { get; }

    /// <summary>The allowed repositories, or null when allow is not set (every repository).</summary>
    public IReadOnlyList<RepositoryPattern>? Allow { get; }

    /// <summary>The keys of which one must have signed the image; empty: no signature required.</summary>
    public IReadOnlyList<CosignPublicKey> Keys { get; }

    /// <summary>Whether images are checked at all (then each runs pinned to the digest that was checked).</summary>
    public bool IsSet => Allow is not null || Keys.Count > 0;

    public string AllowKey => Section + ".allow";

    public string KeysKey => Section + ".cosign_public_keys";

    /// <summary>Whether the allow list admits the image's repository (always, when no allow list is set).</summary>
    public bool Allows(ResolvedImage image) => Allow is null || Allow.Any(p => p.Matches(image.RegistryHost, image.Repository));

    /// <summary>One line describing the policy (composer check).</summary>
    public string Describe()
    {
        if (!IsSet) return "not set: every image runs as the platform names it";
        var allow = Allow is null ? "any repository" : $"{Allow.Count} pattern{(Allow.Count == 1 ? "" : "s")} ({string.Join(", ", Allow)})";
        var keys = Keys.Count == 0 ? "no signature required" : $"cosign signature by one of {Keys.Count} key{(Keys.Count == 1 ? "" : "s")} ({string.Join("; ", Keys)})";
        return $"allow {allow}; {keys}; tags run pinned to the digest checked";
    }

    /// <summary>
    /// Reads the block of <paramref name="section"/> (files read once, here); every problem is an error of its key.
    /// An allow list that is set but empty refuses everything: said as a warning, since it is probably a mistake.
    /// </summary>
    public static ImagePolicy Parse(ImagePolicySettings? settings, string section, ConfigReport report)
    {
        if (settings is null || (settings.Allow is null && settings.CosignPublicKeys is null)) return None;
        List<RepositoryPattern>? allow = null;
        var allowKey = section + ".allow";
        if (settings.Allow is { } patterns)
        {
            allow = [];
            for (var i = 0; i < patterns.Count; i++)
            {
                var pattern = RepositoryPattern.Parse(patterns[i]);
                if (pattern.IsSuccess) allow.Add(pattern.Value);
                else report.Error(allowKey, $"entry {i}: {pattern.Failure.Message}");
            }
            if (patterns.Count == 0) report.Warning(allowKey, "set but empty: every image is refused");
        }
        var keys = new List<CosignPublicKey>();
        var keysKey = section + ".cosign_public_keys";
        if (settings.CosignPublicKeys is { } entries)
        {
            for (var i = 0; i < entries.Count; i++)
            {
                var key = CosignPublicKey.Load(entries[i], i);
                if (key.IsSuccess) keys.Add(key.Value);
                else report.Error(keysKey, key.Failure.Message);
            }
            if (entries.Count == 0) report.Error(keysKey, "set but empty; expected cosign public keys (paths or PEM blocks), or leave it unset for no signature requirement");
        }
        return new ImagePolicy(section, allow, keys);
    }
}

using System.Text;
using System.Text.Json;

namespace Composer.Images;

/// <summary>What the signatures of one digest said: the key that signed it, or why none counts.</summary>
/// <param name="SignedBy">The key of the first valid signature, or null.</param>
/// <param name="Refusal">Why no signature counts (null when signed).</param>
/// <param name="Lasting">Whether the refusal is about the image (unsigned, bad signature) rather than a registry that could not be asked.</param>
internal sealed record SignatureCheck(CosignPublicKey? SignedBy, string? Refusal, bool Lasting);

/// <summary>
/// Verifies cosign key signatures offline, as <c>cosign verify --key</c> does without a transparency log: the signatures
/// of image digest <c>sha256:H</c> are the layers of the manifest tagged <c>sha256-H.sig</c> in the image's repository;
/// each layer is a simple-signing payload (<see cref="PayloadMediaType"/>) whose ECDSA-SHA256 signature (ASN.1 DER,
/// base64) is its <see cref="SignatureAnnotation"/>. A signature counts when one configured key verifies it over the
/// payload bytes (which must hash to the layer digest) and the payload is a cosign container image signature naming
/// this very digest in critical.image.docker-manifest-digest. Like cosign, critical.identity.docker-reference is not
/// compared with the image's name (an image signed once is pulled through mirrors and prefixes); it must be present.
/// Every read is bounded: the manifest, the number of signatures read, each payload and each signature.
/// </summary>
internal static class CosignSignatures
{
    public const string PayloadMediaType = "application/vnd.dev.cosign.simplesigning.v1+json";
    public const string SignatureAnnotation = "dev.cosignproject.cosign/signature";
    public const string SignatureType = "cosign container image signature";

    /// <summary>A signature manifest lists one small layer per signature: 256 KiB is thousands.</summary>
    public const int MaxManifestBytes = 256 * 1024;

    /// <summary>Signatures read per image; the others are not looked at (a site signs an image a few times).</summary>
    public const int MaxSignatures = 16;

    /// <summary>A simple-signing payload is a few hundred bytes (more with annotations).</summary>
    public const int MaxPayloadBytes = 64 * 1024;

    /// <summary>Base64 of a DER ECDSA P-256 signature is under 100 characters.</summary>
    private const int MaxSignatureChars = 1024;

    /// <summary>The tag holding the signatures of <paramref name="digest"/> (sha256:H → sha256-H.sig).</summary>
    public static string SignatureTag(string digest) => digest.Replace(':', '-') + ".sig";

    public static async Task<SignatureCheck> VerifyAsync(RegistryClient client, ResolvedImage image, string digest, RegistryCredentials? credentials,
        IReadOnlyList<CosignPublicKey> keys, CancellationToken ct)
    {
        var tag = SignatureTag(digest);
        var where = $"{image.RegistryHost}/{image.Repository}:{tag}";
        var manifest = await client.FetchAsync(image.RegistryHost, image.Repository, "manifests", tag, MaxManifestBytes, credentials, ct).ConfigureAwait(false);
        if (manifest.Content is not { } manifestBytes)
        {
            return manifest.Result.Status == RegistryCheckStatus.NotFound
                ? new(null, $"unsigned: no cosign signature for {digest} (no {where})", Lasting: true)
                : new(null, $"the signatures could not be read: {manifest.Result.Message}", Lasting: false);
        }

        List<(string Digest, long Size, string Signature)> layers;
        try
        {
            layers = SignatureLayers(manifestBytes);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            return new(null, $"bad signature: {where} is not a cosign signature manifest", Lasting: true);
        }
        if (layers.Count == 0) return new(null, $"unsigned: {where} holds no cosign signature layer", Lasting: true);

        var reasons = new List<string>();
        for (var i = 0; i < layers.Count && i < MaxSignatures; i++)
        {
            var (layerDigest, size, signatureText) = layers[i];
            var label = $"signature {i + 1}";
            if (size > MaxPayloadBytes || signatureText.Length > MaxSignatureChars)
            {
                reasons.Add($"{label}: larger than a cosign signature (not read)");
                continue;
            }
            byte[] signature;
            try
            {
                signature = Convert.FromBase64String(signatureText);
            }
            catch (FormatException)
            {
                reasons.Add($"{label}: its {SignatureAnnotation} is not base64");
                continue;
            }
            var blob = await client.FetchAsync(image.RegistryHost, image.Repository, "blobs", layerDigest, MaxPayloadBytes, credentials, ct).ConfigureAwait(false);
            if (blob.Content is not { } payload)
            {
                if (blob.Result.Status is RegistryCheckStatus.Unreachable) return new(null, $"the signatures could not be read: {blob.Result.Message}", Lasting: false);
                reasons.Add($"{label}: payload not readable: {blob.Result.Message}");
                continue;
            }
            var key = keys.FirstOrDefault(k => k.Verifies(payload, signature));
            if (key is null)
            {
                reasons.Add($"{label}: made by none of the configured keys, or its payload was altered");
                continue;
            }
            var claim = Claim(payload, digest);
            if (claim is not null)
            {
                reasons.Add($"{label}: by {key.Name}, but {claim}");
                continue;
            }
            return new(key, null, Lasting: true);
        }
        if (layers.Count > MaxSignatures) reasons.Add($"{layers.Count - MaxSignatures} more not read (at most {MaxSignatures})");
        return new(null, $"bad signature: no valid signature for {digest} in {where}: {string.Join("; ", reasons)}", Lasting: true);
    }

    /// <summary>The simple-signing layers of a signature manifest: digest, declared size and the signature annotation.</summary>
    private static List<(string Digest, long Size, string Signature)> SignatureLayers(byte[] manifest)
    {
        using var document = JsonDocument.Parse(manifest);
        var layers = new List<(string, long, string)>();
        if (!document.RootElement.TryGetProperty("layers", out var list) || list.ValueKind != JsonValueKind.Array) return layers;
        foreach (var layer in list.EnumerateArray())
        {
            if (layer.ValueKind != JsonValueKind.Object) continue;
            if (!layer.TryGetProperty("mediaType", out var mediaType) || mediaType.GetString() != PayloadMediaType) continue;
            if (!layer.TryGetProperty("digest", out var digest) || digest.GetString() is not { } digestText || !digestText.StartsWith("sha256:", StringComparison.Ordinal)) continue;
            if (!layer.TryGetProperty("annotations", out var annotations) || annotations.ValueKind != JsonValueKind.Object
                || !annotations.TryGetProperty(SignatureAnnotation, out var signature) || signature.GetString() is not { } signatureText) continue;
            var size = layer.TryGetProperty("size", out var sizeValue) && sizeValue.TryGetInt64(out var declared) ? declared : 0;
            layers.Add((digestText, size, signatureText));
        }
        return layers;
    }

    /// <summary>Null when the payload is a cosign container image signature of <paramref name="digest"/>, else what it is instead.</summary>
    internal static string? Claim(ReadOnlySpan<byte> payload, string digest)
    {
        try
        {
            using var document = JsonDocument.Parse(payload.ToArray());
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("critical", out var critical) || critical.ValueKind != JsonValueKind.Object)
            {
                return "its payload has no critical section";
            }
            var type = critical.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            if (!string.Equals(type, SignatureType, StringComparison.Ordinal)) return $"its payload is of type \"{Shorten(type)}\", not \"{SignatureType}\"";
            var signed = critical.TryGetProperty("image", out var img) && img.ValueKind == JsonValueKind.Object
                && img.TryGetProperty("docker-manifest-digest", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
            if (signed is null) return "its payload names no critical.image.docker-manifest-digest";
            if (!string.Equals(signed, digest, StringComparison.Ordinal)) return $"it signs {Shorten(signed)}, another digest";
            if (!(critical.TryGetProperty("identity", out var identity) && identity.ValueKind == JsonValueKind.Object
                && identity.TryGetProperty("docker-reference", out var reference) && reference.ValueKind == JsonValueKind.String))
            {
                return "its payload names no critical.identity.docker-reference";
            }
            return null;
        }
        catch (JsonException)
        {
            return "its payload is not JSON";
        }
    }

    private static string Shorten(string? text) => text is null ? "(none)" : text.Length <= 100 ? text : Encoding.UTF8.GetByteCount(text) + " bytes";
}

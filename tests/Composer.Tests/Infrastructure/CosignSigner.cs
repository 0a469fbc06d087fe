using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace Composer.Tests.Infrastructure;

public static partial class RegistryPusher
{
    /// <summary>
    /// Pushes an OCI manifest under <paramref name="tag"/> whose layers are <paramref name="layers"/> (each blob uploaded
    /// first, with its media type and annotations) and an empty config: the shape of a cosign signature artifact.
    /// </summary>
    public static async Task PushArtifactAsync(Uri registry, string repository, string tag, IReadOnlyList<(string MediaType, byte[] Content, IReadOnlyDictionary<string, string> Annotations)> layers,
        string? username, string? password)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = registry };
        var auth = await AuthorizeAsync(http, repository, username, password);
        var config = "{}"u8.ToArray();
        var configDigest = await UploadBlobAsync(http, auth, repository, config);
        var entries = new List<string>();
        foreach (var (mediaType, content, annotations) in layers)
        {
            var digest = await UploadBlobAsync(http, auth, repository, content);
            var annotationJson = string.Join(",", annotations.Select(a => $"{Json(a.Key)}:{Json(a.Value)}"));
            entries.Add($$$"""{"mediaType":{{{Json(mediaType)}}},"size":{{{content.Length}}},"digest":"{{{digest}}}","annotations":{{{{annotationJson}}}}}""");
        }
        const string ociManifest = "application/vnd.oci.image.manifest.v1+json";
        var manifest = Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"{{ociManifest}}","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":{{config.Length}},"digest":"{{configDigest}}"},"layers":[{{string.Join(",", entries)}}]}""");
        using var put = new HttpRequestMessage(HttpMethod.Put, $"v2/{repository}/manifests/{tag}") { Content = new ByteArrayContent(manifest) };
        put.Content.Headers.ContentType = new MediaTypeHeaderValue(ociManifest);
        put.Headers.Authorization = auth;
        using var response = await http.SendAsync(put);
        await EnsureAsync(response, "PUT signature manifest");
    }

    private static string Json(string text) => "\"" + System.Text.Json.JsonEncodedText.Encode(text) + "\"";
}

/// <summary>
/// Writes cosign key signatures the way <c>cosign sign --key</c> stores them, without cosign: an ECDSA P-256 key made in
/// the test signs the simple-signing payload (ASN.1 DER signature, base64 in the dev.cosignproject.cosign/signature
/// annotation), pushed as a layer of the manifest tagged sha256-&lt;digest&gt;.sig in the image's repository.
/// </summary>
public sealed class CosignSigner : IDisposable
{
    public const string PayloadMediaType = "application/vnd.dev.cosign.simplesigning.v1+json";
    public const string SignatureAnnotation = "dev.cosignproject.cosign/signature";

    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    /// <summary>The public key as cosign.pub holds it.</summary>
    public string PublicKeyPem => _key.ExportSubjectPublicKeyInfoPem();

    /// <summary>cosign.pub written into <paramref name="directory"/>; its path.</summary>
    public string WritePublicKey(string directory, string name)
    {
        var path = Path.Combine(directory, name + ".pub");
        File.WriteAllText(path, PublicKeyPem);
        return path;
    }

    /// <summary>The simple-signing payload cosign signs for <paramref name="dockerReference"/> at <paramref name="digest"/>.</summary>
    public static byte[] Payload(string dockerReference, string digest, string type = "cosign container image signature") =>
        Encoding.UTF8.GetBytes($$"""{"critical":{"identity":{"docker-reference":"{{dockerReference}}"},"image":{"docker-manifest-digest":"{{digest}}"},"type":"{{type}}"},"optional":null}""");

    public byte[] Sign(byte[] payload) => _key.SignData(payload, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);

    /// <summary>
    /// Signs image <paramref name="digest"/> of host/repository: the payload names <paramref name="signedDigest"/> (the
    /// image's own digest unless a test wants another), and <paramref name="tamper"/> changes the payload after signing.
    /// </summary>
    public async Task SignAsync(RegistryFixture registry, string repository, string digest, string? username, string? password,
        string? signedDigest = null, bool tamper = false)
    {
        var payload = Payload($"{registry.Host}/{repository}", signedDigest ?? digest);
        var signature = Convert.ToBase64String(Sign(payload));
        if (tamper) payload = Payload($"{registry.Host}/{repository}", signedDigest ?? digest, "cosign container image signature ");
        await RegistryPusher.PushArtifactAsync(registry.BaseUri, repository, digest.Replace(':', '-') + ".sig",
            [(PayloadMediaType, payload, new Dictionary<string, string> { [SignatureAnnotation] = signature })], username, password);
    }

    public void Dispose() => _key.Dispose();
}

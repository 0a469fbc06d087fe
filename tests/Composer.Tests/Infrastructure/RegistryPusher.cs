using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// Pushes real content into a test registry through the registry API (no Docker needed): a config blob and a
/// layer blob (monolithic upload: POST then PUT ?digest=), then a Docker schema2 manifest. Authenticates as the
/// registry asks (Basic, or a pull,push token from the token server).
/// </summary>
public static partial class RegistryPusher
{
    public const string ManifestMediaType = "application/vnd.docker.distribution.manifest.v2+json";

    /// <summary>Pushes repository:tag and returns the manifest digest (sha256:…).</summary>
    public static async Task<string> PushImageAsync(Uri registry, string repository, string tag, string? username, string? password,
        HttpMessageHandler? handler = null)
    {
        using var http = new HttpClient(handler ?? new SocketsHttpHandler { UseProxy = false }, disposeHandler: handler is null) { BaseAddress = registry };
        var auth = await AuthorizeAsync(http, repository, username, password);

        // A real, pullable image: one gzipped tar layer holding one file, and a config whose diff_id is the tar's digest.
        var (layer, diffId) = Layer($"{repository}:{tag} {Guid.NewGuid():N}\n");
        var config = Encoding.UTF8.GetBytes($$$"""{"architecture":"amd64","os":"linux","config":{"Cmd":["/hello.txt"],"Labels":{"test.image":"{{{repository}}}:{{{tag}}}"}},"rootfs":{"type":"layers","diff_ids":["{{{diffId}}}"]}}""");
        var configDigest = await UploadBlobAsync(http, auth, repository, config);
        var layerDigest = await UploadBlobAsync(http, auth, repository, layer);
        var manifest = Encoding.UTF8.GetBytes($$$"""
            {"schemaVersion":2,"mediaType":"{{{ManifestMediaType}}}","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":{{{config.Length}}},"digest":"{{{configDigest}}}"},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":{{{layer.Length}}},"digest":"{{{layerDigest}}}"}]}
            """.Trim());
        using var put = new HttpRequestMessage(HttpMethod.Put, $"v2/{repository}/manifests/{tag}") { Content = new ByteArrayContent(manifest) };
        put.Content.Headers.ContentType = new MediaTypeHeaderValue(ManifestMediaType);
        put.Headers.Authorization = auth;
        using var response = await http.SendAsync(put);
        await EnsureAsync(response, "PUT manifest");
        var digest = Digest(manifest);
        var returned = response.Headers.TryGetValues("Docker-Content-Digest", out var v) ? v.First() : null;
        if (returned is not null && returned != digest) throw new InvalidOperationException($"registry computed {returned}, expected {digest}");
        return digest;
    }

    /// <summary>gzip(tar with /hello.txt) and the sha256 of the uncompressed tar (the diff_id).</summary>
    private static (byte[] Gzipped, string DiffId) Layer(string text)
    {
        using var tar = new MemoryStream();
        using (var writer = new System.Formats.Tar.TarWriter(tar, System.Formats.Tar.TarEntryFormat.Pax, leaveOpen: true))
        {
            var entry = new System.Formats.Tar.PaxTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "hello.txt")
            {
                DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)),
                Mode = UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            };
            writer.WriteEntry(entry);
        }
        var tarBytes = tar.ToArray();
        using var gz = new MemoryStream();
        using (var zip = new System.IO.Compression.GZipStream(gz, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true)) zip.Write(tarBytes);
        return (gz.ToArray(), Digest(tarBytes));
    }

    public static string Digest(byte[] content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));

    private static async Task<string> UploadBlobAsync(HttpClient http, AuthenticationHeaderValue? auth, string repository, byte[] content)
    {
        var digest = Digest(content);
        using var post = new HttpRequestMessage(HttpMethod.Post, $"v2/{repository}/blobs/uploads/");
        post.Headers.Authorization = auth;
        using var started = await http.SendAsync(post);
        await EnsureAsync(started, "POST blob upload");
        var location = started.Headers.Location ?? throw new InvalidOperationException("blob upload without Location");
        var target = location.IsAbsoluteUri ? location : new Uri(http.BaseAddress!, location);
        var url = target + (target.Query.Length > 0 ? "&" : "?") + "digest=" + Uri.EscapeDataString(digest);
        using var put = new HttpRequestMessage(HttpMethod.Put, url) { Content = new ByteArrayContent(content) };
        put.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        put.Headers.Authorization = auth;
        using var done = await http.SendAsync(put);
        await EnsureAsync(done, "PUT blob");
        return digest;
    }

    private static async Task<AuthenticationHeaderValue?> AuthorizeAsync(HttpClient http, string repository, string? username, string? password)
    {
        using var ping = await http.GetAsync("v2/");
        if (ping.StatusCode == HttpStatusCode.OK) return null;
        var basic = username is null ? null : Convert.ToBase64String(Encoding.UTF8.GetBytes($"{username}:{password}"));
        var challenge = ping.Headers.WwwAuthenticate.FirstOrDefault() ?? throw new InvalidOperationException($"registry answered {ping.StatusCode} without a challenge");
        if (challenge.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase)) return new AuthenticationHeaderValue("Basic", basic);
        var parameters = Composer.Images.AuthChallenge.Parse(challenge.ToString())[0];
        var tokenUrl = $"{parameters["realm"]}?service={Uri.EscapeDataString(parameters["service"] ?? "")}&scope={Uri.EscapeDataString($"repository:{repository}:pull,push")}";
        using var request = new HttpRequestMessage(HttpMethod.Get, tokenUrl);
        if (basic is not null) request.Headers.Authorization = new AuthenticationHeaderValue("Basic", basic);
        using var response = await http.SendAsync(request);
        await EnsureAsync(response, "token for push");
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var token = json.RootElement.TryGetProperty("token", out var t) ? t.GetString() : json.RootElement.GetProperty("access_token").GetString();
        return new AuthenticationHeaderValue("Bearer", token);
    }

    private static async Task EnsureAsync(HttpResponseMessage response, string what)
    {
        if (response.IsSuccessStatusCode) return;
        throw new InvalidOperationException($"{what}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }
}

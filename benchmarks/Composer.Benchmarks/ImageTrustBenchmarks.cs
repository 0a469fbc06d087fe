using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using Composer.Configuration;
using Composer.Images;
using Composer.Network;

namespace Composer.Benchmarks;

/// <summary>
/// What the image policy costs per image, against the pull it guards. A real registry (/usr/bin/docker-registry, plain
/// HTTP on loopback, anonymous) holds one image with a 16 MiB layer of random bytes, signed in the setup the way
/// cosign stores a key signature. Every check starts from nothing (a new gate: no remembered answer), as after
/// <see cref="ImageGate.Recheck"/>; the registry client's token cache is irrelevant (no authentication).
/// The pull is its floor: the manifest, the config and the layer read over HTTP from the same registry, without
/// the engine's decompression and extraction (a real pull only costs more).
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class ImageTrustBenchmarks
{
    private const string Repository = "bench/connector";
    private const int LayerBytes = 16 * 1024 * 1024;

    private Process? _registry;
    private string _directory = "";
    private string _host = "";
    private HttpClient _http = null!;
    private RegistryAccess _access = null!;
    private ImagePolicy _signed = null!;
    private ImagePolicy _allowOnly = null!;
    private ResolvedImage _image = null!;
    private string _digest = "";
    private string _layerDigest = "";
    private string _configDigest = "";
    private byte[] _payload = [];
    private byte[] _signature = [];
    private CosignPublicKey _key = null!;

    [GlobalSetup]
    public void Setup()
    {
        _directory = Directory.CreateTempSubdirectory("composer-bench-registry-").FullName;
        var port = FreePort();
        _host = $"127.0.0.1:{port}";
        File.WriteAllText(Path.Combine(_directory, "config.yml"),
            $"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {_directory}/storage\nhttp:\n  addr: \"{_host}\"\n");
        _registry = Process.Start(new ProcessStartInfo("/usr/bin/docker-registry", ["serve", Path.Combine(_directory, "config.yml")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment = { ["OTEL_TRACES_EXPORTER"] = "none" },
        }) ?? throw new InvalidOperationException("docker-registry did not start");
        _registry.OutputDataReceived += (_, _) => { };
        _registry.ErrorDataReceived += (_, _) => { };
        _registry.BeginOutputReadLine();
        _registry.BeginErrorReadLine();
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri($"http://{_host}/") };
        for (var i = 0; ; i++)
        {
            try
            {
                if (_http.GetAsync("v2/").GetAwaiter().GetResult().StatusCode == HttpStatusCode.OK) break;
            }
            catch (HttpRequestException) when (i < 100)
            {
            }
            Thread.Sleep(100);
        }

        var layer = RandomNumberGenerator.GetBytes(LayerBytes);
        var config = Encoding.UTF8.GetBytes($$$"""{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["{{{Digest(layer)}}}"]}}""");
        _configDigest = Upload(config);
        _layerDigest = Upload(layer);
        var manifest = Encoding.UTF8.GetBytes($$"""{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":{{config.Length}},"digest":"{{_configDigest}}"},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":{{layer.Length}},"digest":"{{_layerDigest}}"}]}""");
        _digest = PutManifest("1", "application/vnd.docker.distribution.manifest.v2+json", manifest);

        using var signer = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        _payload = Encoding.UTF8.GetBytes($$"""{"critical":{"identity":{"docker-reference":"{{_host}}/{{Repository}}"},"image":{"docker-manifest-digest":"{{_digest}}"},"type":"cosign container image signature"},"optional":null}""");
        _signature = signer.SignData(_payload, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence);
        var payloadDigest = Upload(_payload);
        var empty = "{}"u8.ToArray();
        var emptyDigest = Upload(empty);
        var signatureManifest = Encoding.UTF8.GetBytes($$$"""{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":2,"digest":"{{{emptyDigest}}}"},"layers":[{"mediaType":"application/vnd.dev.cosign.simplesigning.v1+json","size":{{{_payload.Length}}},"digest":"{{{payloadDigest}}}","annotations":{"dev.cosignproject.cosign/signature":"{{{Convert.ToBase64String(_signature)}}}"}}]}""");
        PutManifest(_digest.Replace(':', '-') + ".sig", "application/vnd.oci.image.manifest.v1+json", signatureManifest);

        var pem = signer.ExportSubjectPublicKeyInfoPem();
        var report = new ConfigReport(ConfigProvenance.None, [], []);
        _signed = ImagePolicy.Parse(new ImagePolicySettings { Allow = [$"{_host}/bench/*"], CosignPublicKeys = [pem] }, "opencti.daemon.image_policy", report);
        _allowOnly = ImagePolicy.Parse(new ImagePolicySettings { Allow = [$"{_host}/bench/*"] }, "opencti.daemon.image_policy", report);
        _key = CosignPublicKey.Load(pem, 0).Value!;
        if (report.Errors.Count > 0) throw new InvalidOperationException(string.Join("; ", report.Errors));
        var registry = RegistryConfiguration.FromSettings(new RegistrySettings { RetryAttempts = 0 }, ConfigProvenance.None, new Dictionary<string, string>(),
            new ConfigReport(ConfigProvenance.None, [], [])) ?? RegistryConfiguration.Anonymous;
        var settings = new ComposerSettings();
        _access = new RegistryAccess(registry, new OutboundHandlerFactory(new NetworkPolicies(PlatformNetworkPolicy.Resolve(settings, PlatformKind.OpenCti),
            PlatformNetworkPolicy.Resolve(settings, PlatformKind.OpenAev), null)));
        _image = ImageResolver.NoRegistry.Resolve($"{_host}/{Repository}:1").Value!;
        if (CheckSignedAsync().GetAwaiter().GetResult().Image is null) throw new InvalidOperationException("the signed image is refused");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _access.Dispose();
        _http.Dispose();
        _key.Dispose();
        if (_registry is { HasExited: false }) _registry.Kill(entireProcessTree: true);
        _registry?.WaitForExit(5000);
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark(Description = "Signature check: allow, tag -> digest, signature fetched and verified")]
    public Task<ImageVerdict> CheckSignedAsync() => new ImageGate(_signed, _access, TimeProvider.System, Diagnostics.Logger.Null).CheckAsync(_image, CancellationToken.None);

    [Benchmark(Description = "Allow list only: allow, tag -> digest")]
    public Task<ImageVerdict> CheckAllowOnlyAsync() => new ImageGate(_allowOnly, _access, TimeProvider.System, Diagnostics.Logger.Null).CheckAsync(_image, CancellationToken.None);

    [Benchmark(Description = "Offline part: ECDSA P-256 verify + payload claims")]
    public bool VerifyOffline() => _key.Verifies(_payload, _signature) && CosignSignatures.Claim(_payload, _digest) is null;

    [Benchmark(Baseline = true, Description = "Pull floor: manifest + config + 16 MiB layer over HTTP")]
    public async Task<long> PullTransferAsync()
    {
        long total = 0;
        using (var request = new HttpRequestMessage(HttpMethod.Get, $"v2/{Repository}/manifests/{_digest}"))
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/vnd.docker.distribution.manifest.v2+json"));
            using var response = await _http.SendAsync(request);
            total += (await response.Content.ReadAsByteArrayAsync()).Length;
        }
        foreach (var blob in new[] { _configDigest, _layerDigest })
        {
            using var response = await _http.GetAsync($"v2/{Repository}/blobs/{blob}", HttpCompletionOption.ResponseHeadersRead);
            await using var stream = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[81920];
            int read;
            while ((read = await stream.ReadAsync(buffer)) > 0) total += read;
        }
        return total;
    }

    private static string Digest(byte[] content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private string Upload(byte[] content)
    {
        var digest = Digest(content);
        using var started = _http.PostAsync($"v2/{Repository}/blobs/uploads/", null).GetAwaiter().GetResult();
        var location = started.Headers.Location ?? throw new InvalidOperationException($"blob upload: {started.StatusCode}");
        var target = location.IsAbsoluteUri ? location : new Uri(_http.BaseAddress!, location);
        using var body = new ByteArrayContent(content);
        body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var done = _http.PutAsync(target + (target.Query.Length > 0 ? "&" : "?") + "digest=" + Uri.EscapeDataString(digest), body).GetAwaiter().GetResult();
        if (!done.IsSuccessStatusCode) throw new InvalidOperationException($"blob upload: {done.StatusCode}");
        return digest;
    }

    private string PutManifest(string tag, string mediaType, byte[] manifest)
    {
        using var body = new ByteArrayContent(manifest);
        body.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        using var response = _http.PutAsync($"v2/{Repository}/manifests/{tag}", body).GetAwaiter().GetResult();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"manifest: {response.StatusCode}");
        return Digest(manifest);
    }
}

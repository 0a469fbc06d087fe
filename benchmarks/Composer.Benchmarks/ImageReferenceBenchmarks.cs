using BenchmarkDotNet.Attributes;
using Composer.Configuration;
using Composer.Images;
using Composer.Tests.Images;

namespace Composer.Benchmarks;

/// <summary>
/// Image reference parsing over the standard 20-reference workload (docs: image-reference-workload.txt):
/// the hand-written span parser against a [GeneratedRegex] transliteration of Go's ParseNormalizedNamed
/// (same grammar, same splitDockerDomain/normalization and go-digest steps). Results are per reference.
/// </summary>
[MemoryDiagnoser]
public class ImageReferenceBenchmarks
{
    private const int WorkloadSize = 20;
    private const string Server = "harbor.corp/dockerhub-cache";

    // image-reference-workload.txt, verbatim.
    private static readonly string[] Workload =
    [
        "ubuntu",
        "ubuntu:22.04",
        "postgres:16-alpine",
        "docker.io/library/ubuntu:22.04",
        "index.docker.io/bitnami/redis:7.2",
        "opencti/connector-example:1.0.0",
        "registry.example.com/opencti/connector-example:1.0.0",
        "ghcr.io/org/repo/sub:tag",
        "mcr.microsoft.com/dotnet/aspnet:8.0-bookworm-slim",
        "quay.io/prometheus/node-exporter:v1.8.2",
        "gcr.io/distroless/static-debian12:nonroot",
        "us-docker.pkg.dev/project-id/repo-name/image-name:1.2.3",
        "registry.gitlab.com/group/subgroup/project/image:feature_branch-1",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/service:2024.06.01-abc1234",
        "localhost/myimage",
        "localhost:5000/a/b@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa",
        "192.168.1.10:5000/internal/app:latest",
        "[::1]:5000/ipv6/app:dev",
        "nginx@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c",
        "myregistry.azurecr.io/samples/hello-world:v1@sha256:be178c0543eb17f5f3043021c9e5fcf30285e557a4fc309cce97ff9ca6182912",
    ];

    private readonly ImageResolver _resolver = RegistryConfiguration.FromSettings(new RegistrySettings { Server = Server }, ConfigProvenance.None,
        new Dictionary<string, string>(), new ConfigReport(ConfigProvenance.None, [], []))!.Images;
    private readonly char[] _buffer = new char[512];

    [GlobalSetup]
    public void CheckBothAgree()
    {
        // Never benchmark two implementations that disagree.
        foreach (var image in Workload)
        {
            var expected = RegexImageReference.ParseNormalizedNamed(image);
            var actual = ImageReference.Parse(image);
            if (!expected.Valid || !actual.IsValid || expected.FullyQualified != actual.ToString(ImageReferenceFormat.FullyQualified))
            {
                throw new InvalidOperationException("Implementations disagree on " + image);
            }
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = WorkloadSize, Description = "Parse: GeneratedRegex")]
    public int ParseRegex()
    {
        var sum = 0;
        foreach (var image in Workload)
        {
            var r = RegexImageReference.ParseNormalizedNamed(image);
            sum += r.Domain.Length + r.Path.Length + r.Tag.Length + r.Digest.Length;
        }
        return sum;
    }

    [Benchmark(OperationsPerInvoke = WorkloadSize, Description = "Parse: span parser")]
    public int ParseSpan()
    {
        var sum = 0;
        foreach (var image in Workload)
        {
            var r = ImageReference.Parse(image);
            sum += r.Domain.Length + r.PathLength + r.Tag.Length + r.Digest.Length;
        }
        return sum;
    }

    [Benchmark(OperationsPerInvoke = WorkloadSize, Description = "Parse+resolve: GeneratedRegex")]
    public int ResolveRegex()
    {
        var sum = 0;
        foreach (var image in Workload)
        {
            var r = RegexResolve(image);
            sum += r.Domain.Length + r.Path.Length + r.Tag.Length + r.Digest.Length;
        }
        return sum;
    }

    [Benchmark(OperationsPerInvoke = WorkloadSize, Description = "Parse+resolve: span parser into span")]
    public int ResolveSpan()
    {
        var sum = 0;
        foreach (var image in Workload)
        {
            _resolver.TryResolve(image, _buffer, out var written, out var r);
            sum += written + r.Domain.Length + r.PathLength + r.Tag.Length + r.Digest.Length;
        }
        return sum;
    }

    /// <summary>The same resolution rule written the obvious way: regex parse, string prefix, parse again.</summary>
    private static RegexParseResult RegexResolve(string image)
    {
        var parsed = RegexImageReference.ParseNormalizedNamed(image);
        if (!parsed.Valid) return parsed;
        var slash = image.IndexOf('/');
        if (slash >= 0)
        {
            var first = image[..slash];
            if (first == "localhost" || first.Contains('.') || first.Contains(':') || RegexImageReference.GoToLower(first) != first) return parsed;
        }
        return RegexImageReference.ParseNormalizedNamed(Server + "/" + image);
    }
}

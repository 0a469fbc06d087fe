using Composer.Configuration;
using Composer.Images;

namespace Composer.Tests.Images;

/// <summary>Registry prefix resolution with RegistrySettings objects (the product page's rules).</summary>
public class ImageResolverTests
{
    /// <summary>The resolver of opencti.daemon.registry.server, as the resolve step builds it (and why there is none).</summary>
    private static (ImageResolver? Resolver, List<ConfigDiagnostic> Errors) Configure(RegistrySettings? registry)
    {
        var errors = new List<ConfigDiagnostic>();
        var configuration = RegistryConfiguration.FromSettings(registry, ConfigProvenance.None, new Dictionary<string, string>(), new ConfigReport(ConfigProvenance.None, errors, []));
        return (configuration?.Images, errors);
    }

    private static ImageResolver Resolver(string? server) =>
        Configure(new RegistrySettings { Server = server }) is ({ } resolver, _) ? resolver : throw new ArgumentException($"invalid server {server}");

    /// <summary>The image to pull; throws when the image is invalid.</summary>
    private static ResolvedImage Resolve(ImageResolver resolver, string image) =>
        resolver.Resolve(image) is { IsSuccess: true } resolved ? resolved.Value : throw new FormatException(image);

    [Test]
    // The product page's own example.
    [Arguments("registry.example.com", "opencti/connector-example:1.0.0", "registry.example.com/opencti/connector-example:1.0.0")]
    // Already names the configured registry: never a double prefix.
    [Arguments("registry.example.com", "registry.example.com/opencti/connector-example:1.0.0", "registry.example.com/opencti/connector-example:1.0.0")]
    // Names another registry: left alone.
    [Arguments("registry.example.com", "ghcr.io/org/repo/sub:tag", "ghcr.io/org/repo/sub:tag")]
    [Arguments("registry.example.com", "localhost/myimage", "localhost/myimage")]
    [Arguments("registry.example.com", "localhost:5000/a/b", "localhost:5000/a/b")]
    [Arguments("registry.example.com", "example:5000/foo", "example:5000/foo")]
    [Arguments("registry.example.com", "[::1]:5000/ipv6/app:dev", "[::1]:5000/ipv6/app:dev")]
    [Arguments("registry.example.com", "Foo/bar", "Foo/bar")]
    // Explicit Docker Hub is a registry too: pulled from the Hub, not the mirror.
    [Arguments("registry.example.com", "docker.io/library/ubuntu:22.04", "docker.io/library/ubuntu:22.04")]
    [Arguments("registry.example.com", "index.docker.io/bitnami/redis:7.2", "index.docker.io/bitnami/redis:7.2")]
    // Single-component names: prefixed as written, like upstream (no library/ added).
    [Arguments("registry.example.com", "nginx", "registry.example.com/nginx")]
    [Arguments("registry.example.com", "ubuntu:22.04", "registry.example.com/ubuntu:22.04")]
    [Arguments("registry.example.com", "library/nginx", "registry.example.com/library/nginx")]
    // Looks like a host but has no '/': it is a Hub image name, so it gets the prefix.
    [Arguments("registry.example.com", "localhost:5000", "registry.example.com/localhost:5000")]
    // Tags and digests are kept.
    [Arguments("registry.example.com:5000", "nginx@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c",
        "registry.example.com:5000/nginx@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c")]
    [Arguments("registry.example.com", "opencti/x:1@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c",
        "registry.example.com/opencti/x:1@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c")]
    // Proxy-cache project path (U14).
    [Arguments("harbor.corp/dockerhub-cache", "opencti/connector-example:1.0.0", "harbor.corp/dockerhub-cache/opencti/connector-example:1.0.0")]
    [Arguments("harbor.corp/dockerhub-cache", "nginx", "harbor.corp/dockerhub-cache/nginx")]
    [Arguments("harbor.corp/dockerhub-cache", "harbor.corp/dockerhub-cache/opencti/x:1", "harbor.corp/dockerhub-cache/opencti/x:1")]
    // Users write schemes and trailing slashes.
    [Arguments("https://registry.example.com/", "opencti/x:1", "registry.example.com/opencti/x:1")]
    [Arguments("http://localhost:5000", "opencti/x:1", "localhost:5000/opencti/x:1")]
    [Arguments("  HTTPS://Mirror.Corp:8443/cache//  ", "opencti/x:1", "Mirror.Corp:8443/cache/opencti/x:1")]
    [Arguments("[::1]:5000", "opencti/x:1", "[::1]:5000/opencti/x:1")]
    [Arguments("localhost", "opencti/x:1", "localhost/opencti/x:1")]
    // No server: unchanged.
    [Arguments(null, "opencti/connector-example:1.0.0", "opencti/connector-example:1.0.0")]
    [Arguments("", "nginx", "nginx")]
    [Arguments("   ", "nginx", "nginx")]
    public async Task Resolves_as_the_product_page_says(string? server, string image, string expected)
    {
        var resolved = Resolve(Resolver(server), image);
        await Assert.That(resolved.Reference).IsEqualTo(expected);
        await Assert.That(resolved.Original).IsEqualTo(image);
        await Assert.That(resolved.Prefixed).IsEqualTo(expected != image);
    }

    [Test]
    [Arguments(null, "nginx", "docker.io", "library/nginx", "latest")]
    [Arguments(null, "opencti/connector-example:1.0.0", "docker.io", "opencti/connector-example", "1.0.0")]
    [Arguments("registry.example.com", "opencti/connector-example:1.0.0", "registry.example.com", "opencti/connector-example", "1.0.0")]
    [Arguments("harbor.corp/dockerhub-cache", "nginx:1.27", "harbor.corp", "dockerhub-cache/nginx", "1.27")]
    [Arguments("registry.example.com:5000", "a/b:t@sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c",
        "registry.example.com:5000", "a/b", "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c")]
    [Arguments("registry.example.com", "index.docker.io/debian", "docker.io", "library/debian", "latest")]
    [Arguments("registry.example.com", "[2001:db8::1]:5000/repo:tag", "[2001:db8::1]:5000", "repo", "tag")]
    public async Task Exposes_registry_host_repository_and_manifest_reference(string? server, string image, string host, string repository, string reference)
    {
        var resolved = Resolve(Resolver(server), image);
        await Assert.That(resolved.RegistryHost).IsEqualTo(host);
        await Assert.That(resolved.Repository).IsEqualTo(repository);
        await Assert.That(resolved.ManifestReference).IsEqualTo(reference);
    }

    [Test]
    [Arguments("registry.example.com", "Opencti/../x", "invalid image name \"Opencti/../x\": invalid reference format")]
    [Arguments(null, "UBUNTU:22.04", "invalid image name \"UBUNTU:22.04\": invalid reference format: repository name (library/UBUNTU) must be lowercase")]
    [Arguments("registry.example.com", "", "invalid image name \"\": invalid reference format")]
    [Arguments("registry.example.com", "ubuntu\n", "invalid image name \"ubuntu\\n\": invalid reference format")]
    [Arguments("registry.example.com", "nginx@sha256:abc", "invalid image name \"nginx@sha256:abc\": invalid reference format")]
    [Arguments("registry.example.com", "foo@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aa", "invalid image name \"foo@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aa\": invalid checksum digest length")]
    [Arguments(null, "da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf9821",
        "invalid image name \"da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf9821\": invalid repository name (da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf9821), cannot specify 64-byte hexadecimal strings")]
    public async Task Invalid_images_are_refused_with_the_image_and_the_go_reason(string? server, string image, string expected)
    {
        var result = Resolver(server).Resolve(image);
        await Assert.That(result.IsSuccess).IsFalse();
        await Assert.That(result.Value).IsNull();
        await Assert.That(result.Failure!.Message).IsEqualTo(expected);
    }

    [Test]
    public async Task A_prefix_that_makes_the_path_too_long_is_refused()
    {
        var name = new string('a', 240);
        var result = Resolver("harbor.corp/dockerhub-cache").Resolve("opencti/" + name);
        await Assert.That(result.IsSuccess).IsFalse();
        var error = result.Failure!.Message;
        await Assert.That(error).Contains("opencti.daemon.registry.server \"harbor.corp/dockerhub-cache\"");
        await Assert.That(error).EndsWith(": repository name must not be more than 255 characters");
    }

    [Test]
    [Arguments("registry", "Docker reads \"registry/<image>\" as a Docker Hub namespace")]
    [Arguments("registry/mirror", "Docker reads \"registry/<image>\" as a Docker Hub namespace")]
    [Arguments("bad_host.com", "is not a valid registry host[:port]")]
    [Arguments("registry.example.com:http", "is not a valid registry host[:port]")]
    [Arguments("-registry.example.com", "is not a valid registry host[:port]")]
    [Arguments("registry.example.com/Mirror", "the path \"Mirror\" is not a valid repository path")]
    [Arguments("registry.example.com/mirror:1.0", "the path \"mirror:1.0\" is not a valid repository path")]
    [Arguments("registry.example.com//mirror", "the path \"/mirror\" is not a valid repository path")]
    [Arguments("ftp://registry.example.com", "has an unsupported scheme")]
    [Arguments("https://", "names no host")]
    [Arguments("registry example.com", "is not a valid registry host[:port]")]
    public async Task Invalid_servers_are_refused_naming_the_setting(string server, string reason)
    {
        var (resolver, errors) = Configure(new RegistrySettings { Server = server });
        await Assert.That(resolver).IsNull();
        var error = errors.Single().ToString();
        await Assert.That(error).StartsWith("opencti.daemon.registry.server: ");
        await Assert.That(error).Contains(reason);
    }

    [Test]
    public async Task Credentials_in_the_server_are_refused_without_echoing_them()
    {
        var (resolver, errors) = Configure(new RegistrySettings { Server = "https://bob:S3cret-pw@registry.example.com" });
        await Assert.That(resolver).IsNull();
        var error = errors.Single().ToString();
        await Assert.That(error).Contains("without credentials");
        await Assert.That(error).DoesNotContain("S3cret-pw");
        await Assert.That(error).DoesNotContain("bob");
    }

    [Test]
    public async Task No_registry_settings_means_no_prefix()
    {
        var (resolver, errors) = Configure(null);
        await Assert.That(errors).IsEmpty();
        await Assert.That(resolver!.Server).IsNull();
        await Assert.That(Resolve(resolver, "opencti/x:1").Reference).IsEqualTo("opencti/x:1");
    }

    [Test]
    public async Task Span_resolution_writes_into_the_callers_buffer()
    {
        var resolver = Resolver("harbor.corp/dockerhub-cache");
        var buffer = new char[resolver.GetMaxResolvedLength("opencti/x:1".Length)];
        var (status, written, domain, remote, tag) = Run(resolver, "opencti/x:1", buffer);
        await Assert.That(status).IsEqualTo(ImageResolveStatus.Resolved);
        await Assert.That(new string(buffer, 0, written)).IsEqualTo("harbor.corp/dockerhub-cache/opencti/x:1");
        await Assert.That(domain).IsEqualTo("harbor.corp");
        await Assert.That(remote).IsEqualTo("dockerhub-cache/opencti/x");
        await Assert.That(tag).IsEqualTo("1");

        var small = new char[10];
        await Assert.That(resolver.TryResolve("opencti/x:1", small, out _, out _)).IsEqualTo(ImageResolveStatus.DestinationTooSmall);
        await Assert.That(resolver.TryResolve("Opencti/../x", buffer, out _, out _)).IsEqualTo(ImageResolveStatus.InvalidImage);
    }

    private static (ImageResolveStatus, int, string, string, string) Run(ImageResolver resolver, string image, char[] buffer)
    {
        var status = resolver.TryResolve(image, buffer, out var written, out var resolved);
        return (status, written, resolved.Domain.ToString(), resolved.RemoteName.ToString(), resolved.Tag.ToString());
    }

    [Test]
    public async Task Span_resolution_agrees_with_parsing_the_resolved_text_for_random_images()
    {
        string[] servers = ["registry.example.com", "harbor.corp/dockerhub-cache", "Mirror.Corp:8443/a/b-c", "[::1]:5000",
            "localhost", "docker.io", "index.docker.io/mirror", "10.0.0.1:5000/" + new string('p', 200)];
        var generator = new ReferenceGenerator(42);
        var failures = new List<string>();
        for (var i = 0; i < 3000 && failures.Count < 10; i++)
        {
            var server = servers[i % servers.Length];
            var image = i % 2 == 0 ? generator.AnyValid() : generator.Mutated();
            var (fast, reparsed) = CompareWithReparse(Resolver(server), image);
            if (fast != reparsed) failures.Add($"{server} + {image}: {fast} != {reparsed}");
        }
        await Assert.That(failures).IsEmpty();
    }

    private static (string Fast, string Reparsed) CompareWithReparse(ImageResolver resolver, string image)
    {
        var buffer = new char[resolver.GetMaxResolvedLength(image.Length)];
        var status = resolver.TryResolve(image, buffer, out var written, out var fast);
        if (status == ImageResolveStatus.InvalidImage) return ("invalid image", "invalid image");
        var text = new string(buffer, 0, written);
        var reparsed = ImageReference.Parse(text);
        return (Render(status.ToString(), fast), Render(reparsed.IsValid ? "Resolved" : "InvalidAfterPrefix", reparsed));
    }

    private static string Render(string status, ImageReference r) =>
        $"{status} {r.Input} {r.Error} {r.GetErrorMessage()} {r.NamesRegistry} {r.OriginalDomain} {r.Domain} {r.IsDockerHub} " +
        $"{r.AddsLibraryPrefix} {r.RemoteName} {r.Tag} {r.Digest} {r.ManifestReference} {r.ToString()}";
}

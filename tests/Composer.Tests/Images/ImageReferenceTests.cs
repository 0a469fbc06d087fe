using Composer.Images;

namespace Composer.Tests.Images;

/// <summary>The parser's API beyond the Go vectors: normalization facts, docker_ref, errors, ImageName.</summary>
public class ImageReferenceTests
{
    private sealed record Facts(bool NamesRegistry, string OriginalDomain, string Domain, bool IsDockerHub, bool AddsLibrary, string RemoteName, string ManifestReference);

    private static Facts Read(string input)
    {
        var r = ImageReference.Parse(input);
        return new Facts(r.NamesRegistry, r.OriginalDomain.ToString(), r.Domain.ToString(), r.IsDockerHub, r.AddsLibraryPrefix, r.RemoteName.ToString(), r.ManifestReference.ToString());
    }

    [Test]
    [Arguments("ubuntu", false, "", "docker.io", true, true, "ubuntu", "latest")]
    [Arguments("opencti/connector-example:1.0.0", false, "", "docker.io", true, false, "opencti/connector-example", "1.0.0")]
    [Arguments("index.docker.io/debian", true, "index.docker.io", "docker.io", true, true, "debian", "latest")]
    [Arguments("docker.io/library/foo/bar", true, "docker.io", "docker.io", true, false, "library/foo/bar", "latest")]
    [Arguments("DOCKER.IO/ubuntu", true, "DOCKER.IO", "DOCKER.IO", false, false, "ubuntu", "latest")]
    [Arguments("localhost:5000/a/b:t@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa", true, "localhost:5000", "localhost:5000", false, false, "a/b", "sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa")]
    [Arguments("foo_bar.com/baz", true, "foo_bar.com", "", false, false, "foo_bar.com/baz", "latest")]
    [Arguments("Foo/bar:X", true, "Foo", "Foo", false, false, "bar", "X")]
    public async Task Records_what_was_written_and_how_it_normalizes(string input, bool namesRegistry, string original, string domain, bool hub, bool library, string remote, string manifest)
    {
        await Assert.That(Read(input)).IsEqualTo(new Facts(namesRegistry, original, domain, hub, library, remote, manifest));
    }

    [Test]
    [Arguments("ubuntu", "docker.io/library/ubuntu:latest")]
    [Arguments("ubuntu:22.04", "docker.io/library/ubuntu:22.04")]
    [Arguments("busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa", "docker.io/library/busybox@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa")]
    [Arguments("gcr.io/x/y@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa", "gcr.io/x/y@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa")]
    [Arguments("localhost:5000/foo", "localhost:5000/foo:latest")]
    public async Task Docker_ref_keeps_only_the_digest_or_adds_latest(string input, string expected)
    {
        await Assert.That(ImageReference.Parse(input).ToString(ImageReferenceFormat.DockerRef)).IsEqualTo(expected);
    }

    [Test]
    // Go lowers U+0130 (İ) to 'i' and U+212A (Kelvin) to 'k': the lowercased text then fits the grammar.
    [Arguments("\u0130/foo", ImageReferenceError.NameContainsUppercase, "repository name must be lowercase")]
    [Arguments("foo:\u212A", ImageReferenceError.NameContainsUppercase, "repository name must be lowercase")]
    [Arguments("\u212Aelvin", ImageReferenceError.RepositoryNameNotLowercase, "invalid reference format: repository name (library/\u212Aelvin) must be lowercase")]
    // A lone surrogate: Go's ToLower replaces invalid text, so the remote "changes" under lowering.
    [Arguments("foo/\uD800", ImageReferenceError.RepositoryNameNotLowercase, "invalid reference format: repository name (foo/\uD800) must be lowercase")]
    [Arguments("foo@md5:86e0e091d0da6bde2456dbb48306f395", ImageReferenceError.DigestUnsupported, "unsupported digest algorithm")]
    [Arguments("foo@SHA256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa", ImageReferenceError.RepositoryNameNotLowercase, "invalid reference format: repository name (library/foo@SHA256) must be lowercase")]
    [Arguments("foo:t@SHA256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa", ImageReferenceError.DigestInvalidFormat, "invalid checksum digest format")]
    [Arguments("foo@sha384:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa", ImageReferenceError.DigestInvalidLength, "invalid checksum digest length")]
    public async Task Errors_follow_go(string input, ImageReferenceError error, string message)
    {
        var (actualError, actualMessage) = Error(input);
        await Assert.That(actualError).IsEqualTo(error);
        await Assert.That(actualMessage).IsEqualTo(message);
    }

    private static (ImageReferenceError, string) Error(string input)
    {
        var r = ImageReference.Parse(input);
        return (r.Error, r.GetErrorMessage());
    }

    [Test]
    public async Task Accessors_of_an_invalid_reference_are_empty_and_formatting_fails()
    {
        var (tag, digest, remote, path, formatted) = InvalidAccessors("UPPER:tag");
        var (domain, original, names) = InvalidDomain("localhost/UPPER");
        await Assert.That(domain).IsEqualTo("");
        await Assert.That(original).IsEqualTo("");
        await Assert.That(names).IsFalse();
        await Assert.That(tag).IsEqualTo("");
        await Assert.That(digest).IsEqualTo("");
        await Assert.That(remote).IsEqualTo("");
        await Assert.That(path).IsEqualTo(0);
        await Assert.That(formatted).IsFalse();
        await Assert.That(Composer.Images.ImageName.Parse("UPPER:tag").IsSuccess).IsFalse();
    }

    private static (string, string, bool) InvalidDomain(string input)
    {
        var r = ImageReference.Parse(input);
        return (r.Domain.ToString(), r.OriginalDomain.ToString(), r.NamesRegistry);
    }

    private static (string, string, string, int, bool) InvalidAccessors(string input)
    {
        var r = ImageReference.Parse(input);
        Span<char> buffer = stackalloc char[64];
        return (r.Tag.ToString(), r.Digest.ToString(), r.RemoteName.ToString(), r.PathLength, r.TryFormat(buffer, out _));
    }

    [Test]
    public async Task ImageName_is_a_heap_copy_with_every_form()
    {
        var parsed = ImageName.Parse("index.docker.io/library/ubuntu:22.04");
        await Assert.That(parsed.IsSuccess).IsTrue();
        await Assert.That(parsed.Failure).IsNull();
        var name = parsed.Value!;
        await Assert.That(name.Domain).IsEqualTo("docker.io");
        await Assert.That(name.Path).IsEqualTo("library/ubuntu");
        await Assert.That(name.Tag).IsEqualTo("22.04");
        await Assert.That(name.Digest).IsNull();
        await Assert.That(name.OriginalDomain).IsEqualTo("index.docker.io");
        await Assert.That(name.FullyQualified).IsEqualTo("docker.io/library/ubuntu:22.04");
        await Assert.That(name.Familiar).IsEqualTo("ubuntu:22.04");
        await Assert.That(name.ManifestReference).IsEqualTo("22.04");
        var bad = ImageName.Parse("a//b");
        await Assert.That(bad.IsSuccess).IsFalse();
        await Assert.That(bad.Failure!.Message).IsEqualTo("invalid reference format");
    }
}

using Composer.Tests.Configuration;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Images;

/// <summary>
/// `composer image resolve` through the published native binary. The configuration must be valid as a whole
/// (the loader validates everything), so every run gets a manager key from ConfigTestSupport.
/// </summary>
public class ImageResolveBinaryTests
{
    [Test]
    [Arguments("opencti/connector-example:1.0.0")]
    [Arguments("nginx")]
    [Arguments("ghcr.io/org/repo/sub:tag")]
    [Arguments("localhost:5000/a/b@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa")]
    [Arguments("[::1]:5000/ipv6/app:dev")]
    public async Task Without_a_registry_the_image_is_printed_unchanged(string image)
    {
        var result = await ComposerBinary.RunAsync(["image", "resolve", image], ConfigTestSupport.BaseEnvironment());
        await Assert.That(result.ExitCode).IsEqualTo(0).Because(result.ToString());
        await Assert.That(result.Stdout).IsEqualTo(image + "\n");
        await Assert.That(result.Stderr).IsEqualTo("");
    }

    [Test]
    [Arguments("UBUNTU:22.04", "composer: invalid image name \"UBUNTU:22.04\": invalid reference format: repository name (library/UBUNTU) must be lowercase")]
    [Arguments("opencti/connector:1.0@sha256:abc", "composer: invalid image name \"opencti/connector:1.0@sha256:abc\": invalid reference format")]
    [Arguments("foo@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aa", "composer: invalid image name \"foo@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aa\": invalid checksum digest length")]
    [Arguments("", "composer: invalid image name \"\": invalid reference format")]
    [Arguments("ubuntu\n", "composer: invalid image name \"ubuntu\\n\": invalid reference format")]
    public async Task An_invalid_image_is_refused_with_exit_code_2_and_the_reason(string image, string expected)
    {
        var result = await ComposerBinary.RunAsync(["image", "resolve", image], ConfigTestSupport.BaseEnvironment());
        await Assert.That(result.ExitCode).IsEqualTo(2).Because(result.ToString());
        await Assert.That(result.Stdout).IsEqualTo("");
        await Assert.That(result.Stderr).IsEqualTo(expected + "\n");
    }

    [Test]
    public async Task A_missing_image_argument_is_a_usage_error()
    {
        var result = await ComposerBinary.RunAsync(["image", "resolve"], ConfigTestSupport.BaseEnvironment());
        await Assert.That(result.ExitCode).IsEqualTo(2).Because(result.ToString());
        await Assert.That(result.Stderr).Contains("Required argument missing for command: 'resolve'");
    }

    [Test]
    [Arguments("registry.example.com", "opencti/connector-example:1.0.0", "registry.example.com/opencti/connector-example:1.0.0")]
    [Arguments("registry.example.com", "registry.example.com/opencti/connector-example:1.0.0", "registry.example.com/opencti/connector-example:1.0.0")]
    [Arguments("https://registry.example.com:5000/", "nginx:1.27", "registry.example.com:5000/nginx:1.27")]
    [Arguments("registry.example.com", "ghcr.io/org/repo:1", "ghcr.io/org/repo:1")]
    public async Task The_server_from_the_environment_prefixes_images_without_a_registry(string server, string image, string expected)
    {
        var result = await ComposerBinary.RunAsync(["image", "resolve", image],
            ConfigTestSupport.BaseEnvironment(("OPENCTI__DAEMON__REGISTRY__SERVER", server)));
        await Assert.That(result.ExitCode).IsEqualTo(0).Because(result.ToString());
        await Assert.That(result.Stdout).IsEqualTo(expected + "\n");
    }

    [Test]
    public async Task The_server_from_a_config_file_can_carry_a_proxy_cache_path()
    {
        var dir = Directory.CreateTempSubdirectory("composer-image-config-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(dir.FullName, "default.yaml"),
                "opencti:\n  daemon:\n    registry:\n      server: harbor.corp/dockerhub-cache\n");
            var result = await ComposerBinary.RunAsync(["image", "resolve", "--config-dir", dir.FullName, "opencti/connector-example:1.0.0"],
                ConfigTestSupport.BaseEnvironment());
            await Assert.That(result.ExitCode).IsEqualTo(0).Because(result.ToString());
            await Assert.That(result.Stdout).IsEqualTo("harbor.corp/dockerhub-cache/opencti/connector-example:1.0.0\n");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Test]
    public async Task An_invalid_server_is_a_configuration_error_naming_the_key()
    {
        var result = await ComposerBinary.RunAsync(["image", "resolve", "nginx"],
            ConfigTestSupport.BaseEnvironment(("OPENCTI__DAEMON__REGISTRY__SERVER", "registry")));
        await Assert.That(result.ExitCode).IsEqualTo(2).Because(result.ToString());
        await Assert.That(result.Stdout).IsEqualTo("");
        await Assert.That(result.Stderr).Contains("opencti.daemon.registry.server: \"registry\": Docker reads \"registry/<image>\" as a Docker Hub namespace");
        // The loader names where the value came from.
        await Assert.That(result.Stderr).Contains("(environment OPENCTI__DAEMON__REGISTRY__SERVER)");
    }

    [Test]
    public async Task Credentials_written_into_the_server_are_never_printed()
    {
        var result = await ComposerBinary.RunAsync(["image", "resolve", "nginx"],
            ConfigTestSupport.BaseEnvironment(("OPENCTI__DAEMON__REGISTRY__SERVER", "https://bob:S3cret-pw@registry.example.com")));
        await Assert.That(result.ExitCode).IsEqualTo(2).Because(result.ToString());
        await Assert.That(result.Stderr).Contains("opencti.daemon.registry.server");
        await Assert.That(result.Stderr + result.Stdout).DoesNotContain("S3cret-pw");
    }

    [Test]
    public async Task An_invalid_configuration_is_reported_with_exit_code_2()
    {
        // A bad value anywhere in the configuration stops the command before any image is looked at.
        var result = await ComposerBinary.RunAsync(["image", "resolve", "nginx"],
            new Dictionary<string, string> { ["OPENCTI__DAEMON__REGISTRY__TOKEN_TTL"] = "soon" });
        await Assert.That(result.ExitCode).IsEqualTo(2).Because(result.ToString());
        await Assert.That(result.Stdout).IsEqualTo("");
        await Assert.That(result.Stderr).Contains("composer: invalid configuration");
        await Assert.That(result.Stderr).Contains("OPENCTI__DAEMON__REGISTRY__TOKEN_TTL");
    }

    [Test]
    public async Task Resolving_an_image_does_not_need_the_manager_private_key()
    {
        // The key is for talking to the platform; a pre-flight tool must work without it.
        var result = await ComposerBinary.RunAsync(["image", "resolve", "nginx"],
            new Dictionary<string, string> { ["OPENCTI__DAEMON__REGISTRY__SERVER"] = "registry.example.com" });
        await Assert.That(result.ExitCode).IsEqualTo(0).Because(result.ToString());
        await Assert.That(result.Stdout.Trim()).IsEqualTo("registry.example.com/nginx");
    }
}

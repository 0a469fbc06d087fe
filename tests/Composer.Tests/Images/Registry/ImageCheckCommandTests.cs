using Composer.Cli;
using Composer.Configuration;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Images.Registry;

/// <summary>`composer image check` in process, with the production handler factory, against the real htpasswd registry.</summary>
[ClassDataSource<HtpasswdRegistryFixture>(Shared = SharedType.PerTestSession)]
public class ImageCheckCommandTests(HtpasswdRegistryFixture registry)
{
    private ComposerSettings Settings(string? server, string? user = HtpasswdRegistryFixture.User, string? password = HtpasswdRegistryFixture.Password)
    {
        var settings = new ComposerSettings();
        settings.OpenCti.Daemon.Registry = new RegistrySettings { Server = server, Username = user, Password = Composer.Diagnostics.Secret.From(password), RetryAttempts = 0 };
        return settings;
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(ComposerSettings settings, string image)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = await ImageCheckCommand.RunAsync(TestSettings.Resolve(settings), image, stdout, stderr, handlers: null, CancellationToken.None);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Test]
    public async Task An_image_without_registry_is_prefixed_with_the_server_and_checked_with_its_credentials()
    {
        var (exit, stdout, stderr) = await RunAsync(Settings(registry.Host), $"{HtpasswdRegistryFixture.KnownRepository}:{HtpasswdRegistryFixture.KnownTag}");
        await Assert.That(exit).IsEqualTo(ExitCodes.Success).Because(stderr);
        await Assert.That(stdout).Contains($"image: {registry.Host}/{HtpasswdRegistryFixture.KnownRepository}:{HtpasswdRegistryFixture.KnownTag}\n");
        await Assert.That(stdout).Contains($"digest: {registry.KnownDigest}\n");
        await Assert.That(stdout).Contains($"credentials: user {HtpasswdRegistryFixture.User}\n");
        await Assert.That(stdout).DoesNotContain(HtpasswdRegistryFixture.Password);
    }

    [Test]
    public async Task An_explicit_http_server_scheme_is_accepted_and_not_prefixed()
    {
        var (exit, stdout, stderr) = await RunAsync(Settings($"http://{registry.Host}/"), $"{HtpasswdRegistryFixture.KnownRepository}:{HtpasswdRegistryFixture.KnownTag}");
        await Assert.That(exit).IsEqualTo(ExitCodes.Success).Because(stderr);
        await Assert.That(stdout).Contains($"image: {registry.Host}/{HtpasswdRegistryFixture.KnownRepository}");
    }

    [Test]
    public async Task Bad_credentials_exit_1_with_the_reason_and_without_the_password()
    {
        const string wrong = "Definitely-Wrong-Pass";
        var (exit, stdout, stderr) = await RunAsync(Settings(registry.Host, password: wrong), $"{HtpasswdRegistryFixture.KnownRepository}:{HtpasswdRegistryFixture.KnownTag}");
        await Assert.That(exit).IsEqualTo(ExitCodes.RuntimeFailure);
        await Assert.That(stdout).IsEqualTo("");
        await Assert.That(stderr).Contains("bad credentials");
        await Assert.That(stderr).Contains($"{registry.Host}/{HtpasswdRegistryFixture.KnownRepository}:{HtpasswdRegistryFixture.KnownTag}");
        await Assert.That(stderr).DoesNotContain(wrong);
    }

    [Test]
    public async Task Unknown_image_exits_1_not_found()
    {
        var (exit, _, stderr) = await RunAsync(Settings(registry.Host), "composer-tests/unknown:0.0.1");
        await Assert.That(exit).IsEqualTo(ExitCodes.RuntimeFailure);
        await Assert.That(stderr).Contains("image not found");
    }

    [Test]
    [Arguments("UBUNTU:22.04")]
    [Arguments("a/b:1@sha256:abc")]
    public async Task An_invalid_image_name_exits_2(string image)
    {
        var (exit, _, stderr) = await RunAsync(Settings(registry.Host), image);
        await Assert.That(exit).IsEqualTo(ExitCodes.ConfigurationError);
        await Assert.That(stderr).Contains("invalid image name");
    }

    [Test]
    public async Task An_invalid_server_is_a_configuration_error_naming_the_key()
    {
        var (_, errors, _) = TestSettings.TryResolve(Settings("ftp://registry.example.com"));
        await Assert.That(errors.Single().Key).IsEqualTo("opencti.daemon.registry.server");
        await Assert.That(errors.Single().Message).Contains("unsupported scheme");
    }
}

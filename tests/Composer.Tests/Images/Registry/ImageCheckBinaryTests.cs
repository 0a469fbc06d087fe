using Composer.Tests.Infrastructure;

namespace Composer.Tests.Images.Registry;

/// <summary>`composer image check` through the published native binary, against real registries.</summary>
[ClassDataSource<HtpasswdRegistryFixture, TokenRegistryFixture>(Shared = [SharedType.PerTestSession, SharedType.PerTestSession])]
public class ImageCheckBinaryTests(HtpasswdRegistryFixture basic, TokenRegistryFixture token)
{
    [Test]
    public async Task An_open_registry_image_is_checked_and_its_digest_printed()
    {
        await using var open = await RegistryFixture.StartAsync(new RegistryFixtureOptions());
        var digest = await RegistryPusher.PushImageAsync(open.BaseUri, "library/open-app", "3.2.1", null, null);

        var result = await ComposerBinary.RunAsync(["image", "check", $"{open.Host}/library/open-app:3.2.1"], BinaryEnvironment.With());

        await Assert.That(result.ExitCode).IsEqualTo(0).Because(result.ToString());
        await Assert.That(result.Stdout).Contains($"image: {open.Host}/library/open-app:3.2.1\n");
        await Assert.That(result.Stdout).Contains($"digest: {digest}\n");
        await Assert.That(result.Stdout).Contains("credentials: anonymous\n");
    }

    [Test]
    public async Task A_protected_registry_without_credentials_exits_1_with_the_reason()
    {
        var image = $"{basic.Host}/{HtpasswdRegistryFixture.KnownRepository}:{HtpasswdRegistryFixture.KnownTag}";
        var result = await ComposerBinary.RunAsync(["image", "check", image], BinaryEnvironment.With());
        await Assert.That(result.ExitCode).IsEqualTo(1).Because(result.ToString());
        await Assert.That(result.Stderr).Contains("authentication required");
        await Assert.That(result.Stderr).Contains(image);
    }

    [Test]
    public async Task An_invalid_image_exits_2()
    {
        var result = await ComposerBinary.RunAsync(["image", "check", "Not A/Valid::Image"], BinaryEnvironment.With());
        await Assert.That(result.ExitCode).IsEqualTo(2).Because(result.ToString());
        await Assert.That(result.Stderr).Contains("invalid image name");
    }

    [Test]
    public async Task An_unreachable_registry_exits_1_after_the_retries()
    {
        var closed = FreePort.Next();
        var result = await ComposerBinary.RunAsync(["image", "check", $"127.0.0.1:{closed}/a/b:1"],
            BinaryEnvironment.With(("OPENCTI__DAEMON__REGISTRY__RETRY_ATTEMPTS", "1"), ("OPENCTI__DAEMON__REGISTRY__RETRY_DELAY", "0")));
        await Assert.That(result.ExitCode).IsEqualTo(1).Because(result.ToString());
        await Assert.That(result.Stderr).Contains($"127.0.0.1:{closed}");
        await Assert.That(result.Stderr).Contains("unreachable after 2 attempts");
    }

    [Test]
    public async Task Credentials_from_the_environment_pass_the_htpasswd_registry()
    {
        var result = await ComposerBinary.RunAsync(["image", "check", $"{HtpasswdRegistryFixture.KnownRepository}:{HtpasswdRegistryFixture.KnownTag}"],
            BinaryEnvironment.With(
                ("OPENCTI__DAEMON__REGISTRY__SERVER", basic.Host),
                ("OPENCTI__DAEMON__REGISTRY__USERNAME", HtpasswdRegistryFixture.User),
                ("OPENCTI__DAEMON__REGISTRY__PASSWORD", HtpasswdRegistryFixture.Password)));
        await Assert.That(result.ExitCode).IsEqualTo(0).Because(result.ToString());
        await Assert.That(result.Stdout).Contains($"image: {basic.Host}/{HtpasswdRegistryFixture.KnownRepository}:{HtpasswdRegistryFixture.KnownTag}\n");
        await Assert.That(result.Stdout).Contains($"digest: {basic.KnownDigest}\n");
        await Assert.That(result.Stdout + result.Stderr).DoesNotContain(HtpasswdRegistryFixture.Password);
    }

    [Test]
    public async Task Credentials_from_the_environment_pass_the_token_registry_and_a_wrong_password_is_named()
    {
        var (user, password) = token.NewUser(TokenPolicy.Pull);
        var environment = BinaryEnvironment.With(
            ("OPENCTI__DAEMON__REGISTRY__SERVER", token.Host),
            ("OPENCTI__DAEMON__REGISTRY__USERNAME", user),
            ("OPENCTI__DAEMON__REGISTRY__PASSWORD", password));
        var image = $"{TokenRegistryFixture.KnownRepository}:{TokenRegistryFixture.KnownTag}";
        var ok = await ComposerBinary.RunAsync(["image", "check", image], environment);
        await Assert.That(ok.ExitCode).IsEqualTo(0).Because(ok.ToString());
        await Assert.That(ok.Stdout).Contains($"digest: {token.KnownDigest}\n");
        await Assert.That(token.Tokens.RequestCount(user)).IsEqualTo(1);

        environment["OPENCTI__DAEMON__REGISTRY__PASSWORD"] = "Wrong-Password-From-Env";
        var bad = await ComposerBinary.RunAsync(["image", "check", image], environment);
        await Assert.That(bad.ExitCode).IsEqualTo(1).Because(bad.ToString());
        await Assert.That(bad.Stderr).Contains("bad credentials");
        await Assert.That(bad.Stderr).Contains($"{token.Host}/{image}");
        await Assert.That(bad.Stdout + bad.Stderr).DoesNotContain("Wrong-Password-From-Env");
    }
}

using Composer.Tests.Images.Registry;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Images.Trust;

/// <summary>`composer image check --verify` through the published binary, against the real htpasswd registry, images signed in the test.</summary>
[ClassDataSource<HtpasswdRegistryFixture>(Shared = SharedType.PerTestSession)]
public class ImageVerifyBinaryTests(HtpasswdRegistryFixture registry)
{
    private const string User = HtpasswdRegistryFixture.User;
    private const string Password = HtpasswdRegistryFixture.Password;

    [Test]
    public async Task A_signed_image_is_approved_with_its_digest_and_key_and_an_unsigned_one_exits_1_with_the_reason()
    {
        using var signer = new CosignSigner();
        var team = "verify-" + Guid.NewGuid().ToString("N")[..10];
        var signedDigest = await RegistryPusher.PushImageAsync(registry.Registry.BaseUri, $"{team}/signed", "1", User, Password);
        await signer.SignAsync(registry.Registry, $"{team}/signed", signedDigest, User, Password);
        var unsignedDigest = await RegistryPusher.PushImageAsync(registry.Registry.BaseUri, $"{team}/unsigned", "1", User, Password);
        var environment = BinaryEnvironment.With(
            ("OPENCTI__DAEMON__REGISTRY__SERVER", registry.Host),
            ("OPENCTI__DAEMON__REGISTRY__USERNAME", User),
            ("OPENCTI__DAEMON__REGISTRY__PASSWORD", Password),
            ("OPENCTI__DAEMON__IMAGE_POLICY__ALLOW", $"[\"{registry.Host}/{team}/*\"]"),
            ("OPENCTI__DAEMON__IMAGE_POLICY__COSIGN_PUBLIC_KEYS", signer.PublicKeyPem));

        var signed = await ComposerBinary.RunAsync(["image", "check", "--verify", $"{team}/signed:1"], environment);
        var unsigned = await ComposerBinary.RunAsync(["image", "check", "--verify", $"{team}/unsigned:1"], environment);
        var outside = await ComposerBinary.RunAsync(["image", "check", "--verify", $"{registry.Host}/{HtpasswdRegistryFixture.KnownRepository}:{HtpasswdRegistryFixture.KnownTag}"], environment);

        await Assert.That(signed.ExitCode).IsEqualTo(0).Because(signed.ToString());
        await Assert.That(signed.Stdout).Contains($"opencti policy: approved; runs {registry.Host}/{team}/signed@{signedDigest}; signed by key 0 (inline PEM, sha256:");
        await Assert.That(unsigned.ExitCode).IsEqualTo(1).Because(unsigned.ToString());
        await Assert.That(unsigned.Stdout).Contains("opencti policy: refused");
        await Assert.That(unsigned.Stderr).Contains($"refused: unsigned: no cosign signature for {unsignedDigest}");
        await Assert.That(outside.ExitCode).IsEqualTo(1).Because(outside.ToString());
        await Assert.That(outside.Stderr).Contains("outside the image policy");
        foreach (var run in new[] { signed, unsigned, outside }) await Assert.That(run.Stdout + run.Stderr).DoesNotContain(Password);
    }

    [Test]
    public async Task Without_a_policy_verify_is_a_configuration_error_and_a_bad_key_is_reported_at_load()
    {
        var image = $"{registry.Host}/{HtpasswdRegistryFixture.KnownRepository}:{HtpasswdRegistryFixture.KnownTag}";
        var none = await ComposerBinary.RunAsync(["image", "check", "--verify", image], BinaryEnvironment.With(
            ("OPENCTI__DAEMON__REGISTRY__SERVER", registry.Host), ("OPENCTI__DAEMON__REGISTRY__USERNAME", User), ("OPENCTI__DAEMON__REGISTRY__PASSWORD", Password)));
        await Assert.That(none.ExitCode).IsEqualTo(2).Because(none.ToString());
        await Assert.That(none.Stderr).Contains("no image policy is configured");

        var badKey = await ComposerBinary.RunAsync(["image", "check", "--verify", image], BinaryEnvironment.With(
            ("OPENCTI__DAEMON__IMAGE_POLICY__COSIGN_PUBLIC_KEYS", "/nonexistent/cosign.pub")));
        await Assert.That(badKey.ExitCode).IsEqualTo(2).Because(badKey.ToString());
        await Assert.That(badKey.Stderr).Contains("opencti.daemon.image_policy.cosign_public_keys");
        await Assert.That(badKey.Stderr).Contains("entry 0 (file /nonexistent/cosign.pub): cannot read the public key");
    }
}

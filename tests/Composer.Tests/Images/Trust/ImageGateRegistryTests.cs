using Composer.Configuration;
using Composer.Images;
using Composer.Network;
using Composer.Tests.Images.Registry;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Images.Trust;

/// <summary>
/// The image policy against the real htpasswd registry, with images pushed and signed in the test (cosign's format,
/// an ECDSA P-256 key made here): a signed image in the policy is approved pinned to its digest; unsigned, signed by
/// another key, a signature naming another digest, a tampered payload and a repository outside the allow list are
/// refused with a reason that says which; the signature artifacts are fetched with the pull's credentials.
/// </summary>
[ClassDataSource<HtpasswdRegistryFixture>(Shared = SharedType.PerTestSession)]
public class ImageGateRegistryTests(HtpasswdRegistryFixture registry)
{
    private const string User = HtpasswdRegistryFixture.User;
    private const string Password = HtpasswdRegistryFixture.Password;

    private readonly string _team = "trust-" + Guid.NewGuid().ToString("N")[..10];

    private async Task<(ResolvedImage Image, string Digest)> PushAsync(string name)
    {
        var repository = $"{_team}/{name}";
        var digest = await RegistryPusher.PushImageAsync(registry.Registry.BaseUri, repository, "1.0", User, Password);
        var image = ImageResolver.NoRegistry.Resolve($"{registry.Host}/{repository}:1.0");
        return (image.Value!, digest);
    }

    private static (ImagePolicy Policy, List<ConfigDiagnostic> Errors) Policy(List<string>? allow, List<string>? keys)
    {
        var errors = new List<ConfigDiagnostic>();
        var policy = ImagePolicy.Parse(new ImagePolicySettings { Allow = allow, CosignPublicKeys = keys }, "opencti.daemon.image_policy",
            new ConfigReport(ConfigProvenance.None, errors, []));
        return (policy, errors);
    }

    private ImageGate Gate(ImagePolicy policy, TestOutboundHandlerFactory? handlers = null)
    {
        var access = new RegistryAccess(RegistryTestSupport.Configuration(registry.Host, User, Password), handlers ?? new TestOutboundHandlerFactory());
        return new ImageGate(policy, access, TimeProvider.System, Composer.Diagnostics.Logger.Null);
    }

    [Test]
    public async Task A_signed_image_in_the_policy_is_approved_pinned_to_its_digest()
    {
        using var signer = new CosignSigner();
        var (image, digest) = await PushAsync("signed");
        await signer.SignAsync(registry.Registry, image.Repository, digest, User, Password);
        var (policy, errors) = Policy([$"{registry.Host}/{_team}/*"], [signer.PublicKeyPem]);
        await Assert.That(errors).IsEmpty();
        var handlers = new TestOutboundHandlerFactory();

        var verdict = await Gate(policy, handlers).CheckAsync(image, CancellationToken.None);

        await Assert.That(verdict.Refusal).IsNull();
        await Assert.That(verdict.Image!.Reference).IsEqualTo($"{registry.Host}/{image.Repository}@{digest}");
        await Assert.That(verdict.Image.Digest).IsEqualTo(digest);
        await Assert.That(verdict.SignedBy).StartsWith("key 0 (inline PEM, sha256:");
        // The signature manifest and payload came through the registry channel, with the pull's credentials.
        var signatureRequests = handlers.Requests.Where(r => r.Uri.AbsolutePath.Contains(".sig") || r.Uri.AbsolutePath.Contains("/blobs/")).ToList();
        await Assert.That(signatureRequests.Count).IsGreaterThanOrEqualTo(2);
        await Assert.That(signatureRequests.All(r => r.AuthorizationScheme == "Basic")).IsTrue();
        await Assert.That(handlers.Channels.All(c => c == OutboundChannel.Registry)).IsTrue();
    }

    [Test]
    public async Task Unsigned_another_key_another_digest_and_a_tampered_payload_are_refused_saying_which()
    {
        using var trusted = new CosignSigner();
        using var stranger = new CosignSigner();
        var (unsigned, _) = await PushAsync("unsigned");
        var (otherKey, otherKeyDigest) = await PushAsync("other-key");
        await stranger.SignAsync(registry.Registry, otherKey.Repository, otherKeyDigest, User, Password);
        var (otherDigest, otherDigestDigest) = await PushAsync("other-digest");
        await trusted.SignAsync(registry.Registry, otherDigest.Repository, otherDigestDigest, User, Password, signedDigest: otherKeyDigest);
        var (tampered, tamperedDigest) = await PushAsync("tampered");
        await trusted.SignAsync(registry.Registry, tampered.Repository, tamperedDigest, User, Password, tamper: true);
        var directory = Directory.CreateTempSubdirectory("composer-trust-").FullName;
        var (policy, errors) = Policy(null, [trusted.WritePublicKey(directory, "cosign")]);
        await Assert.That(errors).IsEmpty();
        var gate = Gate(policy);

        var verdicts = new Dictionary<string, ImageVerdict>();
        foreach (var image in new[] { unsigned, otherKey, otherDigest, tampered }) verdicts[image.Repository] = await gate.CheckAsync(image, CancellationToken.None);

        foreach (var verdict in verdicts.Values)
        {
            await Assert.That(verdict.Image).IsNull();
            await Assert.That(verdict.Lasting).IsTrue();
            await Assert.That(verdict.Refusal).Contains("opencti.daemon.image_policy.cosign_public_keys requires a signature by one of its 1 key");
        }
        await Assert.That(verdicts[unsigned.Repository].Refusal).Contains($"unsigned: no cosign signature for sha256:");
        await Assert.That(verdicts[otherKey.Repository].Refusal).Contains("bad signature").And.Contains("made by none of the configured keys");
        await Assert.That(verdicts[otherDigest.Repository].Refusal).Contains($"by key 0 (file {directory}/cosign.pub").And.Contains($"it signs {otherKeyDigest}, another digest");
        await Assert.That(verdicts[tampered.Repository].Refusal).Contains("made by none of the configured keys, or its payload was altered");
        Directory.Delete(directory, recursive: true);
    }

    [Test]
    public async Task An_image_outside_the_allow_list_is_refused_without_asking_the_registry()
    {
        var (image, _) = await PushAsync("outside");
        var (policy, _) = Policy([$"{registry.Host}/somebody-else/**", "docker.io/opencti/*"], null);
        var handlers = new TestOutboundHandlerFactory();

        var verdict = await Gate(policy, handlers).CheckAsync(image, CancellationToken.None);

        await Assert.That(verdict.Image).IsNull();
        await Assert.That(verdict.Refusal).Contains($"outside the image policy: {registry.Host}/{image.Repository} matches no pattern of opencti.daemon.image_policy.allow");
        await Assert.That(handlers.Requests).IsEmpty();
    }

    [Test]
    public async Task An_allow_list_alone_pins_the_tag_to_the_digest_the_registry_serves()
    {
        var (image, digest) = await PushAsync("allowed");
        var (policy, _) = Policy([$"{registry.Host}/**"], null);

        var verdict = await Gate(policy).CheckAsync(image, CancellationToken.None);

        await Assert.That(verdict.Image!.Reference).IsEqualTo($"{registry.Host}/{image.Repository}@{digest}");
        await Assert.That(verdict.SignedBy).IsNull();
    }
}

using System.Security.Cryptography;
using Composer.Configuration;
using Composer.Images;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Images.Trust;

/// <summary>Repository patterns, cosign keys and the policy block as the resolve step reads them; payload claims.</summary>
public class ImagePolicyTests
{
    private static bool Matches(string pattern, string image)
    {
        var parsed = RepositoryPattern.Parse(pattern);
        if (!parsed.IsSuccess) throw new InvalidOperationException(parsed.Failure.Message);
        var resolved = ImageResolver.NoRegistry.Resolve(image).Value!;
        return parsed.Value.Matches(resolved.RegistryHost, resolved.Repository);
    }

    [Test]
    [Arguments("registry.example.com/opencti/*", "registry.example.com/opencti/connector-mitre:6.9", true)]
    [Arguments("registry.example.com/opencti/*", "registry.example.com/opencti/sub/connector:1", false)]
    [Arguments("registry.example.com/opencti/*", "registry.example.com/other/connector:1", false)]
    [Arguments("registry.example.com/opencti/*", "registry.example.com.evil.io/opencti/connector:1", false)]
    [Arguments("registry.example.com/opencti/connector-*", "registry.example.com/opencti/connector-mitre@sha256:0123456789012345678901234567890123456789012345678901234567890123", true)]
    [Arguments("registry.example.com/opencti/connector-*", "registry.example.com/opencti/worker:1", false)]
    [Arguments("registry.example.com/**", "registry.example.com/a/b/c:1", true)]
    [Arguments("registry.example.com/opencti/**/connector", "registry.example.com/opencti/connector:1", true)]
    [Arguments("registry.example.com/opencti/**/connector", "registry.example.com/opencti/x/y/connector:1", true)]
    [Arguments("registry.example.com/opencti/**/connector", "registry.example.com/opencti/x/y/other:1", false)]
    [Arguments("docker.io/opencti/*", "opencti/connector-mitre:6.9", true)]
    [Arguments("index.docker.io/library/*", "nginx", true)]
    [Arguments("docker.io/opencti/*", "nginx", false)]
    [Arguments("localhost:5000/*", "localhost:5000/connector:1", true)]
    [Arguments("Registry.Example.com/opencti/*", "registry.example.com/opencti/x:1", true)]
    public async Task A_pattern_matches_repositories_segment_by_segment(string pattern, string image, bool expected) =>
        await Assert.That(Matches(pattern, image)).IsEqualTo(expected);

    [Test]
    [Arguments("opencti/*", "does not start with a registry host")]
    [Arguments("registry.example.com/opencti/connector:1.0", "names a tag")]
    [Arguments("registry.example.com/opencti/connector@sha256:00", "names a digest")]
    [Arguments("registry.example.com/op**", "** must be a whole path segment")]
    [Arguments("registry.example.com//x", "empty path segment")]
    [Arguments("  ", "empty pattern")]
    public async Task A_pattern_that_is_not_one_is_refused_saying_why(string pattern, string expected)
    {
        var parsed = RepositoryPattern.Parse(pattern);
        await Assert.That(parsed.Value).IsNull();
        await Assert.That(parsed.Failure?.Message).Contains(expected);
    }

    [Test]
    public async Task Configuration_problems_are_errors_naming_the_key_and_the_entry()
    {
        var directory = Directory.CreateTempSubdirectory("composer-policy-").FullName;
        using var rsa = RSA.Create(2048);
        var rsaPath = Path.Combine(directory, "rsa.pub");
        File.WriteAllText(rsaPath, rsa.ExportSubjectPublicKeyInfoPem());
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        using var good = new CosignSigner();
        var errors = new List<ConfigDiagnostic>();
        var warnings = new List<ConfigDiagnostic>();

        var policy = ImagePolicy.Parse(new ImagePolicySettings
        {
            Allow = ["registry.example.com/opencti/*", "opencti/*"],
            CosignPublicKeys = [good.PublicKeyPem, rsaPath, Path.Combine(directory, "missing.pub"), p384.ExportSubjectPublicKeyInfoPem(), "-----BEGIN PUBLIC KEY-----\nnot base64\n-----END PUBLIC KEY-----"],
        }, "openaev.daemon.image_policy", new ConfigReport(ConfigProvenance.None, errors, warnings));

        await Assert.That(policy.Allow!.Count).IsEqualTo(1);
        await Assert.That(policy.Keys.Count).IsEqualTo(1);
        var messages = errors.Select(e => $"{e.Key}: {e.Message}").ToList();
        await Assert.That(messages.Count).IsEqualTo(5).Because(string.Join("\n", messages));
        await Assert.That(messages[0]).StartsWith("openaev.daemon.image_policy.allow: entry 1: \"opencti/*\" does not start with a registry host");
        await Assert.That(messages[1]).StartsWith($"openaev.daemon.image_policy.cosign_public_keys: entry 1 (file {rsaPath}): not an ECDSA public key");
        await Assert.That(messages[2]).StartsWith("openaev.daemon.image_policy.cosign_public_keys: entry 2 (file").And.Contains("cannot read the public key");
        await Assert.That(messages[3]).Contains("entry 3 (inline PEM): the key is on curve").And.Contains("cosign keys are ECDSA P-256");
        await Assert.That(messages[4]).Contains("entry 4 (inline PEM): not an ECDSA public key");
        Directory.Delete(directory, recursive: true);
    }

    [Test]
    public async Task An_empty_allow_list_refuses_everything_with_a_warning_and_no_block_is_no_policy()
    {
        var errors = new List<ConfigDiagnostic>();
        var warnings = new List<ConfigDiagnostic>();
        var empty = ImagePolicy.Parse(new ImagePolicySettings { Allow = [] }, "opencti.daemon.image_policy", new ConfigReport(ConfigProvenance.None, errors, warnings));
        await Assert.That(empty.IsSet).IsTrue();
        await Assert.That(empty.Allows(ImageResolver.NoRegistry.Resolve("registry.example.com/a/b:1").Value!)).IsFalse();
        await Assert.That(warnings.Single().Message).Contains("every image is refused");
        await Assert.That(ImagePolicy.Parse(null, "opencti.daemon.image_policy", new ConfigReport(ConfigProvenance.None, errors, warnings)).IsSet).IsFalse();
        await Assert.That(errors).IsEmpty();
    }

    [Test]
    public async Task A_payload_counts_only_as_a_cosign_image_signature_of_this_digest()
    {
        const string digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
        const string other = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
        await Assert.That(CosignSignatures.Claim(CosignSigner.Payload("r.example/a", digest), digest)).IsNull();
        await Assert.That(CosignSignatures.Claim(CosignSigner.Payload("r.example/a", other), digest)).IsEqualTo($"it signs {other}, another digest");
        await Assert.That(CosignSignatures.Claim(CosignSigner.Payload("r.example/a", digest, "something else"), digest)).Contains("of type \"something else\"");
        await Assert.That(CosignSignatures.Claim("""{"critical":{"type":"cosign container image signature","image":{"docker-manifest-digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111"}}}"""u8, digest))
            .IsEqualTo("its payload names no critical.identity.docker-reference");
        await Assert.That(CosignSignatures.Claim("not json"u8, digest)).IsEqualTo("its payload is not JSON");
    }

    [Test]
    public async Task A_key_verifies_its_own_der_signature_and_nothing_else()
    {
        using var signer = new CosignSigner();
        var loaded = CosignPublicKey.Load(signer.PublicKeyPem, 0);
        await Assert.That(loaded.Failure).IsNull();
        var key = loaded.Value;
        var payload = "payload"u8.ToArray();
        var signature = signer.Sign(payload);
        await Assert.That(key!.Verifies(payload, signature)).IsTrue();
        await Assert.That(key.Verifies("payloaD"u8, signature)).IsFalse();
        await Assert.That(key.Verifies(payload, signature.AsSpan(0, signature.Length - 1))).IsFalse();
    }
}

using System.Security.Cryptography;
using System.Text;
using Composer.Platform;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Platform;

public class SecretDecryptionTests
{
    private const string Secret = "s3cr3t-päss/wörd+🙂";

    [Test]
    [Arguments(2048, 1)]
    [Arguments(2048, 2)]
    [Arguments(3072, 1)]
    [Arguments(3072, 2)]
    [Arguments(4096, 1)]
    [Arguments(4096, 2)]
    public async Task Round_trips_both_versions_with_every_key_size(int bits, int version)
    {
        using var key = PlatformTestKeys.ManagerKey(bits);
        var encoded = SecretEncryption.Encrypt(PlatformTestKeys.Rsa(bits), Secret, version);

        await Assert.That(Convert.FromBase64String(encoded).Length).IsEqualTo(1 + bits / 8 + Encoding.UTF8.GetByteCount(Secret) + 16);
        var decrypted = SecretDecryption.Decrypt(key, encoded);
        await Assert.That(decrypted.IsSuccess).IsTrue().Because(decrypted.Failure?.Message ?? "");
        var value = decrypted.Value;
        await Assert.That(value!.Reveal()).IsEqualTo(Secret);
        await Assert.That(value.ToString()).IsEqualTo("***");
    }

    [Test]
    public async Task Decrypts_an_empty_plaintext()
    {
        using var key = PlatformTestKeys.ManagerKey(2048);
        var decrypted = SecretDecryption.Decrypt(key, SecretEncryption.Encrypt(PlatformTestKeys.Rsa(2048), "", 2));
        var value = decrypted.Value;

        await Assert.That(decrypted.IsSuccess).IsTrue();
        await Assert.That(value!.Reveal()).IsEqualTo("");
    }

    public static IEnumerable<Func<(string Name, Func<RSA, string> Make, string Expected)>> Broken()
    {
        static byte[] Material() => RandomNumberGenerator.GetBytes(44);
        static byte[] Sealed(byte[] material, string text) => SecretEncryption.Seal(material, Encoding.UTF8.GetBytes(text));

        yield return () => ("not base64", _ => "%%%not-base64%%%", "not base64");
        yield return () => ("too short", _ => Convert.ToBase64String(new byte[1 + 256]), "too short");
        yield return () => ("unknown version 3", rsa =>
        {
            var m = Material();
            return SecretEncryption.Assemble(rsa, 3, RSAEncryptionPadding.OaepSHA256, m, Sealed(m, Secret));
        }, "unknown encryption version 3");
        yield return () => ("unknown version 0", rsa =>
        {
            var m = Material();
            return SecretEncryption.Assemble(rsa, 0, RSAEncryptionPadding.Pkcs1, m, Sealed(m, Secret));
        }, "unknown encryption version 0");
        yield return () => ("version byte 2 on a PKCS#1 v1.5 block", rsa =>
        {
            var m = Material();
            return SecretEncryption.Assemble(rsa, 2, RSAEncryptionPadding.Pkcs1, m, Sealed(m, Secret));
        }, "RSA decryption (version 2) failed");
        yield return () => ("encrypted for another key", _ => SecretEncryption.Encrypt(PlatformTestKeys.Rsa(3072), Secret, 2), "RSA decryption (version 2) failed");
        yield return () => ("encrypted for another key of the same size", _ => SecretEncryption.Encrypt(RSA.Create(2048), Secret, 2), "RSA decryption");
        yield return () => ("tampered ciphertext", rsa =>
        {
            var m = Material();
            var s = Sealed(m, Secret);
            s[0] ^= 0x55;
            return SecretEncryption.Assemble(rsa, 2, RSAEncryptionPadding.OaepSHA256, m, s);
        }, "AES-GCM authentication failed");
        yield return () => ("tampered tag", rsa =>
        {
            var m = Material();
            var s = Sealed(m, Secret);
            s[^1] ^= 0x01;
            return SecretEncryption.Assemble(rsa, 1, RSAEncryptionPadding.Pkcs1, m, s);
        }, "AES-GCM authentication failed");
        yield return () => ("key material shorter than 44 bytes", rsa =>
        {
            var m = Material();
            return SecretEncryption.Assemble(rsa, 2, RSAEncryptionPadding.OaepSHA256, m[..40], Sealed(m, Secret));
        }, "40 bytes of key material, expected at least 44");
        yield return () => ("plaintext not UTF-8", rsa =>
        {
            var m = Material();
            return SecretEncryption.Assemble(rsa, 2, RSAEncryptionPadding.OaepSHA256, m, SecretEncryption.Seal(m, [0xC3, 0x28, 0xFF]));
        }, "not UTF-8");
    }

    [Test]
    [MethodDataSource(nameof(Broken))]
    public async Task Every_failure_is_a_reason_never_an_empty_value((string Name, Func<RSA, string> Make, string Expected) c)
    {
        using var key = PlatformTestKeys.ManagerKey(2048);
        var encoded = c.Make(PlatformTestKeys.Rsa(2048));

        var decrypted = SecretDecryption.Decrypt(key, encoded);
        var failure = decrypted.Failure?.Message;

        await Assert.That(decrypted.IsSuccess).IsFalse().Because(c.Name);
        await Assert.That(decrypted.Value).IsNull();
        await Assert.That(failure).Contains(c.Expected).Because(c.Name);
        await Assert.That(failure!).DoesNotContain(Secret);
        await Assert.That(failure!).DoesNotContain(encoded);
    }
}

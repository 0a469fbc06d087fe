using System.Security.Cryptography;
using Composer.Configuration;
using Composer.Platform;
using Composer.Tests.Infrastructure;
using static Composer.Tests.Configuration.ConfigTestSupport;

namespace Composer.Tests.Platform;

public class ManagerKeyTests
{
    /// <summary>What loading the key gave: the key, the (first) error and the warnings, as the resolve step reports them.</summary>
    private sealed record Loaded(ManagerKey? Key, ConfigDiagnostic? Error, IReadOnlyList<ConfigDiagnostic> Warnings);

    private static Loaded LoadKey(ManagerSettings manager, string? requiredBecause = null)
    {
        var report = TestReport.New();
        var key = ManagerKey.Load(manager, report.Report, requiredBecause);
        return new Loaded(key, report.Errors.FirstOrDefault(), report.Warnings);
    }

    private static Loaded Inline(string pem) => LoadKey(new ManagerSettings { CredentialsKey = new Composer.Diagnostics.Secret(pem) });

    private static string TempFile(string content)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("composer-mkey-").FullName, "key.pem");
        File.WriteAllText(path, content);
        return path;
    }

    [Test]
    [Arguments(2048, true)]
    [Arguments(3072, true)]
    [Arguments(4096, false)]
    public async Task Accepts_pkcs8_keys_of_2048_3072_and_4096_bits_and_warns_under_4096(int bits, bool warns)
    {
        var result = Inline(PlatformTestKeys.Rsa(bits).ExportPkcs8PrivateKeyPem());
        using var key = result.Key;

        await Assert.That(result.Error).IsNull();
        await Assert.That(key!.KeySizeBits).IsEqualTo(bits);
        await Assert.That(key.BlockLength).IsEqualTo(bits / 8);
        await Assert.That(result.Warnings.Count).IsEqualTo(warns ? 1 : 0);
        if (warns)
        {
            await Assert.That(result.Warnings[0].Key).IsEqualTo("manager.credentials_key");
            await Assert.That(result.Warnings[0].Message).Contains($"RSA-{bits}").And.Contains("4096 bits is recommended");
        }
    }

    [Test]
    public async Task Accepts_a_pkcs1_key()
    {
        var rsa = PlatformTestKeys.Rsa(4096);
        var result = Inline(rsa.ExportRSAPrivateKeyPem());
        using var key = result.Key;

        await Assert.That(result.Error).IsNull();
        await Assert.That(key!.PublicKeyPkcs1Pem).IsEqualTo(rsa.ExportRSAPublicKeyPem() + "\n");
    }

    [Test]
    public async Task Finds_the_key_after_other_pem_blocks()
    {
        var rsa = PlatformTestKeys.Rsa(2048);
        var text = rsa.ExportSubjectPublicKeyInfoPem() + "\n\n" + rsa.ExportPkcs8PrivateKeyPem() + "\n";
        using var key = Inline(text).Key;

        await Assert.That(key).IsNotNull();
    }

    [Test]
    public async Task The_file_wins_over_the_inline_key_with_a_warning()
    {
        var path = TempFile(PlatformTestKeys.Rsa(4096).ExportPkcs8PrivateKeyPem());
        var result = LoadKey(new ManagerSettings { CredentialsKey = new Composer.Diagnostics.Secret("not a key at all"), CredentialsKeyFilepath = path });
        using var key = result.Key;

        await Assert.That(result.Error).IsNull();
        await Assert.That(key).IsNotNull();
        await Assert.That(result.Warnings.Single().Key).IsEqualTo("manager.credentials_key_filepath");
        await Assert.That(result.Warnings.Single().Message).Contains("using credentials_key_filepath");
    }

    [Test]
    public async Task An_unreadable_file_is_an_error_naming_the_path()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("composer-mkey-").FullName, "absent.pem");
        var result = LoadKey(new ManagerSettings { CredentialsKeyFilepath = path });

        await Assert.That(result.Key).IsNull();
        await Assert.That(result.Error!.Key).IsEqualTo("manager.credentials_key_filepath");
        await Assert.That(result.Error.Message).Contains(path).And.Contains("no such file");
    }

    [Test]
    public async Task No_key_at_all_is_reported_as_missing()
    {
        var result = LoadKey(new ManagerSettings { CredentialsKey = new Composer.Diagnostics.Secret("  "), CredentialsKeyFilepath = "" }, requiredBecause: "opencti.enable");

        await Assert.That(result.Key).IsNull();
        await Assert.That(result.Error!.Message).Contains("no manager private key");
        // Missing is not an error where nothing needs the key.
        await Assert.That(LoadKey(new ManagerSettings { CredentialsKey = new Composer.Diagnostics.Secret("  "), CredentialsKeyFilepath = "" }).Error).IsNull();
    }

    public static IEnumerable<Func<(string Name, string Pem, string Expected)>> RefusedKeys()
    {
        var rsa = PlatformTestKeys.Rsa(2048);
        yield return () => ("encrypted PKCS#8", rsa.ExportEncryptedPkcs8PrivateKeyPem("pass-phrase",
            new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 1000)), "encrypted with a passphrase");
        yield return () => ("encrypted PKCS#1 (OpenSSL legacy)",
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0123456789ABCDEF0123456789ABCDEF\n\nAAAA\n-----END RSA PRIVATE KEY-----\n",
            "encrypted with a passphrase");
        yield return () => ("RSA-1024", RSA.Create(1024).ExportPkcs8PrivateKeyPem(), "is an RSA-1024 key; expected 2048, 3072 or 4096 bits");
        yield return () => ("RSA-1536", RSA.Create(1536).ExportRSAPrivateKeyPem(), "is an RSA-1536 key");
        yield return () => ("EC", ECDsa.Create(ECCurve.NamedCurves.nistP256).ExportPkcs8PrivateKeyPem(), "is not a readable RSA private key");
        yield return () => ("corrupt PKCS#1", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n", "corrupt PKCS#1 block");
        yield return () => ("public key only", rsa.ExportSubjectPublicKeyInfoPem(), "holds no private key block");
        yield return () => ("not PEM", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "is not PEM");
    }

    [Test]
    [MethodDataSource(nameof(RefusedKeys))]
    public async Task Refuses_unusable_keys_with_a_message_without_key_material((string Name, string Pem, string Expected) c)
    {
        var path = TempFile(c.Pem);
        var result = LoadKey(new ManagerSettings { CredentialsKeyFilepath = path });

        await Assert.That(result.Key).IsNull().Because(c.Name);
        await Assert.That(result.Error!.Message).Contains(c.Expected).Because(c.Name);
        await Assert.That(result.Error.Message).Contains(path).Because("file errors name the file");
        foreach (var line in c.Pem.Split('\n').Where(l => l.Length >= 16 && !l.StartsWith("-----", StringComparison.Ordinal) && !l.Contains(':')))
        {
            await Assert.That(result.Error.Message).DoesNotContain(line);
        }
    }

    [Test]
    [Arguments(2048)]
    [Arguments(4096)]
    public async Task Exposes_the_public_key_as_pkcs1_and_spki_pem(int bits)
    {
        var rsa = PlatformTestKeys.Rsa(bits);
        using var key = PlatformTestKeys.ManagerKey(bits);

        foreach (var (pem, label) in new[] { (key.PublicKeyPkcs1Pem, "RSA PUBLIC KEY"), (key.PublicKeySpkiPem, "PUBLIC KEY") })
        {
            var lines = pem.Split('\n');
            await Assert.That(pem).DoesNotContain("\r");
            await Assert.That(lines[0]).IsEqualTo($"-----BEGIN {label}-----");
            await Assert.That(lines[^2]).IsEqualTo($"-----END {label}-----");
            await Assert.That(lines[^1]).IsEqualTo(""); // a final newline
            var body = lines[1..^2];
            await Assert.That(body[..^1].All(l => l.Length == 64)).IsTrue();
            await Assert.That(body[^1].Length).IsBetween(1, 64);
        }
        using var fromPkcs1 = RSA.Create();
        fromPkcs1.ImportFromPem(key.PublicKeyPkcs1Pem);
        using var fromSpki = RSA.Create();
        fromSpki.ImportFromPem(key.PublicKeySpkiPem);
        var modulus = rsa.ExportParameters(false).Modulus!;
        await Assert.That(fromPkcs1.ExportParameters(false).Modulus!.SequenceEqual(modulus)).IsTrue();
        await Assert.That(fromSpki.ExportParameters(false).Modulus!.SequenceEqual(modulus)).IsTrue();
        await Assert.That(key.ToString()).IsEqualTo($"RSA-{bits} manager key");
    }

    [Test]
    public async Task The_configuration_validator_applies_the_same_rule()
    {
        var pkcs1 = TempFile(PlatformTestKeys.Rsa(2048).ExportRSAPrivateKeyPem());
        var ok = Load(null, new Dictionary<string, string> { ["MANAGER__CREDENTIALS_KEY_FILEPATH"] = pkcs1 });
        await Assert.That(ok.Errors.Count).IsEqualTo(0).Because(string.Join("\n", ok.Errors));
        await Assert.That(ok.Warnings.Any(w => w.Message.Contains("RSA-2048") && w.Message.Contains("4096 bits is recommended"))).IsTrue();

        var small = TempFile(RSA.Create(1024).ExportPkcs8PrivateKeyPem());
        var refused = Load(null, new Dictionary<string, string> { ["MANAGER__CREDENTIALS_KEY_FILEPATH"] = small });
        await Assert.That(refused.Errors.Any(e => e.Message.Contains("RSA-1024"))).IsTrue().Because(string.Join("\n", refused.Errors));
    }
}

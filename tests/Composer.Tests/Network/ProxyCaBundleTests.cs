using Composer.Network;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Network;

public class ProxyCaBundleTests
{
    [Test]
    public async Task Loads_inline_pem_files_and_der_and_names_each_bad_entry()
    {
        using var ca1 = new TestCertificateAuthority("ca one");
        using var ca2 = new TestCertificateAuthority("ca two");
        using var ca3 = new TestCertificateAuthority("ca three");
        var dir = Directory.CreateTempSubdirectory("composer-ca-").FullName;
        var pemFile = ca2.WritePem(dir, "two");
        var derFile = Path.Combine(dir, "three.der");
        await File.WriteAllBytesAsync(derFile, ca3.Certificate.RawData);
        var garbage = Path.Combine(dir, "garbage.pem");
        await File.WriteAllTextAsync(garbage, "-----BEGIN CERTIFICATE-----\nnot base64!!\n-----END CERTIFICATE-----\n");
        var keyOnly = Path.Combine(dir, "key.pem");
        await File.WriteAllTextAsync(keyOnly, ca1.KeyPem);

        var (bundle, errors) = ProxyCaBundle.Load(
            ["  \n" + ca1.CertificatePem + "\n", pemFile, derFile, Path.Combine(dir, "missing.pem"), garbage, keyOnly, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"],
            "opencti.https_proxy_ca");

        await Assert.That(bundle.Certificates.Count).IsEqualTo(3);
        await Assert.That(bundle.Pem.Split("-----BEGIN CERTIFICATE-----").Length - 1).IsEqualTo(3);
        await Assert.That(errors.Select(e => e.Key)).IsEquivalentTo(new[]
        {
            "opencti.https_proxy_ca[3]", "opencti.https_proxy_ca[4]", "opencti.https_proxy_ca[5]", "opencti.https_proxy_ca[6]",
        });
        await Assert.That(errors[0].Source).IsEqualTo($"file {Path.Combine(dir, "missing.pem")}");
        await Assert.That(errors[0].Message).Contains("cannot read");
        await Assert.That(errors[2].Message).Contains("no readable certificate");
        await Assert.That(errors[3].Source).IsEqualTo("inline PEM");
        // A key in the file must never be echoed into a message.
        await Assert.That(string.Join("\n", errors)).DoesNotContain("PRIVATE KEY");
    }

    [Test]
    public async Task Null_or_empty_is_an_empty_bundle()
    {
        var (bundle, errors) = ProxyCaBundle.Load(null, "https_proxy_ca");
        await Assert.That(bundle.IsEmpty).IsTrue();
        await Assert.That(errors.Count).IsEqualTo(0);
    }

    [Test]
    public async Task Invalid_ca_entries_are_errors_of_the_resolve_step()
    {
        var settings = new Composer.Configuration.ComposerSettings();
        settings.OpenCti.WithProxy = true;
        settings.HttpsProxyCa = ["/nonexistent/proxy-ca.pem"];
        settings.App.HttpsCert.Ca = ["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"];
        var (_, errors, _) = TestSettings.TryResolve(settings);
        await Assert.That(errors.Select(e => e.Key)).IsEquivalentTo(new[] { "https_proxy_ca", "app.https_cert.ca" });
        await Assert.That(errors.Select(e => e.Message)).All().Satisfy(m => m.StartsWith("entry 0 ("), m => m.IsTrue());
    }
}

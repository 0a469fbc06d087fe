using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Composer.Tests.Infrastructure;

/// <summary>A test certificate authority generated in memory, which issues server certificates; PEM files on demand.</summary>
public sealed class TestCertificateAuthority : IDisposable
{
    public X509Certificate2 Certificate { get; }
    private readonly RSA _key;

    public TestCertificateAuthority(string commonName)
    {
        _key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={commonName}, O=Composer tests", _key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        Certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(2));
    }

    public string CertificatePem => Certificate.ExportCertificatePem();
    public string KeyPem => _key.ExportPkcs8PrivateKeyPem();

    /// <summary>A server certificate (with private key) for the given DNS names and IP addresses.</summary>
    public X509Certificate2 Issue(string commonName, IEnumerable<string> dnsNames, IEnumerable<IPAddress>? addresses = null)
    {
        var san = new SubjectAlternativeNameBuilder();
        foreach (var d in dnsNames) san.AddDnsName(d);
        foreach (var a in addresses ?? []) san.AddIpAddress(a);
        return IssueLeaf($"CN={commonName}", "1.3.6.1.5.5.7.3.1", san.Build());
    }

    /// <summary>A client certificate (with private key, clientAuth usage) whose subject CN is <paramref name="commonName"/>.</summary>
    public X509Certificate2 IssueClient(string commonName) => IssueLeaf($"CN={commonName}, O=Composer tests", "1.3.6.1.5.5.7.3.2", null);

    private X509Certificate2 IssueLeaf(string subject, string extendedUsage, X509Extension? subjectAlternativeNames)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        if (subjectAlternativeNames is not null) request.CertificateExtensions.Add(subjectAlternativeNames);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(extendedUsage)], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var issued = request.Create(Certificate, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1), serial);
        var withKey = issued.CopyWithPrivateKey(key);
        // Round-trip through PKCS#12 so SslStream on Linux gets a certificate whose key it can use.
        return X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Writes the CA certificate (and optionally its key) as PEM files in <paramref name="directory"/>; returns the certificate path.</summary>
    public string WritePem(string directory, string baseName, bool withKey = false)
    {
        var certPath = Path.Combine(directory, baseName + ".pem");
        File.WriteAllText(certPath, CertificatePem);
        if (withKey) File.WriteAllText(Path.Combine(directory, baseName + ".key"), KeyPem);
        return certPath;
    }

    public static (string CertPath, string KeyPath) WriteServerPem(X509Certificate2 certificate, string directory, string baseName)
    {
        var certPath = Path.Combine(directory, baseName + ".pem");
        var keyPath = Path.Combine(directory, baseName + ".key");
        File.WriteAllText(certPath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, certificate.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        return (certPath, keyPath);
    }

    public void Dispose()
    {
        Certificate.Dispose();
        _key.Dispose();
    }
}

/// <summary>
/// One CA for origin servers (registries, HTTPS targets) shared by the whole test session, so a TLS-intercepting
/// proxy fixture can trust every origin a test starts.
/// </summary>
public static class TestOriginCa
{
    public static TestCertificateAuthority Instance { get; } = new("Composer test origin CA");
}

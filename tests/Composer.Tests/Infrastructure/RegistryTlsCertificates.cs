using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Composer.Tests.Infrastructure;

/// <summary>A test CA and a server certificate it signed, written as PEM files (for a TLS registry, proxy ...).</summary>
public sealed class RegistryTlsCertificates : IDisposable
{
    private RegistryTlsCertificates(X509Certificate2 ca, X509Certificate2 server, string directory)
    {
        Ca = ca;
        Server = server;
        Directory = directory;
    }

    public X509Certificate2 Ca { get; }
    public X509Certificate2 Server { get; }
    public string Directory { get; }
    public string CaCertificatePath => Path.Combine(Directory, "ca.pem");
    public string ServerCertificatePath => Path.Combine(Directory, "server.pem");
    public string ServerKeyPath => Path.Combine(Directory, "server-key.pem");

    /// <summary>CA "Composer Test CA" and a server certificate for the given DNS names / IP addresses.</summary>
    public static RegistryTlsCertificates Create(params string[] subjectAlternativeNames)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory("composer-certs-").FullName;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Composer Test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));

        var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest($"CN={subjectAlternativeNames.FirstOrDefault() ?? "localhost"}", serverKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in subjectAlternativeNames)
        {
            if (IPAddress.TryParse(name, out var ip)) san.AddIpAddress(ip); else san.AddDnsName(name);
        }
        serverRequest.CertificateExtensions.Add(san.Build());
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7F;
        using var signed = serverRequest.Create(ca, DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(29), serial);
        var server = signed.CopyWithPrivateKey(serverKey);

        File.WriteAllText(Path.Combine(directory, "ca.pem"), ca.ExportCertificatePem());
        File.WriteAllText(Path.Combine(directory, "server.pem"), server.ExportCertificatePem() + "\n" + ca.ExportCertificatePem());
        File.WriteAllText(Path.Combine(directory, "server-key.pem"), serverKey.ExportPkcs8PrivateKeyPem());
        return new RegistryTlsCertificates(ca, server, directory);
    }

    public void Dispose()
    {
        Ca.Dispose();
        Server.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}

using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Composer.Network;

/// <summary>A TLS client certificate from PEM text (a kubeconfig's client-certificate, the Docker engine's cert.pem and key.pem).</summary>
public static class ClientCertificatePem
{
    /// <summary>
    /// The first certificate of <paramref name="certificatePem"/> with the private key of <paramref name="keyPem"/>
    /// (PKCS#8, PKCS#1 RSA or SEC1 EC, unencrypted), or null with the problem (never the PEM text).
    /// </summary>
    public static X509Certificate2? Load(string certificatePem, string keyPem, out string? problem)
    {
        problem = null;
        if (!certificatePem.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
        {
            problem = "the client certificate holds no PEM certificate (-----BEGIN CERTIFICATE-----)";
            return null;
        }
        if (keyPem.Contains("ENCRYPTED", StringComparison.Ordinal))
        {
            problem = "the private key is encrypted; an unencrypted PEM key is needed (as the docker CLI and kubectl read it)";
            return null;
        }
        if (!keyPem.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
        {
            problem = "the private key holds no PEM private key (-----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)";
            return null;
        }
        try
        {
            using var pem = X509Certificate2.CreateFromPem(certificatePem, keyPem);
            // CreateFromPem attaches an ephemeral key, which SslStream cannot always use for the handshake; a
            // certificate loaded from PKCS#12 carries a key every platform's TLS stack accepts.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (CryptographicException)
        {
            problem = "the private key does not match the client certificate, or one of them is not valid PEM";
            return null;
        }
    }
}

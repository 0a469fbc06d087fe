using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Composer.Diagnostics;

namespace Composer.Network;

/// <summary>A TLS client certificate from PEM text (a kubeconfig's client-certificate, the Docker engine's cert.pem and key.pem).</summary>
public static class ClientCertificatePem
{
    /// <summary>
    /// The first certificate of <paramref name="certificatePem"/> with the private key of <paramref name="keyPem"/>
    /// (PKCS#8, PKCS#1 RSA or SEC1 EC, unencrypted), or the problem (never the PEM text).
    /// </summary>
    public static Result<X509Certificate2> Load(string certificatePem, string keyPem)
    {
        if (!certificatePem.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
        {
            return Failure.Input("the client certificate holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
        }
        if (keyPem.Contains("ENCRYPTED", StringComparison.Ordinal))
        {
            return Failure.Input("the private key is encrypted; an unencrypted PEM key is needed (as the docker CLI and kubectl read it)");
        }
        if (!keyPem.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
        {
            return Failure.Input("the private key holds no PEM private key (-----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY)");
        }
        try
        {
            using var pem = X509Certificate2.CreateFromPem(certificatePem, keyPem);
            // CreateFromPem attaches an ephemeral key, which SslStream cannot always use for the handshake; a
            // certificate loaded from PKCS#12 carries a key every platform's TLS stack accepts.
            return Result<X509Certificate2>.Success(X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null));
        }
        catch (CryptographicException)
        {
            return Failure.Input("the private key does not match the client certificate, or one of them is not valid PEM");
        }
    }
}

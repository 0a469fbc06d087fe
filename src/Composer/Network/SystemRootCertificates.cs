using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Composer.Network;

/// <summary>The system's trusted roots as PEM text, to build full bundles for connectors.</summary>
public static class SystemRootCertificates
{
    /// <summary>The usual bundle files, Debian/Ubuntu/Alpine first, then RHEL/Fedora, SUSE, and OpenSSL's own default.</summary>
    public static IReadOnlyList<string> BundleFiles { get; } =
    [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/ca-bundle.pem",
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
        "/etc/ssl/cert.pem",
    ];

    /// <summary>The first readable bundle file among <paramref name="candidates"/> (default <see cref="BundleFiles"/>) that
    /// holds a certificate; otherwise the machine's root store exported as PEM (empty when there is none).</summary>
    public static string LoadPem(IEnumerable<string>? candidates = null)
    {
        foreach (var path in candidates ?? BundleFiles)
        {
            try
            {
                var text = File.ReadAllText(path);
                if (text.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal)) return text.EndsWith('\n') ? text : text + "\n";
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        }
        var pem = new StringBuilder();
        try
        {
            using var store = new X509Store(StoreName.Root, StoreLocation.LocalMachine);
            store.Open(OpenFlags.ReadOnly | OpenFlags.OpenExistingOnly);
            foreach (var c in store.Certificates) pem.Append(c.ExportCertificatePem()).Append('\n');
        }
        catch (System.Security.Cryptography.CryptographicException) { }
        return pem.ToString();
    }
}

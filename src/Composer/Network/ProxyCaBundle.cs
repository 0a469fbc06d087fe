using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Composer.Configuration;
using Composer.Diagnostics;

namespace Composer.Network;

/// <summary>The certificates of one <c>https_proxy_ca</c> list, and their PEM text for connectors.</summary>
public sealed class ProxyCaBundle
{
    public X509Certificate2Collection Certificates { get; }

    /// <summary>All certificates re-encoded as PEM blocks (normalised: whatever the input format was).</summary>
    public string Pem { get; }

    public bool IsEmpty => Certificates.Count == 0;

    public static ProxyCaBundle Empty { get; } = new([]);

    private ProxyCaBundle(X509Certificate2Collection certificates)
    {
        Certificates = certificates;
        var pem = new StringBuilder();
        foreach (var c in certificates) pem.Append(c.ExportCertificatePem()).Append('\n');
        Pem = pem.ToString();
    }

    /// <summary>
    /// Loads every entry of an <c>https_proxy_ca</c> list. Each entry, trimmed, that starts with <c>-----BEGIN</c> is
    /// inline PEM (one or more certificates); anything else is a file path (PEM with one or more certificates, or
    /// one DER certificate). An unreadable or invalid entry yields an error naming it (its index and, for files,
    /// its path; never the PEM text) and is left out; the valid entries are still returned.
    /// </summary>
    /// <param name="entries">The normalised list (null or empty: no extra CA).</param>
    /// <param name="sourceName">The key the list came from, e.g. <c>opencti.https_proxy_ca</c>; used in diagnostics.</param>
    public static (ProxyCaBundle Bundle, IReadOnlyList<ConfigDiagnostic> Errors) Load(IReadOnlyList<string>? entries, string sourceName)
    {
        var certificates = new X509Certificate2Collection();
        var errors = new List<ConfigDiagnostic>();
        if (entries is null) return (Empty, errors);
        for (var i = 0; i < entries.Count; i++)
        {
            var key = $"{sourceName}[{i}]";
            var entry = entries[i]?.Trim() ?? "";
            if (entry.Length == 0)
            {
                errors.Add(new ConfigDiagnostic(key, "inline value", "empty entry; expected a CA certificate file path or a PEM block"));
                continue;
            }
            if (entry.StartsWith("-----BEGIN", StringComparison.Ordinal))
            {
                if (ImportPem(entry, certificates) is { } problem) errors.Add(new ConfigDiagnostic(key, "inline PEM", problem.Message));
                continue;
            }
            byte[] content;
            try
            {
                content = File.ReadAllBytes(entry);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                errors.Add(new ConfigDiagnostic(key, $"file {entry}", $"cannot read the CA certificate file: {FileErrors.Describe(ex, entry)}"));
                continue;
            }
            var text = Encoding.UTF8.GetString(content);
            if (text.Contains("-----BEGIN", StringComparison.Ordinal))
            {
                if (ImportPem(text, certificates) is { } problem) errors.Add(new ConfigDiagnostic(key, $"file {entry}", problem.Message));
                continue;
            }
            try
            {
                certificates.Add(X509CertificateLoader.LoadCertificate(content));
            }
            catch (CryptographicException)
            {
                errors.Add(new ConfigDiagnostic(key, $"file {entry}", "not a certificate: expected PEM (-----BEGIN CERTIFICATE-----) or DER"));
            }
        }
        return (certificates.Count == 0 ? Empty : new ProxyCaBundle(certificates), errors);
    }

    /// <summary>Adds the certificates of <paramref name="pem"/>; or why there are none (nothing is added then).</summary>
    private static Failure? ImportPem(string pem, X509Certificate2Collection into)
    {
        var found = new X509Certificate2Collection();
        try
        {
            found.ImportFromPem(pem);
        }
        catch (CryptographicException ex)
        {
            return Failure.Input($"invalid PEM certificate: {ex.Message}");
        }
        if (found.Count == 0)
        {
            return Failure.Input("no readable certificate; expected a -----BEGIN CERTIFICATE----- block of base64 DER");
        }
        into.AddRange(found);
        return null;
    }
}

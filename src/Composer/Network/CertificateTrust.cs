using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Composer.Network;

/// <summary>
/// One certificate-validation rule: the system roots, plus extra roots (never instead of them), or accept anything.
/// The system verdict is tried first, so a publicly-rooted certificate always validates; only on a chain error are
/// the extra roots tried (custom root trust over the presented chain). A host-name mismatch is never forgiven.
/// </summary>
public sealed class CertificateTrust
{
    public bool AcceptAny { get; }
    public X509Certificate2Collection ExtraRoots { get; }

    public static CertificateTrust SystemOnly { get; } = new(false, []);
    public static CertificateTrust Any { get; } = new(true, []);

    public CertificateTrust(bool acceptAny, X509Certificate2Collection extraRoots)
    {
        AcceptAny = acceptAny;
        ExtraRoots = extraRoots;
    }

    public bool Validate(X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        if (AcceptAny) return true;
        if (errors == SslPolicyErrors.None) return true;
        if (errors != SslPolicyErrors.RemoteCertificateChainErrors || ExtraRoots.Count == 0 || certificate is null) return false;
        return ChainsTo(certificate, presented, ExtraRoots);
    }

    /// <summary>Whether <paramref name="certificate"/> chains to one of <paramref name="roots"/> (and nothing else), using the intermediates the peer presented.</summary>
    internal static bool ChainsTo(X509Certificate certificate, X509Chain? presented, X509Certificate2Collection roots)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements) chain.ChainPolicy.ExtraStore.Add(element.Certificate);
        }
        var leaf = certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    }
}

using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Composer.Network;

/// <summary>
/// TLS of one endpoint whose own configuration says whom to trust and who we are, as a kubeconfig does: the
/// server is validated against <see cref="TrustedRoots"/> only (the cluster CA, like kubectl: not the system roots
/// as well), or against the system roots when there are none; <see cref="ClientCertificate"/> is presented when the
/// server asks for one. Proxy routing and the trust of the proxy stay the channel's.
/// With <see cref="AlsoSystemRoots"/> (Portainer's CA), the roots are added to the system roots instead of replacing them.
/// </summary>
/// <param name="TrustedRoots">The only roots the server certificate may chain to; empty: the system roots.</param>
/// <param name="SkipVerification">insecure-skip-tls-verify: any server certificate is accepted.</param>
/// <param name="ClientCertificate">Certificate with its private key, or null.</param>
public sealed record EndpointTls(X509Certificate2Collection TrustedRoots, bool SkipVerification, X509Certificate2? ClientCertificate)
{
    /// <summary>The system roots are trusted too: a server with a public certificate validates whatever the extra roots.</summary>
    public bool AlsoSystemRoots { get; init; }

    public bool Validate(X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        if (SkipVerification) return true;
        if (AlsoSystemRoots) return new CertificateTrust(false, TrustedRoots).Validate(certificate, presented, errors);
        if (TrustedRoots.Count == 0) return errors == SslPolicyErrors.None;
        // A host-name mismatch or a missing certificate is never forgiven; the chain is rebuilt over our roots only.
        if ((errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0 || certificate is null) return false;
        return CertificateTrust.ChainsTo(certificate, presented, TrustedRoots);
    }

    public override string ToString() =>
        $"EndpointTls {{ roots = {TrustedRoots.Count}{(AlsoSystemRoots ? " + system" : "")}, skip_verification = {SkipVerification}, client_certificate = {ClientCertificate?.Subject ?? "none"} }}";
}

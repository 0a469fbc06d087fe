using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using TUnit.Core.Interfaces;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// A real registry (docker-registry, htpasswd auth) over TLS on <see cref="TestHosts.RegistryAddress"/>, named
/// <see cref="TestHosts.Registry"/>:port so that requests to it are proxied (loopback never is). Its certificate
/// comes from <see cref="TestOriginCa"/> (PEM at <see cref="CaPath"/>), which the squid fixture trusts. Holds
/// <see cref="Repository"/>:<see cref="Tag"/> with digest <see cref="Digest"/>.
/// </summary>
public sealed class ProxiedRegistryFixture : IAsyncInitializer, IAsyncDisposable
{
    public const string User = "proxied-user";
    public const string Password = "Reg1stry-pw+/secret";
    public const string Repository = "composer-tests/proxied-connector";
    public const string Tag = "1.2.3";

    public RegistryFixture Registry { get; private set; } = null!;
    public string Directory { get; private set; } = "";
    public string CaPath { get; private set; } = "";
    public string Digest { get; private set; } = "";

    /// <summary>registry.composer.test:port</summary>
    public string Host => $"{TestHosts.Registry}:{Registry.Port}";

    public async Task InitializeAsync()
    {
        TestHosts.EnsureInstalled();
        Directory = System.IO.Directory.CreateTempSubdirectory("composer-proxied-registry-").FullName;
        var ca = TestOriginCa.Instance;
        CaPath = ca.WritePem(Directory, "registry-ca");
        using var cert = ca.Issue(TestHosts.Registry, [TestHosts.Registry], [IPAddress.Parse(TestHosts.RegistryAddress)]);
        var (certPath, keyPath) = TestCertificateAuthority.WriteServerPem(cert, Directory, "registry");
        Registry = await RegistryFixture.StartAsync(new RegistryFixtureOptions
        {
            BindAddress = TestHosts.RegistryAddress,
            Auth = RegistryAuthMode.Htpasswd,
            HtpasswdUsers = new Dictionary<string, string> { [User] = Password },
            TlsCertificatePath = certPath,
            TlsKeyPath = keyPath,
        });
        var trusted = ca.Certificate;
        var pushHandler = new SocketsHttpHandler
        {
            UseProxy = false,
            SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, c, _, errors) =>
                {
                    if (errors == SslPolicyErrors.None) return true;
                    if (c is null || errors != SslPolicyErrors.RemoteCertificateChainErrors) return false;
                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    chain.ChainPolicy.CustomTrustStore.Add(trusted);
                    return chain.Build(X509CertificateLoader.LoadCertificate(c.GetRawCertData()));
                },
            },
        };
        using (pushHandler)
        {
            Digest = await RegistryPusher.PushImageAsync(Registry.BaseUri, Repository, Tag, User, Password, pushHandler);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Registry is not null) await Registry.DisposeAsync();
        try { System.IO.Directory.Delete(Directory, true); } catch (IOException) { }
    }
}

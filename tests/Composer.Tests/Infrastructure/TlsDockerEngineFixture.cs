using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Docker.DotNet.Models;
using TUnit.Core.Interfaces;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// A second, real Docker engine that listens with mutual TLS, the way a remote engine is secured
/// (docs.docker.com/engine/security/protect-access): dockerd --tlsverify on tcp://127.0.0.1:&lt;free port&gt; (and on
/// target.composer.test, for proxy routing) with a server certificate for those names issued by a CA generated here,
/// and a unix socket of its own through
/// which the tests look at what composer did. It runs beside the shared engine (its own data and exec roots, pid file,
/// containerd and socket: <see cref="DockerEngineFixture.StartSecondAsync"/>) and never touches it. The test connector
/// image is copied into it (no registry needed), and it is a single-node swarm manager (its own listen and data-path
/// ports) so the swarm selector can be tried over TLS too.
/// Certificate directories in the docker CLI's layout (ca.pem, cert.pem, key.pem): <see cref="CertPath"/> (the right
/// ones), <see cref="NoClientCertPath"/> (ca.pem only), <see cref="WrongClientCertPath"/> (a client certificate of
/// another CA), <see cref="WrongCaCertPath"/> (another CA as ca.pem).
/// Inject with [ClassDataSource&lt;TlsDockerEngineFixture&gt;(Shared = SharedType.PerTestSession)]; call <see cref="Require"/> first.
/// </summary>
public sealed class TlsDockerEngineFixture : IAsyncInitializer, IAsyncDisposable
{
    [ClassDataSource<TestConnectorImage>(Shared = SharedType.PerTestSession)]
    public required TestConnectorImage Image { get; init; }

    private readonly TestCertificateAuthority _engineCa = new("Composer test Docker engine CA");
    private readonly TestCertificateAuthority _otherCa = new("Composer test other CA");

    /// <summary>The second engine; its <see cref="DockerEngineFixture.Client"/> reaches it over its unix socket.</summary>
    public DockerEngineFixture Engine { get; private set; } = null!;

    public int Port { get; private set; }

    /// <summary>DOCKER_HOST for composer: tcp://127.0.0.1:&lt;port&gt;.</summary>
    public string TcpHost => $"tcp://127.0.0.1:{Port}";

    /// <summary>The same engine under a name that is not loopback (target.composer.test), so that proxy routing applies to it.</summary>
    public int TargetPort { get; private set; }

    public string TargetTcpHost => $"tcp://{TestHosts.Target}:{TargetPort}";

    /// <summary>Where every certificate of this fixture is written.</summary>
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("composer-docker-tls-").FullName;

    public string CertPath => Path.Combine(Directory, "client");
    public string NoClientCertPath => Path.Combine(Directory, "no-client");
    public string WrongClientCertPath => Path.Combine(Directory, "wrong-client");
    public string WrongCaCertPath => Path.Combine(Directory, "wrong-ca");

    /// <summary>The engine's CA, as a PEM file (what --tlscacert and opencti.daemon.docker.tls.ca name).</summary>
    public string EngineCaFile => Path.Combine(Directory, "engine-ca.pem");

    /// <summary>A CA that signed neither the engine nor its clients.</summary>
    public string OtherCaFile => Path.Combine(Directory, "other-ca.pem");

    /// <summary>A second client certificate of the engine's CA (CN composer-keys) with its PKCS#8 key, for the tls keys.</summary>
    public string KeysClientCertFile => Path.Combine(Directory, "keys-client-cert.pem");
    public string KeysClientKeyFile => Path.Combine(Directory, "keys-client-key.pem");

    /// <summary>A client certificate of the other CA, with its key.</summary>
    public string OtherClientCertFile => Path.Combine(Directory, "other-client-cert.pem");
    public string OtherClientKeyFile => Path.Combine(Directory, "other-client-key.pem");

    public bool IsAvailable { get; private set; }
    public string UnavailableReason { get; private set; } = "not initialised";

    public void Require()
    {
        Image.Require();
        Requirements.Need(IsAvailable, $"a second Docker engine with --tlsverify ({UnavailableReason})");
    }

    public async Task InitializeAsync()
    {
        if (!Image.IsAvailable)
        {
            UnavailableReason = Image.UnavailableReason;
            return;
        }
        WriteCertificates();
        TestHosts.EnsureInstalled();
        Port = FreePort.Next();
        TargetPort = FreePort.Next();
        Engine = await DockerEngineFixture.StartSecondAsync(
        [
            "-H", $"tcp://127.0.0.1:{Port}",
            "-H", $"tcp://{TestHosts.TargetAddress}:{TargetPort}",
            "--tlsverify",
            "--tlscacert", EngineCaFile,
            "--tlscert", Path.Combine(Directory, "server.pem"),
            "--tlskey", Path.Combine(Directory, "server.key"),
        ]);
        if (!Engine.IsAvailable)
        {
            UnavailableReason = Engine.UnavailableReason;
            return;
        }
        await CopyConnectorImageAsync();
        await InitSwarmAsync();
        IsAvailable = true;
        UnavailableReason = "";
    }

    private void WriteCertificates()
    {
        File.WriteAllText(EngineCaFile, _engineCa.CertificatePem);
        File.WriteAllText(OtherCaFile, _otherCa.CertificatePem);
        using var server = _engineCa.Issue("composer-test-tls-engine", ["localhost", TestHosts.Target], [IPAddress.Loopback]);
        TestCertificateAuthority.WriteServerPem(server, Directory, "server");

        using var client = _engineCa.IssueClient("composer-client");
        using var keysClient = _engineCa.IssueClient("composer-keys");
        using var otherClient = _otherCa.IssueClient("composer-other-client");
        File.WriteAllText(KeysClientCertFile, keysClient.ExportCertificatePem());
        File.WriteAllText(KeysClientKeyFile, keysClient.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(OtherClientCertFile, otherClient.ExportCertificatePem());
        File.WriteAllText(OtherClientKeyFile, otherClient.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());

        // The docker docs make key.pem with `openssl genrsa`: a PKCS#1 "RSA PRIVATE KEY", so that form is the one here.
        WriteCertPath(CertPath, _engineCa.CertificatePem, client);
        WriteCertPath(NoClientCertPath, _engineCa.CertificatePem, null);
        WriteCertPath(WrongClientCertPath, _engineCa.CertificatePem, otherClient);
        WriteCertPath(WrongCaCertPath, _otherCa.CertificatePem, client);
    }

    private static void WriteCertPath(string directory, string caPem, X509Certificate2? client)
    {
        System.IO.Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "ca.pem"), caPem);
        if (client is null) return;
        File.WriteAllText(Path.Combine(directory, "cert.pem"), client.ExportCertificatePem());
        File.WriteAllText(Path.Combine(directory, "key.pem"), client.GetRSAPrivateKey()!.ExportRSAPrivateKeyPem());
    }

    /// <summary>docker save from the shared engine, docker load into this one: connectors run without a registry.</summary>
    private async Task CopyConnectorImageAsync()
    {
        await using var saved = await Image.Docker.Client.Images.SaveImageAsync(TestConnectorImage.Reference);
        using var buffer = new MemoryStream();
        await saved.CopyToAsync(buffer);
        buffer.Position = 0;
        await Engine.Client.Images.LoadImageAsync(new ImageLoadParameters { Quiet = true }, buffer, new Progress<JSONMessage>());
        await Engine.Client.Images.InspectImageAsync(TestConnectorImage.Reference);
    }

    private async Task InitSwarmAsync()
    {
        // Ports of its own: the shared engine may be a swarm manager on 2377 with the default data path port.
        await Engine.Client.Swarm.InitSwarmAsync(new SwarmInitParameters
        {
            ListenAddr = $"127.0.0.1:{FreePort.Next()}",
            AdvertiseAddr = "127.0.0.1",
            DataPathPort = (uint)FreeUdpPortBelow(49151),
        });
    }

    private static int FreeUdpPortBelow(int limit)
    {
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var port = RandomNumberGenerator.GetInt32(20000, limit);
            try
            {
                using var udp = new UdpClient(new IPEndPoint(IPAddress.Any, port));
                return port;
            }
            catch (SocketException)
            {
            }
        }
        throw new InvalidOperationException("no free UDP port for the swarm data path");
    }

    public async ValueTask DisposeAsync()
    {
        if (Engine is not null) await Engine.DisposeAsync();
        _engineCa.Dispose();
        _otherCa.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { }
    }
}

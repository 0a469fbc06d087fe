using Composer.Tests.Infrastructure;
using TUnit.Core.Interfaces;

namespace Composer.Tests.Orchestration.Docker;

/// <summary>
/// The real Docker engine exposed over plain TCP for the tests: socat listening on target.composer.test
/// (127.0.0.2):&lt;free port&gt; and forwarding every connection to the engine's Unix socket. Reached as
/// tcp://target.composer.test:&lt;port&gt;, a name (not loopback) so proxy routing applies to it. Also over TLS: stunnel
/// on target.composer.test:&lt;tls port&gt; with a certificate from a private CA (<see cref="TlsCaPath"/>, not trusted by
/// the system), in front of the socat port: https://target.composer.test:&lt;tls port&gt;.
/// </summary>
public sealed class DockerTcpFixture : IAsyncInitializer, IAsyncDisposable
{
    [ClassDataSource<DockerEngineFixture>(Shared = SharedType.PerTestSession)]
    public required DockerEngineFixture Engine { get; init; }

    private BackgroundProcess? _socat;
    private BackgroundProcess? _stunnel;
    private TestCertificateAuthority? _ca;
    private string _directory = "";

    public int TlsPort { get; private set; }

    /// <summary>https://target.composer.test:tls port</summary>
    public string TlsDockerHost => $"https://{TestHosts.Target}:{TlsPort}";

    /// <summary>PEM of the CA that signed the TLS front's certificate.</summary>
    public string TlsCaPath { get; private set; } = "";

    public void RequireTls()
    {
        Require();
        Requirements.Need(File.Exists(StunnelFixture.Executable), "stunnel4 (apt-get install stunnel4), for the TLS front of the engine");
    }

    public int Port { get; private set; }

    /// <summary>tcp://target.composer.test:port</summary>
    public string DockerHost => $"tcp://{TestHosts.Target}:{Port}";

    public void Require()
    {
        Engine.Require();
        Requirements.Need(Requirements.Which("socat") is not null, "socat (apt-get install socat), to expose the engine over TCP");
    }

    public async Task InitializeAsync()
    {
        if (!Engine.IsAvailable || Requirements.Which("socat") is not { } socat) return;
        TestHosts.EnsureInstalled();
        Port = FreePort.Next();
        var address = TestHosts.TargetAddress;
        _socat = BackgroundProcess.Start("socat", socat,
            [$"TCP-LISTEN:{Port},bind={address},reuseaddr,fork", $"UNIX-CONNECT:{Engine.SocketPath}"]);
        await _socat.WaitForPortAsync(address, Port);
        if (File.Exists(StunnelFixture.Executable)) await StartTlsFrontAsync(address);
    }

    private async Task StartTlsFrontAsync(string address)
    {
        _directory = Directory.CreateTempSubdirectory("composer-docker-tls-").FullName;
        _ca = new TestCertificateAuthority("Composer test Docker engine CA");
        TlsCaPath = _ca.WritePem(_directory, "engine-ca");
        using var cert = _ca.Issue("composer-test-docker-engine", [TestHosts.Target]);
        var (certPath, keyPath) = TestCertificateAuthority.WriteServerPem(cert, _directory, "engine");
        TlsPort = FreePort.Next();
        var conf = Path.Combine(_directory, "stunnel.conf");
        await File.WriteAllLinesAsync(conf,
        [
            "foreground = yes",
            "pid =",
            "[docker-tls]",
            $"accept = {address}:{TlsPort}",
            $"connect = {address}:{Port}",
            $"cert = {certPath}",
            $"key = {keyPath}",
        ]);
        _stunnel = BackgroundProcess.Start("stunnel (docker tls)", StunnelFixture.Executable, [conf]);
        await _stunnel.WaitForPortAsync(address, TlsPort);
    }

    public async ValueTask DisposeAsync()
    {
        if (_stunnel is not null) await _stunnel.DisposeAsync();
        if (_socat is not null) await _socat.DisposeAsync();
        _ca?.Dispose();
        if (_directory.Length > 0) try { Directory.Delete(_directory, true); } catch (IOException) { }
    }
}

using System.Net;
using TUnit.Core.Interfaces;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// An HTTPS proxy: stunnel4 terminating TLS on 127.0.0.1:&lt;free port&gt; in front of its own tinyproxy. The proxy's
/// certificate (SAN: IP 127.0.0.1, localhost) is issued by a test CA generated here (<see cref="ProxyCa"/>,
/// PEM at <see cref="ProxyCaPath"/>), so clients must trust that CA to talk TLS to the proxy.
/// </summary>
public sealed class StunnelFixture : IAsyncInitializer, IAsyncDisposable
{
    public const string Executable = "/usr/bin/stunnel4";

    private BackgroundProcess? _process;
    public TinyproxyFixture Tinyproxy { get; } = new();
    public TestCertificateAuthority ProxyCa { get; } = new("Composer test HTTPS proxy CA");
    public string Directory { get; private set; } = "";
    public string ProxyCaPath { get; private set; } = "";
    public int Port { get; private set; }

    /// <summary>https://127.0.0.1:port</summary>
    public string Url => $"https://127.0.0.1:{Port}";

    public async Task InitializeAsync()
    {
        Requirements.Need(File.Exists(Executable), "stunnel4 (apt-get install stunnel4)");
        await Tinyproxy.InitializeAsync();
        Directory = System.IO.Directory.CreateTempSubdirectory("composer-stunnel-").FullName;
        ProxyCaPath = ProxyCa.WritePem(Directory, "proxy-ca");
        using var cert = ProxyCa.Issue("composer-test-https-proxy", ["localhost"], [IPAddress.Loopback]);
        var (certPath, keyPath) = TestCertificateAuthority.WriteServerPem(cert, Directory, "proxy");
        Port = FreePort.Next();
        var conf = Path.Combine(Directory, "stunnel.conf");
        await File.WriteAllLinesAsync(conf,
        [
            "foreground = yes",
            "pid =",
            "debug = 5",
            $"output = {Path.Combine(Directory, "stunnel.log")}",
            "[https-proxy]",
            $"accept = 127.0.0.1:{Port}",
            $"connect = 127.0.0.1:{Tinyproxy.Port}",
            $"cert = {certPath}",
            $"key = {keyPath}",
        ]);
        _process = BackgroundProcess.Start("stunnel", Executable, [conf]);
        await _process.WaitForPortAsync("127.0.0.1", Port);
    }

    public string Log => Path.Combine(Directory, "stunnel.log") is var p && File.Exists(p) ? TinyproxyFixture.ReadShared(p) : "";

    public async ValueTask DisposeAsync()
    {
        if (_process is not null) await _process.DisposeAsync();
        await Tinyproxy.DisposeAsync();
        ProxyCa.Dispose();
        try { System.IO.Directory.Delete(Directory, true); } catch (IOException) { }
    }
}

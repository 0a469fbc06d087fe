using System.Diagnostics;
using System.Net;
using TUnit.Core.Interfaces;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// A TLS-intercepting proxy: squid-openssl (/usr/sbin/squid -N -f conf) on 127.0.0.1:&lt;free port&gt; with
/// <c>ssl-bump generate-host-certificates=on</c> and <c>ssl_bump bump all</c>: every CONNECT is terminated and the
/// target is presented with a certificate squid generates and signs with <see cref="InterceptionCa"/> (PEM at
/// <see cref="InterceptionCaPath"/>). Squid itself trusts the origin servers issued by <see cref="OriginCa"/>
/// (tls_outgoing_options cafile), so tests run real HTTPS origins with <see cref="IssueOriginCertificate"/>.
/// Runs as root with cache_effective_user proxy; its temp directory (config, ssl_db, logs) belongs to that user.
/// </summary>
public sealed class SquidFixture : IAsyncInitializer, IAsyncDisposable
{
    public const string Executable = "/usr/sbin/squid";
    public const string CertGenerator = "/usr/lib/squid/security_file_certgen";

    private BackgroundProcess? _process;
    public TestCertificateAuthority InterceptionCa { get; } = new("Composer test intercepting proxy CA");
    /// <summary>The CA squid trusts for origin servers: the session-wide <see cref="TestOriginCa"/>.</summary>
    public TestCertificateAuthority OriginCa => TestOriginCa.Instance;
    public string Directory { get; private set; } = "";
    public string InterceptionCaPath { get; private set; } = "";
    public string OriginCaPath { get; private set; } = "";
    public int Port { get; private set; }
    public string Url => $"http://127.0.0.1:{Port}";
    public string AccessLogPath => Path.Combine(Directory, "access.log");

    public async Task InitializeAsync()
    {
        Requirements.Need(File.Exists(Executable) && File.Exists(CertGenerator), "squid-openssl (apt-get install squid-openssl)");
        TestHosts.EnsureInstalled();
        Directory = System.IO.Directory.CreateTempSubdirectory("composer-squid-").FullName;
        InterceptionCaPath = InterceptionCa.WritePem(Directory, "interception-ca", withKey: true);
        OriginCaPath = OriginCa.WritePem(Directory, "origin-ca");
        var sslDb = Path.Combine(Directory, "ssl_db");
        await RunAsync(CertGenerator, ["-c", "-s", sslDb, "-M", "4MB"]);
        Port = FreePort.Next();
        var conf = Path.Combine(Directory, "squid.conf");
        await File.WriteAllLinesAsync(conf,
        [
            $"http_port 127.0.0.1:{Port} ssl-bump generate-host-certificates=on dynamic_cert_mem_cache_size=4MB tls-cert={InterceptionCaPath} tls-key={Path.Combine(Directory, "interception-ca.key")}",
            $"sslcrtd_program {CertGenerator} -s {sslDb} -M 4MB",
            "sslcrtd_children 3 startup=1 idle=1",
            "ssl_bump bump all",
            $"tls_outgoing_options cafile={OriginCaPath}",
            // Local-only port used by tests: allow everything, including CONNECT to ephemeral ports.
            "http_access allow all",
            "cache deny all",
            $"access_log stdio:{AccessLogPath}",
            $"cache_log {Path.Combine(Directory, "cache.log")}",
            $"pid_filename {Path.Combine(Directory, "squid.pid")}",
            $"coredump_dir {Directory}",
            "cache_effective_user proxy",
            "pinger_enable off",
            "shutdown_lifetime 0 seconds",
            "logfile_rotate 0",
            "visible_hostname composer-test-squid",
            "dns_v4_first on",
        ]);
        await RunAsync("/bin/chown", ["-R", "proxy:proxy", Directory]);
        await RunAsync("/bin/chmod", ["755", Directory]);
        _process = BackgroundProcess.Start("squid", Executable, ["-N", "-f", conf]);
        await _process.WaitForPortAsync("127.0.0.1", Port, TimeSpan.FromSeconds(60));
    }

    public System.Security.Cryptography.X509Certificates.X509Certificate2 IssueOriginCertificate(string host) =>
        OriginCa.Issue(host, [host], IPAddress.TryParse(host, out var ip) ? [ip] : null);

    public string AccessLog => File.Exists(AccessLogPath) ? TinyproxyFixture.ReadShared(AccessLogPath) : "";

    public bool Saw(string fragment) => AccessLog.Contains(fragment, StringComparison.Ordinal);

    private static async Task RunAsync(string exe, string[] args)
    {
        var psi = new ProcessStartInfo(exe) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{exe} {string.Join(' ', args)} failed ({p.ExitCode}): {output}{await err}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null) await _process.DisposeAsync();
        InterceptionCa.Dispose();
        try { System.IO.Directory.Delete(Directory, true); } catch (IOException) { }
    }
}

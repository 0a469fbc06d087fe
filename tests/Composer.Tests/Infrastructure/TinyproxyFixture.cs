using Composer.Diagnostics;
using TUnit.Core.Interfaces;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// A real tinyproxy (/usr/bin/tinyproxy -d -c conf) on 127.0.0.1:&lt;free port&gt; with a generated config in a temp
/// directory: plain HTTP forwarding and CONNECT to any port, allowed from 127.0.0.1 only, logging every request at
/// Connect level to its own log file so tests can prove a request went through it (<see cref="Saw"/>).
/// <see cref="AuthenticatedTinyproxyFixture"/> adds <c>BasicAuth</c>.
/// </summary>
public class TinyproxyFixture : IAsyncInitializer, IAsyncDisposable
{
    public const string Executable = "/usr/bin/tinyproxy";

    private BackgroundProcess? _process;
    public string Directory { get; private set; } = "";
    public int Port { get; private set; }
    public string LogPath => Path.Combine(Directory, "tinyproxy.log");

    /// <summary>(user, password) for BasicAuth, or null for an open proxy.</summary>
    protected virtual (string User, string Password)? Credentials => null;

    /// <summary>http://127.0.0.1:port (no credentials).</summary>
    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>The URL with the credentials as user-info (same as <see cref="Url"/> for an open proxy).</summary>
    public string UrlWithCredentials =>
        Credentials is { } c ? $"http://{Uri.EscapeDataString(c.User)}:{Uri.EscapeDataString(c.Password)}@127.0.0.1:{Port}" : Url;

    public async Task InitializeAsync()
    {
        Requirements.Need(File.Exists(Executable), "tinyproxy (apt-get install tinyproxy)");
        TestHosts.EnsureInstalled();
        Directory = System.IO.Directory.CreateTempSubdirectory("composer-tinyproxy-").FullName;
        Port = FreePort.Next();
        var conf = Path.Combine(Directory, "tinyproxy.conf");
        var lines = new List<string>
        {
            $"Port {Port}",
            "Listen 127.0.0.1",
            "Timeout 30",
            $"LogFile \"{LogPath}\"",
            "LogLevel Connect",
            $"PidFile \"{Path.Combine(Directory, "tinyproxy.pid")}\"",
            "MaxClients 50",
            "Allow 127.0.0.1",
            // No ConnectPort line: CONNECT is allowed to any port (test targets listen on ephemeral ports).
        };
        if (Credentials is { } c) lines.Add($"BasicAuth {c.User} {c.Password}");
        await File.WriteAllLinesAsync(conf, lines);
        _process = BackgroundProcess.Start("tinyproxy", Executable, ["-d", "-c", conf]);
        await _process.WaitForPortAsync("127.0.0.1", Port);
    }

    public string Log => File.Exists(LogPath) ? ReadShared(LogPath) : "";

    /// <summary>True when the proxy log shows a request whose line contains <paramref name="fragment"/>
    /// (e.g. "GET http://target.composer.test:1234/x" or "CONNECT target.composer.test:1234").</summary>
    public bool Saw(string fragment) => Log.Contains(fragment, StringComparison.Ordinal);

    internal static string ReadShared(string path)
    {
        using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null) await _process.DisposeAsync();
        try { System.IO.Directory.Delete(Directory, true); } catch (IOException) { }
        GC.SuppressFinalize(this);
    }
}

/// <summary>tinyproxy requiring proxy authentication: <c>BasicAuth composer s3cr.t-pw_1</c>.</summary>
public sealed class AuthenticatedTinyproxyFixture : TinyproxyFixture
{
    public const string User = "composer";
    public const string Password = "s3cr.t-pw_1"; // tinyproxy accepts only [A-Za-z0-9._-] here
    protected override (string User, string Password)? Credentials => (User, Password);
}

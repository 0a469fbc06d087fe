using System.Net;
using System.Text;

namespace Composer.Tests.Infrastructure;

public enum RegistryAuthMode { None, Htpasswd, Token }

/// <summary>How to start a real Docker registry (Debian's docker-registry, distribution v2).</summary>
public sealed class RegistryFixtureOptions
{
    /// <summary>Address the registry listens on (an IPv6 address without brackets is fine).</summary>
    public string BindAddress { get; init; } = "127.0.0.1";

    /// <summary>null: a free port.</summary>
    public int? Port { get; init; }

    public RegistryAuthMode Auth { get; init; } = RegistryAuthMode.None;

    /// <summary>Htpasswd mode: user → password (written with bcrypt, the only hash distribution accepts).</summary>
    public IReadOnlyDictionary<string, string> HtpasswdUsers { get; init; } = new Dictionary<string, string>();

    /// <summary>Token mode: the token server (realm URL, service, issuer and the PEM bundle its signing certificate chains to).</summary>
    public TokenServer? TokenServer { get; init; }

    /// <summary>TLS: PEM certificate (chain) and PEM private key. Both null: plain http.</summary>
    public string? TlsCertificatePath { get; init; }
    public string? TlsKeyPath { get; init; }
}

/// <summary>
/// A real registry process with its own temp storage and config.yml, killed and deleted on dispose.
/// Host is what image names use (127.0.0.1:PORT, [::1]:PORT), BaseUri the API root.
/// </summary>
public sealed class RegistryFixture : IAsyncDisposable
{
    public const string Executable = "/usr/bin/docker-registry";

    private BackgroundProcess? _process;

    private RegistryFixture(RegistryFixtureOptions options, int port, string directory)
    {
        Options = options;
        Port = port;
        Directory = directory;
        var hostPart = IPAddress.TryParse(options.BindAddress, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? $"[{options.BindAddress}]" : options.BindAddress;
        Host = $"{hostPart}:{port}";
        UsesTls = options.TlsCertificatePath is not null;
        BaseUri = new Uri($"{(UsesTls ? "https" : "http")}://{Host}/");
    }

    public RegistryFixtureOptions Options { get; }
    public int Port { get; }
    public string Host { get; }
    public bool UsesTls { get; }
    public Uri BaseUri { get; }

    /// <summary>Temp directory holding config.yml, htpasswd and storage/.</summary>
    public string Directory { get; }
    public string ConfigPath => Path.Combine(Directory, "config.yml");
    public string Output => _process?.Output ?? "";

    public static bool IsInstalled => File.Exists(Executable);

    public static async Task<RegistryFixture> StartAsync(RegistryFixtureOptions options)
    {
        Requirements.Need(IsInstalled, $"{Executable} (apt-get install docker-registry)");
        var directory = System.IO.Directory.CreateTempSubdirectory("composer-registry-").FullName;
        var server = new RegistryFixture(options, options.Port ?? FreePort.Next(), directory);
        try
        {
            await server.WriteConfigAsync();
            server._process = BackgroundProcess.Start($"registry {server.Host}", Executable, ["serve", server.ConfigPath],
                new Dictionary<string, string> { ["OTEL_TRACES_EXPORTER"] = "none" });
            var connectHost = options.BindAddress is "0.0.0.0" ? "127.0.0.1" : options.BindAddress is "::" ? "::1" : options.BindAddress;
            await server._process.WaitForPortAsync(connectHost, server.Port);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private async Task WriteConfigAsync()
    {
        var storage = Path.Combine(Directory, "storage");
        System.IO.Directory.CreateDirectory(storage);
        var bind = Options.BindAddress.Contains(':') ? $"[{Options.BindAddress}]" : Options.BindAddress;
        var yaml = new StringBuilder();
        yaml.AppendLine("version: 0.1");
        yaml.AppendLine("log:");
        yaml.AppendLine("  level: info");
        yaml.AppendLine("  accesslog:");
        yaml.AppendLine("    disabled: false");
        yaml.AppendLine("storage:");
        yaml.AppendLine("  filesystem:");
        yaml.AppendLine($"    rootdirectory: {storage}");
        yaml.AppendLine("  delete:");
        yaml.AppendLine("    enabled: true");
        yaml.AppendLine("  maintenance:");
        yaml.AppendLine("    uploadpurging:");
        yaml.AppendLine("      enabled: false");
        yaml.AppendLine("http:");
        yaml.AppendLine($"  addr: \"{bind}:{Port}\"");
        yaml.AppendLine($"  secret: \"{Guid.NewGuid():N}\"");
        if (Options.TlsCertificatePath is not null)
        {
            yaml.AppendLine("  tls:");
            yaml.AppendLine($"    certificate: {Options.TlsCertificatePath}");
            yaml.AppendLine($"    key: {Options.TlsKeyPath ?? throw new ArgumentException("TlsKeyPath is required with TlsCertificatePath")}");
        }
        switch (Options.Auth)
        {
            case RegistryAuthMode.Htpasswd:
                var htpasswd = Path.Combine(Directory, "htpasswd");
                await File.WriteAllTextAsync(htpasswd, await HtpasswdAsync(Options.HtpasswdUsers));
                yaml.AppendLine("auth:");
                yaml.AppendLine("  htpasswd:");
                yaml.AppendLine("    realm: composer-test-registry");
                yaml.AppendLine($"    path: {htpasswd}");
                break;
            case RegistryAuthMode.Token:
                var tokens = Options.TokenServer ?? throw new ArgumentException("Token mode needs a TokenServer");
                yaml.AppendLine("auth:");
                yaml.AppendLine("  token:");
                yaml.AppendLine($"    realm: \"{tokens.Realm}\"");
                yaml.AppendLine($"    service: \"{tokens.Service}\"");
                yaml.AppendLine($"    issuer: \"{tokens.Issuer}\"");
                yaml.AppendLine($"    rootcertbundle: {tokens.RootCertBundlePath}");
                break;
        }
        await File.WriteAllTextAsync(ConfigPath, yaml.ToString());
    }

    /// <summary>htpasswd lines with bcrypt hashes, made by apache2-utils' htpasswd -Bbn.</summary>
    private static async Task<string> HtpasswdAsync(IReadOnlyDictionary<string, string> users)
    {
        var htpasswd = Requirements.Which("htpasswd");
        Requirements.Need(htpasswd is not null, "htpasswd (apt-get install apache2-utils)");
        var sb = new StringBuilder();
        foreach (var (user, password) in users)
        {
            var psi = new System.Diagnostics.ProcessStartInfo(htpasswd!) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "-Bbn", user, password }) psi.ArgumentList.Add(a);
            using var p = System.Diagnostics.Process.Start(psi)!;
            var line = await p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync();
            if (p.ExitCode != 0) throw new InvalidOperationException($"htpasswd failed for {user}: {await p.StandardError.ReadToEndAsync()}");
            sb.AppendLine(line.Trim());
        }
        return sb.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null) await _process.DisposeAsync();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

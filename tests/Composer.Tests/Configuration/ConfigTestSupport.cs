using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Composer.Configuration;
using Composer.Resolution;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Configuration;

/// <summary>Keys, certificates and config directories made at test time (never committed secrets).</summary>
public static class ConfigTestSupport
{
    private static readonly Lazy<string> Rsa4096KeyFile = new(() => WriteKey(4096));
    private static readonly Lazy<string> CaFile = new(WriteCa);

    /// <summary>A PKCS#8 PEM RSA-4096 key, generated once per test session.</summary>
    public static string KeyFile => Rsa4096KeyFile.Value;

    /// <summary>A self-signed CA certificate in PEM, generated once per test session.</summary>
    public static string CaCertificateFile => CaFile.Value;

    private static string WriteKey(int bits)
    {
        using var rsa = RSA.Create(bits);
        var path = Path.Combine(Directory.CreateTempSubdirectory("composer-key-").FullName, $"rsa{bits}.pem");
        File.WriteAllText(path, rsa.ExportPkcs8PrivateKeyPem() + "\n");
        return path;
    }

    private static string WriteCa()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Composer Test Proxy CA", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        var path = Path.Combine(Directory.CreateTempSubdirectory("composer-ca-").FullName, "proxy-ca.pem");
        File.WriteAllText(path, cert.ExportCertificatePem() + "\n");
        return path;
    }

    public static string NewConfigDir(params (string Name, string Content)[] files)
    {
        var dir = Directory.CreateTempSubdirectory("composer-config-").FullName;
        foreach (var (name, content) in files) File.WriteAllText(Path.Combine(dir, name), content);
        return dir;
    }

    /// <summary>The environment every valid test configuration needs: the manager key.</summary>
    public static Dictionary<string, string> BaseEnvironment(params (string Name, string Value)[] more)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal) { ["MANAGER__CREDENTIALS_KEY_FILEPATH"] = KeyFile };
        foreach (var (n, v) in more) env[n] = v;
        return env;
    }

    public static SettingsLoadResult Load(string? dir, IReadOnlyDictionary<string, string> env) =>
        SettingsLoader.Load(new ConfigLoadRequest { ConfigDirectory = dir, Environment = env });

    public static string ExamplesDir => Path.Combine(RepoPaths.Root, "tests", "Composer.Tests", "Configuration", "Examples");

    /// <summary>The full example configuration (every key) in a fresh config dir as production.yaml, CA paths filled in.</summary>
    public static string FullExampleDir()
    {
        var yaml = File.ReadAllText(Path.Combine(ExamplesDir, "full-example.yaml")).Replace("{{CA}}", CaCertificateFile, StringComparison.Ordinal);
        return NewConfigDir(("production.yaml", yaml));
    }

    /// <summary>Twenty environment variables layered over the full example (as in the benchmark).</summary>
    public static Dictionary<string, string> FullExampleEnvironment() => BaseEnvironment(
        ("OPENCTI__URL", "https://cti.internal.example.com"),
        ("OPENCTI__TOKEN", "env-token-0123"),
        ("OPENCTI__DAEMON__WITH_PROXY", "true"),
        ("OPENCTI__DAEMON__REGISTRY__SERVER", "mirror.example.com"),
        ("OPENCTI__DAEMON__REGISTRY__USERNAME", "env-user"),
        ("OPENCTI__DAEMON__REGISTRY__PASSWORD", "env-registry-password"),
        ("OPENCTI__DAEMON__REGISTRY__TOKEN_TTL", "1200"),
        ("OPENCTI__DAEMON__REGISTRY__RETRY_ATTEMPTS", "5"),
        ("OPENCTI__DAEMON__DOCKER__DNS__0", "10.1.0.2"),
        ("OPENCTI__DAEMON__DOCKER__DNS__1", "10.1.0.3"),
        ("OPENCTI__DAEMON__DOCKER__SYSCTLS__NET.IPV4.IP_FORWARD", "1"),
        ("OPENCTI__DAEMON__KUBERNETES__IMAGE_PULL_POLICY", "Never"),
        ("OPENCTI__HTTPS_PROXY_CA", $"[\"{CaCertificateFile}\"]"),
        ("MANAGER__ID", "0123"),
        ("MANAGER__LOGGER__LEVEL", "info"),
        ("HTTPS_PROXY", "http://corp:corp-proxy-pass@proxy.corp.example:3128"),
        ("NO_PROXY", "localhost,.corp.example"),
        ("OPENAEV__ENABLE", "false"),
        ("OPENAEV__DAEMON__SELECTOR", "docker"),
        ("PATH", "/usr/bin:/bin"));
}

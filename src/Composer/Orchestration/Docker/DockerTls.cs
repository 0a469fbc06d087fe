using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Composer.Configuration;
using Composer.Network;

namespace Composer.Orchestration.Docker;

/// <summary>
/// TLS to a tcp:// Docker engine, read once in the resolve step: whom to trust (only the configured CA, like the docker
/// CLI's --tlscacert; nobody checked when verification is off) and the client certificate to present. Handed to the
/// outbound handler factory as an <see cref="EndpointTls"/>; proxies still route the connection.
/// </summary>
public sealed record DockerTls
{
    public const string VerifyKey = "opencti.daemon.docker.tls.verify";
    public const string CaKey = "opencti.daemon.docker.tls.ca";
    public const string CertKey = "opencti.daemon.docker.tls.cert";
    public const string KeyKey = "opencti.daemon.docker.tls.key";
    public const string TlsVerifyVariable = "DOCKER_TLS_VERIFY";
    public const string TlsVariable = "DOCKER_TLS";
    public const string CertPathVariable = "DOCKER_CERT_PATH";

    /// <summary>PEM files are small; anything bigger is not what the key names.</summary>
    public const int MaxPemBytes = 1024 * 1024;

    /// <summary>The trust and client certificate the outbound handler factory applies.</summary>
    public required EndpointTls Endpoint { get; init; }

    /// <summary>Whether the engine's certificate is verified (docker --tlsverify) or TLS is used without verification (--tls).</summary>
    public bool Verify => !Endpoint.SkipVerification;

    /// <summary>What asked for TLS: "environment DOCKER_TLS_VERIFY" or "opencti.daemon.docker.tls.verify (config/default.yaml:9:7)".</summary>
    public required string RequestedBy { get; init; }

    /// <summary>Where the CA came from ("opencti.daemon.docker.tls.ca (...)" or "/certs/ca.pem (DOCKER_CERT_PATH, environment)"); null without verification.</summary>
    public string? CaSource { get; init; }

    /// <summary>Where the client certificate came from, or null when none is presented.</summary>
    public string? ClientCertificateSource { get; init; }

    /// <summary>Where a client certificate is looked for, for the hint when the engine asks for one.</summary>
    public required string ClientCertificateHint { get; init; }

    /// <summary>One line for `docker check` and `composer check`.</summary>
    public string Summary
    {
        get
        {
            var trust = Verify
                ? $"TLS, engine certificate verified against {CaSource}"
                : $"TLS, engine certificate NOT verified ({RequestedBy})";
            var client = ClientCertificateSource is { } source
                ? $"client certificate {source} ({Endpoint.ClientCertificate!.Subject})"
                : "no client certificate";
            return $"{trust}; {client}";
        }
    }
}

/// <summary>What the docker CLI's conventions and the <c>opencti.daemon.docker.tls</c> keys ask for, before any file is read.</summary>
/// <param name="RequestKey">The key or variable that turned TLS on (for diagnostics).</param>
/// <param name="RequestSource">Its source: "environment DOCKER_TLS_VERIFY", "config/default.yaml:9:7".</param>
/// <param name="CertPath">The directory of ca.pem, cert.pem and key.pem; null when there is no home for the default ~/.docker.</param>
internal sealed record DockerTlsRequest(bool Verify, string RequestKey, string RequestSource, DockerTlsSettings? Keys,
    string? CertPath, string CertPathSource)
{
    /// <summary>For messages: "environment DOCKER_TLS_VERIFY" or "opencti.daemon.docker.tls.verify (config/default.yaml:9:7)".</summary>
    public string RequestedBy => !RequestKey.StartsWith("DOCKER_", StringComparison.Ordinal) ? $"{RequestKey} ({RequestSource})"
        : RequestKey == DockerTls.TlsVariable ? $"{RequestSource} without {DockerTls.TlsVerifyVariable}"
        : RequestSource;

    /// <summary>
    /// TLS is on when <c>tls.verify</c> is set (true: verify; false: TLS without verification, as docker --tlsverify=false),
    /// else when DOCKER_TLS_VERIFY is non-empty (verify, whatever the value: "0" too, as the CLI reads it), else when
    /// DOCKER_TLS is non-empty (no verification), else when any other <c>tls</c> key is set (verify). Null: TLS is not asked for.
    /// </summary>
    public static DockerTlsRequest? From(ComposerSettings settings, ConfigProvenance provenance, IReadOnlyDictionary<string, string> environment)
    {
        var keys = settings.OpenCti.Daemon.Docker?.Tls;
        bool verify;
        string key;
        string source;
        if (keys?.Verify is { } configured)
        {
            (verify, key, source) = (configured, DockerTls.VerifyKey, provenance.Describe(DockerTls.VerifyKey));
        }
        else if (NonEmpty(environment, DockerTls.TlsVerifyVariable))
        {
            (verify, key, source) = (true, DockerTls.TlsVerifyVariable, $"environment {DockerTls.TlsVerifyVariable}");
        }
        else if (NonEmpty(environment, DockerTls.TlsVariable))
        {
            (verify, key, source) = (false, DockerTls.TlsVariable, $"environment {DockerTls.TlsVariable}");
        }
        else if (FirstKeySet(keys) is { } firstKey)
        {
            (verify, key, source) = (true, firstKey, provenance.Describe(firstKey));
        }
        else
        {
            return null;
        }
        var (certPath, certPathSource) = ResolveCertPath(environment);
        return new DockerTlsRequest(verify, key, source, keys, certPath, certPathSource);
    }

    /// <summary>
    /// The directory of ca.pem, cert.pem and key.pem: DOCKER_CERT_PATH, else the docker CLI's configuration directory
    /// (DOCKER_CONFIG, else ~/.docker); no directory when there is no home for the default (the loader reports it
    /// when the directory is needed).
    /// </summary>
    private static (string? Path, string Source) ResolveCertPath(IReadOnlyDictionary<string, string> environment)
    {
        if (NonEmpty(environment, DockerTls.CertPathVariable)) return (environment[DockerTls.CertPathVariable], DockerTlsLoader.CertPathFromEnvironment);
        if (NonEmpty(environment, "DOCKER_CONFIG")) return (environment["DOCKER_CONFIG"], "environment DOCKER_CONFIG, as DOCKER_CERT_PATH is not set");
        if (NonEmpty(environment, "HOME")) return (Path.Combine(environment["HOME"], ".docker"), "default ~/.docker, as DOCKER_CERT_PATH is not set");
        return (null, DockerTlsLoader.CertPathDefault);
    }

    private static string? FirstKeySet(DockerTlsSettings? keys) =>
        keys is null ? null
        : keys.Ca is { Count: > 0 } ? DockerTls.CaKey
        : !string.IsNullOrWhiteSpace(keys.Cert) ? DockerTls.CertKey
        : !string.IsNullOrWhiteSpace(keys.Key?.Reveal()) ? DockerTls.KeyKey
        : null;

    internal static bool NonEmpty(IReadOnlyDictionary<string, string> environment, string name) =>
        environment.TryGetValue(name, out var value) && value.Length > 0;
}

/// <summary>Reads the CA and the client certificate a <see cref="DockerTlsRequest"/> names, each once; every problem names its key or variable.</summary>
internal static class DockerTlsLoader
{
    private const string CertPathKey = DockerTls.CertPathVariable;
    internal const string CertPathFromEnvironment = "environment DOCKER_CERT_PATH";
    internal const string CertPathDefault = "default ~/.docker";

    /// <summary>The TLS settings, or null after every problem went into <paramref name="report"/>.</summary>
    public static DockerTls? Load(DockerTlsRequest request, ConfigProvenance provenance, ConfigReport report)
    {
        var start = report.Errors.Count;
        var keys = request.Keys;
        var caFromCertPath = request.Verify && keys?.Ca is not { Count: > 0 };
        var clientFromCertPath = string.IsNullOrWhiteSpace(keys?.Cert) && string.IsNullOrWhiteSpace(keys?.Key?.Reveal());
        // The cert path must serve when ca.pem is needed from it, or when DOCKER_CERT_PATH names it; a default
        // ~/.docker that is not there (or no home at all) only means no client certificate.
        var certPathUsable = true;
        if ((caFromCertPath || clientFromCertPath) && CertPathProblem(request) is { } certPathProblem)
        {
            certPathUsable = false;
            if (caFromCertPath || request.CertPathSource == CertPathFromEnvironment) report.Error(certPathProblem);
        }
        var roots = new X509Certificate2Collection();
        string? caSource = null;
        if (keys?.Ca is { Count: > 0 } caEntries)
        {
            // Parsed like every other CA key (paths or PEM blocks); used even without verification, so that a broken
            // entry is reported whatever the mode.
            var (bundle, problems) = ProxyCaBundle.Load(caEntries, DockerTls.CaKey);
            foreach (var problem in problems)
            {
                var index = problem.Key[(problem.Key.LastIndexOf('[') + 1)..^1];
                report.Error(DockerTls.CaKey, $"entry {index} ({problem.Source}): {problem.Message}");
            }
            roots = bundle.Certificates;
            caSource = $"{DockerTls.CaKey} ({provenance.Describe(DockerTls.CaKey)})";
        }
        else if (caFromCertPath && certPathUsable)
        {
            // As the docker CLI: with verification and no --tlscacert, ca.pem of the cert path must be there.
            if (CertPathFile(request, "ca.pem", report) is { } ca)
            {
                var (path, text) = ca;
                try
                {
                    roots.ImportFromPem(text);
                }
                catch (CryptographicException)
                {
                    roots.Clear();
                }
                if (roots.Count == 0)
                {
                    report.Error(CertPathError(request, $"{path} holds no PEM certificate; expected the CA certificate of the engine's certificate (-----BEGIN CERTIFICATE-----)"));
                }
                caSource = $"{path} ({request.CertPathSource})";
            }
        }

        var (clientCertificate, clientSource) = clientFromCertPath && !certPathUsable ? (null, null) : ClientCertificate(request, provenance, report);
        if (report.Errors.Count > start) return null;
        var hint = keys is not null && (!string.IsNullOrWhiteSpace(keys.Cert) || !string.IsNullOrWhiteSpace(keys.Key?.Reveal()))
            ? $"{DockerTls.CertKey} and {DockerTls.KeyKey}"
            : request.CertPath is { } certPath ? $"cert.pem and key.pem in {certPath} ({request.CertPathSource}), or {DockerTls.CertKey} and {DockerTls.KeyKey}"
            : $"cert.pem and key.pem in DOCKER_CERT_PATH, or {DockerTls.CertKey} and {DockerTls.KeyKey}";
        return new DockerTls
        {
            Endpoint = new EndpointTls(roots, !request.Verify, clientCertificate),
            RequestedBy = request.RequestedBy,
            CaSource = request.Verify ? caSource : null,
            ClientCertificateSource = clientSource,
            ClientCertificateHint = hint,
        };
    }

    /// <summary>
    /// tls.cert and tls.key together, else cert.pem and key.pem of the cert path when they exist (the docker CLI
    /// presents none when they are missing). One without the other is an error rather than silently no certificate.
    /// </summary>
    private static (X509Certificate2? Certificate, string? Source) ClientCertificate(DockerTlsRequest request, ConfigProvenance provenance,
        ConfigReport report)
    {
        var keys = request.Keys;
        var hasCert = !string.IsNullOrWhiteSpace(keys?.Cert);
        var hasKey = !string.IsNullOrWhiteSpace(keys?.Key?.Reveal());
        if (hasCert || hasKey)
        {
            if (hasCert != hasKey)
            {
                var (set, missing) = hasCert ? (DockerTls.CertKey, DockerTls.KeyKey) : (DockerTls.KeyKey, DockerTls.CertKey);
                report.Error(new ConfigDiagnostic(missing, provenance.Describe(set),
                    $"{set} is set but {missing} is not; a client certificate needs both (a path or a PEM block each)"));
                return (null, null);
            }
            var certificate = KeyValue(keys!.Cert!, DockerTls.CertKey, "client certificate", report);
            var key = KeyValue(keys.Key!.Reveal(), DockerTls.KeyKey, "private key", report);
            if (certificate is null || key is null) return (null, null);
            var loaded = ClientCertificatePem.Load(certificate.Value.Text, key.Value.Text);
            if (!loaded.IsSuccess)
            {
                report.Error(DockerTls.CertKey, $"{loaded.Failure.Message} ({certificate.Value.Shown} and {key.Value.Shown} of {DockerTls.KeyKey})");
                return (null, null);
            }
            return (loaded.Value, $"{certificate.Value.Shown} ({DockerTls.CertKey}, {provenance.Describe(DockerTls.CertKey)})");
        }

        if (!Directory.Exists(request.CertPath)) return (null, null);
        var directory = request.CertPath;
        var certPath = Path.Combine(directory, "cert.pem");
        var keyPath = Path.Combine(directory, "key.pem");
        var certExists = Path.Exists(certPath);
        var keyExists = Path.Exists(keyPath);
        if (!certExists && !keyExists) return (null, null);
        if (certExists != keyExists)
        {
            report.Error(CertPathError(request, certExists
                ? $"{certPath} exists but {keyPath} does not; the client certificate needs its key (or remove cert.pem to present none)"
                : $"{keyPath} exists but {certPath} does not; the client key needs its certificate (or remove key.pem to present none)"));
            return (null, null);
        }
        var certFile = CertPathFile(request, "cert.pem", report);
        var keyFile = CertPathFile(request, "key.pem", report);
        if (certFile is null || keyFile is null) return (null, null);
        var fromFiles = ClientCertificatePem.Load(certFile.Value.Text, keyFile.Value.Text);
        if (!fromFiles.IsSuccess)
        {
            report.Error(CertPathError(request, $"{certPath} and {keyPath}: {fromFiles.Failure.Message}"));
            return (null, null);
        }
        return (fromFiles.Value, $"{certPath} ({request.CertPathSource})");
    }

    /// <summary>A key's value: inline PEM (starts with -----BEGIN), or the path of a file holding it.</summary>
    private static (string Text, string Shown)? KeyValue(string value, string key, string what, ConfigReport report)
    {
        var trimmed = value.Trim();
        if (trimmed.StartsWith("-----BEGIN", StringComparison.Ordinal)) return (trimmed, "inline PEM");
        if (ReadPem(trimmed, out var text) is { } problem)
        {
            // The key is a secret: a value that is not plainly a path (a PEM body without its header, say) is not echoed.
            var named = key != DockerTls.KeyKey || LooksLikePath(trimmed) ? $"\"{trimmed}\"" : "(the value is not shown: it is neither an absolute path nor a PEM block)";
            report.Error(key, $"cannot read the {what} file {named}: {problem}; expected a PEM file or a PEM block");
            return null;
        }
        return (text, $"file {trimmed}");
    }

    private static bool LooksLikePath(string value) =>
        value.Length <= 4096 && Path.IsPathRooted(value) && !value.Any(char.IsWhiteSpace);

    /// <summary>
    /// Why the cert path cannot serve: no home for the default, a file where the directory should be, or a
    /// DOCKER_CERT_PATH that does not exist (the default ~/.docker may be absent: then only a missing ca.pem matters).
    /// </summary>
    private static ConfigDiagnostic? CertPathProblem(DockerTlsRequest request)
    {
        if (request.CertPath is not { } directory)
        {
            return CertPathError(request, $"DOCKER_CERT_PATH is not set and there is no home directory (HOME) for the default ~/.docker; TLS is asked for by {request.RequestedBy}");
        }
        if (File.Exists(directory)) return CertPathError(request, $"{directory} is a file, expected a directory holding ca.pem, cert.pem and key.pem");
        if (!Directory.Exists(directory) && request.CertPathSource == CertPathFromEnvironment)
        {
            return CertPathError(request, $"{directory} does not exist; expected a directory holding ca.pem, cert.pem and key.pem");
        }
        return null;
    }

    /// <summary>ca.pem, cert.pem or key.pem of the cert path, or null after reporting why it cannot be read.</summary>
    private static (string Path, string Text)? CertPathFile(DockerTlsRequest request, string name, ConfigReport report)
    {
        var path = Path.Combine(request.CertPath!, name);
        if (ReadPem(path, out var text) is { } problem)
        {
            var expected = name == "ca.pem" ? $"the CA certificate of the engine's certificate, needed because {request.RequestedBy} asks to verify it" : $"the client {(name == "cert.pem" ? "certificate" : "key")} (PEM)";
            report.Error(CertPathError(request, $"cannot read {path}: {problem}; expected {expected}"));
            return null;
        }
        return (path, text);
    }

    private static ConfigDiagnostic CertPathError(DockerTlsRequest request, string message) => new(CertPathKey, request.CertPathSource, message);

    /// <summary>Reads a PEM file of at most <see cref="DockerTls.MaxPemBytes"/>; the problem, or null.</summary>
    private static string? ReadPem(string path, out string text)
    {
        text = "";
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None);
            if (stream.Length > DockerTls.MaxPemBytes) return $"larger than {DockerTls.MaxPemBytes / 1024} KiB, not a PEM file";
            var bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
            text = Encoding.UTF8.GetString(bytes);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return FileErrors.Describe(ex, path);
        }
    }
}

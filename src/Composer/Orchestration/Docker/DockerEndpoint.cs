using Composer.Configuration;
using Composer.Diagnostics;

namespace Composer.Orchestration.Docker;

/// <summary>How Composer reaches a Docker engine: a local Unix socket (never proxied) or TCP (through the outbound
/// handler factory, channel <see cref="OutboundChannel.DockerTcp"/>: proxy, NO_PROXY, trust and timeouts).</summary>
public enum DockerTransport
{
    UnixSocket,
    Tcp,
}

/// <summary>
/// The Docker Engine API endpoint, decided from the configuration: <c>opencti.daemon.docker.host</c>, else the
/// <c>DOCKER_HOST</c> environment variable (as the docker CLI reads it), else <c>unix:///var/run/docker.sock</c>
/// (<c>tcp://localhost:2376</c> when TLS is asked for, as the docker CLI does). TLS to a tcp:// endpoint follows
/// <c>opencti.daemon.docker.tls</c>, else DOCKER_TLS_VERIFY, DOCKER_TLS and DOCKER_CERT_PATH (<see cref="DockerTls"/>).
/// The daemon options are global like upstream's (<c>opencti.daemon.docker</c> serves both platforms).
/// </summary>
public sealed record DockerEndpoint
{
    public const string ConfigKey = "opencti.daemon.docker.host";
    public const string EnvironmentVariable = "DOCKER_HOST";
    public const string DefaultHost = "unix:///var/run/docker.sock";

    /// <summary>The docker CLI's default when TLS is on and no host is set.</summary>
    public const string DefaultTlsHost = "tcp://localhost:2376";

    /// <summary>Docker's conventional ports: 2375 for plain TCP, 2376 for TLS.</summary>
    public const int DefaultPlainPort = 2375;
    public const int DefaultTlsPort = 2376;

    public required DockerTransport Transport { get; init; }

    /// <summary>The value as the user wrote it.</summary>
    public required string Original { get; init; }

    /// <summary>Where the value came from: the configuration key, DOCKER_HOST, or "default".</summary>
    public required string Source { get; init; }

    /// <summary>Absolute socket path for <see cref="DockerTransport.UnixSocket"/>, else null.</summary>
    public string? SocketPath { get; init; }

    /// <summary>unix:///path, or the http(s)://host:port (with a path ending in '/' behind a gateway) every TCP request is sent to.</summary>
    public required Uri Address { get; init; }

    /// <summary>The API in front of the engine (Portainer), or null when Composer speaks to the engine itself.</summary>
    public DockerGateway? Gateway { get; init; }

    /// <summary>The engine's own TLS settings (CA, client certificate), or null: an https:// endpoint then trusts the system roots.</summary>
    public DockerTls? Tls { get; init; }

    /// <summary>TLS to the engine (an https:// endpoint).</summary>
    public bool UsesTls => Address.Scheme == Uri.UriSchemeHttps;

    /// <summary>For printing and errors: credentials in the URL are masked.</summary>
    public string Display => SecretRedaction.RedactUrl(Address.ToString().TrimEnd('/'));

    /// <summary>For `docker check` and `composer check`: how the connection is secured.</summary>
    public string TlsSummary => Transport == DockerTransport.UnixSocket ? "none (local socket)"
        : Tls is { } tls ? tls.Summary
        : UsesTls ? "TLS, engine certificate verified against the system roots; no client certificate"
        : "none (plain HTTP)";

    /// <summary>
    /// The endpoint to use, or every problem with the values that were chosen (naming their key or variable), and the
    /// warnings (TLS settings that do not apply, TLS without verification). The TLS files are read here, once.
    /// </summary>
    public static DockerEndpointResolution Resolve(ComposerSettings settings, ConfigProvenance provenance, IReadOnlyDictionary<string, string> environment)
    {
        var errors = new List<ConfigDiagnostic>();
        var warnings = new List<ConfigDiagnostic>();
        var report = new ConfigReport(provenance, errors, warnings);
        var tlsRequest = DockerTlsRequest.From(settings, provenance, environment);
        string value, key, source;
        var configured = settings.OpenCti.Daemon.Docker?.Host;
        if (!string.IsNullOrWhiteSpace(configured)) (value, key, source) = (configured, ConfigKey, $"configuration {ConfigKey}");
        else if (environment.TryGetValue(EnvironmentVariable, out var fromEnvironment) && !string.IsNullOrWhiteSpace(fromEnvironment))
        {
            (value, key, source) = (fromEnvironment, EnvironmentVariable, $"environment {EnvironmentVariable}");
        }
        else if (tlsRequest is not null) (value, key, source) = (DefaultTlsHost, "default", $"default with TLS, asked for by {tlsRequest.RequestedBy}");
        else (value, key, source) = (DefaultHost, "default", "default");

        var parsed = Parse(value, source);
        if (!parsed.IsSuccess) report.Error(new ConfigDiagnostic(key, source, parsed.Failure.Message));
        var endpoint = parsed.Value;
        // Read whenever TLS is asked for, as the docker CLI reads them before it looks at the host.
        var tls = tlsRequest is null ? null : DockerTlsLoader.Load(tlsRequest, provenance, report);
        if (endpoint is null || errors.Count > 0) return new DockerEndpointResolution(null, errors, warnings);

        if (tlsRequest is null || tls is null)
        {
            if (endpoint.Transport == DockerTransport.Tcp && !endpoint.UsesTls && DockerTlsRequest.NonEmpty(environment, DockerTls.CertPathVariable))
            {
                report.Warning(new ConfigDiagnostic(DockerTls.CertPathVariable, $"environment {DockerTls.CertPathVariable}",
                    $"ignored: neither {DockerTls.TlsVerifyVariable} nor {DockerTls.TlsVariable} is set, so {endpoint.Display} is reached without TLS " +
                    $"(as the docker CLI does); set {DockerTls.TlsVerifyVariable}=1 to use the certificates"));
            }
            return new DockerEndpointResolution(endpoint, errors, warnings);
        }
        if (endpoint.Transport == DockerTransport.UnixSocket)
        {
            report.Warning(new ConfigDiagnostic(tlsRequest.RequestKey, tlsRequest.RequestSource,
                $"ignored: the Docker endpoint {endpoint.Display} ({source}) is a local socket, which is never TLS (the docker CLI ignores it there too)"));
            return new DockerEndpointResolution(endpoint, errors, warnings);
        }
        if (SchemeOf(endpoint.Original) == "http")
        {
            // Named after what asked for TLS: the host alone is valid (the validator's), the pair is not.
            report.Error(new ConfigDiagnostic(tlsRequest.RequestKey, tlsRequest.RequestSource,
                $"TLS is asked for, but the Docker endpoint {endpoint.Display} ({source}) is plain HTTP (http://); use tcp://{endpoint.Address.Authority} (or https://)"));
            return new DockerEndpointResolution(null, errors, warnings);
        }
        if (!tls.Verify)
        {
            report.Warning(new ConfigDiagnostic(tlsRequest.RequestKey, tlsRequest.RequestSource,
                $"the Docker engine's TLS certificate is NOT verified ({endpoint.Display}); set {DockerTls.TlsVerifyVariable}=1 or {DockerTls.VerifyKey}: true with its CA"));
        }
        var secured = endpoint with { Tls = tls, Address = new UriBuilder(endpoint.Address) { Scheme = Uri.UriSchemeHttps }.Uri };
        return new DockerEndpointResolution(secured, errors, warnings);
    }

    private static string SchemeOf(string value) =>
        Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri) ? uri.Scheme.ToLowerInvariant() : "";

    /// <summary>The problem with a host value, or null when it is usable (or absent). For the docker block's parser.</summary>
    public static string? Validate(string? value) => string.IsNullOrWhiteSpace(value) ? null : Parse(value, "").Failure?.Message;

    /// <summary>Parses unix:///path, tcp://host[:port], http://host[:port] or https://host[:port]; the failure says what was expected.</summary>
    /// <param name="source">Where the value came from (a key, DOCKER_HOST, default), kept on the endpoint for messages.</param>
    public static Result<DockerEndpoint> Parse(string value, string source)
    {
        var text = value.Trim();
        const string expected = "expected unix:///path/to/docker.sock, tcp://host:port, http://host:port or https://host:port";
        var shown = SecretRedaction.RedactUrl(text);
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri))
        {
            return Failure.Input($"{expected}, got \"{shown}\"");
        }
        var scheme = uri.Scheme.ToLowerInvariant();
        if (scheme == "unix")
        {
            // unix:///var/run/docker.sock: no host, an absolute path.
            if (uri.Host.Length > 0 || !text.StartsWith("unix:///", StringComparison.OrdinalIgnoreCase))
            {
                return Failure.Input($"a Unix socket endpoint is unix:// followed by an absolute path (unix:///var/run/docker.sock), got \"{shown}\"");
            }
            var path = Uri.UnescapeDataString(uri.AbsolutePath);
            if (path.Length <= 1 || path.EndsWith('/') || uri.Query.Length > 0 || uri.Fragment.Length > 0)
            {
                return Failure.Input($"expected the absolute path of the socket (unix:///var/run/docker.sock), got \"{shown}\"");
            }
            return Result<DockerEndpoint>.Success(new DockerEndpoint
            {
                Transport = DockerTransport.UnixSocket, Original = value, Source = source, SocketPath = path,
                Address = new Uri("unix://" + path),
            });
        }
        if (scheme is not ("tcp" or "http" or "https"))
        {
            return Failure.Input(scheme is "ssh" or "npipe"
                ? $"{scheme}:// endpoints are not supported; {expected}, got \"{shown}\""
                : $"{expected}, got \"{shown}\"");
        }
        if (uri.Host.Length == 0)
        {
            return Failure.Input($"{expected}: the host is missing, got \"{shown}\"");
        }
        if (uri.UserInfo.Length > 0)
        {
            return Failure.Input($"credentials in the Docker endpoint are not supported, got \"{shown}\"");
        }
        if (uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            return Failure.Input($"{expected}: a path, query or fragment is not supported, got \"{shown}\"");
        }
        // Uri fills in 80/443 for http(s) and -1 for tcp when the port is absent; Docker's defaults are 2375/2376.
        var explicitPort = HasExplicitPort(text);
        var tls = scheme == "https";
        var port = explicitPort ? uri.Port : tls ? DefaultTlsPort : DefaultPlainPort;
        if (port is <= 0 or > 65535)
        {
            return Failure.Input($"{expected}: invalid port, got \"{shown}\"");
        }
        var address = new UriBuilder(tls ? Uri.UriSchemeHttps : Uri.UriSchemeHttp, uri.Host, port).Uri;
        return Result<DockerEndpoint>.Success(new DockerEndpoint { Transport = DockerTransport.Tcp, Original = value, Source = source, Address = address });
    }

    private static bool HasExplicitPort(string text)
    {
        var authority = text[(text.IndexOf("://", StringComparison.Ordinal) + 3)..];
        var end = authority.IndexOfAny(['/', '?', '#']);
        if (end >= 0) authority = authority[..end];
        var bracket = authority.LastIndexOf(']');
        return authority.IndexOf(':', bracket + 1) >= 0;
    }
}

/// <summary>Either an endpoint or the configuration problems that prevent one; warnings either way.</summary>
public sealed record DockerEndpointResolution(DockerEndpoint? Endpoint, IReadOnlyList<ConfigDiagnostic> Errors, IReadOnlyList<ConfigDiagnostic> Warnings)
{
    /// <summary>The first problem, or null when there is an endpoint.</summary>
    public ConfigDiagnostic? Error => Errors.Count > 0 ? Errors[0] : null;
}

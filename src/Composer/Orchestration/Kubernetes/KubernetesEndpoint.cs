using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Composer.Configuration;
using Composer.Network;

namespace Composer.Orchestration.Kubernetes;

/// <summary>
/// How Composer reaches the Kubernetes API, decided once at start-up as kube's <c>Config::infer</c> does (the
/// upstream behaviour): a kubeconfig when there is one (KUBECONFIG, else ~/.kube/config), its current-context or the
/// configured <c>daemon.kubernetes.context</c>; otherwise the in-cluster service account (KUBERNETES_SERVICE_HOST/
/// PORT, the token, CA and namespace files of /var/run/secrets/kubernetes.io/serviceaccount).
/// <para>Namespace: <c>daemon.kubernetes.namespace</c>, else the context's namespace, else the service account's
/// namespace file, else <c>default</c>.</para>
/// </summary>
public sealed class KubernetesEndpoint
{
    public const string ServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";
    public const string DefaultNamespace = "default";

    private KubernetesEndpoint(Uri server, EndpointTls tls, KubernetesToken? token, string ns, string source, IReadOnlyList<string> warnings)
    {
        Server = server;
        Tls = tls;
        Token = token;
        Namespace = ns;
        Source = source;
        Warnings = warnings;
    }

    /// <summary>The API server (may carry a path prefix, as behind Rancher).</summary>
    public Uri Server { get; }

    public EndpointTls Tls { get; }

    /// <summary>The bearer token, or null (client certificate only, or none).</summary>
    public KubernetesToken? Token { get; }

    /// <summary>Where every object Composer creates lives.</summary>
    public string Namespace { get; }

    /// <summary>"kubeconfig /root/.kube/config, context kind-dev" or "in-cluster service account", for logs and messages.</summary>
    public string Source { get; }

    /// <summary>Kubeconfig settings Composer does not apply (proxy-url), to be logged once.</summary>
    public IReadOnlyList<string> Warnings { get; }

    public override string ToString() => $"{Server} ({Source}, namespace {Namespace})";

    /// <param name="settings">The platform's daemon.kubernetes block.</param>
    /// <param name="section">Its key, e.g. "opencti.daemon.kubernetes", for messages.</param>
    /// <param name="environment">The process environment (KUBECONFIG, HOME, KUBERNETES_SERVICE_HOST/PORT).</param>
    /// <param name="serviceAccountDirectory">Where the service account files are mounted (tests point elsewhere).</param>
    /// <returns>The endpoint, or null with every problem in <paramref name="errors"/>.</returns>
    public static KubernetesEndpoint? Resolve(KubernetesSettings settings, string section, IReadOnlyDictionary<string, string> environment,
        TimeProvider time, List<string> errors, string serviceAccountDirectory = ServiceAccountDirectory)
    {
        var start = errors.Count;
        var candidates = KubeConfig.CandidateFiles(environment);
        var kubeconfig = KubeConfig.Load(candidates, errors);
        if (errors.Count > start) return null;
        var serviceAccountNamespace = ReadServiceAccountNamespace(serviceAccountDirectory);
        if (kubeconfig is not null)
        {
            return FromKubeConfig(kubeconfig, settings, section, time, serviceAccountNamespace, errors);
        }
        if (!string.IsNullOrWhiteSpace(settings.Context))
        {
            errors.Add($"{section}.context is \"{settings.Context}\" but there is no kubeconfig (KUBECONFIG is {(environment.ContainsKey("KUBECONFIG") ? "set to files that do not exist" : "not set")}, {candidates.FirstOrDefault() ?? "~/.kube/config"} does not exist)");
            return null;
        }
        return InCluster(settings, environment, time, serviceAccountDirectory, serviceAccountNamespace, errors);
    }

    private static KubernetesEndpoint? FromKubeConfig(KubeConfig config, KubernetesSettings settings, string section, TimeProvider time,
        string? serviceAccountNamespace, List<string> errors)
    {
        var files = string.Join(":", config.Files);
        var contextName = string.IsNullOrWhiteSpace(settings.Context) ? config.CurrentContext : settings.Context.Trim();
        if (contextName is null)
        {
            errors.Add($"kubeconfig {files} has no current-context; set one (kubectl config use-context) or {section}.context");
            return null;
        }
        if (!config.Contexts.TryGetValue(contextName, out var context))
        {
            var known = config.Contexts.Count == 0 ? "none" : string.Join(", ", config.Contexts.Keys.Order(StringComparer.Ordinal));
            errors.Add($"kubeconfig {files} has no context \"{contextName}\" (contexts: {known})");
            return null;
        }
        var where = $"kubeconfig context \"{contextName}\"";
        if (context.Cluster is null || !config.Clusters.TryGetValue(context.Cluster, out var cluster))
        {
            errors.Add($"{where} names cluster \"{context.Cluster}\", which {files} does not define");
            return null;
        }
        KubeUser? user = null;
        if (context.User is not null && !config.Users.TryGetValue(context.User, out user))
        {
            errors.Add($"{where} names user \"{context.User}\", which {files} does not define");
            return null;
        }
        var start = errors.Count;
        var warnings = new List<string>();
        if (!Uri.TryCreate(cluster.Server, UriKind.Absolute, out var server) || server.Scheme is not ("https" or "http") || server.Host.Length == 0)
        {
            errors.Add($"{where}: cluster \"{cluster.Name}\" has server \"{cluster.Server}\"; expected an https:// (or http://) URL");
        }
        if (cluster.TlsServerName is not null)
        {
            errors.Add($"{where}: cluster \"{cluster.Name}\" sets tls-server-name, which Composer does not support; use a server URL whose host the certificate names");
        }
        if (cluster.ProxyUrl is not null)
        {
            warnings.Add($"{where}: proxy-url of cluster \"{cluster.Name}\" is ignored; the Kubernetes API is reached per {section[..section.IndexOf('.')]}.with_proxy, https_proxy and no_proxy");
        }
        var roots = new X509Certificate2Collection();
        if (cluster.CertificateAuthorityData is { } caData)
        {
            if (KubeConfig.DecodeData(caData, $"{where}: certificate-authority-data of cluster \"{cluster.Name}\"", errors) is { } bytes)
            {
                AddCertificates(roots, KubeConfig.Utf8(bytes), $"{where}: certificate-authority-data of cluster \"{cluster.Name}\"", errors);
            }
        }
        else if (cluster.CertificateAuthority is { } caPath)
        {
            var path = KubeConfig.ResolvePath(caPath, cluster.Directory);
            if (ReadText(path, $"{where}: certificate-authority of cluster \"{cluster.Name}\"", errors) is { } pem)
            {
                AddCertificates(roots, pem, $"{where}: certificate-authority {path}", errors);
            }
        }

        KubernetesToken? token = null;
        X509Certificate2? clientCertificate = null;
        if (user is not null)
        {
            var who = $"{where}: user \"{user.Name}\"";
            if (user.UnsupportedMethod is { } method)
            {
                errors.Add($"{who} authenticates with {method}, which Composer does not support; use a token, a tokenFile or a client certificate (in a cluster: a service account)");
            }
            if (user.Token is { IsEmpty: false } fixedToken) token = KubernetesToken.Fixed(fixedToken.Reveal());
            else if (user.TokenFile is { Length: > 0 } tokenFile) token = KubernetesToken.FromFile(KubeConfig.ResolvePath(tokenFile, user.Directory), time);
            clientCertificate = ClientCertificate(user, who, errors);
        }
        if (errors.Count > start) return null;
        var ns = FirstSet(settings.Namespace, context.Namespace, serviceAccountNamespace) ?? DefaultNamespace;
        return new KubernetesEndpoint(server!, new EndpointTls(roots, cluster.InsecureSkipTlsVerify, clientCertificate), token, ns,
            $"kubeconfig {files}, {where}", warnings);
    }

    private static KubernetesEndpoint? InCluster(KubernetesSettings settings, IReadOnlyDictionary<string, string> environment, TimeProvider time,
        string directory, string? serviceAccountNamespace, List<string> errors)
    {
        environment.TryGetValue("KUBERNETES_SERVICE_HOST", out var host);
        environment.TryGetValue("KUBERNETES_SERVICE_PORT", out var port);
        if (string.IsNullOrWhiteSpace(host) || string.IsNullOrWhiteSpace(port))
        {
            errors.Add("no Kubernetes configuration: no kubeconfig (KUBECONFIG is not set and ~/.kube/config does not exist) and not in a pod " +
                "(KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set)");
            return null;
        }
        host = host.Trim();
        var authority = IPAddress.TryParse(host, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{host}]" : host;
        if (!int.TryParse(port.Trim(), out var portNumber) || portNumber is < 1 or > 65535
            || !Uri.TryCreate($"https://{authority}:{portNumber}/", UriKind.Absolute, out var server))
        {
            errors.Add($"in-cluster: KUBERNETES_SERVICE_HOST={host} and KUBERNETES_SERVICE_PORT={port} do not make an https://host:port URL");
            return null;
        }
        var tokenPath = Path.Combine(directory, "token");
        var caPath = Path.Combine(directory, "ca.crt");
        if (!File.Exists(tokenPath))
        {
            errors.Add($"in-cluster: the service account token {tokenPath} does not exist (is automountServiceAccountToken false?)");
            return null;
        }
        var start = errors.Count;
        var roots = new X509Certificate2Collection();
        if (ReadText(caPath, "in-cluster: the service account CA", errors) is { } pem) AddCertificates(roots, pem, $"in-cluster: {caPath}", errors);
        if (errors.Count > start) return null;
        var ns = FirstSet(settings.Namespace, serviceAccountNamespace) ?? DefaultNamespace;
        return new KubernetesEndpoint(server, new EndpointTls(roots, false, null), KubernetesToken.FromFile(tokenPath, time), ns,
            "in-cluster service account", []);
    }

    private static X509Certificate2? ClientCertificate(KubeUser user, string who, List<string> errors)
    {
        var certificate = user.ClientCertificateData is { } certData
            ? KubeConfig.DecodeData(certData, $"{who}: client-certificate-data", errors) is { } c ? KubeConfig.Utf8(c) : null
            : user.ClientCertificate is { } certPath ? ReadText(KubeConfig.ResolvePath(certPath, user.Directory), $"{who}: client-certificate", errors) : null;
        var key = user.ClientKeyData is { } keyData
            ? KubeConfig.DecodeData(keyData.Reveal(), $"{who}: client-key-data", errors) is { } k ? KubeConfig.Utf8(k) : null
            : user.ClientKey is { } keyPath ? ReadText(KubeConfig.ResolvePath(keyPath, user.Directory), $"{who}: client-key", errors) : null;
        var hasCertificate = user.ClientCertificateData is not null || user.ClientCertificate is not null;
        var hasKey = user.ClientKeyData is not null || user.ClientKey is not null;
        if (hasCertificate != hasKey)
        {
            errors.Add($"{who} has a client {(hasCertificate ? "certificate without its key" : "key without its certificate")}");
            return null;
        }
        if (certificate is null || key is null) return null;
        var loaded = ClientCertificatePem.Load(certificate, key, out var problem);
        if (loaded is null) errors.Add($"{who}: {problem}");
        return loaded;
    }

    private static void AddCertificates(X509Certificate2Collection roots, string pem, string what, List<string> errors)
    {
        var before = roots.Count;
        try
        {
            roots.ImportFromPem(pem);
        }
        catch (CryptographicException)
        {
            errors.Add($"{what} is not PEM certificates");
            return;
        }
        if (roots.Count == before) errors.Add($"{what} holds no PEM certificate");
    }

    private static string? ReadText(string path, string what, List<string> errors)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            errors.Add($"{what}: cannot read {path}: {FileErrors.Describe(ex, path)}");
            return null;
        }
    }

    private static string? ReadServiceAccountNamespace(string directory)
    {
        try
        {
            var path = Path.Combine(directory, "namespace");
            return File.Exists(path) ? File.ReadAllText(path).Trim() is { Length: > 0 } ns ? ns : null : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? FirstSet(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrWhiteSpace(v))?.Trim();
}

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

    private KubernetesEndpoint(Uri server, EndpointTls tls, KubernetesToken? token, string ns, string source)
    {
        Server = server;
        Tls = tls;
        Token = token;
        Namespace = ns;
        Source = source;
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

    public override string ToString() => $"{Server} ({Source}, namespace {Namespace})";

    /// <param name="settings">The platform's daemon.kubernetes block: context and namespace.</param>
    /// <param name="section">Its key, e.g. "opencti.daemon.kubernetes": the key of every problem.</param>
    /// <param name="environment">The process environment (KUBECONFIG, HOME, KUBERNETES_SERVICE_HOST/PORT).</param>
    /// <param name="report">Where the problems go, each with its source (KUBECONFIG, ~/.kube/config, the in-cluster
    /// service account); also the settings Composer does not apply (proxy-url), as warnings.</param>
    /// <param name="serviceAccountDirectory">Where the service account files are mounted (tests point elsewhere).</param>
    /// <returns>The endpoint, or null when a problem was reported.</returns>
    public static KubernetesEndpoint? Resolve(KubernetesSettings settings, string section, IReadOnlyDictionary<string, string> environment,
        ConfigReport report, string serviceAccountDirectory = ServiceAccountDirectory)
    {
        var candidates = KubeConfig.CandidateFiles(environment);
        var problems = new KubeconfigProblems(report, section, KubeConfig.CandidateSource(environment));
        var kubeconfig = KubeConfig.Load(candidates, problems);
        if (problems.Count > 0) return null;
        var serviceAccountNamespace = ReadServiceAccountNamespace(serviceAccountDirectory);
        if (kubeconfig is not null)
        {
            return FromKubeConfig(kubeconfig, settings, section, serviceAccountNamespace, problems);
        }
        if (!string.IsNullOrWhiteSpace(settings.Context))
        {
            report.Error($"{section}.context", $"\"{settings.Context}\" names a kubeconfig context but there is no kubeconfig (KUBECONFIG is {(environment.ContainsKey("KUBECONFIG") ? "set to files that do not exist" : "not set")}, {candidates.FirstOrDefault() ?? "~/.kube/config"} does not exist)");
            return null;
        }
        return InCluster(settings, environment, serviceAccountDirectory, serviceAccountNamespace,
            new KubeconfigProblems(report, section, InClusterSource));
    }

    /// <summary>What the endpoint comes from when there is no kubeconfig.</summary>
    public const string InClusterSource = "in-cluster service account";

    private static KubernetesEndpoint? FromKubeConfig(KubeConfig config, KubernetesSettings settings, string section,
        string? serviceAccountNamespace, KubeconfigProblems problems)
    {
        var files = string.Join(":", config.Files);
        var contextName = string.IsNullOrWhiteSpace(settings.Context) ? config.CurrentContext : settings.Context.Trim();
        if (contextName is null)
        {
            problems.Add($"kubeconfig {files} has no current-context; set one (kubectl config use-context) or {section}.context");
            return null;
        }
        if (!config.Contexts.TryGetValue(contextName, out var context))
        {
            var known = config.Contexts.Count == 0 ? "none" : string.Join(", ", config.Contexts.Keys.Order(StringComparer.Ordinal));
            problems.Add($"kubeconfig {files} has no context \"{contextName}\" (contexts: {known})");
            return null;
        }
        var where = $"kubeconfig context \"{contextName}\"";
        if (context.Cluster is null || !config.Clusters.TryGetValue(context.Cluster, out var cluster))
        {
            problems.Add($"{where} names cluster \"{context.Cluster}\", which {files} does not define");
            return null;
        }
        KubeUser? user = null;
        if (context.User is not null && !config.Users.TryGetValue(context.User, out user))
        {
            problems.Add($"{where} names user \"{context.User}\", which {files} does not define");
            return null;
        }
        var start = problems.Count;
        if (!Uri.TryCreate(cluster.Server, UriKind.Absolute, out var server) || server.Scheme is not ("https" or "http") || server.Host.Length == 0)
        {
            problems.Add($"{where}: cluster \"{cluster.Name}\" has server \"{cluster.Server}\"; expected an https:// (or http://) URL");
        }
        if (cluster.TlsServerName is not null)
        {
            problems.Add($"{where}: cluster \"{cluster.Name}\" sets tls-server-name, which Composer does not support; use a server URL whose host the certificate names");
        }
        if (cluster.ProxyUrl is not null)
        {
            problems.Warn($"{where}: proxy-url of cluster \"{cluster.Name}\" is ignored; the Kubernetes API is reached per {section[..section.IndexOf('.')]}.with_proxy, https_proxy and no_proxy");
        }
        var roots = new X509Certificate2Collection();
        if (cluster.CertificateAuthorityData is { } caData)
        {
            if (KubeConfig.DecodeData(caData, $"{where}: certificate-authority-data of cluster \"{cluster.Name}\"", problems) is { } bytes)
            {
                AddCertificates(roots, KubeConfig.Utf8(bytes), $"{where}: certificate-authority-data of cluster \"{cluster.Name}\"", problems);
            }
        }
        else if (cluster.CertificateAuthority is { } caPath)
        {
            var path = KubeConfig.ResolvePath(caPath, cluster.Directory);
            if (ReadText(path, $"{where}: certificate-authority of cluster \"{cluster.Name}\"", problems) is { } pem)
            {
                AddCertificates(roots, pem, $"{where}: certificate-authority {path}", problems);
            }
        }

        KubernetesToken? token = null;
        X509Certificate2? clientCertificate = null;
        if (user is not null)
        {
            var who = $"{where}: user \"{user.Name}\"";
            if (user.UnsupportedMethod is { } method)
            {
                problems.Add($"{who} authenticates with {method}, which Composer does not support; use a token, a tokenFile or a client certificate (in a cluster: a service account)");
            }
            if (user.Token is { IsEmpty: false } fixedToken) token = KubernetesToken.Fixed(fixedToken.Reveal());
            else if (user.TokenFile is { Length: > 0 } tokenFile) token = KubernetesToken.FromFile(KubeConfig.ResolvePath(tokenFile, user.Directory));
            clientCertificate = ClientCertificate(user, who, problems);
        }
        if (problems.Count > start) return null;
        var ns = FirstSet(settings.Namespace, context.Namespace, serviceAccountNamespace) ?? DefaultNamespace;
        return new KubernetesEndpoint(server!, new EndpointTls(roots, cluster.InsecureSkipTlsVerify, clientCertificate), token, ns,
            $"kubeconfig {files}, {where}");
    }

    private static KubernetesEndpoint? InCluster(KubernetesSettings settings, IReadOnlyDictionary<string, string> environment,
        string directory, string? serviceAccountNamespace, KubeconfigProblems problems)
    {
        environment.TryGetValue("KUBERNETES_SERVICE_HOST", out var host);
        environment.TryGetValue("KUBERNETES_SERVICE_PORT", out var port);
        if (string.IsNullOrWhiteSpace(host) || string.IsNullOrWhiteSpace(port))
        {
            problems.Add("no Kubernetes configuration: no kubeconfig (KUBECONFIG is not set and ~/.kube/config does not exist) and not in a pod " +
                "(KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set)");
            return null;
        }
        host = host.Trim();
        var authority = IPAddress.TryParse(host, out var ip) && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{host}]" : host;
        if (!int.TryParse(port.Trim(), out var portNumber) || portNumber is < 1 or > 65535
            || !Uri.TryCreate($"https://{authority}:{portNumber}/", UriKind.Absolute, out var server))
        {
            problems.Add($"in-cluster: KUBERNETES_SERVICE_HOST={host} and KUBERNETES_SERVICE_PORT={port} do not make an https://host:port URL");
            return null;
        }
        var tokenPath = Path.Combine(directory, "token");
        var caPath = Path.Combine(directory, "ca.crt");
        if (!File.Exists(tokenPath))
        {
            problems.Add($"in-cluster: the service account token {tokenPath} does not exist (is automountServiceAccountToken false?)");
            return null;
        }
        var start = problems.Count;
        var roots = new X509Certificate2Collection();
        if (ReadText(caPath, "in-cluster: the service account CA", problems) is { } pem) AddCertificates(roots, pem, $"in-cluster: {caPath}", problems);
        if (problems.Count > start) return null;
        var ns = FirstSet(settings.Namespace, serviceAccountNamespace) ?? DefaultNamespace;
        return new KubernetesEndpoint(server, new EndpointTls(roots, false, null), KubernetesToken.FromFile(tokenPath), ns, InClusterSource);
    }

    private static X509Certificate2? ClientCertificate(KubeUser user, string who, KubeconfigProblems problems)
    {
        var certificate = user.ClientCertificateData is { } certData
            ? KubeConfig.DecodeData(certData, $"{who}: client-certificate-data", problems) is { } c ? KubeConfig.Utf8(c) : null
            : user.ClientCertificate is { } certPath ? ReadText(KubeConfig.ResolvePath(certPath, user.Directory), $"{who}: client-certificate", problems) : null;
        var key = user.ClientKeyData is { } keyData
            ? KubeConfig.DecodeData(keyData.Reveal(), $"{who}: client-key-data", problems) is { } k ? KubeConfig.Utf8(k) : null
            : user.ClientKey is { } keyPath ? ReadText(KubeConfig.ResolvePath(keyPath, user.Directory), $"{who}: client-key", problems) : null;
        var hasCertificate = user.ClientCertificateData is not null || user.ClientCertificate is not null;
        var hasKey = user.ClientKeyData is not null || user.ClientKey is not null;
        if (hasCertificate != hasKey)
        {
            problems.Add($"{who} has a client {(hasCertificate ? "certificate without its key" : "key without its certificate")}");
            return null;
        }
        if (certificate is null || key is null) return null;
        var loaded = ClientCertificatePem.Load(certificate, key);
        if (!loaded.IsSuccess) problems.Add($"{who}: {loaded.Failure.Message}");
        return loaded.Value;
    }

    private static void AddCertificates(X509Certificate2Collection roots, string pem, string what, KubeconfigProblems problems)
    {
        var before = roots.Count;
        try
        {
            roots.ImportFromPem(pem);
        }
        catch (CryptographicException)
        {
            problems.Add($"{what} is not PEM certificates");
            return;
        }
        if (roots.Count == before) problems.Add($"{what} holds no PEM certificate");
    }

    private static string? ReadText(string path, string what, KubeconfigProblems problems)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            problems.Add($"{what}: cannot read {path}: {FileErrors.Describe(ex, path)}");
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

using System.Security.Cryptography.X509Certificates;
using System.Text;
using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Network;
using Composer.Orchestration.Kubernetes;
using Composer.Tests.Infrastructure;
using Composer.Tests.Orchestration.Docker;
using Microsoft.Extensions.Time.Testing;

namespace Composer.Tests.Orchestration.Kubernetes;

/// <summary>Which API server, credentials and namespace a kubeconfig (or its absence) gives, and that they work over TLS for real.</summary>
public class KubeConfigTests
{
    private sealed class Scratch : IDisposable
    {
        public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("composer-kubeconfig-").FullName;

        public string Write(string name, string text)
        {
            var path = Path.Combine(Directory, name);
            System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, text);
            return path;
        }

        public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
    }

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    /// <summary>The endpoint, and the messages of the problems the resolve step reports (each under opencti.daemon.kubernetes, with where it came from).</summary>
    private static (KubernetesEndpoint? Endpoint, List<string> Errors) Resolve(Dictionary<string, string> environment, KubernetesSettings? settings = null,
        string? serviceAccountDirectory = null) => ResolveWithReport(environment, settings, serviceAccountDirectory) is var (endpoint, report)
        ? (endpoint, report.Errors.Select(e => e.Message).ToList())
        : default;

    private static (KubernetesEndpoint? Endpoint, TestReport Report) ResolveWithReport(Dictionary<string, string> environment, KubernetesSettings? settings = null,
        string? serviceAccountDirectory = null)
    {
        var report = TestReport.New();
        var endpoint = KubernetesEndpoint.Resolve(settings ?? new KubernetesSettings(), "opencti.daemon.kubernetes", environment, report.Report,
            serviceAccountDirectory ?? "/nonexistent/serviceaccount");
        return (endpoint, report);
    }

    private static string Config(string currentContext, string clusters, string users, string contexts) => $"""
        apiVersion: v1
        kind: Config
        current-context: {currentContext}
        clusters:
        {clusters}
        users:
        {users}
        contexts:
        {contexts}
        """;

    private const string OneCluster = """
        - name: prod
          cluster:
            server: https://prod.example.com:6443
        - name: dev
          cluster:
            server: https://dev.example.com:6443/k8s/clusters/c-1
            insecure-skip-tls-verify: true
        """;

    private const string TwoUsers = """
        - name: admin
          user:
            token: "0123456789"
        - name: dev
          user:
            tokenFile: tokens/dev
        """;

    private const string TwoContexts = """
        - name: prod
          context:
            cluster: prod
            user: admin
            namespace: connectors
        - name: dev
          context:
            cluster: dev
            user: dev
        """;

    [Test]
    public async Task The_current_context_gives_server_token_and_namespace()
    {
        using var s = new Scratch();
        var path = s.Write("config", Config("prod", OneCluster, TwoUsers, TwoContexts));
        var (endpoint, errors) = Resolve(new() { ["KUBECONFIG"] = path });
        await Assert.That(errors).IsEmpty();
        await Assert.That(endpoint!.Server.ToString()).IsEqualTo("https://prod.example.com:6443/");
        await Assert.That(endpoint.Namespace).IsEqualTo("connectors");
        var read = endpoint.Token!.Get(TimeProvider.System);
        await Assert.That(read.IsSuccess).IsTrue();
        var token = read.Value;
        // A quoted token of digits stays as written.
        await Assert.That(token!.Reveal()).IsEqualTo("0123456789");
        await Assert.That(endpoint.Source).Contains("context \"prod\"");
        await Assert.That(endpoint.Tls.SkipVerification).IsFalse();
        await Assert.That(endpoint.Token.ToString()).DoesNotContain("0123456789");
    }

    [Test]
    public async Task A_configured_context_wins_and_its_token_file_is_relative_to_the_kubeconfig()
    {
        using var s = new Scratch();
        var path = s.Write("kube/config", Config("prod", OneCluster, TwoUsers, TwoContexts));
        s.Write("kube/tokens/dev", "dev-token\n");
        var (endpoint, errors) = Resolve(new() { ["KUBECONFIG"] = path }, new KubernetesSettings { Context = "dev" });
        await Assert.That(errors).IsEmpty();
        await Assert.That(endpoint!.Server.AbsolutePath).IsEqualTo("/k8s/clusters/c-1");
        await Assert.That(endpoint.Tls.SkipVerification).IsTrue();
        await Assert.That(endpoint.Token!.Path).IsEqualTo(Path.Combine(s.Directory, "kube", "tokens", "dev"));
        await Assert.That(endpoint.Token.Get(TimeProvider.System).Value!.Reveal()).IsEqualTo("dev-token");
        await Assert.That(endpoint.Namespace).IsEqualTo("default");
    }

    [Test]
    public async Task An_unknown_context_lists_the_known_ones()
    {
        using var s = new Scratch();
        var path = s.Write("config", Config("prod", OneCluster, TwoUsers, TwoContexts));
        var (endpoint, errors) = Resolve(new() { ["KUBECONFIG"] = path }, new KubernetesSettings { Context = "staging" });
        await Assert.That(endpoint).IsNull();
        await Assert.That(errors.Single()).Contains("no context \"staging\" (contexts: dev, prod)");
    }

    [Test]
    public async Task Kubeconfig_lists_merge_with_the_first_file_winning_per_name_and_missing_files_skipped()
    {
        using var s = new Scratch();
        var first = s.Write("first", """
            clusters:
            - name: shared
              cluster:
                server: https://first.example.com
            users:
            - name: u
              user:
                token: first-token
            contexts:
            - name: c
              context: {cluster: shared, user: u, namespace: first-ns}
            """);
        var second = s.Write("second", """
            current-context: c
            clusters:
            - name: shared
              cluster:
                server: https://second.example.com
            - name: only-second
              cluster:
                server: https://only.example.com
            contexts:
            - name: c
              context: {cluster: only-second, user: u}
            - name: other
              context: {cluster: only-second, user: u}
            """);
        var (endpoint, errors) = Resolve(new() { ["KUBECONFIG"] = $"{Path.Combine(s.Directory, "missing")}:{first}::{second}" });
        await Assert.That(errors).IsEmpty();
        // current-context from the second file (the first sets none); context c and cluster shared from the first.
        await Assert.That(endpoint!.Server.Host).IsEqualTo("first.example.com");
        await Assert.That(endpoint.Namespace).IsEqualTo("first-ns");
        await Assert.That(endpoint.Source).Contains($"{first}:{second}");
    }

    [Test]
    public async Task Without_KUBECONFIG_the_home_kubeconfig_is_read()
    {
        using var s = new Scratch();
        s.Write(".kube/config", Config("prod", OneCluster, TwoUsers, TwoContexts));
        var (endpoint, errors) = Resolve(new() { ["HOME"] = s.Directory });
        await Assert.That(errors).IsEmpty();
        await Assert.That(endpoint!.Server.Host).IsEqualTo("prod.example.com");
    }

    [Test]
    public async Task The_namespace_comes_from_the_setting_then_the_context_then_the_service_account_then_default()
    {
        using var s = new Scratch();
        var path = s.Write("config", Config("prod", OneCluster, TwoUsers, TwoContexts));
        var sa = Path.Combine(s.Directory, "sa");
        s.Write("sa/namespace", "pod-ns\n");
        await Assert.That(Resolve(new() { ["KUBECONFIG"] = path }, new KubernetesSettings { Namespace = "configured" }, sa).Endpoint!.Namespace).IsEqualTo("configured");
        await Assert.That(Resolve(new() { ["KUBECONFIG"] = path }, null, sa).Endpoint!.Namespace).IsEqualTo("connectors");
        await Assert.That(Resolve(new() { ["KUBECONFIG"] = path }, new KubernetesSettings { Context = "dev" }, sa).Endpoint!.Namespace).IsEqualTo("pod-ns");
        await Assert.That(Resolve(new() { ["KUBECONFIG"] = path }, new KubernetesSettings { Context = "dev" }).Endpoint!.Namespace).IsEqualTo("default");
    }

    [Test]
    public async Task Client_certificates_and_the_ca_are_read_from_files_relative_to_the_kubeconfig()
    {
        using var ca = new TestCertificateAuthority("kubeconfig test CA");
        using var client = ca.IssueClient("composer");
        using var s = new Scratch();
        s.Write("pki/ca.pem", ca.CertificatePem);
        s.Write("pki/client.pem", client.ExportCertificatePem());
        s.Write("pki/client.key", client.GetRSAPrivateKey()!.ExportPkcs8PrivateKeyPem());
        var path = s.Write("config", Config("c",
            "- name: k\n  cluster:\n    server: https://k.example.com\n    certificate-authority: pki/ca.pem",
            "- name: u\n  user:\n    client-certificate: pki/client.pem\n    client-key: pki/client.key",
            "- name: c\n  context:\n    cluster: k\n    user: u"));
        var (endpoint, errors) = Resolve(new() { ["KUBECONFIG"] = path });
        await Assert.That(errors).IsEmpty();
        await Assert.That(endpoint!.Tls.TrustedRoots.Single().Thumbprint).IsEqualTo(ca.Certificate.Thumbprint);
        await Assert.That(endpoint.Tls.ClientCertificate!.Thumbprint).IsEqualTo(client.Thumbprint);
        await Assert.That(endpoint.Tls.ClientCertificate.HasPrivateKey).IsTrue();
        await Assert.That(endpoint.Token).IsNull();
    }

    [Test]
    [Arguments("    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: aws", "exec (credential plugins)")]
    [Arguments("    auth-provider:\n      name: oidc", "auth-provider")]
    [Arguments("    username: admin\n    password: secret", "username/password")]
    [Arguments("    client-certificate-data: Zm9v", "a client certificate without its key")]
    [Arguments("    token: t\n    client-key-data: \"not base64!\"", "client-key-data is not base64")]
    public async Task Unsupported_or_broken_users_are_errors_that_name_the_problem(string user, string expected)
    {
        using var s = new Scratch();
        var path = s.Write("config", Config("c", "- name: k\n  cluster:\n    server: https://k.example.com", "- name: u\n  user:\n" + user, "- name: c\n  context:\n    cluster: k\n    user: u"));
        var (endpoint, errors) = Resolve(new() { ["KUBECONFIG"] = path });
        await Assert.That(endpoint).IsNull();
        await Assert.That(string.Join("; ", errors)).Contains(expected);
        await Assert.That(string.Join("; ", errors)).DoesNotContain("secret");
    }

    [Test]
    public async Task Nothing_to_connect_with_is_one_clear_error()
    {
        var (endpoint, errors) = Resolve(new() { ["HOME"] = "/nonexistent-home" });
        await Assert.That(endpoint).IsNull();
        await Assert.That(errors.Single()).Contains("no Kubernetes configuration");
        await Assert.That(errors.Single()).Contains("KUBERNETES_SERVICE_HOST");
    }

    [Test]
    public async Task Invalid_yaml_names_the_file_and_position()
    {
        using var s = new Scratch();
        var path = s.Write("config", "clusters: [\n  - name: x\n");
        var (endpoint, errors) = Resolve(new() { ["KUBECONFIG"] = path });
        await Assert.That(endpoint).IsNull();
        await Assert.That(errors.Single()).StartsWith($"kubeconfig {path}:");
        await Assert.That(errors.Single()).Contains("invalid YAML");
    }

    [Test]
    public async Task A_proxy_url_is_reported_as_ignored()
    {
        using var s = new Scratch();
        var path = s.Write("config", Config("c", "- name: k\n  cluster:\n    server: https://k.example.com\n    proxy-url: http://proxy:3128", "- name: u\n  user:\n    token: t", "- name: c\n  context:\n    cluster: k\n    user: u"));
        var (endpoint, report) = ResolveWithReport(new() { ["KUBECONFIG"] = path });
        await Assert.That(endpoint).IsNotNull();
        await Assert.That(report.Warnings.Single().Message).Contains("proxy-url");
        await Assert.That(report.Warnings.Single().Message).Contains("opencti.with_proxy");
        await Assert.That(report.Warnings.Single().Source).IsEqualTo("environment KUBECONFIG");
    }

    // ---- over TLS, against the stand-in ---------------------------------------------------------------------------

    private static async Task<Composer.Diagnostics.Failure?> CheckAsync(KubernetesStandIn api, string kubeconfig)
    {
        var resolved = TestSettings.Resolve(new ComposerSettings());
        return await KubernetesHarness.CheckAsync(resolved, new Dictionary<string, string> { ["KUBECONFIG"] = kubeconfig }, "/nonexistent/serviceaccount", "m");
    }

    [Test]
    public async Task A_client_certificate_from_the_kubeconfig_authenticates_and_the_cluster_ca_is_the_only_trust()
    {
        await using var api = await KubernetesStandIn.StartAsync();
        using var s = new Scratch();
        using var client = api.IssueClientCertificate("composer-cert");
        var kubeconfig = api.WriteKubeconfig(Path.Combine(s.Directory, "cert-config"), "ns", clientCertificate: client);
        await Assert.That((await CheckAsync(api, kubeconfig))?.Message).IsNull();
        await Assert.That(api.Requests.Last().User).IsEqualTo("composer-cert");

        // Another CA than the cluster's: the server is not trusted.
        using var other = new TestCertificateAuthority("not the cluster CA");
        var wrongCa = s.Write("wrong-ca-config", File.ReadAllText(kubeconfig).Replace(B64(api.Ca.CertificatePem), B64(other.CertificatePem), StringComparison.Ordinal));
        var error = await CheckAsync(api, wrongCa);
        await Assert.That(error?.Message).Contains("unreachable");

        // insecure-skip-tls-verify: accepted without any CA.
        var insecure = s.Write("insecure-config", string.Join('\n', File.ReadAllLines(wrongCa)
            .Select(l => l.Contains("certificate-authority-data", StringComparison.Ordinal) ? "    insecure-skip-tls-verify: true" : l)));
        await Assert.That((await CheckAsync(api, insecure))?.Message).IsNull();
    }
}

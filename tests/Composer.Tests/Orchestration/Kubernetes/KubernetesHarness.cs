using System.Text;
using Composer.Configuration;
using Composer.Images;
using Composer.Network;
using Composer.Orchestration;
using Composer.Orchestration.Kubernetes;
using Composer.Reconciliation;
using Composer.Tests.Infrastructure;
using Composer.Tests.Orchestration.Docker;
using Microsoft.Extensions.Time.Testing;

namespace Composer.Tests.Orchestration.Kubernetes;

/// <summary>
/// A Kubernetes orchestrator wired as production wires it, against a fresh stand-in: a generated kubeconfig
/// (KUBECONFIG) with the stand-in's CA and a token, the real outbound handler factory, and the registry access against the
/// session's htpasswd registry (which holds the connector image). Each harness has its own manager id, namespace and
/// temporary directory.
/// </summary>
public sealed class KubernetesHarness : IAsyncDisposable
{
    public const string ConnectorImage = HtpasswdRegistryFixture.KnownRepository + ":" + HtpasswdRegistryFixture.KnownTag;

    private KubernetesHarness(KubernetesStandIn api, string directory, string ns, string managerId, FakeTimeProvider time, HtpasswdRegistryFixture registry, bool inCluster)
    {
        InCluster = inCluster;
        Api = api;
        Directory = directory;
        Namespace = ns;
        ManagerId = managerId;
        Time = time;
        Registry = registry;
    }

    public KubernetesStandIn Api { get; }

    /// <summary>Connected as a pod is: service account files and KUBERNETES_SERVICE_HOST/PORT, no kubeconfig.</summary>
    public bool InCluster { get; }

    /// <summary>Where the service account files are (in-cluster mode): token, ca.crt, namespace.</summary>
    public string ServiceAccountDirectory => Path.Combine(Directory, "serviceaccount");
    public string Directory { get; }
    public string Namespace { get; }
    public string ManagerId { get; }
    public FakeTimeProvider Time { get; }
    public HtpasswdRegistryFixture Registry { get; }
    public KubernetesOrchestrator Orchestrator { get; private set; } = null!;
    public RegistryAccess Access { get; private set; } = null!;
    public ComposerSettings Settings { get; private set; } = null!;

    /// <summary>The pull secret name Composer derives from the registry server.</summary>
    public string PullSecretName => Access.Configuration.PullSecretName;

    /// <summary>Resolves a connector's image as the reconcile cycle does.</summary>
    public ImageResolver Images => Access.Images;

    /// <param name="configure">Changes opencti.daemon.kubernetes (and anything else) before the orchestrator is built.</param>
    /// <param name="registryConfiguration">The registry as a configuration load resolved it (rotation tests: its password file); null: from the settings.</param>
    /// <param name="settings">Settings to use instead of the defaults (e.g. loaded by the configuration loader).</param>
    public static async Task<KubernetesHarness> StartAsync(HtpasswdRegistryFixture registry, Action<ComposerSettings>? configure = null,
        RegistryConfiguration? registryConfiguration = null, ComposerSettings? settings = null, bool namespaceInKubeconfig = true, bool inCluster = false)
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        var directory = Path.Combine(Path.GetTempPath(), "composer-k8s-" + id);
        System.IO.Directory.CreateDirectory(directory);
        var api = await KubernetesStandIn.StartAsync();
        var harness = new KubernetesHarness(api, directory, "ns-" + id, "mgr-" + id, new FakeTimeProvider(DateTimeOffset.UtcNow), registry, inCluster);
        if (inCluster)
        {
            System.IO.Directory.CreateDirectory(harness.ServiceAccountDirectory);
            File.WriteAllText(Path.Combine(harness.ServiceAccountDirectory, "token"), api.Token);
            File.WriteAllText(Path.Combine(harness.ServiceAccountDirectory, "ca.crt"), api.Ca.CertificatePem);
            File.WriteAllText(Path.Combine(harness.ServiceAccountDirectory, "namespace"), harness.Namespace + "\n");
        }
        else
        {
            api.WriteKubeconfig(Path.Combine(directory, "kubeconfig"), namespaceInKubeconfig ? harness.Namespace : null);
        }
        settings ??= DefaultSettings(registry);
        configure?.Invoke(settings);
        harness.Settings = settings;
        harness.Build(registryConfiguration);
        return harness;
    }

    public static ComposerSettings DefaultSettings(HtpasswdRegistryFixture registry)
    {
        var settings = new ComposerSettings();
        settings.OpenCti.Daemon.Registry = new RegistrySettings
        {
            Server = registry.Host,
            Username = HtpasswdRegistryFixture.User,
            Password = new Composer.Diagnostics.Secret(HtpasswdRegistryFixture.Password),
            RetryAttempts = 0,
        };
        return settings;
    }

    private void Build(RegistryConfiguration? registryConfiguration)
    {
        var resolved = TestSettings.Resolve(Settings);
        var handlers = new OutboundHandlerFactory(resolved.Network);
        Access = new RegistryAccess(registryConfiguration ?? resolved.Registry, handlers, time: Time);
        Orchestrator = KubernetesOrchestrator.Create(Resolve(Settings.OpenCti.Daemon.Kubernetes, Environment, ServiceAccountDirectory), new KubernetesOrchestratorOptions
        {
            ManagerId = ManagerId,
            Workloads = DockerTestManager.WorkloadsOf(ManagerId),
            Handlers = handlers,
            Registry = Access,
            Time = Time,
        });
    }

    /// <summary>
    /// One <see cref="KubernetesOrchestrator.CheckAsync"/> of an orchestrator wired as production wires it from
    /// <paramref name="resolved"/> (its network: proxies, KUBERNETES_SERVICE_HOST), connected with this environment.
    /// </summary>
    public static async Task<Composer.Diagnostics.Failure?> CheckAsync(Composer.Resolution.ResolvedSettings resolved, IReadOnlyDictionary<string, string> environment,
        string serviceAccountDirectory, string managerId)
    {
        var handlers = new OutboundHandlerFactory(resolved.Network);
        using var registry = new RegistryAccess(resolved.Registry, handlers);
        await using var orchestrator = KubernetesOrchestrator.Create(Resolve(new KubernetesSettings(), environment, serviceAccountDirectory),
            new KubernetesOrchestratorOptions
            {
                ManagerId = managerId,
                Workloads = DockerTestManager.WorkloadsOf(managerId),
                Handlers = handlers,
                Registry = registry,
                Time = new FakeTimeProvider(),
            });
        return await orchestrator.CheckAsync(CancellationToken.None);
    }

    /// <summary>The platform's Kubernetes as the resolve step decides it, with this environment and service account directory; throws on a problem.</summary>
    public static ResolvedKubernetes Resolve(KubernetesSettings? block, IReadOnlyDictionary<string, string> environment, string serviceAccountDirectory)
    {
        var report = TestReport.New();
        var resolved = ResolvedKubernetes.Parse(block, PlatformKind.OpenCti, used: true, environment, report.Report, serviceAccountDirectory);
        return resolved ?? throw new InvalidOperationException(string.Join("; ", report.Errors));
    }

    /// <summary>The environment the orchestrator reads: KUBECONFIG and HOME pointing into the harness directory, or the in-cluster variables.</summary>
    public Dictionary<string, string> Environment => InCluster
        ? new()
        {
            ["HOME"] = Directory,
            ["KUBERNETES_SERVICE_HOST"] = "127.0.0.1",
            ["KUBERNETES_SERVICE_PORT"] = Api.Server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }
        : new()
        {
            ["KUBECONFIG"] = Path.Combine(Directory, "kubeconfig"),
            ["HOME"] = Directory,
        };

    /// <summary>A connector workload of this manager, with the registry's test image.</summary>
    public ConnectorWorkload Workload(string name, string hash = "hash-1", bool start = true, byte[]? caBundle = null,
        string image = ConnectorImage, string connectorId = "", IReadOnlyList<ConnectorEnvVar>? environment = null)
    {
        var id = connectorId.Length > 0 ? connectorId : Guid.NewGuid().ToString();
        var resolved = Images.Resolve(image);
        if (!resolved.IsSuccess) throw new InvalidOperationException(resolved.Failure.Message);
        return new ConnectorWorkload(id, PlatformKind.OpenCti, name, resolved.Value, hash,
            ConnectorWorkload.LabelsFor(ManagerId, id, PlatformKind.OpenCti, ConnectorLabels.PlatformInstanceValue("http://opencti:8080")),
            environment ?? [new ConnectorEnvVar("CONNECTOR_ID", id), new ConnectorEnvVar("OPENCTI_TOKEN", new Composer.Diagnostics.Secret("secret-token")), new ConnectorEnvVar(ConnectorLabels.ConfigHashVariable, hash)],
            caBundle, start);
    }

    public static byte[] Bundle(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>The single listed workload of that name (fails the test when the list fails).</summary>
    public async Task<ObservedWorkload> ObservedAsync(string name)
    {
        var list = await Orchestrator.ListAsync(CancellationToken.None);
        if (!list.IsSuccess) throw new InvalidOperationException(list.Failure!.Message);
        return list.Value.Single(w => w.Name == name);
    }

    public async ValueTask DisposeAsync()
    {
        await Orchestrator.DisposeAsync();
        Access.Dispose();
        await Api.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

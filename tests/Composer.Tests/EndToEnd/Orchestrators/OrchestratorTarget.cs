using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd.Orchestrators;

/// <summary>The orchestrators the end-to-end scenarios run on besides Docker (the test's data source).</summary>
public enum Orchestrator { Swarm, Portainer, Kubernetes }

/// <summary>The session fixtures an orchestrator under test draws on.</summary>
public sealed record OrchestratorFixtures(SwarmFixture Swarm, HtpasswdRegistryFixture Htpasswd, AnonymousRegistryFixture Anonymous)
{
    public TestConnectorImage Image => Swarm.Image;
    public DockerEngineFixture Docker => Swarm.Docker;
}

public enum WorkloadRun
{
    /// <summary>Meant to run and running (a running task, a running container, a pod).</summary>
    Running,

    /// <summary>Meant not to run, and not running (0 replicas, a stopped or never started container).</summary>
    Stopped,

    /// <summary>Anything in between (a task starting, a pod missing).</summary>
    Other,
}

/// <summary>
/// One connector's workload as the test reads it from the orchestrator itself (service spec and tasks, container
/// inspection, Deployment and pods), never through Composer.
/// </summary>
/// <param name="Id">The service id, container id or Deployment uid: the same object across cycles.</param>
/// <param name="Image">The image of the spec (Swarm pins it: host/repository:tag@sha256:...).</param>
/// <param name="EnvironmentEntries">The spec's environment as it is, NAME=value entries in order (repeats included).</param>
internal sealed record WorkloadView(string Id, string Name, string ConnectorId, string Image, WorkloadRun Run, IReadOnlyList<string> EnvironmentEntries)
{
    /// <summary>The environment by name (the last entry of a name wins, as the orchestrators apply it).</summary>
    public IReadOnlyDictionary<string, string> Environment => ParseEnvironment(EnvironmentEntries);

    /// <summary>The names the spec gives more than once (none, when each variable is given once).</summary>
    public IReadOnlyList<string> RepeatedNames =>
        [.. EnvironmentEntries.Select(e => e.IndexOf('=') is var i and > 0 ? e[..i] : e).GroupBy(n => n, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key)];

    public string? Variable(string name) => Environment.GetValueOrDefault(name);

    public string? ConfigHash => Variable("OPENCTI_CONFIG_HASH");

    /// <summary>
    /// Whether the orchestrator is told to run it (replicas 1 or more; a container running, as a stop ends only once
    /// it exited), whatever runs yet: what Composer changes at once, the rest is the orchestrator's own pace.
    /// </summary>
    public required bool MeantToRun { get; init; }

    /// <summary>The engine log settings of the workload (a container's LogConfig, a service's task LogDriver); null when it has none of its own.</summary>
    public (string Driver, IReadOnlyDictionary<string, string> Options)? Logs { get; init; }

    /// <summary>NAME=value entries (the value is everything after the first '='); the last one of a name wins.</summary>
    public static IReadOnlyDictionary<string, string> ParseEnvironment(IEnumerable<string>? entries)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in entries ?? [])
        {
            var equals = entry.IndexOf('=');
            if (equals > 0) environment[entry[..equals]] = entry[(equals + 1)..];
        }
        return environment;
    }

    public override string ToString() => $"{Name} {Run} {Image}";
}

/// <summary>
/// An orchestrator the end-to-end scenarios run on: what it needs around the published binary (a single-node swarm
/// behind a <see cref="DockerApiRelay"/>, a <see cref="PortainerStandIn"/> in front of the engine, a
/// <see cref="KubernetesStandIn"/> with a kubeconfig), the <see cref="EndToEndManager"/> configured for it, and the
/// few things each does its own way, in small members the shared scenarios call: how a workload is read, how an image
/// reaches it, how its CA bundle is delivered, how its listing is broken and how a deploy is interrupted. Disposing it
/// disposes the manager, which removes what the orchestrator holds for this manager once composer is gone.
/// </summary>
internal abstract class OrchestratorTarget : IAsyncDisposable
{
    /// <summary>with_proxy's proxy: never contacted (every target Composer talks to is on loopback, never proxied), only handed to connectors.</summary>
    private const string ProxyHost = "proxy.e2e.invalid:3128";

    protected OrchestratorTarget(EndToEndManager manager, OrchestratorFixtures fixtures)
    {
        Manager = manager;
        Fixtures = fixtures;
    }

    public EndToEndManager Manager { get; }
    public OrchestratorFixtures Fixtures { get; }
    public PlatformStandIn StandIn => Manager.StandIn;

    /// <summary>swarm, portainer or kubernetes: the selector.</summary>
    public abstract string Kind { get; }

    /// <summary>Whether the CA bundle becomes an object of its own (a swarm config, a Secret), created and removed with the workload.</summary>
    public abstract bool HasCaObject { get; }

    /// <summary>An image a connector runs without any registry configuration.</summary>
    public abstract string RunnableImage { get; }

    /// <summary>An image that does not come from the configured registry server and needs no credentials.</summary>
    public abstract string ImageOutsideTheRegistry { get; }

    public static async Task<OrchestratorTarget> StartAsync(Orchestrator orchestrator, OrchestratorFixtures fixtures) => orchestrator switch
    {
        Orchestrator.Swarm => await SwarmTarget.StartAsync(fixtures),
        Orchestrator.Portainer => await PortainerTarget.StartAsync(fixtures),
        Orchestrator.Kubernetes => await KubernetesTarget.StartAsync(fixtures),
        _ => throw new ArgumentOutOfRangeException(nameof(orchestrator)),
    };

    /// <summary>Every workload of this manager.</summary>
    public abstract Task<IReadOnlyList<WorkloadView>> WorkloadsAsync();

    /// <summary>Whether Composer bounds the engine's logs of its workloads here (Kubernetes: the kubelet rotates them).</summary>
    public virtual bool BoundsEngineLogs => true;

    /// <summary>
    /// Makes the connector's log flood: the test image floods by itself (FLOOD=1); a target that runs no image writes
    /// a burst of the flood into the log itself (called again for each upload a test waits for).
    /// </summary>
    public virtual Task FloodAsync(WorkloadView workload) => Task.CompletedTask;

    /// <summary>Pushes an image into the registry at <paramref name="host"/> so that a deploy has to get it from there; host/repository:1.</summary>
    public abstract Task<string> PushAsync(string host, string user, string password, string repository);

    /// <summary>That the workload's image came from its registry with these credentials (what each orchestrator can show of it).</summary>
    public abstract Task AssertPulledAsync(WorkloadView workload, string reference, string user, string password, RegistryFixture registry);

    /// <summary>That the connector has the CA bundle (with <paramref name="ca"/>) at its path, the way this orchestrator delivers it.</summary>
    public abstract Task AssertCaBundleAsync(WorkloadView workload, TestCertificateAuthority ca);

    /// <summary>The CA objects Composer created for the connector (swarm configs, Secrets); 0 where the bundle is copied in.</summary>
    public abstract Task<int> CaObjectsAsync(WorkloadView workload);

    /// <summary>A line the running connector writes to its log, to be found on the platform.</summary>
    public virtual Task<string> ConnectorLogLineAsync(WorkloadView workload) => Task.FromResult($"{TestConnectorImage.StartLine}: {workload.ConnectorId}");

    /// <summary>From now on, listing this manager's workloads fails (until <see cref="RestoreListing"/>).</summary>
    public abstract void BreakListing();

    public abstract void RestoreListing();

    /// <summary>Arranges for the next deploy to stop midway, unanswered; completes when a deploy got there.</summary>
    public abstract Task<string> HoldMidDeploy();

    public abstract void StopHolding();

    /// <summary>
    /// From now on, the slow step of a deploy here is held (Swarm, Portainer: the image pull; Kubernetes: the
    /// Deployment's create, carried out but not answered); completes when one is held. <see cref="StopHolding"/> lets
    /// the next ones through, <see cref="ReleaseHeld"/> also answers the held ones, late.
    /// </summary>
    public abstract Task<string> HoldSlowStep();

    /// <summary>The held requests are answered (late: a slow answer, nothing else changes) and no more are held.</summary>
    public abstract void ReleaseHeld();

    /// <summary>The requests of the step <see cref="HoldSlowStep"/> holds that Composer made so far, held ones included.</summary>
    public abstract int SlowSteps { get; }

    /// <summary>with_proxy on: proxy variables (with credentials, a secret), NO_PROXY and a CA in HTTPS_PROXY_CA for every composer of the manager.</summary>
    public TestCertificateAuthority UseProxy(out string proxyUrl, out string noProxy)
    {
        var ca = new TestCertificateAuthority("Composer end-to-end CA " + Manager.ManagerId);
        proxyUrl = $"http://e2e-proxy:{Manager.Secret("px+" + Guid.NewGuid().ToString("N")[..12])}@{ProxyHost}";
        noProxy = "localhost,127.0.0.1,.internal.example";
        Manager.Environment["OPENCTI__WITH_PROXY"] = "true";
        Manager.Environment["HTTP_PROXY"] = proxyUrl;
        Manager.Environment["HTTPS_PROXY"] = proxyUrl;
        Manager.Environment["NO_PROXY"] = noProxy;
        Manager.Environment["HTTPS_PROXY_CA"] = ca.WritePem(Manager.Directory, "proxy-ca");
        return ca;
    }

    public async Task<List<WorkloadView>> WorkloadsOfAsync(string connectorId) =>
        [.. (await WorkloadsAsync()).Where(w => w.ConnectorId == connectorId)];

    /// <summary>Polls until the connector has exactly one workload in <paramref name="run"/> (and <paramref name="also"/>); that workload.</summary>
    public async Task<WorkloadView> WaitForWorkloadAsync(string connectorId, WorkloadRun run = WorkloadRun.Running, Func<WorkloadView, bool>? also = null)
    {
        WorkloadView? found = null;
        await Manager.EventuallyAsync(async () =>
        {
            var workloads = await WorkloadsOfAsync(connectorId);
            found = workloads.Count == 1 && workloads[0].Run == run && (also?.Invoke(workloads[0]) ?? true) ? workloads[0] : null;
            return found is not null;
        }, $"exactly one {run} {Kind} workload for connector {connectorId}", DescribeAsync);
        return found!;
    }

    /// <summary>Polls until the connector's one workload is meant not to run (Composer acted on a stop), running yet or not.</summary>
    public Task WaitUntilMeantToStopAsync(string connectorId) =>
        Manager.EventuallyAsync(async () => await WorkloadsOfAsync(connectorId) is [{ MeantToRun: false }],
            $"exactly one {Kind} workload for connector {connectorId}, meant not to run", DescribeAsync);

    public Task WaitForNoWorkloadAsync(string connectorId) =>
        Manager.EventuallyAsync(async () => (await WorkloadsOfAsync(connectorId)).Count == 0, $"no {Kind} workload left for connector {connectorId}", DescribeAsync);

    public async Task<string> DescribeAsync() => "[" + string.Join(", ", await WorkloadsAsync()) + "]";

    public virtual ValueTask DisposeAsync() => Manager.DisposeAsync();
}

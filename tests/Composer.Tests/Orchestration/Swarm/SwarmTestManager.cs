using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Images;
using Composer.Orchestration;
using Composer.Orchestration.Docker;
using Composer.Orchestration.Swarm;
using Composer.Reconciliation;
using Composer.Tests.Infrastructure;
using Composer.Tests.Orchestration.Docker;
using Docker.DotNet.Models;

namespace Composer.Tests.Orchestration.Swarm;

/// <summary>
/// One test's manager on the shared single-node swarm: a unique manager id, a <see cref="SwarmOrchestrator"/> for it,
/// workloads with unique names, and on dispose the removal of every service and config labelled with that manager id
/// (and the image tags the test asked to remove).
/// </summary>
internal sealed class SwarmTestManager : IAsyncDisposable
{
    private readonly List<string> _images = [];

    private SwarmTestManager(SwarmFixture swarm, string managerId, SwarmOrchestrator orchestrator, TestOutboundHandlerFactory handlers, RegistryAccess registry)
    {
        Swarm = swarm;
        ManagerId = managerId;
        Orchestrator = orchestrator;
        Handlers = handlers;
        Registry = registry;
    }

    public SwarmFixture Swarm { get; }
    public DockerEngineFixture Docker => Swarm.Docker;
    public string ManagerId { get; }
    public SwarmOrchestrator Orchestrator { get; }
    public TestOutboundHandlerFactory Handlers { get; }
    public RegistryAccess Registry { get; }
    public string Prefix => ManagerId;

    /// <param name="endpoint">The engine endpoint (default: the fixture's socket); a tcp:// one is recorded by <see cref="Handlers"/>.</param>
    public static SwarmTestManager Create(SwarmFixture swarm, SwarmSettings? options = null, RegistrySettings? registry = null, string? endpoint = null)
    {
        swarm.Require();
        var managerId = "cmps-" + Guid.NewGuid().ToString("N")[..10];
        var handlers = new TestOutboundHandlerFactory();
        var settings = new ComposerSettings();
        settings.OpenCti.Daemon.Registry = registry;
        var resolved = TestSettings.Resolve(settings);
        var access = new RegistryAccess(resolved.Registry, handlers);
        var dockerEndpoint = DockerEndpoint.Parse(endpoint ?? swarm.Docker.DockerHost, "test").Value ?? throw new InvalidOperationException(endpoint);
        // The options as the resolve step parses them: what is wrong is reported there and left out.
        var services = SwarmServiceOptions.Parse(options ?? new SwarmSettings(), "opencti.daemon.swarm", TestReport.New().Report);
        var orchestrator = new SwarmOrchestrator(dockerEndpoint, new DockerClientFactory(handlers),
            new SwarmOrchestratorOptions(managerId, services, access, Logger.Null, TimeProvider.System)
            {
                Workloads = DockerTestManager.WorkloadsOf(managerId),
            });
        return new SwarmTestManager(swarm, managerId, orchestrator, handlers, access);
    }

    /// <summary>A connector of this manager, built the way the engine builds it (contract entries, hash variable, network variables).</summary>
    public ConnectorWorkload Workload(string name, string image = TestConnectorImage.Reference, bool start = true, string hash = "hash-1",
        IReadOnlyList<ContractEntry>? configuration = null, byte[]? caBundle = null, string? connectorId = null) =>
        DockerTestManager.WorkloadOf(ManagerId, Registry.Images, name, image, start, hash, configuration, caBundle, connectorId);

    public async Task<IReadOnlyList<ObservedWorkload>> ListAsync()
    {
        var list = await Orchestrator.ListAsync(CancellationToken.None);
        if (!list.IsSuccess) throw new InvalidOperationException(list.Failure!.Message);
        return list.Value;
    }

    public async Task<ObservedWorkload> ObservedAsync(string serviceName) =>
        (await ListAsync()).SingleOrDefault(w => w.Name == serviceName)
        ?? throw new InvalidOperationException($"{serviceName} is not listed for {ManagerId}");

    /// <summary>Deploys and fails the test with the orchestrator's message when the deploy fails.</summary>
    public async Task DeployAsync(ConnectorWorkload workload)
    {
        var error = await Orchestrator.DeployAsync(workload, CancellationToken.None);
        if (error is not null) throw new InvalidOperationException($"deploy of {workload.Name} failed: {error}");
    }

    public static void Succeeded(Failure? error, string what)
    {
        if (error is not null) throw new InvalidOperationException($"{what} failed: {error}");
    }

    /// <summary>Waits (bounded) until the listed state of the service is <paramref name="state"/>.</summary>
    public async Task<ObservedWorkload> WaitForStateAsync(string serviceName, WorkloadState state, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var observed = (await ListAsync()).SingleOrDefault(w => w.Name == serviceName);
            if (observed?.State == state) return observed;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{serviceName} did not become {state} in time; last seen: {observed?.ToString() ?? "absent"}");
            await Task.Delay(250);
        }
    }

    /// <summary>Waits (bounded) until the service's logs (read through the orchestrator) hold <paramref name="text"/>.</summary>
    public async Task<IReadOnlyList<string>> WaitForLogAsync(string serviceName, string text, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            var observed = await ObservedAsync(serviceName);
            var logs = await Orchestrator.LogsAsync(observed, null, Composer.Reconciliation.LogLimits.Default, CancellationToken.None);
            if (logs.IsSuccess && logs.Value.Lines.Any(l => l.Contains(text, StringComparison.Ordinal))) return logs.Value.Lines;
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"'{text}' did not appear in the logs of {serviceName} in time; logs: " +
                    (logs.IsSuccess ? string.Join("\n", logs.Value.Lines) : logs.Failure!.Message));
            }
            await Task.Delay(250);
        }
    }

    public Task<SwarmService> InspectAsync(string service) => Docker.Client.Swarm.InspectServiceAsync(service);

    public async Task<ServiceSpec> SpecAsync(string service) => (await InspectAsync(service)).Spec ?? throw new InvalidOperationException($"{service} has no spec");

    /// <summary>This manager's configs (by label).</summary>
    public async Task<IReadOnlyList<SwarmConfig>> ConfigsAsync() =>
        [.. (await Docker.Client.Configs.ListConfigsAsync()).Where(c => c.Spec?.Labels is { } labels && labels.TryGetValue(ConnectorLabels.Manager, out var m) && m == ManagerId)];

    /// <summary>The running container of the service's task on this node, or null.</summary>
    public async Task<ContainerListResponse?> RunningContainerAsync(string service)
    {
        var containers = await Docker.Client.Containers.ListContainersAsync(new ContainersListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { [$"com.docker.swarm.service.name={service}"] = true },
                ["status"] = new Dictionary<string, bool> { ["running"] = true },
            },
        });
        return containers.FirstOrDefault();
    }

    public void RemoveImageOnDispose(string reference) => _images.Add(reference);

    public async ValueTask DisposeAsync()
    {
        await Orchestrator.DisposeAsync();
        Registry.Dispose();
        var services = await Docker.Client.Swarm.ListServicesAsync(new ServiceListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"{ConnectorLabels.Manager}={ManagerId}"] = true } },
        });
        foreach (var service in services)
        {
            try { await Docker.Client.Swarm.RemoveServiceAsync(service.ID); }
            catch (global::Docker.DotNet.DockerApiException) { }
        }
        // A config is removable once no service spec names it.
        foreach (var config in await ConfigsAsync())
        {
            try { await Docker.Client.Configs.RemoveConfigAsync(config.ID); }
            catch (global::Docker.DotNet.DockerApiException) { }
        }
        foreach (var image in _images)
        {
            try { await Docker.Client.Images.DeleteImageAsync(image, new ImageDeleteParameters { Force = true }); }
            catch (global::Docker.DotNet.DockerApiException) { }
        }
    }
}

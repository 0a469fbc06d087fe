using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Images;
using Composer.Network;
using Composer.Orchestration;
using Composer.Orchestration.Docker;
using Composer.Orchestration.Kubernetes;
using Composer.Orchestration.Portainer;
using Composer.Orchestration.Swarm;
using Composer.Platform;
using Composer.Reconciliation;
using Composer.Resolution;

namespace Composer.Hosting;

/// <summary>
/// Everything `composer run`, `composer plan` and `composer check` talk to, built once from the resolved configuration:
/// the outbound handlers, the registry access (one per process: it holds the registry token cache and re-reads a
/// rotated password file), and per enabled platform its client, its orchestrator and its reconcile cycle.
/// </summary>
public sealed class ManagerRuntime : IAsyncDisposable
{
    private readonly List<PlatformRuntime> _platforms;
    private readonly List<ReconcileCycle> _cycles;

    private ManagerRuntime(OutboundHandlerFactory handlers, RegistryAccess registry, List<PlatformRuntime> platforms, List<ReconcileCycle> cycles)
    {
        Handlers = handlers;
        Registry = registry;
        _platforms = platforms;
        _cycles = cycles;
    }

    public OutboundHandlerFactory Handlers { get; }

    public RegistryAccess Registry { get; }

    public IReadOnlyList<PlatformRuntime> Platforms => _platforms;

    /// <summary>The reconcile cycle of each platform, in <see cref="Platforms"/> order.</summary>
    public IReadOnlyList<ReconcileCycle> Cycles => _cycles;

    /// <summary>
    /// Builds the runtime of every enabled platform from settings loaded with <see cref="ConfigLoadRequest.ResolveOrchestrators"/>:
    /// everything that could be wrong was reported at load, so nothing here fails.
    /// </summary>
    /// <param name="observeOnly">For `composer plan`: orchestrators write nothing while listing.</param>
    public static ManagerRuntime Create(ResolvedSettings settings, Logger logger, TimeProvider clock, bool observeOnly = false)
    {
        var handlers = new OutboundHandlerFactory(settings.Network, logger);
        var registry = new RegistryAccess(settings.Registry, handlers, logger, clock);
        var libraryLogger = new ComposerLoggerProvider(logger);
        var platforms = new List<PlatformRuntime>();
        var cycles = new List<ReconcileCycle>();
        foreach (var platform in settings.EnabledPlatforms)
        {
            var orchestrator = CreateOrchestrator(settings, platform, handlers, registry, libraryLogger, logger, clock, observeOnly);
            var client = CreateClient(settings, platform, handlers, logger);
            var gate = platform.ImagePolicy.IsSet ? new ImageGate(platform.ImagePolicy, registry, clock, logger) : null;
            var cycle = new ReconcileCycle(client, orchestrator, settings.Registry.Images, ReconcileOptionsFor(settings, platform.Kind), clock, logger,
                gate: gate, registry: registry);
            cycles.Add(cycle);
            platforms.Add(new PlatformRuntime(platform, client, orchestrator, cycle));
        }
        return new ManagerRuntime(handlers, registry, platforms, cycles);
    }

    /// <summary>The options of <paramref name="platform"/>'s reconcile loop, from the resolved configuration.</summary>
    public static ReconcileOptions ReconcileOptionsFor(ResolvedSettings settings, PlatformKind platform)
    {
        var own = settings.Platform(platform);
        var other = settings.Platform(platform == PlatformKind.OpenCti ? PlatformKind.OpenAev : PlatformKind.OpenCti);
        return new ReconcileOptions(
            platform,
            settings.Manager.Id,
            ConnectorLabels.PlatformInstanceValue(own.Url),
            other.Enabled,
            own.LogsSchedule,
            settings.Manager.ExecuteSchedule,
            settings.Manager.MaxParallel)
        {
            Logs = settings.Manager.Logs,
            HealthInterval = settings.Manager.HealthSchedule,
            StopRebootLoops = settings.Manager.StopRebootLoops,
            ConnectorDeadline = settings.Manager.ConnectorDeadline,
        };
    }

    /// <summary>The platform's client on its own channel (`composer check` builds them one by one, to report each).</summary>
    internal static IPlatformClient CreateClient(ResolvedSettings settings, ResolvedPlatform platform, OutboundHandlerFactory handlers, Logger logger)
    {
        var channel = platform.Kind == PlatformKind.OpenCti ? OutboundChannel.OpenCti : OutboundChannel.OpenAev;
        var options = new PlatformClientOptions(platform.Url, platform.Token, settings.Manager.Id, settings.Manager.Name,
            settings.Key ?? throw new InvalidOperationException("the resolve step loads the manager key for every enabled platform"), logger)
        {
            RequestTimeout = platform.Network.RequestTimeout,
            ListingTimeout = platform.ListingTimeout,
            ListingMaxSize = platform.ListingMaxSize,
        };
        // The client bounds each operation itself (the listing with its own timeout), not with one HttpClient timeout.
        var http = new HttpClient(handlers.CreateHandler(channel, platform.Kind), disposeHandler: true);
        return platform.Kind == PlatformKind.OpenCti ? new OpenCtiClient(http, options) : new OpenAevClient(http, options);
    }

    /// <summary>The orchestrator the resolve step decided for the platform.</summary>
    internal static IOrchestrator CreateOrchestrator(ResolvedSettings settings, ResolvedPlatform platform, OutboundHandlerFactory handlers,
        RegistryAccess registry, ComposerLoggerProvider libraryLogger, Logger logger, TimeProvider clock, bool observeOnly)
    {
        var workloads = new WorkloadBuilder(settings.Workloads, logger, settings.Manager.ShowEnvVars);
        var managerId = settings.Manager.Id;
        switch (platform.Orchestrator)
        {
            case ResolvedDocker docker:
                var proxy = docker.Endpoint.Transport == DockerTransport.UnixSocket ? null
                    : handlers.RouteFor(OutboundChannel.DockerTcp, platform.Kind, docker.Endpoint.Address);
                return new DockerOrchestrator(docker.Endpoint, new DockerClientFactory(handlers, platform.Kind, libraryLogger.CreateLogger("Docker.DotNet")),
                    new DockerOrchestratorOptions(managerId, docker.Containers, registry, logger, clock) { Workloads = workloads, Proxy = proxy });
            case ResolvedKubernetes kubernetes:
                return KubernetesOrchestrator.Create(kubernetes, new KubernetesOrchestratorOptions
                {
                    ManagerId = managerId,
                    Handlers = handlers,
                    Registry = registry,
                    Workloads = workloads,
                    Logger = logger,
                    Time = clock,
                    ObserveOnly = observeOnly,
                });
            case ResolvedSwarm swarm:
                return SwarmOrchestrator.Create(managerId, swarm, platform.Network, workloads, handlers, registry, logger, clock);
            case ResolvedPortainer portainer:
                return PortainerOrchestrator.Create(managerId, portainer, platform.Network, workloads, handlers, registry, logger, clock);
            default:
                throw new InvalidOperationException(
                    $"{platform.Section}: the orchestrator is resolved at load for the commands that use it (ConfigLoadRequest.ResolveOrchestrators)");
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var platform in _platforms)
        {
            platform.Client.Dispose();
            await platform.Orchestrator.DisposeAsync().ConfigureAwait(false);
        }
        Registry.Dispose();
    }
}

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
/// the outbound handlers, the image pre-flight (one per process: it holds the registry token cache and re-reads
/// rotated credentials), and per enabled platform its client, its orchestrator and its reconcile cycle.
/// </summary>
public sealed class ManagerRuntime : IAsyncDisposable
{
    private readonly List<PlatformRuntime> _platforms;
    private readonly List<ReconcileCycle> _cycles;

    private ManagerRuntime(OutboundHandlerFactory handlers, ImagePreflight preflight, List<PlatformRuntime> platforms, List<ReconcileCycle> cycles)
    {
        Handlers = handlers;
        Preflight = preflight;
        _platforms = platforms;
        _cycles = cycles;
    }

    public OutboundHandlerFactory Handlers { get; }

    public ImagePreflight Preflight { get; }

    public IReadOnlyList<PlatformRuntime> Platforms => _platforms;

    /// <summary>The reconcile cycle of each platform, in <see cref="Platforms"/> order.</summary>
    public IReadOnlyList<ReconcileCycle> Cycles => _cycles;

    /// <summary>
    /// Builds the runtime of every enabled platform, or returns why an orchestrator cannot be used (a missing
    /// kubeconfig, a selector this build does not serve); nothing is left open on failure.
    /// </summary>
    /// <param name="request">How the configuration was loaded: re-read every token_ttl for rotated registry credentials.</param>
    /// <param name="observeOnly">For `composer plan`: orchestrators write nothing while listing.</param>
    public static async Task<(ManagerRuntime? Runtime, string? Error)> CreateAsync(ResolvedSettings settings, ConfigLoadRequest request,
        Logger logger, TimeProvider clock, bool observeOnly = false)
    {
        var handlers = new OutboundHandlerFactory(settings.Network, logger);
        var preflight = ImagePreflight.Create(settings.Registry, settings.Images, handlers, logger,
            reload: SettingsLoader.RegistryReload(request, logger), time: clock);
        var libraryLogger = new ComposerLoggerProvider(logger);
        var platforms = new List<PlatformRuntime>();
        var cycles = new List<ReconcileCycle>();
        foreach (var platform in settings.EnabledPlatforms)
        {
            var (orchestrator, error) = CreateOrchestrator(settings, platform, handlers, preflight, request.Environment, libraryLogger, logger, clock, observeOnly);
            if (orchestrator is null)
            {
                foreach (var built in platforms)
                {
                    built.Client.Dispose();
                    await built.Orchestrator.DisposeAsync().ConfigureAwait(false);
                }
                preflight.Dispose();
                return (null, $"{platform.Section}.daemon.selector {platform.Selector}: {error}");
            }
            var client = CreateClient(settings, platform, handlers, logger);
            var cycle = new ReconcileCycle(client, orchestrator, ReconcileOptionsFor(settings, platform.Kind), clock, logger);
            cycles.Add(cycle);
            platforms.Add(new PlatformRuntime(platform, client, orchestrator, cycle));
        }
        return (new ManagerRuntime(handlers, preflight, platforms, cycles), null);
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
            settings.Key ?? throw new InvalidOperationException("the resolve step loads the manager key for every enabled platform"), logger);
        var http = handlers.CreateClient(channel, platform.Kind);
        return platform.Kind == PlatformKind.OpenCti ? new OpenCtiClient(http, options) : new OpenAevClient(http, options);
    }

    /// <summary>The orchestrator the platform's selector names, or why it cannot be used.</summary>
    internal static (IOrchestrator? Orchestrator, string? Error) CreateOrchestrator(ResolvedSettings settings, ResolvedPlatform platform,
        OutboundHandlerFactory handlers, ImagePreflight preflight, IReadOnlyDictionary<string, string> environment,
        ComposerLoggerProvider libraryLogger, Logger logger, TimeProvider clock, bool observeOnly)
    {
        var workloads = new WorkloadBuilder(settings.Workloads, logger, settings.Manager.ShowEnvVars);
        switch (platform.Selector)
        {
            case "docker":
                if (settings.Docker.Endpoint is not { } endpoint) return (null, settings.Docker.Error!.ToString());
                var proxy = endpoint.Transport == DockerTransport.UnixSocket ? null
                    : handlers.RouteFor(OutboundChannel.DockerTcp, platform.Kind, endpoint.Address);
                // The docker options are global, read from opencti.daemon.docker for both platforms (as upstream).
                return (new DockerOrchestrator(endpoint,
                    new DockerClientFactory(handlers, platform.Kind, libraryLogger.CreateLogger("Docker.DotNet")),
                    new DockerOrchestratorOptions(settings.Manager.Id, settings.Settings.OpenCti.Daemon.Docker, preflight, logger, clock)
                    {
                        Workloads = workloads,
                        Proxy = proxy,
                    }), null);
            case "kubernetes":
                var kubernetes = KubernetesOrchestrator.Create(new KubernetesOrchestratorOptions
                {
                    ManagerId = settings.Manager.Id,
                    Platform = platform.Kind,
                    Settings = platform.Daemon.Kubernetes ?? new KubernetesSettings(),
                    Handlers = handlers,
                    Preflight = preflight,
                    Workloads = workloads,
                    Environment = environment,
                    Logger = logger,
                    Time = clock,
                    ObserveOnly = observeOnly,
                });
                return kubernetes.IsSuccess ? (kubernetes.Value, null) : (null, kubernetes.Failure.Message);
            case "swarm":
                var swarm = SwarmOrchestrator.Create(settings.Manager.Id, platform.Daemon.Swarm, settings.Docker, platform.Network, workloads, handlers,
                    preflight, logger, clock);
                return swarm.IsSuccess ? (swarm.Value, null) : (null, swarm.Failure.Message);
            case "portainer":
                var portainer = PortainerOrchestrator.Create(settings.Manager.Id, platform.Daemon.Portainer, platform.PortainerCa, platform.Network,
                    workloads, handlers, preflight, logger, clock);
                return portainer.IsSuccess ? (portainer.Value, null) : (null, portainer.Failure.Message);
            default:
                // The configuration validator accepts only the four selectors above.
                return (null, "unknown orchestrator");
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var platform in _platforms)
        {
            platform.Client.Dispose();
            await platform.Orchestrator.DisposeAsync().ConfigureAwait(false);
        }
        Preflight.Dispose();
    }
}

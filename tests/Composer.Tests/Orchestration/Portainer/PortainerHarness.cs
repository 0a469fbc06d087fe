using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Images;
using Composer.Network;
using Composer.Orchestration.Docker;
using Composer.Orchestration.Portainer;
using Composer.Reconciliation;
using Composer.Resolution;
using Composer.Tests.Infrastructure;
using Composer.Tests.Orchestration.Docker;

namespace Composer.Tests.Orchestration.Portainer;

/// <summary>
/// A Portainer orchestrator wired as production wires it: settings with a daemon.portainer block pointing at a fresh
/// <see cref="PortainerStandIn"/> (in front of the real engine), the resolve step, the real outbound handler factory
/// (channel Portainer) and <see cref="PortainerOrchestrator.Create"/>; the registry access records its registry requests.
/// Workloads, log waits and clean-up are <see cref="DockerTestManager"/>'s.
/// </summary>
internal sealed class PortainerHarness : IAsyncDisposable
{
    private readonly bool _ownsStandIn;

    private PortainerHarness(PortainerStandIn standIn, bool ownsStandIn, DockerTestManager manager, ResolvedSettings settings, StringWriter log)
    {
        _ownsStandIn = ownsStandIn;
        StandIn = standIn;
        Manager = manager;
        Settings = settings;
        Log = log;
    }

    public PortainerStandIn StandIn { get; }
    public DockerTestManager Manager { get; }
    public DockerOrchestrator Orchestrator => Manager.Orchestrator;
    public ResolvedSettings Settings { get; }

    /// <summary>What the orchestrator logged (JSON lines, info and above).</summary>
    public StringWriter Log { get; }

    /// <param name="https">Portainer over HTTPS with a certificate of the stand-in's own CA.</param>
    /// <param name="trustCa">With https: the CA is in daemon.portainer.ca.</param>
    /// <param name="configure">Changes the settings (the daemon.portainer block: api_key, env_id, stack, ...; proxies) before the resolve step.</param>
    /// <param name="standIn">A stand-in another harness owns (a second orchestrator on the same Portainer), else a new one.</param>
    /// <param name="managerId">The manager id (another harness's, to see its containers), else a new one.</param>
    public static async Task<PortainerHarness> StartAsync(DockerEngineFixture docker, bool https = false, bool trustCa = true,
        Action<ComposerSettings>? configure = null, RegistrySettings? registry = null, PortainerStandIn? standIn = null, string? managerId = null)
    {
        docker.Require();
        var owns = standIn is null;
        standIn ??= await PortainerStandIn.StartAsync(docker.SocketPath, https);
        managerId ??= "cmpp-" + Guid.NewGuid().ToString("N")[..10];
        var settings = new ComposerSettings();
        settings.Manager.Id = managerId;
        settings.OpenCti.Daemon.Selector = "portainer";
        settings.OpenCti.Daemon.Registry = registry;
        settings.OpenCti.Daemon.Portainer = new PortainerSettings
        {
            Api = standIn.Api.ToString().TrimEnd('/'),
            ApiKey = new Composer.Diagnostics.Secret(standIn.ApiKey),
            EnvId = standIn.EnvironmentId,
            ApiVersion = "v" + docker.ApiVersion,
            Ca = standIn.Ca is not null && trustCa ? [standIn.Ca.CertificatePem] : null,
        };
        configure?.Invoke(settings);
        var resolved = TestSettings.Resolve(settings, resolveOrchestrators: true);
        var preflightHandlers = new TestOutboundHandlerFactory();
        var registryAccess = new RegistryAccess(resolved.Registry, preflightHandlers);
        var log = new StringWriter();
        var logger = new Logger(LogLevel.Info, LogFormat.Json, TextWriter.Synchronized(log));
        var created = PortainerOrchestrator.Create(resolved.Manager.Id, (ResolvedPortainer)resolved.OpenCti.Orchestrator!, resolved.OpenCti.Network,
            DockerTestManager.WorkloadsOf(resolved.Manager.Id), new OutboundHandlerFactory(resolved.Network), registryAccess, logger, TimeProvider.System);
        var manager = DockerTestManager.Wrap(docker, managerId, created, preflightHandlers, registryAccess);
        return new PortainerHarness(standIn, owns, manager, resolved, log);
    }

    /// <summary>The Docker calls Composer made since the last call ("GET /v1.41/containers/json").</summary>
    public List<string> Calls()
    {
        var calls = StandIn.Requests.Select(r => $"{r.Method} {r.DockerPath}").ToList();
        StandIn.ClearRequests();
        return calls;
    }

    public async ValueTask DisposeAsync()
    {
        await Manager.DisposeAsync();
        if (_ownsStandIn) await StandIn.DisposeAsync();
    }
}

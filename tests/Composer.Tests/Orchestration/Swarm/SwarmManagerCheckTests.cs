using System.Net;
using System.Text.Json.Nodes;
using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Images;
using Composer.Orchestration.Swarm;
using Composer.Resolution;
using Composer.Tests.Infrastructure;
using Composer.Tests.Orchestration.Docker;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Composer.Tests.Orchestration.Swarm;

/// <summary>
/// The engine must be a swarm manager: an engine outside a swarm, or a worker, is one clear error on the first call
/// (an engine stand-in answering /_ping, /version and /info, since the test engine is a manager), and the resolve step
/// refuses what cannot work before anything is built.
/// </summary>
public class SwarmManagerCheckTests
{
    private static async Task<(WebApplication App, string Host)> EngineAsync(string state, bool manager)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.Run(async context =>
        {
            var path = context.Request.Path.Value ?? "";
            context.Response.ContentType = "application/json";
            if (path == "/_ping")
            {
                context.Response.ContentType = "text/plain";
                await context.Response.WriteAsync("OK");
            }
            else if (path == "/version")
            {
                await context.Response.WriteAsync(new JsonObject { ["Version"] = "20.10.24", ["ApiVersion"] = "1.41", ["MinAPIVersion"] = "1.12" }.ToJsonString());
            }
            else if (path.EndsWith("/info", StringComparison.Ordinal))
            {
                await context.Response.WriteAsync(new JsonObject
                {
                    ["ID"] = "stand-in",
                    ["Swarm"] = new JsonObject { ["LocalNodeState"] = state, ["ControlAvailable"] = manager, ["NodeID"] = "", ["NodeAddr"] = "", ["Error"] = "" },
                }.ToJsonString());
            }
            else
            {
                context.Response.StatusCode = 503;
                await context.Response.WriteAsync("""{"message":"This node is not a swarm manager."}""");
            }
        });
        await app.StartAsync();
        var port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        return (app, $"tcp://127.0.0.1:{port}");
    }

    private static ComposerSettings Settings(string dockerHost, SwarmSettings? swarm)
    {
        var settings = new ComposerSettings();
        settings.OpenCti.Daemon.Selector = "swarm";
        settings.OpenCti.Daemon.Swarm = swarm;
        settings.OpenCti.Daemon.Docker = new DockerSettings { Host = dockerHost };
        return settings;
    }

    [Test]
    [Arguments("inactive", false, "is not part of a swarm (swarm state: inactive)")]
    [Arguments("active", false, "is a swarm worker, not a manager")]
    public async Task An_engine_that_is_not_a_swarm_manager_is_a_clear_error(string state, bool manager, string expected)
    {
        var (app, host) = await EngineAsync(state, manager);
        await using var _ = app;
        var settings = TestSettings.Resolve(Settings(host, new SwarmSettings()), resolveOrchestrators: true);
        using var registry = new RegistryAccess(settings.Registry, new TestOutboundHandlerFactory());
        await using var orchestrator = SwarmOrchestrator.Create(settings.Manager.Id, (ResolvedSwarm)settings.OpenCti.Orchestrator!, settings.OpenCti.Network,
            DockerTestManager.WorkloadsOf(settings.Manager.Id), new TestOutboundHandlerFactory(), registry, Logger.Null, TimeProvider.System);

        var list = await orchestrator.ListAsync(CancellationToken.None);
        var check = await orchestrator.CheckAsync(CancellationToken.None);

        await Assert.That(list.IsSuccess).IsFalse();
        await Assert.That(list.Failure!.Message).Contains(expected);
        await Assert.That(list.Failure.Message).Contains("127.0.0.1");
        await Assert.That(check!.Message).Contains(expected);
        await Assert.That(orchestrator.Kind).IsEqualTo("swarm");
    }

    [Test]
    public async Task The_resolve_step_refuses_a_missing_swarm_block_and_an_extra_host_swarm_cannot_write()
    {
        var (missing, missingErrors, _) = TestSettings.TryResolve(Settings("tcp://127.0.0.1:2375", null), resolveOrchestrators: true);
        await Assert.That(string.Join("\n", missingErrors)).Contains("opencti.daemon.swarm is missing");
        await Assert.That(missing.OpenCti.Orchestrator).IsNull();

        var (bad, badErrors, _) = TestSettings.TryResolve(Settings("tcp://127.0.0.1:2375", new SwarmSettings { ExtraHosts = ["opencti.internal:host-gateway"] }),
            resolveOrchestrators: true);
        await Assert.That(badErrors.Single(e => e.Key == "opencti.daemon.swarm.extra_hosts").Message).Contains("\"opencti.internal:host-gateway\"");
        // The one rule, applied once: the record holds only Swarm's hosts lines.
        await Assert.That(((ResolvedSwarm)bad.OpenCti.Orchestrator!).Services.Hosts).IsNull();
    }

    [Test]
    [Arguments("opencti.internal:10.1.2.3", "10.1.2.3 opencti.internal")]
    [Arguments("opencti.internal=10.1.2.3", "10.1.2.3 opencti.internal")]
    [Arguments("v6.internal:fd00::1", "fd00::1 v6.internal")]
    [Arguments("v6.internal:[fd00::1]", "fd00::1 v6.internal")]
    [Arguments("10.1.2.3  opencti.internal   alias", "10.1.2.3 opencti.internal alias")]
    public async Task Extra_hosts_become_swarm_hosts_lines(string entry, string expected)
    {
        await Assert.That(SwarmServiceSpec.HostsEntry(entry)).IsEqualTo(expected);
    }

    [Test]
    [Arguments("no-separator")]
    [Arguments("host:not-an-ip")]
    [Arguments(":10.1.2.3")]
    [Arguments("not-an-ip host")]
    public async Task Extra_hosts_that_are_no_hosts_line_are_refused(string entry)
    {
        await Assert.That(SwarmServiceSpec.HostsEntry(entry)).IsNull();
    }
}

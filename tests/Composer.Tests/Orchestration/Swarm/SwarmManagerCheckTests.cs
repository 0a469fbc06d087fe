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
/// (an engine stand-in answering /_ping, /version and /info, since the test engine is a manager), and the factory
/// refuses what cannot work before anything is called.
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

    private static (ResolvedSettings Settings, ImagePreflight Preflight) Resolve(string dockerHost, SwarmSettings? swarm)
    {
        var settings = new ComposerSettings();
        settings.OpenCti.Daemon.Selector = "swarm";
        settings.OpenCti.Daemon.Swarm = swarm;
        settings.OpenCti.Daemon.Docker = new DockerSettings { Host = dockerHost };
        var resolved = TestSettings.Resolve(settings);
        return (resolved, ImagePreflight.Create(resolved.Registry, resolved.Images, new TestOutboundHandlerFactory()));
    }

    [Test]
    [Arguments("inactive", false, "is not part of a swarm (swarm state: inactive)")]
    [Arguments("active", false, "is a swarm worker, not a manager")]
    public async Task An_engine_that_is_not_a_swarm_manager_is_a_clear_error(string state, bool manager, string expected)
    {
        var (app, host) = await EngineAsync(state, manager);
        await using var _ = app;
        var (settings, preflight) = Resolve(host, new SwarmSettings());
        var created = SwarmOrchestrator.Create(settings.Manager.Id, settings.OpenCti.Daemon.Swarm, settings.Docker, settings.OpenCti.Network,
            DockerTestManager.WorkloadsOf(settings.Manager.Id), new TestOutboundHandlerFactory(), preflight, Logger.Null, TimeProvider.System);
        await using var orchestrator = created.Value!;

        var list = await orchestrator.ListAsync(CancellationToken.None);
        var check = await orchestrator.CheckAsync(CancellationToken.None);

        await Assert.That(list.IsSuccess).IsFalse();
        await Assert.That(list.Failure!.Message).Contains(expected);
        await Assert.That(list.Failure.Message).Contains("127.0.0.1");
        await Assert.That(check!.Message).Contains(expected);
        await Assert.That(orchestrator.Kind).IsEqualTo("swarm");
    }

    [Test]
    public async Task The_factory_refuses_a_missing_swarm_block_and_an_extra_host_swarm_cannot_write()
    {
        var (settings, preflight) = Resolve("tcp://127.0.0.1:2375", null);
        var missing = SwarmOrchestrator.Create(settings.Manager.Id, settings.OpenCti.Daemon.Swarm, settings.Docker, settings.OpenCti.Network,
            DockerTestManager.WorkloadsOf(settings.Manager.Id), new TestOutboundHandlerFactory(), preflight, Logger.Null, TimeProvider.System);
        await Assert.That(missing.Failure!.Message).Contains("opencti.daemon.swarm is missing");

        var (bad, badPreflight) = Resolve("tcp://127.0.0.1:2375", new SwarmSettings { ExtraHosts = ["opencti.internal:host-gateway"] });
        var refused = SwarmOrchestrator.Create(bad.Manager.Id, bad.OpenCti.Daemon.Swarm, bad.Docker, bad.OpenCti.Network,
            DockerTestManager.WorkloadsOf(bad.Manager.Id), new TestOutboundHandlerFactory(), badPreflight, Logger.Null, TimeProvider.System);
        await Assert.That(refused.Failure!.Message).Contains("opencti.daemon.swarm.extra_hosts: \"opencti.internal:host-gateway\"");
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

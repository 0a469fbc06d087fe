using System.Net;
using Composer.Diagnostics;
using Composer.Images;
using Composer.Reconciliation;
using Composer.Tests.Images.Registry;
using Composer.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using static Composer.Tests.Reconciliation.ReconcileTestData;

namespace Composer.Tests.Reconciliation;

/// <summary>
/// A connector backed off because of something outside it (the orchestrator, a registry) is planned again within one
/// execute_schedule once Composer sees that come back, not after its backoff (issue 16, point 4); its own failures keep
/// their backoff; a flapping orchestrator makes it try at most once per execute_schedule. On a fake clock, through
/// <see cref="ReconcileCycle"/> as the host drives it (cycles, then the re-plans they wake).
/// </summary>
[NotInParallel(nameof(ComposerMetrics.ActionFailures))] // its failed deploys are counted
public class BackoffRecoveryTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan Schedule = Options().ExecuteSchedule;

    private sealed class Rig
    {
        public FakeTimeProvider Time { get; } = new(Now);
        public FakeOrchestrator Orchestrator { get; } = new();
        public FakePlatformClient Platform { get; } = new();
        public ReconcileCycle Cycle { get; }

        public Rig(RegistryAccess? registry = null)
        {
            // Jitter fixed at its top: each backoff is its nominal delay (10, 20, 40, 80 s...).
            Cycle = new ReconcileCycle(Platform, Orchestrator, ImageResolver.NoRegistry, Options(), Time, Logger.Null, new TopJitter(), registry: registry);
        }

        public int CallsOf(string call) => Orchestrator.Calls.Count(c => c == call);

        /// <summary>One cycle, its lanes ended, then every re-plan it woke, as the host runs them between cycles.</summary>
        public async Task CycleAsync()
        {
            var report = await Cycle.RunAsync(CancellationToken.None).WaitAsync(Patience);
            await report.Completion.WaitAsync(Patience);
            await SettleAsync();
        }

        /// <summary>Runs the re-plans that are due now until none is.</summary>
        public async Task SettleAsync()
        {
            for (var i = 0; i < 20; i++)
            {
                using var quiet = new CancellationTokenSource(TimeSpan.FromMilliseconds(150));
                try
                {
                    await Cycle.WaitForReplanAsync(quiet.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                var replan = await Cycle.ReplanAsync(CancellationToken.None).WaitAsync(Patience);
                if (replan is not null) await replan.Completion.WaitAsync(Patience);
            }
        }

        /// <summary>Moves the clock on (firing the backoff timers due) and runs the re-plans they woke.</summary>
        public async Task AdvanceAsync(TimeSpan by)
        {
            Time.Advance(by);
            await SettleAsync();
        }

        /// <summary>Makes the deploy of connector <paramref name="id"/> fail <paramref name="times"/> times, each once its backoff ended.</summary>
        public async Task FailDeploysAsync(string id, int times)
        {
            for (var i = 0; i < times; i++)
            {
                // Past any backoff (five minutes at most): the next cycle tries again.
                Time.Advance(TimeSpan.FromMinutes(5));
                await CycleAsync();
            }
            await Assert.That(CallsOf("deploy " + id)).IsEqualTo(times);
        }
    }

    private sealed class TopJitter : Random
    {
        public override double NextDouble() => 0.999999;
    }

    [Test]
    public async Task A_backoff_on_the_orchestrator_is_cut_short_when_a_listing_succeeds_after_failed_ones()
    {
        var rig = new Rig();
        var engineDown = true;
        rig.Orchestrator.Behaviour = (c, _) => Task.FromResult(c == "deploy A" && engineDown
            ? Failure.Orchestrator("cannot create container connector-a: the Docker engine at /var/run/docker.sock: connection refused") with { Outage = Outage.Orchestrator }
            : null);
        rig.Platform.Listing = Listing(Connector("A", requested: RequestedStatus.Starting));
        // Four failures: the next try is 80 s after the last one.
        await rig.FailDeploysAsync("A", 4);

        // The engine is away (a listing fails), then answers again.
        rig.Orchestrator.ListError = Failure.Orchestrator("cannot list the containers: connection refused") with { Outage = Outage.Orchestrator };
        await rig.AdvanceAsync(TimeSpan.FromSeconds(2));
        await rig.CycleAsync();
        rig.Orchestrator.ListError = null;
        engineDown = false;
        await rig.AdvanceAsync(TimeSpan.FromSeconds(2));
        await rig.CycleAsync();
        await Assert.That(rig.CallsOf("deploy A")).IsEqualTo(4).Because("never sooner than one execute_schedule after the failure");

        // One execute_schedule after the last failure (6 s from here), not 80 s: deployed, without waiting for a cycle.
        await rig.AdvanceAsync(Schedule - TimeSpan.FromSeconds(4));
        await Assert.That(rig.CallsOf("deploy A")).IsEqualTo(5);
        await Assert.That(rig.Orchestrator.Workloads.Count(w => w.ConnectorId == "A")).IsEqualTo(1);
    }

    [Test]
    public async Task The_connectors_own_failure_keeps_its_backoff_when_the_orchestrator_comes_back()
    {
        var rig = new Rig();
        rig.Orchestrator.Behaviour = (c, _) => Task.FromResult(c == "deploy A"
            ? Failure.Orchestrator("cannot start container connector-a: exec: \"/entrypoint\": no such file (HTTP 400)")
            : c == "deploy B" ? Failure.Orchestrator("cannot create container connector-b: connection refused") with { Outage = Outage.Orchestrator } : null);
        rig.Platform.Listing = Listing(Connector("A", requested: RequestedStatus.Starting), Connector("B", requested: RequestedStatus.Starting));
        await rig.FailDeploysAsync("A", 4);
        await Assert.That(rig.CallsOf("deploy B")).IsEqualTo(4);

        rig.Orchestrator.ListError = Failure.Orchestrator("cannot list the containers: connection refused") with { Outage = Outage.Orchestrator };
        await rig.AdvanceAsync(TimeSpan.FromSeconds(2));
        await rig.CycleAsync();
        rig.Orchestrator.ListError = null;
        await rig.AdvanceAsync(TimeSpan.FromSeconds(2));
        await rig.CycleAsync();
        await rig.AdvanceAsync(Schedule);

        // B, which waited on the engine, tried again; A, which will not start, waits out its 80 s.
        await Assert.That(rig.CallsOf("deploy B")).IsEqualTo(5);
        await Assert.That(rig.CallsOf("deploy A")).IsEqualTo(4);
        await rig.AdvanceAsync(TimeSpan.FromSeconds(50));
        await Assert.That(rig.CallsOf("deploy A")).IsEqualTo(4);
        await rig.AdvanceAsync(TimeSpan.FromSeconds(20));
        await Assert.That(rig.CallsOf("deploy A")).IsEqualTo(5);
    }

    [Test]
    public async Task A_flapping_orchestrator_makes_a_connector_try_at_most_once_per_execute_schedule()
    {
        var rig = new Rig();
        rig.Orchestrator.Behaviour = (c, _) => Task.FromResult(c == "deploy A"
            ? Failure.Orchestrator("cannot create container connector-a: connection reset") with { Outage = Outage.Orchestrator }
            : null);
        rig.Platform.Listing = Listing(Connector("A", requested: RequestedStatus.Starting));
        await rig.FailDeploysAsync("A", 4);

        // For two minutes the engine is gone and back every other second: a recovery each time.
        var before = rig.CallsOf("deploy A");
        var span = TimeSpan.FromMinutes(2);
        for (var elapsed = TimeSpan.Zero; elapsed < span; elapsed += TimeSpan.FromSeconds(1))
        {
            rig.Orchestrator.ListError = rig.Orchestrator.ListError is null
                ? Failure.Orchestrator("cannot list the containers: connection refused") with { Outage = Outage.Orchestrator }
                : null;
            await rig.AdvanceAsync(TimeSpan.FromSeconds(1));
            await rig.CycleAsync();
        }
        var tries = rig.CallsOf("deploy A") - before;
        // 60 recoveries: one try per execute_schedule at most (12), and its backoff no longer grows to minutes (at least 6).
        await Assert.That(tries).IsLessThanOrEqualTo((int)(span / Schedule)).Because($"{tries} tries in {span}");
        await Assert.That(tries).IsGreaterThanOrEqualTo(6).Because($"{tries} tries in {span}");
    }

    [Test]
    public async Task A_backoff_on_a_registry_is_cut_short_when_that_registry_answers_a_probe_and_only_that_one()
    {
        const string repository = "team/app";
        const string digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        await using var registry = new ScriptedRegistry().On("/v2/", new ScriptedResponse(503));
        var rig = new Rig(new RegistryAccess(RegistryTestSupport.Configuration(null), new TestOutboundHandlerFactory(), Logger.Null, TimeProvider.System));
        var image = $"{registry.Host}/{repository}:1.0";
        var registryDown = true;
        var otherHost = "127.0.0.1:1";
        rig.Orchestrator.Behaviour = (c, _) => Task.FromResult(c switch
        {
            "deploy A" when registryDown => Failure.Orchestrator($"pull of {image} failed: connection refused") with { Outage = Outage.Registry(registry.Host) },
            "deploy B" => Failure.Orchestrator($"pull of {otherHost}/team/b:1.0 failed: connection refused") with { Outage = Outage.Registry(otherHost) },
            _ => null,
        });
        rig.Platform.Listing = Listing(OnImage(Connector("A", requested: RequestedStatus.Starting), image),
            OnImage(Connector("B", requested: RequestedStatus.Starting), $"{otherHost}/team/b:1.0"));
        await rig.FailDeploysAsync("A", 4);
        // While A waits on the silent registry, each cycle asks it once.
        var asked = registry.Count("GET /v2/");
        for (var i = 1; i <= 2; i++)
        {
            await rig.AdvanceAsync(TimeSpan.FromSeconds(2));
            await rig.CycleAsync();
            await WaitUntilAsync(() => registry.Count("GET /v2/") >= asked + i, "the registry probed while A waits on it");
        }
        await Assert.That(rig.CallsOf("deploy A")).IsEqualTo(4);

        registry.On("/v2/", new ScriptedResponse(200)).On($"/v2/{repository}/manifests/1.0", new ScriptedResponse(200, new Dictionary<string, string>
        {
            ["Docker-Content-Digest"] = digest,
            ["Content-Type"] = "application/vnd.oci.image.index.v1+json",
        }));
        registryDown = false;
        await rig.AdvanceAsync(TimeSpan.FromSeconds(1));
        await rig.CycleAsync();
        await WaitUntilAsync(() => registry.Count($"HEAD /v2/{repository}/manifests/1.0") >= 1, "the probe answered");
        await rig.SettleAsync();
        await rig.AdvanceAsync(Schedule);

        await Assert.That(rig.CallsOf("deploy A")).IsEqualTo(5);
        await Assert.That(rig.Orchestrator.Workloads.Count(w => w.ConnectorId == "A")).IsEqualTo(1);
        // B waits on another registry: its backoff holds.
        await Assert.That(rig.CallsOf("deploy B")).IsEqualTo(4);
    }

    [Test]
    public async Task Outages_are_classified_where_the_failures_are_made()
    {
        // Docker: no answer from the engine is its outage; any answer of the engine (a pull it refused, a gateway's status
        // without a gateway) is the connector's own.
        var engine = Composer.Orchestration.Docker.DockerEndpoint.Parse("unix:///var/run/docker.sock", "test").Value!;
        await Assert.That(Composer.Orchestration.Docker.DockerErrors.EngineAway(
            new HttpRequestException("Connection refused (/var/run/docker.sock)", new System.Net.Sockets.SocketException(111)), engine)).IsTrue();
        await Assert.That(Composer.Orchestration.Docker.DockerErrors.EngineAway(new TimeoutException("no answer within 30 s"), engine)).IsTrue();
        await Assert.That(Composer.Orchestration.Docker.DockerErrors.EngineAway(
            new Docker.DotNet.DockerApiException(HttpStatusCode.InternalServerError, "{\"message\":\"pull access denied for x\"}"), engine)).IsFalse();
        await Assert.That(Composer.Orchestration.Docker.DockerErrors.EngineAway(
            new Docker.DotNet.DockerApiException(HttpStatusCode.BadGateway, ""), engine)).IsFalse();
        await Assert.That(Composer.Orchestration.Docker.DockerErrors.EngineAway(new InvalidOperationException("a bug"), engine)).IsFalse();

        // Kubernetes: no answer, or a gateway's 502/503/504, is the API server's outage; its answers are the connector's own.
        await Assert.That(KubeReplyOutage(Composer.Orchestration.Kubernetes.KubeReply.Failed("api:6443 unreachable: connection refused"))).IsEqualTo(Outage.Orchestrator);
        await Assert.That(KubeReplyOutage(Composer.Orchestration.Kubernetes.KubeReply.Answer(HttpStatusCode.ServiceUnavailable, []))).IsEqualTo(Outage.Orchestrator);
        await Assert.That(KubeReplyOutage(Composer.Orchestration.Kubernetes.KubeReply.Answer(HttpStatusCode.UnprocessableEntity, []))).IsNull();
        await Assert.That(KubeReplyOutage(Composer.Orchestration.Kubernetes.KubeReply.Answer(HttpStatusCode.Forbidden, []))).IsNull();

        // Registries: only an unreached one is an outage; an answer, even a refusal, is the image's own.
        await Assert.That(Check(RegistryCheckStatus.Unreachable).Outage).IsEqualTo(Outage.Registry("reg.example:5000"));
        await Assert.That(Check(RegistryCheckStatus.Unreachable).RegistryAnswered).IsFalse();
        await Assert.That(Check(RegistryCheckStatus.NotFound).Outage).IsNull();
        await Assert.That(Check(RegistryCheckStatus.NotFound).RegistryAnswered).IsTrue();
        await Assert.That(Check(RegistryCheckStatus.AccessDenied).RegistryAnswered).IsTrue();
        await Assert.That(Check(RegistryCheckStatus.ProtocolError).RegistryAnswered).IsFalse();
        await Assert.That(Check(RegistryCheckStatus.CredentialsUnavailable).Outage).IsNull();

        static Outage? KubeReplyOutage(Composer.Orchestration.Kubernetes.KubeReply reply) => reply.Fail("creating deployment x").Outage;

        static RegistryCheckResult Check(RegistryCheckStatus status) => new()
        {
            Status = status,
            RegistryHost = "reg.example:5000",
            Repository = "team/app",
            Reference = "1.0",
            Image = "reg.example:5000/team/app:1.0",
            Message = status.ToString(),
        };
    }

    private static DesiredConnector OnImage(DesiredConnector connector, string image) =>
        connector with { Image = image, PullImage = ImageResolver.NoRegistry.Resolve(image).Value };

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException($"waited {Patience.TotalSeconds} s for {what}");
            await Task.Delay(10);
        }
    }
}

using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Images;
using Composer.Orchestration;
using Composer.Orchestration.Portainer;
using Composer.Reconciliation;
using Composer.Tests.Infrastructure;
using Composer.Tests.Orchestration.Docker;
using TUnit.Assertions.Enums;

namespace Composer.Tests.Orchestration.Portainer;

/// <summary>
/// The Portainer orchestrator through the Portainer stand-in, which forwards to the real engine: containers really
/// run. Covers the Docker scenarios as Portainer serves them, and Portainer's own: API key, environment id, API
/// version, stack label and network mode, TLS, error shapes.
/// </summary>
[ClassDataSource<TestConnectorImage>(Shared = SharedType.PerTestSession)]
public class PortainerOrchestratorTests(TestConnectorImage image)
{
    private DockerEngineFixture Docker => image.Docker;

    private Task<PortainerHarness> StartAsync(bool https = false, bool trustCa = true, Action<ComposerSettings>? configure = null)
    {
        image.Require();
        return PortainerHarness.StartAsync(Docker, https, trustCa, configure);
    }

    [Test]
    public async Task A_deploy_through_portainer_runs_the_container_with_its_labels_network_mode_and_ca_bundle()
    {
        await using var h = await StartAsync(configure: s =>
        {
            s.OpenCti.Daemon.Portainer!.Stack = "opencti-stack";
            s.OpenCti.Daemon.Portainer.NetworkMode = "none";
        });
        const string secret = "decrypted-S3cret+/=";
        var workload = h.Manager.Workload("deployed", hash: "h-1", caBundle: DockerTestManager.Pem("cG9ydGFpbmVy"),
            configuration: [new ContractEntry("API_TOKEN", new Composer.Diagnostics.Secret(secret))]);

        await h.Manager.DeployAsync(workload);

        await Assert.That(h.Orchestrator.Kind).IsEqualTo("portainer");
        await h.Manager.WaitForLogAsync(workload.Name, TestConnectorImage.CaPresentLine);
        var inspect = await h.Manager.InspectAsync(workload.Name);
        await Assert.That(inspect.State!.Running).IsTrue();
        await Assert.That(inspect.HostConfig!.NetworkMode).IsEqualTo("none");
        await Assert.That(inspect.Config!.Labels[PortainerOrchestrator.StackLabel]).IsEqualTo("opencti-stack");
        await Assert.That(inspect.Config.Labels[ConnectorLabels.Manager]).IsEqualTo(h.Manager.ManagerId);
        await Assert.That(inspect.Config.Env).Contains($"API_TOKEN={secret}");
        await Assert.That(h.Log.ToString()).DoesNotContain(secret);
        var file = await h.Manager.ReadFileAsync(workload.Name, ConnectorNetworkEnvironment.CaBundlePath);
        await Assert.That(file!.Value.Content).IsEquivalentTo(workload.CaBundle!);
        var listed = await h.Manager.ObservedAsync(workload.Name);
        await Assert.That(listed.State).IsEqualTo(WorkloadState.Running);
        await Assert.That(listed.ConfigHash).IsEqualTo("h-1");
        // Every call went through Portainer's Docker proxy of this environment, with the API key and the configured version.
        await Assert.That(h.StandIn.Requests.All(r => r.ApiKey == h.StandIn.ApiKey && r.Status < 500)).IsTrue();
        await Assert.That(h.StandIn.Requests.Where(r => r.DockerPath is not ("/_ping" or "/version"))
            .All(r => r.DockerPath.StartsWith($"/v{Docker.ApiVersion}/", StringComparison.Ordinal))).IsTrue();
        await Assert.That(h.StandIn.Requests.Any(r => r.Method == "PUT" && r.DockerPath.EndsWith("/archive", StringComparison.Ordinal))).IsTrue();
    }

    [Test]
    public async Task Start_stop_refresh_and_remove_work_through_portainer()
    {
        await using var h = await StartAsync();
        var workload = h.Manager.Workload("lifecycle", start: false, hash: "h-1");
        await h.Manager.DeployAsync(workload);
        var created = await h.Manager.ObservedAsync(workload.Name);
        await Assert.That(created.State).IsEqualTo(WorkloadState.Stopped);

        await Assert.That(await h.Orchestrator.StartAsync(created, workload, CancellationToken.None)).IsNull();
        await h.Manager.WaitForLogAsync(workload.Name, TestConnectorImage.StartLine);
        var running = await h.Manager.ObservedAsync(workload.Name);
        await Assert.That(running.State).IsEqualTo(WorkloadState.Running);
        await Assert.That(await h.Orchestrator.StopAsync(running, CancellationToken.None)).IsNull();
        await Assert.That((await h.Manager.ObservedAsync(workload.Name)).State).IsEqualTo(WorkloadState.Stopped);

        var refreshed = h.Manager.Workload("lifecycle", hash: "h-2");
        await Assert.That(await h.Orchestrator.RefreshAsync(await h.Manager.ObservedAsync(workload.Name), refreshed, CancellationToken.None)).IsNull();
        var after = await h.Manager.ListAsync();
        await Assert.That(after.Count).IsEqualTo(1);
        await Assert.That(after[0].ConfigHash).IsEqualTo("h-2");
        await Assert.That(after[0].WorkloadId).IsNotEqualTo(created.WorkloadId);
        await Assert.That(after[0].State).IsEqualTo(WorkloadState.Running);

        await Assert.That(await h.Orchestrator.RemoveAsync(after[0], CancellationToken.None)).IsNull();
        await Assert.That(await h.Manager.ListAsync()).IsEmpty();
    }

    [Test]
    public async Task Logs_and_health_come_through_portainer_demultiplexed()
    {
        await using var h = await StartAsync();
        var workload = h.Manager.Workload("logs");
        await h.Manager.DeployAsync(workload);
        await h.Manager.WaitForLogAsync(workload.Name, "tick 1");
        var observed = await h.Manager.ObservedAsync(workload.Name);

        var logs = await h.Orchestrator.LogsAsync(observed, null, Composer.Reconciliation.LogLimits.Default, CancellationToken.None);
        var health = await h.Orchestrator.HealthAsync(observed, CancellationToken.None);

        await Assert.That(logs.Value!.Lines).Contains($"{TestConnectorImage.StartLine}: {workload.ConnectorId}");
        await Assert.That(logs.Value.Lines).Contains(TestConnectorImage.StderrLine);
        await Assert.That(logs.Value.Lines.All(l => !l.Contains('\u0001') && !l.Contains('\0'))).IsTrue();
        await Assert.That(health.Value!.RestartCount).IsEqualTo(0);
        await Assert.That(health.Value.StartedAt).IsNotNull();
    }

    [Test]
    public async Task A_log_read_is_one_request_through_portainer_framed_or_tty()
    {
        await using var h = await StartAsync();
        var framed = h.Manager.Workload("framed");
        await h.Manager.DeployAsync(framed);
        await h.Manager.WaitForLogAsync(framed.Name, TestConnectorImage.StderrLine);
        var ttyId = await h.Manager.StartTtyContainerAsync("tty");
        var listed = await h.Manager.ListAsync();
        h.Calls();

        foreach (var workload in listed)
        {
            var read = await h.Orchestrator.LogsAsync(workload, null, Composer.Reconciliation.LogLimits.Default, CancellationToken.None);

            // With the API key, as every other call (the stand-in answers 401 without it).
            await Assert.That(h.StandIn.Requests.Single().ApiKey).IsEqualTo(h.StandIn.ApiKey);
            await Assert.That(h.Calls()).IsEquivalentTo(new[] { $"GET /v{Docker.ApiVersion}/containers/{workload.WorkloadId}/logs" }, CollectionOrdering.Matching);
            var lines = read.Value!.Lines;
            await Assert.That(lines).Contains($"{TestConnectorImage.StartLine}: {workload.ConnectorId}");
            await Assert.That(lines).Contains(TestConnectorImage.StderrLine);
            await Assert.That(lines.All(l => !l.Contains('\u0001') && !l.Contains('\u0002') && !l.Contains('\0') && !l.Contains('\r'))).IsTrue();
        }
        await Assert.That(listed.Select(w => w.WorkloadId)).Contains(ttyId);
    }

    [Test]
    public async Task An_idle_cycle_is_one_list_call()
    {
        await using var h = await StartAsync();
        await h.Manager.DeployAsync(h.Manager.Workload("idle", start: false));
        await h.Manager.ListAsync();
        h.Calls();

        await h.Manager.ListAsync();
        await h.Manager.ListAsync();

        await Assert.That(h.Calls()).IsEquivalentTo(new[] { $"GET /v{Docker.ApiVersion}/containers/json", $"GET /v{Docker.ApiVersion}/containers/json" },
            CollectionOrdering.Matching);
    }

    [Test]
    public async Task A_wrong_api_key_is_a_clear_error_that_removes_nothing()
    {
        await using var h = await StartAsync();
        var workload = h.Manager.Workload("keep");
        await h.Manager.DeployAsync(workload);
        var observed = await h.Manager.ObservedAsync(workload.Name);
        const string wrongKey = "ptr_wrong-key-value";
        await using var wrong = await PortainerHarness.StartAsync(Docker, configure: s => s.OpenCti.Daemon.Portainer!.ApiKey = new Composer.Diagnostics.Secret(wrongKey),
            standIn: h.StandIn, managerId: h.Manager.ManagerId);

        var list = await wrong.Orchestrator.ListAsync(CancellationToken.None);
        var remove = await wrong.Orchestrator.RemoveAsync(observed, CancellationToken.None);
        var stop = await wrong.Orchestrator.StopAsync(observed, CancellationToken.None);

        await Assert.That(list.IsSuccess).IsFalse();
        await Assert.That(list.Failure!.Message).Contains("Portainer environment 3 refused the API key (HTTP 401: Invalid API key: Unauthorized)");
        await Assert.That(list.Failure.Message).Contains("check opencti.daemon.portainer.api_key");
        await Assert.That(list.Failure.Message).DoesNotContain(wrongKey);
        await Assert.That(remove!.Message).Contains("opencti.daemon.portainer.api_key");
        await Assert.That(stop!.Message).Contains("opencti.daemon.portainer.api_key");
        var still = await h.Manager.InspectAsync(workload.Name);
        await Assert.That(still.State!.Running).IsTrue();
        await Assert.That(h.StandIn.Requests.Where(r => r.ApiKey == wrongKey).All(r => r.Status == 401)).IsTrue();
    }

    [Test]
    public async Task An_unknown_environment_is_a_clear_error_naming_env_id()
    {
        await using var h = await StartAsync(configure: s => s.OpenCti.Daemon.Portainer!.EnvId = "42");

        var check = await h.Orchestrator.CheckAsync(CancellationToken.None);

        await Assert.That(check!.Message).Contains("Portainer environment 42 answered HTTP 404 (Unable to find an environment with the specified identifier inside the database");
        await Assert.That(check.Message).Contains("check opencti.daemon.portainer.env_id");
    }

    [Test]
    public async Task An_api_version_the_engine_does_not_speak_names_the_key_and_the_version_to_use()
    {
        await using var h = await StartAsync(configure: s => s.OpenCti.Daemon.Portainer!.ApiVersion = "v1.99");

        var list = await h.Orchestrator.ListAsync(CancellationToken.None);

        await Assert.That(list.Failure!.Message).Contains($"but opencti.daemon.portainer.api_version is v1.99: set opencti.daemon.portainer.api_version to v{Docker.ApiVersion}");
        // Nothing was sent at the refused version.
        await Assert.That(h.StandIn.Requests.Select(r => r.DockerPath)).IsEquivalentTo(new[] { "/_ping", "/version" }, CollectionOrdering.Matching);
    }

    [Test]
    public async Task Over_https_a_certificate_of_a_private_ca_fails_until_that_ca_is_configured()
    {
        await using var untrusted = await StartAsync(https: true, trustCa: false);
        var refused = await untrusted.Orchestrator.ListAsync(CancellationToken.None);
        await Assert.That(refused.Failure!.Message).Contains("the TLS handshake failed: the server's certificate is not trusted");
        await Assert.That(refused.Failure.Message).Contains("a private CA goes into opencti.daemon.portainer.ca");
        await Assert.That(refused.Failure.Message).Contains(untrusted.StandIn.Api.Authority);
        await Assert.That(untrusted.StandIn.Requests).IsEmpty();

        await using var trusted = await PortainerHarness.StartAsync(Docker, https: true, trustCa: true, standIn: untrusted.StandIn);
        var listed = await trusted.Orchestrator.ListAsync(CancellationToken.None);
        await Assert.That(listed.Failure?.Message).IsNull();

        await using var skipping = await PortainerHarness.StartAsync(Docker, https: true, trustCa: false, standIn: untrusted.StandIn,
            configure: s => s.OpenCti.Daemon.Portainer!.InsecureSkipVerify = true);
        await Assert.That((await skipping.Orchestrator.ListAsync(CancellationToken.None)).Failure?.Message).IsNull();
        await Assert.That(skipping.Log.ToString()).Contains("insecure_skip_verify is true");
        await Assert.That(trusted.Log.ToString()).DoesNotContain("insecure_skip_verify");
    }

    [Test]
    public async Task A_deploy_interrupted_after_its_create_is_completed_without_a_second_container()
    {
        await using var h = await StartAsync();
        var workload = h.Manager.Workload("interrupted", caBundle: DockerTestManager.Pem("aW50ZXJydXB0ZWQ="));
        // What a kill -9 right after POST /containers/create leaves: the container, not started, without its CA bundle.
        await Docker.Client.Containers.CreateContainerAsync(DockerContainerSpecFor(workload));

        await h.Manager.DeployAsync(workload);

        await Assert.That((await h.Manager.ListAsync()).Count).IsEqualTo(1);
        await h.Manager.WaitForLogAsync(workload.Name, TestConnectorImage.CaPresentLine);
    }

    [Test]
    public async Task A_list_that_fails_is_an_error_and_never_an_empty_list()
    {
        var h = await StartAsync();
        var orchestrator = h.Orchestrator;
        await h.StandIn.DisposeAsync(); // Portainer goes away

        var list = await orchestrator.ListAsync(CancellationToken.None);

        await Assert.That(list.IsSuccess).IsFalse();
        await Assert.That(list.Failure!.Message).Contains($"cannot list the containers of manager {h.Manager.ManagerId}");
        await Assert.That(list.Failure.Message).Contains("Portainer environment 3");
        await h.Manager.DisposeAsync();
    }

    [Test]
    public async Task The_resolve_step_refuses_an_incomplete_portainer_block()
    {
        var settings = new ComposerSettings();
        settings.OpenCti.Daemon.Selector = "portainer";
        settings.OpenCti.Daemon.Portainer = new PortainerSettings { ApiKey = new Composer.Diagnostics.Secret("ChangeMe"), EnvId = " ", ApiVersion = "latest" };
        var (resolved, errors, _) = TestSettings.TryResolve(settings, resolveOrchestrators: true);

        static string Problem(ConfigDiagnostic e) => $"{e.Key} {e.Message}";
        var problems = string.Join("\n", errors.Select(Problem));
        await Assert.That(problems).Contains("opencti.daemon.portainer.api_key is not set");
        await Assert.That(problems).Contains("opencti.daemon.portainer.env_id is not set");
        await Assert.That(problems).Contains("opencti.daemon.portainer.api_version expected a Docker Engine API version such as v1.41, got \"latest\"");
        await Assert.That(resolved.OpenCti.Orchestrator).IsNull();
        settings.OpenCti.Daemon.Portainer = null;
        var (_, missing, _) = TestSettings.TryResolve(settings, resolveOrchestrators: true);
        await Assert.That(string.Join("\n", missing)).Contains("opencti.daemon.portainer is missing");
    }

    [Test]
    [Arguments("v1.41", 1, 41)]
    [Arguments("1.44", 1, 44)]
    [Arguments(" V1.24 ", 1, 24)]
    public async Task Api_versions_parse_with_or_without_the_v(string text, int major, int minor)
    {
        await Assert.That(ResolvedPortainer.ParseApiVersion(text)).IsEqualTo(new Version(major, minor));
    }

    private static global::Docker.DotNet.Models.CreateContainerParameters DockerContainerSpecFor(ConnectorWorkload workload) =>
        Composer.Orchestration.Docker.DockerContainerSpec.CreateParameters(workload, TestConnectorImage.Reference, Composer.Orchestration.Docker.DockerContainerOptions.None);
}

using System.Text;
using System.Text.Json.Nodes;
using Composer.Orchestration;
using Composer.Orchestration.Kubernetes;
using Composer.Reconciliation;
using Composer.Tests.Infrastructure;
using TUnit.Assertions.Enums;

namespace Composer.Tests.Orchestration.Kubernetes;

/// <summary>Every IOrchestrator operation against the Kubernetes stand-in, over HTTPS with a kubeconfig, the real handler factory and the real registry pre-flight.</summary>
[ClassDataSource<HtpasswdRegistryFixture>(Shared = SharedType.PerTestSession)]
public class KubernetesOrchestratorTests(HtpasswdRegistryFixture registry)
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Test]
    public async Task Deploy_creates_the_deployment_its_pull_secret_and_its_ca_secret_and_list_reports_it_running()
    {
        await using var h = await KubernetesHarness.StartAsync(registry);
        var bundle = KubernetesHarness.Bundle("-----BEGIN CERTIFICATE-----\nMIIBbundle\n-----END CERTIFICATE-----\n");
        var workload = h.Workload("connector-one", caBundle: bundle);

        await Assert.That((await h.Orchestrator.DeployAsync(workload, None))?.Message).IsNull();

        var deployment = h.Api.Deployment(h.Namespace, "connector-one")!;
        var container = deployment["spec"]!["template"]!["spec"]!["containers"]![0]!;
        await Assert.That(container["image"]!.GetValue<string>()).IsEqualTo($"{registry.Host}/{KubernetesHarness.ConnectorImage}");
        await Assert.That(deployment["spec"]!["template"]!["spec"]!["imagePullSecrets"]![0]!["name"]!.GetValue<string>()).IsEqualTo(h.PullSecretName);
        await Assert.That(h.Api.SecretValue(h.Namespace, "connector-one-proxy-ca", "ca.crt")).IsEqualTo(System.Text.Encoding.UTF8.GetString(bundle));
        await Assert.That(h.Api.Secret(h.Namespace, h.PullSecretName)!["type"]!.GetValue<string>()).IsEqualTo("kubernetes.io/dockerconfigjson");
        await Assert.That(h.Api.PodsOf(h.Namespace, "connector-one").Count).IsEqualTo(1);

        var observed = await h.ObservedAsync("connector-one");
        await Assert.That(observed.State).IsEqualTo(WorkloadState.Running);
        await Assert.That(observed.ConfigHash).IsEqualTo("hash-1");
        await Assert.That(observed.ConnectorId).IsEqualTo(workload.ConnectorId);
        await Assert.That(observed.PlatformLabel).IsEqualTo("opencti");
        await Assert.That(observed.WorkloadId).IsEqualTo(deployment["metadata"]!["uid"]!.GetValue<string>());
    }

    [Test]
    public async Task An_idle_list_is_one_deployments_list_and_one_pods_list()
    {
        await using var h = await KubernetesHarness.StartAsync(registry);
        await Assert.That((await h.Orchestrator.DeployAsync(h.Workload("connector-idle"), None))?.Message).IsNull();
        var before = h.Api.ComposerRequests.Count;
        for (var i = 0; i < 3; i++) await Assert.That((await h.Orchestrator.ListAsync(None)).IsSuccess).IsTrue();
        var calls = h.Api.ComposerRequests.Skip(before).Select(r => $"{r.Verb} {r.Resource}").ToList();
        await Assert.That(calls).IsEquivalentTo(Enumerable.Repeat(new[] { "list deployments", "list pods" }, 3).SelectMany(x => x).ToList(), CollectionOrdering.Matching);
        await Assert.That(h.Api.ComposerRequests.Skip(before).All(r => r.Query.Contains($"labelSelector=opencti-manager%3D{h.ManagerId}", StringComparison.Ordinal))).IsTrue();
    }

    [Test]
    public async Task A_stopped_deploy_has_no_pod_and_start_and_stop_scale_the_replicas()
    {
        await using var h = await KubernetesHarness.StartAsync(registry);
        var workload = h.Workload("connector-scale", start: false);
        await Assert.That((await h.Orchestrator.DeployAsync(workload, None))?.Message).IsNull();
        var observed = await h.ObservedAsync("connector-scale");
        await Assert.That(observed.State).IsEqualTo(WorkloadState.Stopped);
        await Assert.That(h.Api.PodsOf(h.Namespace, "connector-scale")).IsEmpty();

        await Assert.That((await h.Orchestrator.StartAsync(observed, workload, None))?.Message).IsNull();
        await Assert.That(h.Api.Deployment(h.Namespace, "connector-scale")!["spec"]!["replicas"]!.GetValue<int>()).IsEqualTo(1);
        observed = await h.ObservedAsync("connector-scale");
        await Assert.That(observed.State).IsEqualTo(WorkloadState.Running);

        await Assert.That((await h.Orchestrator.StopAsync(observed, None))?.Message).IsNull();
        await Assert.That(h.Api.Deployment(h.Namespace, "connector-scale")!["spec"]!["replicas"]!.GetValue<int>()).IsEqualTo(0);
        await Assert.That((await h.ObservedAsync("connector-scale")).State).IsEqualTo(WorkloadState.Stopped);
        await Assert.That(h.Api.PodsOf(h.Namespace, "connector-scale")).IsEmpty();
        var patches = h.Api.ComposerRequests.Where(r => r.Verb == "patch").ToList();
        await Assert.That(patches.All(r => r.ContentType == "application/merge-patch+json")).IsTrue();
    }

    [Test]
    public async Task Refresh_on_a_new_hash_patches_the_deployment_in_place_and_rolls_the_pod()
    {
        await using var h = await KubernetesHarness.StartAsync(registry);
        var first = h.Workload("connector-refresh", hash: "hash-1");
        await Assert.That((await h.Orchestrator.DeployAsync(first, None))?.Message).IsNull();
        var uid = h.Api.Deployment(h.Namespace, "connector-refresh")!["metadata"]!["uid"]!.GetValue<string>();
        var oldPod = h.Api.PodsOf(h.Namespace, "connector-refresh").Single()["metadata"]!["name"]!.GetValue<string>();

        var second = first with
        {
            ConfigHash = "hash-2",
            Environment = [new ConnectorEnvVar("CONNECTOR_ID", first.ConnectorId), new ConnectorEnvVar("NEW_KEY", "v2"), new ConnectorEnvVar(ConnectorLabels.ConfigHashVariable, "hash-2")],
        };
        var observed = await h.ObservedAsync("connector-refresh");
        await Assert.That((await h.Orchestrator.RefreshAsync(observed, second, None))?.Message).IsNull();

        var deployment = h.Api.Deployment(h.Namespace, "connector-refresh")!;
        await Assert.That(deployment["metadata"]!["uid"]!.GetValue<string>()).IsEqualTo(uid);
        await Assert.That(deployment["metadata"]!["annotations"]![ConnectorLabels.ConfigHashVariable]!.GetValue<string>()).IsEqualTo("hash-2");
        var env = deployment["spec"]!["template"]!["spec"]!["containers"]![0]!["env"]!.AsArray().Select(e => e!["name"]!.GetValue<string>()).ToList();
        await Assert.That(env).IsEquivalentTo(new[] { "CONNECTOR_ID", "NEW_KEY", ConnectorLabels.ConfigHashVariable }, CollectionOrdering.Matching);
        var newPod = h.Api.PodsOf(h.Namespace, "connector-refresh").Single()["metadata"]!["name"]!.GetValue<string>();
        await Assert.That(newPod).IsNotEqualTo(oldPod);
        await Assert.That((await h.ObservedAsync("connector-refresh")).ConfigHash).IsEqualTo("hash-2");
        var patch = h.Api.ComposerRequests.Single(r => r.Verb == "patch");
        await Assert.That(patch.ContentType).IsEqualTo("application/merge-patch+json");
    }

    [Test]
    public async Task Refresh_rejected_on_the_immutable_selector_deletes_the_deployment_and_the_next_deploy_recreates_it()
    {
        await using var h = await KubernetesHarness.StartAsync(registry);
        var workload = h.Workload("connector-legacy");
        // A deployment whose selector the generated pod template no longer matches (as older versions made them).
        var legacyLabels = new JsonObject
        {
            [ConnectorLabels.Manager] = h.ManagerId,
            [ConnectorLabels.ConnectorId] = workload.ConnectorId,
            [ConnectorLabels.Platform] = "legacy",
        };
        h.Api.SeedDeployment(h.Namespace, new JsonObject
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "Deployment",
            ["metadata"] = new JsonObject { ["name"] = "connector-legacy", ["labels"] = legacyLabels.DeepClone(), ["annotations"] = new JsonObject { [ConnectorLabels.ConfigHashVariable] = "old" } },
            ["spec"] = new JsonObject
            {
                ["replicas"] = 1,
                ["selector"] = new JsonObject { ["matchLabels"] = legacyLabels.DeepClone() },
                ["template"] = new JsonObject
                {
                    ["metadata"] = new JsonObject { ["labels"] = legacyLabels.DeepClone() },
                    ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["name"] = "connector-legacy", ["image"] = "old:1" }) },
                },
            },
        });
        var observed = await h.ObservedAsync("connector-legacy");
        await Assert.That(observed.ConfigHash).IsEqualTo("old");

        var error = await h.Orchestrator.RefreshAsync(observed, workload, None);

        await Assert.That(error?.Message).Contains("deployed again on the next cycle");
        await Assert.That(error!.Message).Contains("selector");
        await Assert.That(h.Api.Deployment(h.Namespace, "connector-legacy")).IsNull();
        var rejected = h.Api.ComposerRequests.Single(r => r.Verb == "patch");
        await Assert.That(rejected.Status).IsEqualTo(422);
        await Assert.That((await h.Orchestrator.ListAsync(None)).Value!.Any(w => w.Name == "connector-legacy")).IsFalse();

        await Assert.That((await h.Orchestrator.DeployAsync(workload, None))?.Message).IsNull();
        var recreated = await h.ObservedAsync("connector-legacy");
        await Assert.That(recreated.State).IsEqualTo(WorkloadState.Running);
        await Assert.That(recreated.ConfigHash).IsEqualTo("hash-1");
    }

    [Test]
    public async Task Remove_deletes_the_deployment_its_pods_and_its_ca_secret_but_keeps_the_shared_pull_secret()
    {
        await using var h = await KubernetesHarness.StartAsync(registry);
        await Assert.That((await h.Orchestrator.DeployAsync(h.Workload("connector-gone", caBundle: KubernetesHarness.Bundle("ca")), None))?.Message).IsNull();
        await Assert.That((await h.Orchestrator.DeployAsync(h.Workload("connector-stays", caBundle: KubernetesHarness.Bundle("ca")), None))?.Message).IsNull();

        await Assert.That((await h.Orchestrator.RemoveAsync(await h.ObservedAsync("connector-gone"), None))?.Message).IsNull();

        await Assert.That(h.Api.DeploymentNames(h.Namespace)).IsEquivalentTo(new[] { "connector-stays" });
        await Assert.That(h.Api.PodsOf(h.Namespace, "connector-gone")).IsEmpty();
        await Assert.That(h.Api.SecretNames(h.Namespace)).IsEquivalentTo(new[] { "connector-stays-proxy-ca", h.PullSecretName });
        // Removing what is already gone succeeds (a retry after a crash).
        var ghost = new ObservedWorkload("uid", "connector-gone", new Dictionary<string, string>(), WorkloadState.Stopped, "0/0", null);
        await Assert.That((await h.Orchestrator.RemoveAsync(ghost, None))?.Message).IsNull();
    }

    [Test]
    public async Task Logs_are_the_last_100_lines_then_only_the_lines_after_the_cursor()
    {
        await using var h = await KubernetesHarness.StartAsync(registry);
        await Assert.That((await h.Orchestrator.DeployAsync(h.Workload("connector-logs"), None))?.Message).IsNull();
        var start = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        for (var i = 0; i < 150; i++) h.Api.AppendLog(h.Namespace, "connector-logs", $"line {i}", start.AddTicks(i * 1234567));
        var observed = await h.ObservedAsync("connector-logs");

        var first = await h.Orchestrator.LogsAsync(observed, null, Composer.Reconciliation.LogLimits.Default, None);
        await Assert.That(first.IsSuccess).IsTrue().Because(first.Failure?.Message ?? "");
        await Assert.That(first.Value!.Lines.Count).IsEqualTo(100);
        await Assert.That(first.Value.Lines[0]).IsEqualTo("line 50");
        await Assert.That(first.Value.Lines[^1]).IsEqualTo("line 149");
        await Assert.That(first.Value.LastTimestamp).IsEqualTo(start.AddTicks(149 * 1234567));

        // Same second as the cursor: the API returns it again (whole seconds), Composer drops what it has.
        h.Api.AppendLog(h.Namespace, "connector-logs", "new 1", first.Value.LastTimestamp!.Value.AddTicks(1));
        h.Api.AppendLog(h.Namespace, "connector-logs", "new 2", first.Value.LastTimestamp!.Value.AddSeconds(3));
        var next = await h.Orchestrator.LogsAsync(observed, first.Value.LastTimestamp, Composer.Reconciliation.LogLimits.Default, None);
        await Assert.That(next.Value!.Lines).IsEquivalentTo(new[] { "new 1", "new 2" }, CollectionOrdering.Matching);
        await Assert.That(next.Value.LastTimestamp).IsEqualTo(first.Value.LastTimestamp!.Value.AddSeconds(3));

        var nothing = await h.Orchestrator.LogsAsync(observed, next.Value.LastTimestamp, Composer.Reconciliation.LogLimits.Default, None);
        await Assert.That(nothing.Value!.Lines).IsEmpty();
        await Assert.That(nothing.Value.LastTimestamp).IsEqualTo(next.Value.LastTimestamp);
        var log = h.Api.ComposerRequests.Last(r => r.Resource == "pods/log");
        await Assert.That(log.Query).Contains("container=connector-logs");
        await Assert.That(log.Query).Contains("sinceTime=");
    }

    [Test]
    public async Task A_flood_is_read_with_tail_lines_since_time_and_limit_bytes_and_kept_within_the_limits()
    {
        await using var h = await KubernetesHarness.StartAsync(registry);
        await Assert.That((await h.Orchestrator.DeployAsync(h.Workload("connector-flood"), None))?.Message).IsNull();
        var start = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);
        // 20,000 long lines with escape sequences, then one line of 3 MiB without end: more than limitBytes.
        var flood = "flood \u001b[31mred\u001b[0m \u0007bell " + new string('x', 3000);
        for (var i = 0; i < 20_000; i++) h.Api.AppendLog(h.Namespace, "connector-flood", $"{i:D5} {flood}", start.AddTicks(i * 10_000));
        var observed = await h.ObservedAsync("connector-flood");
        var limits = new LogLimits(50, 16 * 1024, 512);

        var first = await h.Orchestrator.LogsAsync(observed, null, limits, None);
        await Assert.That(first.IsSuccess).IsTrue().Because(first.Failure?.Message ?? "");
        var lines = first.Value!.Lines;
        await Assert.That(lines.Count).IsLessThanOrEqualTo(50);
        await Assert.That(lines.Sum(l => Encoding.UTF8.GetByteCount(l))).IsLessThanOrEqualTo(16 * 1024);
        await Assert.That(lines.All(l => Encoding.UTF8.GetByteCount(l) <= 512 && l.EndsWith(LogLineText.CutMark, StringComparison.Ordinal))).IsTrue();
        await Assert.That(lines[^1]).StartsWith("19999 flood red bell xxx");
        await Assert.That(first.Value.LastTimestamp).IsEqualTo(start.AddTicks(19_999 * 10_000));
        var request = h.Api.ComposerRequests.Last(r => r.Resource == "pods/log");
        await Assert.That(request.Query).Contains("tailLines=50");
        await Assert.That(request.Query).Contains("limitBytes=" + KubernetesApiClient.LogReadBytes(limits));
        await Assert.That(request.Query).DoesNotContain("sinceTime=");

        // A line longer than limitBytes: the API cuts the answer inside it; kept cut, and the cursor moves past it.
        var huge = start.AddSeconds(30); // after the last line of the flood (start + 19.999 s)
        h.Api.AppendLog(h.Namespace, "connector-flood", "huge " + new string('y', 3 * 1024 * 1024), huge);
        var next = await h.Orchestrator.LogsAsync(observed, first.Value.LastTimestamp, limits, None);
        await Assert.That(next.Value!.Lines.Count).IsEqualTo(1);
        await Assert.That(next.Value.Lines[0]).StartsWith("huge yyy");
        await Assert.That(next.Value.Lines[0]).EndsWith(LogLineText.CutMark);
        await Assert.That(next.Value.LastTimestamp).IsEqualTo(huge);
        request = h.Api.ComposerRequests.Last(r => r.Resource == "pods/log");
        await Assert.That(request.Query).Contains("sinceTime=");
        await Assert.That(request.Query).Contains("tailLines=50");
    }

    [Test]
    public async Task Health_reports_the_restarts_and_start_time_of_the_pod_and_a_crash_loop_is_restarting()
    {
        await using var h = await KubernetesHarness.StartAsync(registry);
        await Assert.That((await h.Orchestrator.DeployAsync(h.Workload("connector-health"), None))?.Message).IsNull();
        var started = new DateTimeOffset(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);
        h.Api.SetContainerState(h.Namespace, "connector-health", 3, started);
        var observed = await h.ObservedAsync("connector-health");

        var health = await h.Orchestrator.HealthAsync(observed, None);
        await Assert.That(health.Value).IsEqualTo(new WorkloadHealth(3, started));

        h.Api.SetContainerState(h.Namespace, "connector-health", 4, null, waitingReason: "CrashLoopBackOff");
        observed = await h.ObservedAsync("connector-health");
        await Assert.That(observed.State).IsEqualTo(WorkloadState.Restarting);
        await Assert.That(observed.RawState).Contains("CrashLoopBackOff");
        await Assert.That((await h.Orchestrator.HealthAsync(observed, None)).Value).IsEqualTo(new WorkloadHealth(4, null, Restarting: true));
        // No log yet from a waiting container: nothing new, not an error.
        var logs = await h.Orchestrator.LogsAsync(observed, null, Composer.Reconciliation.LogLimits.Default, None);
        await Assert.That(logs.IsSuccess).IsTrue().Because(logs.Failure?.Message ?? "");
        await Assert.That(logs.Value!.Lines).IsEmpty();

        await Assert.That((await h.Orchestrator.StopAsync(observed, None))?.Message).IsNull();
        await Assert.That((await h.Orchestrator.HealthAsync(await h.ObservedAsync("connector-health"), None)).Value).IsEqualTo(new WorkloadHealth(0, null));
    }

    [Test]
    public async Task A_crash_looping_pod_gives_its_restarts_exit_code_last_start_and_last_run_log()
    {
        await using var h = await KubernetesHarness.StartAsync(registry);
        h.Api.CrashBackoff = TimeSpan.FromMilliseconds(200);
        var workload = h.Workload("connector-crash");
        workload = workload with { Environment = [.. workload.Environment, new ConnectorEnvVar("CRASH_EXIT_CODE", "3")] };
        await Assert.That((await h.Orchestrator.DeployAsync(workload, None))?.Message).IsNull();

        // 200 ms, 400, 800, 1.6 s: the fourth restart after 3 s.
        WorkloadHealth? health = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        ObservedWorkload observed;
        do
        {
            await Task.Delay(200);
            observed = await h.ObservedAsync("connector-crash");
            health = (await h.Orchestrator.HealthAsync(observed, None)).Value!;
        } while (health.RestartCount < 4 && DateTime.UtcNow < deadline);

        await Assert.That(observed.State).IsEqualTo(WorkloadState.Restarting);
        await Assert.That(observed.RawState).IsEqualTo("0/1 CrashLoopBackOff");
        await Assert.That(health.RestartCount).IsGreaterThanOrEqualTo(4);
        await Assert.That(health.Restarting).IsTrue();
        await Assert.That(health.ExitCode).IsEqualTo(3);
        await Assert.That(DateTimeOffset.UtcNow - health.StartedAt!.Value).IsLessThan(TimeSpan.FromSeconds(30));
        await Assert.That(observed.CreatedAt).IsNotNull();

        // The log of the last terminated run, as the kubelet serves it while the next run waits.
        var logs = await h.Orchestrator.LogsAsync(observed, null, LogLimits.Default, None);
        await Assert.That(logs.Value!.Lines).IsEquivalentTo(new[]
        {
            $"connector started: {workload.ConnectorId}", "crash line 1 of 3", "crash line 2 of 3", "crash line 3 of 3", "connector crashing with exit code 3",
        }, TUnit.Assertions.Enums.CollectionOrdering.Matching);

        // Scaled to 0: no pod, nothing restarting.
        await Assert.That((await h.Orchestrator.StopAsync(observed, None))?.Message).IsNull();
        await Assert.That((await h.Orchestrator.HealthAsync(await h.ObservedAsync("connector-crash"), None)).Value).IsEqualTo(new WorkloadHealth(0, null));
    }

    [Test]
    public async Task A_failing_list_is_an_error_and_removes_nothing()
    {
        await using var h = await KubernetesHarness.StartAsync(registry);
        await Assert.That((await h.Orchestrator.DeployAsync(h.Workload("connector-kept"), None))?.Message).IsNull();

        h.Api.FailDeploymentLists = 1;
        var list = await h.Orchestrator.ListAsync(None);
        await Assert.That(list.IsSuccess).IsFalse();
        await Assert.That(list.Failure!.Message).Contains($"listing deployments in namespace {h.Namespace}: 500 InternalError");

        h.Api.FailPodLists = 1;
        list = await h.Orchestrator.ListAsync(None);
        await Assert.That(list.IsSuccess).IsFalse();
        await Assert.That(list.Failure!.Message).Contains("listing pods");

        await Assert.That(h.Api.DeploymentNames(h.Namespace)).IsEquivalentTo(new[] { "connector-kept" });
        await Assert.That(h.Api.ComposerRequests.Any(r => r.Verb is "delete" or "deletecollection")).IsFalse();
        await Assert.That((await h.Orchestrator.ListAsync(None)).Value!.Single().Name).IsEqualTo("connector-kept");
    }

    [Test]
    public async Task A_changed_ca_bundle_updates_its_secret_in_place_and_a_409_is_retried_with_the_fresh_resourceVersion()
    {
        await using var h = await KubernetesHarness.StartAsync(registry);
        var first = h.Workload("connector-ca", caBundle: KubernetesHarness.Bundle("bundle A"));
        await Assert.That((await h.Orchestrator.DeployAsync(first, None))?.Message).IsNull();
        var uid = h.Api.Secret(h.Namespace, "connector-ca-proxy-ca")!["metadata"]!["uid"]!.GetValue<string>();
        h.Api.ConflictOnNextSecretUpdate(h.Namespace, "connector-ca-proxy-ca");

        var second = first with { ConfigHash = "hash-2", CaBundle = KubernetesHarness.Bundle("bundle B") };
        await Assert.That((await h.Orchestrator.RefreshAsync(await h.ObservedAsync("connector-ca"), second, None))?.Message).IsNull();

        var secret = h.Api.Secret(h.Namespace, "connector-ca-proxy-ca")!;
        await Assert.That(secret["metadata"]!["uid"]!.GetValue<string>()).IsEqualTo(uid);
        await Assert.That(h.Api.SecretValue(h.Namespace, "connector-ca-proxy-ca", "ca.crt")).IsEqualTo("bundle B");
        // What the concurrent writer added survives the update.
        await Assert.That(secret["metadata"]!["annotations"]!["standin/concurrent-writer"]!.GetValue<string>()).IsEqualTo("touched");
        var calls = h.Api.ComposerRequests.Where(r => r.Path.EndsWith("/secrets/connector-ca-proxy-ca", StringComparison.Ordinal)).Select(r => $"{r.Method} {r.Status}").ToList();
        // Created (404, then a POST to the collection), then: read, PUT refused, read again, PUT with the fresh resourceVersion.
        await Assert.That(calls).IsEquivalentTo(new[] { "GET 404", "GET 200", "PUT 409", "GET 200", "PUT 200" }, CollectionOrdering.Matching);
        await Assert.That(h.Api.ComposerRequests.Any(r => r.Resource == "secrets" && r.Verb == "delete")).IsFalse();
    }

    [Test]
    public async Task A_dropped_ca_bundle_removes_the_volume_and_deletes_its_secret()
    {
        await using var h = await KubernetesHarness.StartAsync(registry);
        var first = h.Workload("connector-noca", caBundle: KubernetesHarness.Bundle("bundle"));
        await Assert.That((await h.Orchestrator.DeployAsync(first, None))?.Message).IsNull();

        var second = first with { ConfigHash = "hash-2", CaBundle = null };
        await Assert.That((await h.Orchestrator.RefreshAsync(await h.ObservedAsync("connector-noca"), second, None))?.Message).IsNull();

        var podSpec = h.Api.Deployment(h.Namespace, "connector-noca")!["spec"]!["template"]!["spec"]!.AsObject();
        await Assert.That(podSpec.ContainsKey("volumes")).IsFalse();
        await Assert.That(podSpec["containers"]![0]!.AsObject().ContainsKey("volumeMounts")).IsFalse();
        await Assert.That(h.Api.Secret(h.Namespace, "connector-noca-proxy-ca")).IsNull();
    }

    [Test]
    public async Task An_image_the_registry_does_not_have_is_refused_before_anything_is_created()
    {
        await using var h = await KubernetesHarness.StartAsync(registry);
        var error = await h.Orchestrator.DeployAsync(h.Workload("connector-missing", image: "composer-tests/does-not-exist:9"), None);
        await Assert.That(error?.Message).Contains("does-not-exist");
        await Assert.That(h.Api.DeploymentNames(h.Namespace)).IsEmpty();
        await Assert.That(h.Api.ComposerRequests.Any(r => r.Resource == "deployments" && r.Verb == "create")).IsFalse();
    }

    [Test]
    public async Task A_refresh_whose_image_cannot_be_pulled_leaves_the_running_deployment_alone()
    {
        await using var h = await KubernetesHarness.StartAsync(registry);
        var first = h.Workload("connector-keep");
        await Assert.That((await h.Orchestrator.DeployAsync(first, None))?.Message).IsNull();
        var before = h.Api.Deployment(h.Namespace, "connector-keep")!.ToJsonString();

        var error = await h.Orchestrator.RefreshAsync(await h.ObservedAsync("connector-keep"), first with { ConfigHash = "h2", Image = h.Images.Resolve("composer-tests/nope:1").Value! }, None);

        await Assert.That(error).IsNotNull();
        await Assert.That(h.Api.Deployment(h.Namespace, "connector-keep")!.ToJsonString()).IsEqualTo(before);
    }

    [Test]
    [Arguments("my-connector--v2-", "it must start and end with a letter or digit")]
    [Arguments("a-connector-whose-name-is-far-too-long-for-kubernetes-to-accept-it", "the limit is 63")]
    public async Task A_name_Kubernetes_refuses_fails_the_deploy_with_a_clear_message_and_no_call(string name, string reason)
    {
        await using var h = await KubernetesHarness.StartAsync(registry);
        var error = await h.Orchestrator.DeployAsync(h.Workload(name), None);
        await Assert.That(error?.Message).Contains($"\"{name}\"");
        await Assert.That(error!.Message).Contains(reason);
        await Assert.That(error.Message).Contains("rename the connector");
        await Assert.That(h.Api.ComposerRequests).IsEmpty();
    }

    [Test]
    public async Task A_deployment_of_the_same_name_that_is_not_this_managers_is_left_alone()
    {
        await using var h = await KubernetesHarness.StartAsync(registry);
        var other = h.Workload("connector-taken") with { Labels = ConnectorWorkload.LabelsFor("another-manager", "x", Composer.Configuration.PlatformKind.OpenCti, "0123456789ab") };
        await Assert.That((await h.Orchestrator.DeployAsync(other, None))?.Message).IsNull();
        var error = await h.Orchestrator.DeployAsync(h.Workload("connector-taken"), None);
        await Assert.That(error?.Message).Contains("already exists");
        await Assert.That(h.Api.Deployment(h.Namespace, "connector-taken")!["metadata"]!["labels"]![ConnectorLabels.Manager]!.GetValue<string>()).IsEqualTo("another-manager");
    }

    [Test]
    public async Task Check_answers_null_and_names_the_problem_when_the_token_is_refused()
    {
        await using var h = await KubernetesHarness.StartAsync(registry);
        await Assert.That((await h.Orchestrator.CheckAsync(None))?.Message).IsNull();
        h.Api.RotateTokens("a-token-composer-does-not-have");
        var error = await h.Orchestrator.CheckAsync(None);
        await Assert.That(error?.Message).Contains("401 Unauthorized");
        await Assert.That(error!.Message).Contains(h.Namespace);
        await Assert.That(error.Message).DoesNotContain(h.Api.Token);
    }

    [Test]
    public async Task Base_deployment_settings_survive_and_logs_read_the_connector_container_among_two()
    {
        await using var h = await KubernetesHarness.StartAsync(registry, s => s.OpenCti.Daemon.Kubernetes!.BaseDeploymentJson = """
            {"spec":{"template":{"metadata":{"labels":{"team":"cti"}},"spec":{
              "serviceAccountName":"connectors","nodeSelector":{"pool":"cti"},
              "containers":[{"name":"sidecar","image":"busybox:1"},{"name":"connector-base","env":[{"name":"BASE_ONLY","value":"1"},{"name":"CONNECTOR_ID","value":"base"}]}]}}}}
            """);
        var workload = h.Workload("connector-base");
        await Assert.That((await h.Orchestrator.DeployAsync(workload, None))?.Message).IsNull();

        var podSpec = h.Api.Deployment(h.Namespace, "connector-base")!["spec"]!["template"]!["spec"]!;
        await Assert.That(podSpec["serviceAccountName"]!.GetValue<string>()).IsEqualTo("connectors");
        await Assert.That(podSpec["nodeSelector"]!["pool"]!.GetValue<string>()).IsEqualTo("cti");
        var containers = podSpec["containers"]!.AsArray();
        await Assert.That(containers.Select(c => c!["name"]!.GetValue<string>()).ToList()).IsEquivalentTo(new[] { "sidecar", "connector-base" });
        var env = containers[1]!["env"]!.AsArray().ToDictionary(e => e!["name"]!.GetValue<string>(), e => e!["value"]!.GetValue<string>());
        await Assert.That(env["BASE_ONLY"]).IsEqualTo("1");
        await Assert.That(env["CONNECTOR_ID"]).IsEqualTo(workload.ConnectorId);

        var at = DateTimeOffset.UtcNow;
        h.Api.AppendLog(h.Namespace, "connector-base", "from the sidecar", at, container: "sidecar");
        h.Api.AppendLog(h.Namespace, "connector-base", "from the connector", at);
        var logs = await h.Orchestrator.LogsAsync(await h.ObservedAsync("connector-base"), null, Composer.Reconciliation.LogLimits.Default, None);
        await Assert.That(logs.Value!.Lines).IsEquivalentTo(new[] { "from the connector" });
    }
}

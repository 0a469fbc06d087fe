using System.Text;
using System.Text.Json.Nodes;
using Composer.Images;
using Composer.Reconciliation;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd.Orchestrators;

/// <summary>
/// Kubernetes: a <see cref="KubernetesStandIn"/> of the test's own (HTTPS, token auth, a pod per deployment scaled
/// up), reached by composer through a generated kubeconfig (KUBECONFIG) whose context names a namespace of the test's
/// own. There is no kubelet: images are never pulled, so what the checks read is the Deployment (image,
/// imagePullSecrets, env, CA volume), the Secrets Composer wrote and the registry's log of Composer's pre-flight.
/// Connector logs are lines the test writes into the pod's log. The stand-in stops once composer is gone.
/// </summary>
internal sealed class KubernetesTarget : OrchestratorTarget, IEventsTarget
{
    private KubernetesTarget(EndToEndManager manager, OrchestratorFixtures fixtures, KubernetesStandIn api, string ns) : base(manager, fixtures)
    {
        Api = api;
        Namespace = ns;
    }

    public KubernetesStandIn Api { get; }
    public string Namespace { get; }

    public override string Kind => "kubernetes";
    public override bool HasCaObject => true;
    public override string RunnableImage => Fixtures.Anonymous.Reference;
    public override string ImageOutsideTheRegistry => Fixtures.Anonymous.Reference;

    public static async Task<KubernetesTarget> StartAsync(OrchestratorFixtures fixtures)
    {
        var api = await KubernetesStandIn.StartAsync();
        try
        {
            var manager = await EndToEndManager.CreateAsync(fixtures.Docker, daemon: "selector: kubernetes");
            var ns = "ns-" + manager.ManagerId;
            manager.Environment["KUBECONFIG"] = api.WriteKubeconfig(Path.Combine(manager.Directory, "kubeconfig"), ns);
            manager.Secret(api.Token);
            manager.CleanUpOnDispose(() => api.DisposeAsync().AsTask());
            return new KubernetesTarget(manager, fixtures, api, ns);
        }
        catch
        {
            await api.DisposeAsync();
            throw;
        }
    }

    public override Task<IReadOnlyList<WorkloadView>> WorkloadsAsync()
    {
        var views = new List<WorkloadView>();
        foreach (var name in Api.DeploymentNames(Namespace))
        {
            if (Api.Deployment(Namespace, name) is not { } deployment) continue;
            var labels = deployment["metadata"]?["labels"] as JsonObject;
            if (labels?[ConnectorLabels.Manager]?.GetValue<string>() != Manager.ManagerId) continue;
            var replicas = deployment["spec"]?["replicas"]?.GetValue<int>() ?? 1;
            var pods = Api.PodsOf(Namespace, name).Count;
            var run = replicas >= 1 && pods >= 1 ? WorkloadRun.Running : replicas == 0 && pods == 0 ? WorkloadRun.Stopped : WorkloadRun.Other;
            var container = Container(deployment);
            var environment = (container["env"] as JsonArray ?? []).OfType<JsonObject>()
                .Select(e => $"{e["name"]!.GetValue<string>()}={e["value"]?.GetValue<string>()}");
            views.Add(new WorkloadView(deployment["metadata"]!["uid"]!.GetValue<string>(), name,
                labels[ConnectorLabels.ConnectorId]?.GetValue<string>() ?? "", container["image"]!.GetValue<string>(), run,
                [.. environment]) { MeantToRun = replicas >= 1 });
        }
        return Task.FromResult<IReadOnlyList<WorkloadView>>(views);
    }

    public JsonObject Deployment(WorkloadView workload) =>
        Api.Deployment(Namespace, workload.Name) ?? throw new InvalidOperationException($"deployment {workload.Name} is gone");

    public static JsonObject Container(JsonObject deployment) => deployment["spec"]!["template"]!["spec"]!["containers"]![0]!.AsObject();

    /// <summary>A registry image the kubelet would pull: pushed through the registry API (no engine involved).</summary>
    public override async Task<string> PushAsync(string host, string user, string password, string repository)
    {
        await RegistryPusher.PushImageAsync(new Uri($"http://{host}/"), repository, "1", user, password);
        return $"{host}/{repository}:1";
    }

    /// <summary>The pull secret Composer names after the registry server.</summary>
    public static string PullSecretName(string registryHost) => RegistryConfiguration.Slug(registryHost);

    /// <summary>The registry credentials of the pull secret, as the kubelet reads them: auths[host].</summary>
    public JsonObject PullSecretAuth(string registryHost) =>
        JsonNode.Parse(Api.SecretValue(Namespace, PullSecretName(registryHost), ".dockerconfigjson")!)!["auths"]![registryHost]!.AsObject();

    /// <summary>That the pod names the one pull secret (named after <paramref name="secretHost"/>) and that it holds these credentials for <paramref name="registryHost"/>.</summary>
    public async Task AssertPullSecretAsync(WorkloadView workload, string secretHost, string registryHost, string user, string password)
    {
        var pullSecrets = (Deployment(workload)["spec"]!["template"]!["spec"]!["imagePullSecrets"] as JsonArray ?? [])
            .Select(s => s!["name"]!.GetValue<string>()).ToList();
        await Assert.That(pullSecrets).IsEquivalentTo(new[] { PullSecretName(secretHost) });
        await Manager.EventuallyAsync(() => Task.FromResult(Api.SecretValue(Namespace, PullSecretName(secretHost), ".dockerconfigjson") is { } json
                && JsonNode.Parse(json)!["auths"]![registryHost] is not null),
            $"pull secret {PullSecretName(secretHost)} holding {registryHost}", () => Task.FromResult(""));
        var auth = JsonNode.Parse(Api.SecretValue(Namespace, PullSecretName(secretHost), ".dockerconfigjson")!)!["auths"]![registryHost]!.AsObject();
        await Assert.That(auth["username"]!.GetValue<string>()).IsEqualTo(user);
        await Assert.That(auth["password"]!.GetValue<string>()).IsEqualTo(password);
        await Assert.That(Encoding.UTF8.GetString(Convert.FromBase64String(auth["auth"]!.GetValue<string>()))).IsEqualTo($"{user}:{password}");
    }

    /// <summary>That Composer's pre-flight asked <paramref name="registry"/> for the manifest of <paramref name="reference"/> and was served.</summary>
    public async Task AssertPreflightServedAsync(string reference, string host, RegistryFixture registry)
    {
        var repository = reference[(host.Length + 1)..reference.LastIndexOf(':')];
        var served = registry.Output.Split('\n').Where(l => l.Contains("msg=\"response completed\"", StringComparison.Ordinal)
            && l.Contains($"http.request.uri=/v2/{repository}/manifests/1 ", StringComparison.Ordinal)
            && l.Contains("http.request.useragent=composer/", StringComparison.Ordinal)
            && l.Contains("http.response.status=200", StringComparison.Ordinal)).ToList();
        await Assert.That(served).IsNotEmpty().Because($"no pre-flight of {reference} in the registry's log");
    }

    public override async Task AssertPulledAsync(WorkloadView workload, string reference, string user, string password, RegistryFixture registry)
    {
        await Assert.That(workload.Image).IsEqualTo(reference);
        var host = registry.Host;
        // The kubelet's part: the pod names Composer's pull secret, which holds exactly these credentials for that host.
        var pullSecrets = (Deployment(workload)["spec"]!["template"]!["spec"]!["imagePullSecrets"] as JsonArray ?? [])
            .Select(s => s!["name"]!.GetValue<string>()).ToList();
        await Assert.That(pullSecrets).IsEquivalentTo(new[] { PullSecretName(host) });
        await Assert.That(Api.Secret(Namespace, PullSecretName(host))!["type"]!.GetValue<string>()).IsEqualTo("kubernetes.io/dockerconfigjson");
        var auth = PullSecretAuth(host);
        await Assert.That(auth["username"]!.GetValue<string>()).IsEqualTo(user);
        await Assert.That(auth["password"]!.GetValue<string>()).IsEqualTo(password);
        await Assert.That(Encoding.UTF8.GetString(Convert.FromBase64String(auth["auth"]!.GetValue<string>()))).IsEqualTo($"{user}:{password}");
        // Composer's part: its pre-flight asked the real registry for that manifest and was served (the registry
        // refuses anonymous requests, so it authenticated; the line names no user for an accepted password).
        var repository = reference[(host.Length + 1)..reference.LastIndexOf(':')];
        var served = registry.Output.Split('\n').Where(l => l.Contains("msg=\"response completed\"", StringComparison.Ordinal)
            && l.Contains($"http.request.uri=/v2/{repository}/manifests/1 ", StringComparison.Ordinal)
            && l.Contains("http.request.useragent=composer/", StringComparison.Ordinal)
            && l.Contains("http.response.status=200", StringComparison.Ordinal)).ToList();
        await Assert.That(served).IsNotEmpty().Because($"no pre-flight of {reference} in the registry's log");
    }

    public override async Task AssertCaBundleAsync(WorkloadView workload, TestCertificateAuthority ca)
    {
        var secretName = workload.Name + "-proxy-ca";
        await Assert.That(Api.SecretValue(Namespace, secretName, "ca.crt")).Contains(ca.CertificatePem.Trim());
        var deployment = Deployment(workload);
        var mount = Container(deployment)["volumeMounts"]!.AsArray().Single()!;
        await Assert.That(mount["mountPath"]!.GetValue<string>()).IsEqualTo(TestConnectorImage.CaBundlePath);
        await Assert.That(mount["subPath"]!.GetValue<string>()).IsEqualTo("ca.crt");
        var volume = deployment["spec"]!["template"]!["spec"]!["volumes"]!.AsArray().Single(v => v!["name"]!.GetValue<string>() == mount["name"]!.GetValue<string>())!;
        await Assert.That(volume["secret"]!["secretName"]!.GetValue<string>()).IsEqualTo(secretName);
    }

    public override Task<int> CaObjectsAsync(WorkloadView workload) =>
        Task.FromResult(Api.SecretNames(Namespace).Count(n => n == workload.Name + "-proxy-ca"));

    /// <summary>Writes a line into the log of the deployment's pod (what its container would print).</summary>
    public override bool BoundsEngineLogs => false;

    /// <summary>What the flood image would print, written into the pod's log: thousands of long lines with control characters.</summary>
    public override Task FloodAsync(WorkloadView workload)
    {
        var line = "flood \u001b[31mred\u001b[0m \u0007bell \r\u0001\u0002 \uFFFD\uFFFDbad-utf8 " + new string('x', 6000);
        var at = DateTimeOffset.UtcNow;
        for (var i = 0; i < 5000; i++) Api.AppendLog(Namespace, workload.Name, line, at.AddTicks(i * 10));
        return Task.CompletedTask;
    }

    public override Task<string> ConnectorLogLineAsync(WorkloadView workload)
    {
        var line = $"{TestConnectorImage.StartLine}: {workload.ConnectorId}";
        Api.AppendLog(Namespace, workload.Name, line, DateTimeOffset.UtcNow);
        return Task.FromResult(line);
    }

    /// <summary>Lists fail and the watches are cut and refused: the API is unusable, not only its list call.</summary>
    public override void BreakListing()
    {
        Api.FailDeploymentLists = -1;
        Api.RefuseWatches = true;
        Api.CloseWatches();
    }

    public override void RestoreListing()
    {
        Api.FailDeploymentLists = 0;
        Api.RefuseWatches = false;
    }

    /// <summary>The deployment's create: carried out, never answered.</summary>
    public override Task<string> HoldMidDeploy() => Api.HoldAnswers($"^POST /apis/apps/v1/namespaces/{Namespace}/deployments$");

    public override void StopHolding() => Api.StopHolding();

    /// <summary>The deployment's create: carried out, answered late (or never, when the test ends first).</summary>
    public override Task<string> HoldSlowStep() => HoldMidDeploy();

    public override void ReleaseHeld() => Api.ReleaseAnswers();

    public override int SlowSteps => Api.ComposerRequests.Count(r => r.Resource == "deployments" && r.Verb == "create");

    /// <summary>The kubelet restarts the connector container after it exited 1.</summary>
    public Task CrashAsync(WorkloadView workload)
    {
        Api.RestartContainer(Namespace, workload.Name, 1);
        return Task.CompletedTask;
    }

    public Task DeleteAsync(WorkloadView workload)
    {
        Api.DeleteDeployment(Namespace, workload.Name);
        return Task.CompletedTask;
    }

    /// <summary>Deployments lists (each listing also lists the pods).</summary>
    public int WorkloadListings => Api.ComposerRequests.Count(r => r.Resource == "deployments" && r.Verb == "list");

    public void CutEvents()
    {
        Api.RefuseWatches = true;
        Api.CloseWatches();
    }

    public void RestoreEvents() => Api.RefuseWatches = false;
}

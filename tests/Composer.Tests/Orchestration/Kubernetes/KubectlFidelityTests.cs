using System.Diagnostics;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Orchestration.Kubernetes;

/// <summary>
/// The stand-in's fidelity, checked by the real kubectl (/usr/bin/kubectl) with a generated kubeconfig: discovery,
/// server-side tables and the typed objects kubectl describe decodes must be what a real API server answers, for the
/// objects Composer created.
/// </summary>
[ClassDataSource<HtpasswdRegistryFixture>(Shared = SharedType.PerTestSession)]
public class KubectlFidelityTests(HtpasswdRegistryFixture registry)
{
    private const string Kubectl = "/usr/bin/kubectl";

    private static async Task<ProcessResult> KubectlAsync(KubernetesHarness h, string kubeconfig, params string[] args)
    {
        var psi = new ProcessStartInfo(Kubectl);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["KUBECONFIG"] = kubeconfig;
        psi.Environment["HOME"] = h.Directory; // discovery cache under the test directory
        psi.Environment.Remove("HTTPS_PROXY");
        psi.Environment.Remove("https_proxy");
        return await ProcessRunner.RunAsync(psi, null, TimeSpan.FromSeconds(60), "kubectl " + string.Join(' ', args));
    }

    [Test]
    public async Task Kubectl_gets_and_describes_what_Composer_created()
    {
        Requirements.Need(File.Exists(Kubectl), $"{Kubectl} (kubectl)");
        await using var h = await KubernetesHarness.StartAsync(registry);
        var workload = h.Workload("connector-kubectl", caBundle: KubernetesHarness.Bundle("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"));
        await Assert.That((await h.Orchestrator.DeployAsync(workload, CancellationToken.None))?.Message).IsNull();
        var stopped = h.Workload("connector-stopped", start: false);
        await Assert.That((await h.Orchestrator.DeployAsync(stopped, CancellationToken.None))?.Message).IsNull();
        // kubectl authenticates as another user, so that its calls are not counted as Composer's.
        var kubeconfig = h.Api.WriteKubeconfig(Path.Combine(h.Directory, "kubectl-config"), h.Namespace, h.Api.AddToken("kubectl"));

        var get = await KubectlAsync(h, kubeconfig, "get", "deployments,pods,secrets", "-n", h.Namespace);
        await Assert.That(get.ExitCode).IsEqualTo(0).Because(get.ToString());
        var lines = get.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        await Assert.That(lines.Any(l => l.StartsWith("deployment.apps/connector-kubectl ", StringComparison.Ordinal) && l.Contains(" 1/1 ", StringComparison.Ordinal))).IsTrue().Because(get.Stdout);
        await Assert.That(lines.Any(l => l.StartsWith("deployment.apps/connector-stopped ", StringComparison.Ordinal) && l.Contains(" 0/0 ", StringComparison.Ordinal))).IsTrue().Because(get.Stdout);
        await Assert.That(lines.Any(l => l.StartsWith("pod/connector-kubectl-", StringComparison.Ordinal) && l.Contains("Running", StringComparison.Ordinal))).IsTrue().Because(get.Stdout);
        await Assert.That(lines.Count(l => l.StartsWith("pod/", StringComparison.Ordinal))).IsEqualTo(1).Because(get.Stdout);
        await Assert.That(lines.Any(l => l.StartsWith($"secret/{h.PullSecretName} ", StringComparison.Ordinal) && l.Contains("kubernetes.io/dockerconfigjson", StringComparison.Ordinal))).IsTrue().Because(get.Stdout);
        await Assert.That(lines.Any(l => l.StartsWith("secret/connector-kubectl-proxy-ca ", StringComparison.Ordinal) && l.Contains("Opaque", StringComparison.Ordinal))).IsTrue().Because(get.Stdout);

        var describe = await KubectlAsync(h, kubeconfig, "describe", "deployment", "connector-kubectl", "-n", h.Namespace);
        await Assert.That(describe.ExitCode).IsEqualTo(0).Because(describe.ToString());
        // Column widths are kubectl's business: compare with runs of blanks as one space.
        var text = System.Text.RegularExpressions.Regex.Replace(describe.Stdout, "[ \t]+", " ");
        foreach (var expected in new[]
        {
            "Name: connector-kubectl",
            $"Namespace: {h.Namespace}",
            $"opencti-manager={h.ManagerId}",
            "Annotations: OPENCTI_CONFIG_HASH: hash-1",
            $"Selector: opencti-connector-id={workload.ConnectorId},opencti-manager={h.ManagerId},opencti-platform=opencti",
            "Replicas: 1 desired | 1 updated | 1 total | 1 available | 0 unavailable",
            "StrategyType: RollingUpdate",
            $"Image: {registry.Host}/{KubernetesHarness.ConnectorImage}",
            $"CONNECTOR_ID: {workload.ConnectorId}",
            "OPENCTI_CONFIG_HASH: hash-1",
            "/etc/ssl/certs/composer-ca-bundle.pem from proxy-ca-cert (ro,path=\"ca.crt\")",
            "Type: Secret (a volume populated by a Secret)",
            "SecretName: connector-kubectl-proxy-ca",
            "Available True MinimumReplicasAvailable",
        })
        {
            await Assert.That(text).Contains(expected).Because(describe.Stdout);
        }

        var yaml = await KubectlAsync(h, kubeconfig, "get", "secret", h.PullSecretName, "-n", h.Namespace, "-o", "jsonpath={.data.\\.dockerconfigjson}");
        await Assert.That(yaml.ExitCode).IsEqualTo(0).Because(yaml.ToString());
        var decoded = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(yaml.Stdout.Trim()));
        await Assert.That(decoded).Contains($"\"{registry.Host}\"");
    }

    /// <summary>
    /// kubectl get -w: its list, then its watch from the list's resourceVersion (Accept as=Table), prints each change
    /// the stand-in streams: a deployment created after the watch started, then scaled to 0, then deleted.
    /// </summary>
    [Test]
    public async Task Kubectl_get_watch_prints_the_changes_the_stand_in_streams()
    {
        Requirements.Need(File.Exists(Kubectl), $"{Kubectl} (kubectl)");
        await using var h = await KubernetesHarness.StartAsync(registry);
        var kubeconfig = h.Api.WriteKubeconfig(Path.Combine(h.Directory, "kubectl-config"), h.Namespace, h.Api.AddToken("kubectl"));
        var environment = new Dictionary<string, string>
        {
            ["KUBECONFIG"] = kubeconfig, ["HOME"] = h.Directory, ["HTTPS_PROXY"] = "", ["https_proxy"] = "", ["NO_PROXY"] = "127.0.0.1", ["no_proxy"] = "127.0.0.1",
        };
        await using var kubectl = BackgroundProcess.Start("kubectl get -w", Kubectl, ["get", "deployments", "-n", h.Namespace, "-w"], environment);
        await WaitAsync(() => h.Api.Requests.Any(r => r.User == "kubectl" && r.Verb == "watch") && h.Api.OpenWatches == 1, "kubectl's watch", kubectl);

        var workload = h.Workload("connector-watched");
        await Assert.That((await h.Orchestrator.DeployAsync(workload, CancellationToken.None))?.Message).IsNull();
        await WaitAsync(() => Lines(kubectl).Any(l => l.StartsWith("connector-watched ", StringComparison.Ordinal) && l.Contains(" 1/1 ", StringComparison.Ordinal)), "the deployment 1/1", kubectl);
        await Assert.That((await h.Orchestrator.StopAsync(await h.ObservedAsync("connector-watched"), CancellationToken.None))?.Message).IsNull();
        await WaitAsync(() => Lines(kubectl).Any(l => l.StartsWith("connector-watched ", StringComparison.Ordinal) && l.Contains(" 0/0 ", StringComparison.Ordinal)), "the deployment 0/0", kubectl);
        var before = Lines(kubectl).Count;
        await Assert.That((await h.Orchestrator.RemoveAsync(await h.ObservedAsync("connector-watched"), CancellationToken.None))?.Message).IsNull();
        // kubectl prints a deleted object's last row once more.
        await WaitAsync(() => Lines(kubectl).Count > before, "the deletion", kubectl);
        var watch = h.Api.Requests.Single(r => r.User == "kubectl" && r.Verb == "watch");
        await Assert.That(watch.Query).Contains("watch=true");
        await Assert.That(watch.Query).Contains("resourceVersion=");
        await Assert.That(kubectl.HasExited).IsFalse().Because(kubectl.Output);
    }

    private static List<string> Lines(BackgroundProcess process) =>
        [.. process.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => System.Text.RegularExpressions.Regex.Replace(l, "[ \t]+", " "))];

    private static async Task WaitAsync(Func<bool> condition, string what, BackgroundProcess process)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > until || process.HasExited) throw new TimeoutException($"{what}; kubectl printed:\n{process.Output}");
            await Task.Delay(100);
        }
    }
}

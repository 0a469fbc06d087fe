using Composer.Configuration;

namespace Composer.Orchestration.Kubernetes;

/// <summary>
/// A platform whose selector is kubernetes: the API endpoint (kubeconfig or service account, read by the resolve step),
/// what every connector Deployment gets, and the pull secrets it names.
/// </summary>
/// <param name="ImagePullSecrets">daemon.kubernetes.image_pull_secrets: existing secrets the pods name; null: Composer renders its own from the registry credentials.</param>
public sealed record ResolvedKubernetes(PlatformKind Platform, KubernetesEndpoint Endpoint, DeploymentOptions Deployment, IReadOnlyList<string>? ImagePullSecrets)
    : ResolvedOrchestrator(Platform)
{
    private static readonly string[] PullPolicies = ["Always", "IfNotPresent", "Never"];

    public override OrchestratorKind Kind => OrchestratorKind.Kubernetes;

    /// <summary>
    /// Checks a daemon.kubernetes block (every platform's, used or not) and, when the platform's selector is kubernetes
    /// (<paramref name="used"/>), reads what connects to the API: the kubeconfig (KUBECONFIG, else ~/.kube/config) or
    /// the in-cluster service account. Every problem is reported with its key and source; the record is returned when
    /// it is used and usable.
    /// </summary>
    /// <param name="environment">The process environment: KUBECONFIG, HOME, KUBERNETES_SERVICE_HOST/PORT.</param>
    /// <param name="serviceAccountDirectory">Where a pod's service account is mounted (tests point elsewhere).</param>
    public static ResolvedKubernetes? Parse(KubernetesSettings? block, PlatformKind platform, bool used, IReadOnlyDictionary<string, string> environment,
        ConfigReport report, string serviceAccountDirectory = KubernetesEndpoint.ServiceAccountDirectory)
    {
        var section = (platform == PlatformKind.OpenCti ? "opencti" : "openaev") + ".daemon.kubernetes";
        block ??= used ? new KubernetesSettings() : null;
        if (block is null) return null;
        var errors = report.Errors.Count;
        if (!PullPolicies.Contains(block.ImagePullPolicy))
        {
            report.Error($"{section}.image_pull_policy", $"expected Always, IfNotPresent or Never, got \"{block.ImagePullPolicy}\"");
        }
        var deployment = new DeploymentOptions(block.ImagePullPolicy, DeploymentBase.ParseResources(block, section, report), DeploymentBase.Parse(block, section, report));
        if (block.Namespace is { } ns && KubernetesNames.LabelProblem(ns.Trim()) is { } nsProblem)
        {
            report.Error($"{section}.namespace", $"\"{ns}\" is not a namespace name: {nsProblem}");
        }
        foreach (var name in block.ImagePullSecrets?.Where(n => !KubernetesNames.IsSubdomain(n)) ?? [])
        {
            report.Error($"{section}.image_pull_secrets", $"\"{name}\" is not a secret name (lowercase letters, digits, '-' and '.', at most 253 characters)");
        }
        if (!used || report.Errors.Count > errors) return null;
        var endpoint = KubernetesEndpoint.Resolve(block, section, environment, report, serviceAccountDirectory);
        return endpoint is null ? null
            : new ResolvedKubernetes(platform, endpoint, deployment, block.ImagePullSecrets is { Count: > 0 } named ? named : null);
    }
}

using System.Text.Json.Nodes;
using Composer.Reconciliation;

namespace Composer.Orchestration.Kubernetes;

/// <summary>What the configuration adds to every connector Deployment of one orchestrator.</summary>
/// <param name="ImagePullPolicy">daemon.kubernetes.image_pull_policy (validated: Always, IfNotPresent or Never).</param>
/// <param name="Resources">daemon.kubernetes.image_resources, the container's resources, or null.</param>
/// <param name="Base">base_deployment (or base_deployment_json) merged under the generated object, or null.</param>
public sealed record DeploymentOptions(string ImagePullPolicy, JsonObject? Resources, JsonObject? Base);

/// <summary>
/// The Deployment of a connector, in the shape upstream creates (upstream-behaviour §6.7), so that deployments of
/// the Rust version are adopted and refreshed in place: metadata name, the three labels plus composer.platform-instance
/// and the OPENCTI_CONFIG_HASH annotation; replicas 1 or 0; selector = the three labels (the pod template has all
/// four); one container named like the
/// deployment with the resolved image, the environment, the pull policy and image_resources; imagePullSecrets; the
/// CA bundle Secret mounted with subPath. Everything else comes from the base deployment, merged under it.
/// </summary>
internal static class DeploymentManifest
{
    public const string CaVolumeName = "proxy-ca-cert";

    /// <summary>The key of the CA bundle in its Secret, the file mounted (subPath) at <see cref="ConnectorNetworkEnvironment.CaBundlePath"/>.</summary>
    public const string CaSecretKey = "ca.crt";

    /// <param name="image">The image to run (registry prefix applied).</param>
    /// <param name="pullSecrets">The imagePullSecrets names (none: the field is omitted).</param>
    /// <param name="caSecretName">The Secret holding the CA bundle, or null when the connector gets none.</param>
    public static JsonObject Build(ConnectorWorkload workload, string image, DeploymentOptions options, IReadOnlyList<string> pullSecrets, string? caSecretName) =>
        DeploymentMerge.Merge(options.Base, Generated(workload, image, options, pullSecrets, caSecretName));

    /// <summary>The generated object alone, before the base is merged under it.</summary>
    internal static JsonObject Generated(ConnectorWorkload workload, string image, DeploymentOptions options, IReadOnlyList<string> pullSecrets, string? caSecretName)
    {
        var container = new JsonObject
        {
            ["name"] = workload.Name,
            ["image"] = image,
            ["env"] = new JsonArray(workload.Environment.Select(v => (JsonNode)new JsonObject { ["name"] = v.Name, ["value"] = v.Reveal() }).ToArray()),
            ["imagePullPolicy"] = options.ImagePullPolicy,
        };
        if (options.Resources is not null) container["resources"] = options.Resources.DeepClone();
        if (caSecretName is not null)
        {
            container["volumeMounts"] = new JsonArray(new JsonObject
            {
                ["name"] = CaVolumeName,
                ["mountPath"] = ConnectorNetworkEnvironment.CaBundlePath,
                ["subPath"] = CaSecretKey,
                ["readOnly"] = true,
            });
        }
        var podSpec = new JsonObject { ["containers"] = new JsonArray(container) };
        if (pullSecrets.Count > 0)
        {
            podSpec["imagePullSecrets"] = new JsonArray(pullSecrets.Select(n => (JsonNode)new JsonObject { ["name"] = n }).ToArray());
        }
        if (caSecretName is not null)
        {
            podSpec["volumes"] = new JsonArray(new JsonObject
            {
                ["name"] = CaVolumeName,
                ["secret"] = new JsonObject { ["secretName"] = caSecretName },
            });
        }
        return new JsonObject
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "Deployment",
            ["metadata"] = new JsonObject
            {
                ["name"] = workload.Name,
                ["labels"] = Labels(workload, SelectorLabels.Append(ConnectorLabels.PlatformInstance)),
                ["annotations"] = new JsonObject { [ConnectorLabels.ConfigHashVariable] = workload.ConfigHash },
            },
            ["spec"] = new JsonObject
            {
                ["replicas"] = workload.Start ? 1 : 0,
                ["selector"] = new JsonObject { ["matchLabels"] = Labels(workload, SelectorLabels) },
                ["template"] = new JsonObject
                {
                    ["metadata"] = new JsonObject { ["labels"] = Labels(workload, SelectorLabels.Append(ConnectorLabels.PlatformInstance)) },
                    ["spec"] = podSpec,
                },
            },
        };
    }

    /// <summary>
    /// The JSON merge patch that brings an existing deployment to <paramref name="deployment"/>: everything but
    /// spec.selector (immutable; upstream removes it too). Lists are replaced whole by a merge patch, so the
    /// container is exactly the new one; volumes and imagePullSecrets the new object does not have are set to null
    /// so that a CA volume or pull secret dropped from the configuration disappears from the pods as well.
    /// </summary>
    public static JsonObject RefreshPatch(JsonObject deployment)
    {
        var patch = deployment.DeepClone().AsObject();
        if (patch["spec"] is JsonObject spec)
        {
            spec.Remove("selector");
            if (spec["template"] is JsonObject template && template["spec"] is JsonObject podSpec)
            {
                foreach (var field in new[] { "volumes", "imagePullSecrets" })
                {
                    if (!podSpec.ContainsKey(field)) podSpec[field] = null;
                }
            }
        }
        return patch;
    }

    /// <summary>The merge patch of start (1) and stop (0).</summary>
    public static JsonObject ScalePatch(int replicas) => new() { ["spec"] = new JsonObject { ["replicas"] = replicas } };

    /// <summary>
    /// The selector: the three labels of upstream's deployments, never the platform instance, so that a deployment
    /// adopted from another platform URL is relabelled by its refresh (a selector cannot change).
    /// </summary>
    private static readonly string[] SelectorLabels = [ConnectorLabels.Manager, ConnectorLabels.ConnectorId, ConnectorLabels.Platform];

    private static JsonObject Labels(ConnectorWorkload workload, IEnumerable<string> keys)
    {
        var labels = new JsonObject();
        foreach (var key in keys)
        {
            if (workload.Labels.TryGetValue(key, out var value)) labels[key] = value;
        }
        return labels;
    }
}

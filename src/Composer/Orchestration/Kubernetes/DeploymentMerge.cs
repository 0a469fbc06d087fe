using System.Text.Json.Nodes;

namespace Composer.Orchestration.Kubernetes;

/// <summary>
/// base_deployment merged under the generated Deployment with the semantics of k8s-openapi's DeepMerge, which
/// upstream uses (<c>base.merge_from(generated)</c>), written here on JsonNode:
/// <list type="bullet">
/// <item>a field the generated object sets replaces the base's (scalars, atomic lists, atomic maps);</item>
/// <item>objects merge field by field, which makes maps such as labels, annotations, matchLabels and resource limits
/// granular (key by key, the generated value winning);</item>
/// <item>lists with <c>x-kubernetes-list-type: map</c> merge item by item on their keys (containers, env and volumes by
/// name, volumeMounts by mountPath, ports by containerPort and protocol, …): an item with the key of a base item is
/// merged into it, others are appended after the base's;</item>
/// <item>every other list is atomic, and so is nodeSelector: taken from the generated object only when it sets it
/// (it never does, so the base's tolerations, nodeSelector, affinity … survive);</item>
/// <item>what the generated object does not set is kept from the base (serviceAccountName, securityContext, a second
/// container, …).</item>
/// </list>
/// </summary>
internal static class DeploymentMerge
{
    /// <summary>The list fields of a Deployment that are keyed maps in the Kubernetes OpenAPI, with their keys.</summary>
    private static readonly Dictionary<string, string[]> KeyedLists = new(StringComparer.Ordinal)
    {
        ["containers"] = ["name"],
        ["initContainers"] = ["name"],
        ["ephemeralContainers"] = ["name"],
        ["volumes"] = ["name"],
        ["imagePullSecrets"] = ["name"],
        ["env"] = ["name"],
        ["volumeMounts"] = ["mountPath"],
        ["volumeDevices"] = ["devicePath"],
        ["ports"] = ["containerPort", "protocol"],
        ["hostAliases"] = ["ip"],
        ["resourceClaims"] = ["name"],
        ["claims"] = ["name"],
        ["schedulingGates"] = ["name"],
        ["topologySpreadConstraints"] = ["topologyKey", "whenUnsatisfiable"],
    };

    /// <summary>Maps the OpenAPI marks atomic: replaced as a whole.</summary>
    private static readonly HashSet<string> AtomicMaps = new(StringComparer.Ordinal) { "nodeSelector" };

    /// <summary>A new object: <paramref name="baseDeployment"/> (not modified) with <paramref name="generated"/> merged over it.</summary>
    public static JsonObject Merge(JsonObject? baseDeployment, JsonObject generated)
    {
        var result = baseDeployment?.DeepClone().AsObject() ?? [];
        MergeObject(result, generated);
        return result;
    }

    private static void MergeObject(JsonObject target, JsonObject source)
    {
        foreach (var (key, value) in source)
        {
            // An unset field (None in k8s-openapi) keeps the base value.
            if (value is null) continue;
            var existing = target[key];
            if (value is JsonObject sourceObject && existing is JsonObject targetObject && !AtomicMaps.Contains(key))
            {
                MergeObject(targetObject, sourceObject);
            }
            else if (value is JsonArray sourceList && existing is JsonArray targetList && KeyedLists.TryGetValue(key, out var keys))
            {
                MergeKeyedList(targetList, sourceList, keys);
            }
            else
            {
                target[key] = value.DeepClone();
            }
        }
    }

    private static void MergeKeyedList(JsonArray target, JsonArray source, string[] keys)
    {
        foreach (var item in source)
        {
            if (item is JsonObject sourceItem && target.OfType<JsonObject>().FirstOrDefault(t => SameKey(t, sourceItem, keys)) is { } match)
            {
                MergeObject(match, sourceItem);
            }
            else
            {
                target.Add(item?.DeepClone());
            }
        }
    }

    private static bool SameKey(JsonObject a, JsonObject b, string[] keys)
    {
        foreach (var key in keys)
        {
            if (KeyText(a, key) != KeyText(b, key)) return false;
        }
        return true;
    }

    // Ports without a protocol are TCP, as the API server defaults them.
    private static string? KeyText(JsonObject item, string key) =>
        item[key]?.ToJsonString() ?? (key == "protocol" ? "\"TCP\"" : null);
}

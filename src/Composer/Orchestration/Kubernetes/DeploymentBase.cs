using System.Text.Json;
using System.Text.Json.Nodes;
using Composer.Configuration;

namespace Composer.Orchestration.Kubernetes;

/// <summary>
/// daemon.kubernetes.base_deployment (or base_deployment_json, used when base_deployment is absent, as upstream) and
/// image_resources: parsed once, and checked when the configuration loads so that a Deployment the API would
/// reject, or that could never be merged, is a configuration error naming its key and source, not a failure at
/// every deploy (upstream panics at deploy time on invalid JSON).
/// </summary>
public static class DeploymentBase
{
    /// <summary>
    /// The base to merge under generated deployments (null: none), from base_deployment, else base_deployment_json
    /// (ignored, with a warning, when both are set); each problem reported under its key. Null when it has one.
    /// </summary>
    /// <param name="section">The platform's daemon.kubernetes key.</param>
    public static JsonObject? Parse(KubernetesSettings settings, string section, ConfigReport report)
    {
        var yamlKey = $"{section}.base_deployment";
        var jsonKey = $"{section}.base_deployment_json";
        var fromYaml = Checked(settings.BaseDeployment, yamlKey, Problems, report);
        if (settings.BaseDeploymentJson is null) return fromYaml;
        if (settings.BaseDeployment is not null)
        {
            // Its JSON still has to be JSON: a broken value is an error even when it is not used.
            if (ParseObject(settings.BaseDeploymentJson) is null) report.Error(jsonKey, JsonObjectProblem(settings.BaseDeploymentJson));
            else report.Warning(jsonKey, $"ignored: {yamlKey} is set and is used instead");
            return fromYaml;
        }
        return Checked(settings.BaseDeploymentJson, jsonKey, Problems, report);
    }

    /// <summary>image_resources as the container's resources (null: none), each problem reported under its key. Null when it has one.</summary>
    public static JsonObject? ParseResources(KubernetesSettings settings, string section, ConfigReport report) =>
        Checked(settings.ImageResources, $"{section}.image_resources", ResourceProblems, report);

    /// <summary>The JSON object of <paramref name="json"/>, or null when it is absent or has a problem (each one reported).</summary>
    private static JsonObject? Checked(string? json, string key, Func<string, IReadOnlyList<string>> problemsOf, ConfigReport report)
    {
        if (json is null) return null;
        if (ParseObject(json) is not { } parsed)
        {
            report.Error(key, JsonObjectProblem(json));
            return null;
        }
        var problems = problemsOf(json);
        foreach (var problem in problems) report.Error(key, problem);
        return problems.Count == 0 ? parsed : null;
    }

    private static string JsonObjectProblem(string json) =>
        ScalarText.IsJsonObject(json, out var error) ? "expected a JSON object" : $"expected a JSON object: {error}";

    /// <summary>
    /// What is wrong with a base Deployment (JSON text already known to be an object), each problem naming the
    /// field: apiVersion/kind other than apps/v1 Deployment, metadata.namespace (the namespace is
    /// daemon.kubernetes.namespace), wrongly typed fields on the path Composer merges into, containers without a
    /// name, or selector labels the pod template does not carry (the API would refuse every deployment).
    /// </summary>
    private static IReadOnlyList<string> Problems(string json)
    {
        var problems = new List<string>();
        // Not an object: the JSON-object check reports it.
        if (ParseObject(json) is not { } root) return problems;
        if (root["apiVersion"] is { } apiVersion && Text(apiVersion) != "apps/v1") problems.Add($"apiVersion is {apiVersion.ToJsonString()}, expected \"apps/v1\"");
        if (root["kind"] is { } kind && Text(kind) != "Deployment") problems.Add($"kind is {kind.ToJsonString()}, expected \"Deployment\"");
        var metadata = Object(root, "metadata", "metadata", problems);
        if (metadata is not null)
        {
            if (metadata["namespace"] is not null) problems.Add("metadata.namespace is set; remove it and set daemon.kubernetes.namespace");
            StringMap(metadata, "labels", "metadata.labels", problems);
            StringMap(metadata, "annotations", "metadata.annotations", problems);
        }
        var spec = Object(root, "spec", "spec", problems);
        if (spec is null) return problems;
        var selector = Object(spec, "selector", "spec.selector", problems);
        var selectorLabels = selector is null ? null : StringMap(selector, "matchLabels", "spec.selector.matchLabels", problems);
        var template = Object(spec, "template", "spec.template", problems);
        var templateMetadata = template is null ? null : Object(template, "metadata", "spec.template.metadata", problems);
        var templateLabels = templateMetadata is null ? null : StringMap(templateMetadata, "labels", "spec.template.metadata.labels", problems);
        foreach (var (key, value) in selectorLabels ?? [])
        {
            if (templateLabels is null || !templateLabels.TryGetPropertyValue(key, out var templateValue) || Text(templateValue) != Text(value))
            {
                problems.Add($"spec.selector.matchLabels.{key} is not among spec.template.metadata.labels: the API refuses a selector that does not match the pod template");
            }
        }
        var podSpec = template is null ? null : Object(template, "spec", "spec.template.spec", problems);
        if (podSpec is null) return problems;
        foreach (var list in new[] { "containers", "initContainers" })
        {
            if (podSpec[list] is null) continue;
            if (podSpec[list] is not JsonArray items)
            {
                problems.Add($"spec.template.spec.{list} must be a list");
                continue;
            }
            for (var i = 0; i < items.Count; i++)
            {
                if (items[i] is not JsonObject container || Text(container["name"]) is not { Length: > 0 })
                {
                    problems.Add($"spec.template.spec.{list}[{i}] needs a name (containers are merged by name)");
                }
            }
        }
        foreach (var list in new[] { "volumes", "imagePullSecrets" })
        {
            if (podSpec[list] is { } node && node is not JsonArray) problems.Add($"spec.template.spec.{list} must be a list");
        }
        return problems;
    }

    /// <summary>What is wrong with image_resources (a ResourceRequirements object: limits, requests, claims).</summary>
    private static IReadOnlyList<string> ResourceProblems(string json)
    {
        var problems = new List<string>();
        // Not an object: the JSON-object check reports it.
        if (ParseObject(json) is not { } root) return problems;
        foreach (var (key, value) in root)
        {
            switch (key)
            {
                case "limits" or "requests":
                    if (value is not JsonObject quantities)
                    {
                        problems.Add($"{key} must be a map of resource name to quantity");
                        break;
                    }
                    foreach (var (resource, quantity) in quantities)
                    {
                        if (quantity is not JsonValue v || !(v.TryGetValue<string>(out _) || v.TryGetValue<double>(out _)))
                        {
                            problems.Add($"{key}.{resource} must be a quantity such as \"500m\" or \"256Mi\"");
                        }
                    }
                    break;
                case "claims":
                    if (value is not JsonArray) problems.Add("claims must be a list of {name}");
                    break;
                default:
                    problems.Add($"unknown field \"{key}\"; ResourceRequirements has limits, requests and claims");
                    break;
            }
        }
        return problems;
    }

    private static JsonObject? ParseObject(string? text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        try
        {
            return JsonNode.Parse(text) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static JsonObject? Object(JsonObject parent, string field, string path, List<string> problems)
    {
        var node = parent[field];
        if (node is null) return null;
        if (node is JsonObject o) return o;
        problems.Add($"{path} must be an object");
        return null;
    }

    private static JsonObject? StringMap(JsonObject parent, string field, string path, List<string> problems)
    {
        var map = Object(parent, field, path, problems);
        if (map is null) return null;
        foreach (var (key, value) in map)
        {
            if (Text(value) is null) problems.Add($"{path}.{key} must be a string");
        }
        return map;
    }

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}

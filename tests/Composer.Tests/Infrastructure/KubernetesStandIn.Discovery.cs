using System.Globalization;
using System.Text.Json.Nodes;

namespace Composer.Tests.Infrastructure;

/// <summary>Discovery documents and the meta/v1 Table answers kubectl asks for (server-side printing).</summary>
public sealed partial class KubernetesStandIn
{
    private static JsonObject VersionInfo() => new()
    {
        ["major"] = "1",
        ["minor"] = "32",
        ["gitVersion"] = "v1.32.0-composer-standin",
        ["gitCommit"] = "0000000000000000000000000000000000000000",
        ["gitTreeState"] = "clean",
        ["buildDate"] = "2025-01-01T00:00:00Z",
        ["goVersion"] = "go1.23.4",
        ["compiler"] = "gc",
        ["platform"] = "linux/amd64",
    };

    private JsonObject ApiVersions() => new()
    {
        ["kind"] = "APIVersions",
        ["versions"] = new JsonArray("v1"),
        ["serverAddressByClientCIDRs"] = new JsonArray(new JsonObject { ["clientCIDR"] = "0.0.0.0/0", ["serverAddress"] = Server.Authority }),
    };

    private static JsonObject ApiGroups()
    {
        var apps = new JsonObject { ["groupVersion"] = "apps/v1", ["version"] = "v1" };
        return new JsonObject
        {
            ["kind"] = "APIGroupList",
            ["apiVersion"] = "v1",
            ["groups"] = new JsonArray(new JsonObject
            {
                ["name"] = "apps",
                ["versions"] = new JsonArray(apps.DeepClone()),
                ["preferredVersion"] = apps,
            }),
        };
    }

    private static JsonObject CoreResources() => ResourceList("v1",
        Resource("pods", "pod", "Pod", ["po"], ["all"]),
        Resource("pods/log", "", "Pod", [], [], ["get"]),
        Resource("secrets", "secret", "Secret", [], []),
        Resource("events", "event", "Event", ["ev"], []),
        Resource("namespaces", "namespace", "Namespace", ["ns"], [], namespaced: false));

    private static JsonObject AppsResources() => ResourceList("apps/v1",
        Resource("deployments", "deployment", "Deployment", ["deploy"], ["all"]),
        Resource("replicasets", "replicaset", "ReplicaSet", ["rs"], ["all"]));

    private static JsonObject ResourceList(string groupVersion, params JsonObject[] resources) => new()
    {
        ["kind"] = "APIResourceList",
        ["apiVersion"] = "v1",
        ["groupVersion"] = groupVersion,
        ["resources"] = new JsonArray(resources),
    };

    private static JsonObject Resource(string name, string singular, string kind, string[] shortNames, string[] categories,
        string[]? verbs = null, bool namespaced = true)
    {
        var resource = new JsonObject
        {
            ["name"] = name,
            ["singularName"] = singular,
            ["namespaced"] = namespaced,
            ["kind"] = kind,
            ["verbs"] = new JsonArray((verbs ?? ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]).Select(v => (JsonNode)v).ToArray()),
        };
        if (shortNames.Length > 0) resource["shortNames"] = new JsonArray(shortNames.Select(v => (JsonNode)v).ToArray());
        if (categories.Length > 0) resource["categories"] = new JsonArray(categories.Select(v => (JsonNode)v).ToArray());
        return resource;
    }

    private JsonObject DeploymentTable(IEnumerable<JsonObject> deployments) => Table(
        [("Name", "string", "name", 0), ("Ready", "string", "", 0), ("Up-to-date", "integer", "", 0), ("Available", "integer", "", 0),
         ("Age", "string", "", 0), ("Containers", "string", "", 1), ("Images", "string", "", 1), ("Selector", "string", "", 1)],
        deployments.Select(d =>
        {
            var status = d["status"] as JsonObject;
            var containers = d["spec"]!["template"]!["spec"]!["containers"]!.AsArray();
            return (d, new JsonNode?[]
            {
                Name(d),
                $"{Int(status?["readyReplicas"])}/{Int(d["spec"]!["replicas"])}",
                Int(status?["updatedReplicas"]),
                Int(status?["availableReplicas"]),
                Age(d),
                string.Join(",", containers.Select(c => c!["name"]!.GetValue<string>())),
                string.Join(",", containers.Select(c => c!["image"]!.GetValue<string>())),
                string.Join(",", (d["spec"]!["selector"]!["matchLabels"] as JsonObject ?? []).Select(kv => $"{kv.Key}={kv.Value}")),
            });
        }));

    private JsonObject PodTable(IEnumerable<JsonObject> pods) => Table(
        [("Name", "string", "name", 0), ("Ready", "string", "", 0), ("Status", "string", "", 0), ("Restarts", "string", "", 0),
         ("Age", "string", "", 0), ("IP", "string", "", 1), ("Node", "string", "", 1)],
        pods.Select(p =>
        {
            var statuses = p["status"]!["containerStatuses"]!.AsArray().OfType<JsonObject>().ToList();
            var waiting = statuses.Select(s => s["state"]?["waiting"]?["reason"]?.GetValue<string>()).FirstOrDefault(r => r is not null);
            return (p, new JsonNode?[]
            {
                Name(p),
                $"{statuses.Count(s => s["ready"]!.GetValue<bool>())}/{statuses.Count}",
                waiting ?? p["status"]!["phase"]!.GetValue<string>(),
                statuses.Sum(s => s["restartCount"]!.GetValue<int>()).ToString(CultureInfo.InvariantCulture),
                Age(p),
                p["status"]?["podIP"]?.DeepClone(),
                p["spec"]?["nodeName"]?.DeepClone(),
            });
        }));

    private JsonObject SecretTable(IEnumerable<JsonObject> secrets) => Table(
        [("Name", "string", "name", 0), ("Type", "string", "", 0), ("Data", "string", "", 0), ("Age", "string", "", 0)],
        secrets.Select(s => (s, new JsonNode?[]
        {
            Name(s),
            s["type"]!.DeepClone(),
            ((s["data"] as JsonObject)?.Count ?? 0).ToString(CultureInfo.InvariantCulture),
            Age(s),
        })));

    private JsonObject Table(IEnumerable<(string Name, string Type, string Format, int Priority)> columns, IEnumerable<(JsonObject Object, JsonNode?[] Cells)> rows) => new()
    {
        ["kind"] = "Table",
        ["apiVersion"] = "meta.k8s.io/v1",
        ["metadata"] = new JsonObject { ["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture) },
        ["columnDefinitions"] = new JsonArray(columns.Select(c => (JsonNode)new JsonObject
        {
            ["name"] = c.Name, ["type"] = c.Type, ["format"] = c.Format, ["description"] = c.Name, ["priority"] = c.Priority,
        }).ToArray()),
        ["rows"] = new JsonArray(rows.Select(r => (JsonNode)new JsonObject
        {
            ["cells"] = new JsonArray(r.Cells),
            ["object"] = new JsonObject
            {
                ["kind"] = "PartialObjectMetadata",
                ["apiVersion"] = "meta.k8s.io/v1",
                ["metadata"] = r.Object["metadata"]!.DeepClone(),
            },
        }).ToArray()),
    };

    private static int Int(JsonNode? node) => node?.GetValue<int>() ?? 0;

    /// <summary>The Age cell as the API server renders it (kubectl prints it as given).</summary>
    private string Age(JsonObject o)
    {
        var created = DateTimeOffset.Parse(o["metadata"]!["creationTimestamp"]!.GetValue<string>(), CultureInfo.InvariantCulture);
        var age = Now - created;
        return age.TotalSeconds < 120 ? $"{Math.Max(0, (int)age.TotalSeconds)}s"
            : age.TotalMinutes < 120 ? $"{(int)age.TotalMinutes}m"
            : age.TotalHours < 48 ? $"{(int)age.TotalHours}h"
            : $"{(int)age.TotalDays}d";
    }
}

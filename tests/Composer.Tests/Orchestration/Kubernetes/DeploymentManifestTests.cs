using System.Text.Json;
using System.Text.Json.Nodes;
using Composer.Configuration;
using Composer.Images;
using Composer.Orchestration;
using Composer.Orchestration.Kubernetes;
using Composer.Reconciliation;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Orchestration.Kubernetes;

/// <summary>
/// The generated Deployment (the shape of upstream-behaviour §6.7 with the bundle path of ConnectorNetworkEnvironment),
/// one feature per snapshot (Snapshots/DeploymentManifestTests.&lt;test&gt;.verified.json; see Infrastructure/Snapshot.cs
/// to review and accept a change), the features together being every field; and the patches derived from it.
/// </summary>
public class DeploymentManifestTests
{
    private static ConnectorWorkload Workload(bool start = true) => new(
        "4f2b8c3e-0000-4000-8000-000000000001", PlatformKind.OpenCti, "nmap--the-network-mapper",
        new ResolvedImage("opencti/connector-nmap:6.8.0", "opencti/connector-nmap:6.8.0", false, "docker.io", "opencti/connector-nmap", "6.8.0", null), "contract-hash-1",
        ConnectorWorkload.LabelsFor("manager-1", "4f2b8c3e-0000-4000-8000-000000000001", PlatformKind.OpenCti, "0123456789ab"),
        [new ConnectorEnvVar("OPENCTI_TOKEN", new Composer.Diagnostics.Secret("t0k3n")), new ConnectorEnvVar("OPENCTI_URL", "http://opencti:8080"), new ConnectorEnvVar("OPENCTI_CONFIG_HASH", "contract-hash-1")],
        [1, 2, 3], start);

    private static DeploymentOptions Options(string? resources = """{"limits":{"cpu":"500m","memory":"256Mi"},"requests":{"cpu":"100m"}}""", string? baseJson = null) =>
        new("IfNotPresent", resources is null ? null : JsonNode.Parse(resources)!.AsObject(), baseJson is null ? null : JsonNode.Parse(baseJson)!.AsObject());

    private const string Container = "spec/template/spec/containers/0";

    // The fields of the full deployment each feature snapshot shows.
    private static readonly string[] Identity = ["apiVersion", "kind", "metadata", "spec/replicas", "spec/selector", "spec/template/metadata"];
    private static readonly string[] Runs = [$"{Container}/name", $"{Container}/image", $"{Container}/imagePullPolicy", $"{Container}/env"];
    private static readonly string[] Resources = [$"{Container}/resources"];
    private static readonly string[] CaBundle = [$"{Container}/volumeMounts", "spec/template/spec/volumes"];
    private static readonly string[] PullSecrets = ["spec/template/spec/imagePullSecrets"];

    /// <summary>Every optional part present: resources, a pull secret, the CA bundle's secret.</summary>
    private static JsonObject Full() => DeploymentManifest.Build(Workload(), "registry.example.com/opencti/connector-nmap:6.8.0", Options(),
        ["registry-example-com"], KubernetesNames.ProxyCaSecretName("nmap--the-network-mapper"));

    private static Task MatchFields(string[] paths, [System.Runtime.CompilerServices.CallerMemberName] string test = "") =>
        Snapshot.MatchAsync(Pick(Full(), paths).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n", "json", test: test);

    [Test]
    public async Task The_deployment_is_named_labelled_and_selected_by_manager_and_connector() => await MatchFields(Identity);

    [Test]
    public async Task The_container_runs_the_resolved_image_with_the_contract_environment() => await MatchFields(Runs);

    [Test]
    public async Task The_container_gets_the_configured_resources() => await MatchFields(Resources);

    [Test]
    public async Task The_ca_bundle_is_mounted_from_its_secret() => await MatchFields(CaBundle);

    [Test]
    public async Task The_pull_secrets_are_named() => await MatchFields(PullSecrets);

    [Test]
    public async Task The_feature_snapshots_show_every_field_of_the_deployment()
    {
        var rest = Full();
        foreach (var path in new[] { Identity, Runs, Resources, CaBundle, PullSecrets }.SelectMany(p => p)) Remove(rest, path.Split('/'));
        await Assert.That(Prune(rest)?.ToJsonString()).IsNull().Because("a field no snapshot shows: add it to a feature's paths");
    }

    /// <summary>The nodes at <paramref name="paths"/> (names and array indexes separated by '/'), in a tree of the same shape.</summary>
    private static JsonObject Pick(JsonObject source, string[] paths)
    {
        var picked = new JsonObject();
        foreach (var path in paths)
        {
            var segments = path.Split('/');
            JsonNode from = source;
            JsonNode into = picked;
            for (var i = 0; i < segments.Length; i++)
            {
                var last = i == segments.Length - 1;
                JsonNode? next = from is JsonArray list ? list[int.Parse(segments[i])] : from[segments[i]];
                if (next is null) throw new InvalidOperationException($"the deployment has no {path}");
                var copy = last ? next.DeepClone() : next is JsonArray ? new JsonArray() : new JsonObject();
                if (into is JsonArray array)
                {
                    var index = int.Parse(segments[i]);
                    if (index == array.Count) array.Add(copy);
                    else copy = array[index]!;
                }
                else if (into[segments[i]] is { } existing && !last)
                {
                    copy = existing;
                }
                else
                {
                    into[segments[i]] = copy;
                }
                (from, into) = (next, copy);
            }
        }
        return picked;
    }

    private static void Remove(JsonNode node, string[] segments)
    {
        for (var i = 0; i < segments.Length - 1; i++) node = node is JsonArray list ? list[int.Parse(segments[i])]! : node[segments[i]]!;
        if (node is JsonObject parent) parent.Remove(segments[^1]);
        else ((JsonArray)node)[int.Parse(segments[^1])] = new JsonObject();
    }

    /// <summary>The node without empty objects and arrays, or null when nothing is left.</summary>
    private static JsonNode? Prune(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var key in o.Select(p => p.Key).ToList())
                {
                    if (Prune(o[key]) is null) o.Remove(key);
                }
                return o.Count == 0 ? null : o;
            case JsonArray a:
                for (var i = a.Count - 1; i >= 0; i--)
                {
                    if (Prune(a[i]) is null) a.RemoveAt(i);
                }
                return a.Count == 0 ? null : a;
            default:
                return node;
        }
    }

    [Test]
    public async Task Optional_parts_are_omitted_and_stop_is_zero_replicas()
    {
        var manifest = DeploymentManifest.Build(Workload(start: false), "img:1", Options(resources: null), [], null);
        var podSpec = manifest["spec"]!["template"]!["spec"]!.AsObject();
        await Assert.That(manifest["spec"]!["replicas"]!.GetValue<int>()).IsEqualTo(0);
        await Assert.That(podSpec.ContainsKey("imagePullSecrets")).IsFalse();
        await Assert.That(podSpec.ContainsKey("volumes")).IsFalse();
        var container = podSpec["containers"]![0]!.AsObject();
        await Assert.That(container.ContainsKey("resources")).IsFalse();
        await Assert.That(container.ContainsKey("volumeMounts")).IsFalse();
    }

    [Test]
    public async Task The_refresh_patch_has_no_selector_and_clears_what_the_new_spec_drops()
    {
        var manifest = DeploymentManifest.Build(Workload(), "img:1", Options(), [], null);
        var patch = DeploymentManifest.RefreshPatch(manifest);
        var spec = patch["spec"]!.AsObject();
        await Assert.That(spec.ContainsKey("selector")).IsFalse();
        await Assert.That(manifest["spec"]!.AsObject().ContainsKey("selector")).IsTrue();
        var podSpec = spec["template"]!["spec"]!.AsObject();
        await Assert.That(podSpec.ContainsKey("volumes") && podSpec["volumes"] is null).IsTrue();
        await Assert.That(podSpec.ContainsKey("imagePullSecrets") && podSpec["imagePullSecrets"] is null).IsTrue();
        await Assert.That(DeploymentManifest.ScalePatch(1).ToJsonString()).IsEqualTo("""{"spec":{"replicas":1}}""");
    }

    [Test]
    public async Task The_base_deployment_is_merged_under_the_generated_one()
    {
        var manifest = DeploymentManifest.Build(Workload(), "img:1", Options(baseJson: """
            {"metadata":{"labels":{"team":"cti"},"annotations":{"OPENCTI_CONFIG_HASH":"stale"}},
             "spec":{"replicas":5,"template":{"spec":{"serviceAccountName":"connectors","containers":[{"name":"nmap--the-network-mapper","securityContext":{"runAsNonRoot":true},"image":"base:0"}]}}}}
            """), ["pull"], null);
        await Assert.That(manifest["metadata"]!["labels"]!["team"]!.GetValue<string>()).IsEqualTo("cti");
        await Assert.That(manifest["metadata"]!["labels"]![ConnectorLabels.Manager]!.GetValue<string>()).IsEqualTo("manager-1");
        await Assert.That(manifest["metadata"]!["annotations"]![ConnectorLabels.ConfigHashVariable]!.GetValue<string>()).IsEqualTo("contract-hash-1");
        await Assert.That(manifest["spec"]!["replicas"]!.GetValue<int>()).IsEqualTo(1);
        var podSpec = manifest["spec"]!["template"]!["spec"]!;
        await Assert.That(podSpec["serviceAccountName"]!.GetValue<string>()).IsEqualTo("connectors");
        var container = podSpec["containers"]!.AsArray().Single()!;
        await Assert.That(container["image"]!.GetValue<string>()).IsEqualTo("img:1");
        await Assert.That(container["securityContext"]!["runAsNonRoot"]!.GetValue<bool>()).IsTrue();
    }

    [Test]
    [Arguments("short", "short-proxy-ca")]
    [Arguments("connector-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "connector-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx-proxy-ca")] // 54 + 9 = 63
    public async Task The_ca_secret_is_named_like_upstream_when_it_fits(string name, string expected)
    {
        await Assert.That(KubernetesNames.ProxyCaSecretName(name)).IsEqualTo(expected);
    }

    [Test]
    public async Task Long_names_get_a_hashed_ca_secret_name_within_63_characters_that_never_collides()
    {
        var a = KubernetesNames.ProxyCaSecretName(new string('a', 60) + "-x");
        var b = KubernetesNames.ProxyCaSecretName(new string('a', 60) + "-y");
        await Assert.That(a.Length).IsLessThanOrEqualTo(63);
        await Assert.That(a).IsNotEqualTo(b);
        await Assert.That(KubernetesNames.LabelProblem(a)).IsNull();
        await Assert.That(a.EndsWith("-proxy-ca", StringComparison.Ordinal)).IsTrue();
    }
}

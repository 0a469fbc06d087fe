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
/// The generated Deployment, field for field (Golden/deployment.json, the shape of upstream-behaviour §6.7 with the
/// bundle path of ConnectorNetworkEnvironment), and the patches derived from it. Regenerate with
/// COMPOSER_UPDATE_GOLDEN=1 and review the diff.
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

    [Test]
    public async Task The_generated_deployment_matches_the_golden_file()
    {
        var manifest = DeploymentManifest.Build(Workload(), "registry.example.com/opencti/connector-nmap:6.8.0", Options(),
            ["registry-example-com"], KubernetesNames.ProxyCaSecretName("nmap--the-network-mapper"));
        var text = manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
        var path = Path.Combine(RepoPaths.Root, "tests", "Composer.Tests", "Orchestration", "Kubernetes", "Golden", "deployment.json");
        if (Environment.GetEnvironmentVariable("COMPOSER_UPDATE_GOLDEN") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllTextAsync(path, text);
        }
        await Assert.That(File.Exists(path)).IsTrue().Because("run with COMPOSER_UPDATE_GOLDEN=1 to create it");
        await Assert.That(text).IsEqualTo(await File.ReadAllTextAsync(path));
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

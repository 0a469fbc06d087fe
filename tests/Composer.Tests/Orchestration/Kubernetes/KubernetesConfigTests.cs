using Composer.Configuration;
using Composer.Resolution;

namespace Composer.Tests.Orchestration.Kubernetes;

/// <summary>daemon.kubernetes problems are configuration errors at load, with their key and source, not failures at deploy time.</summary>
public class KubernetesConfigTests
{
    private static SettingsLoadResult Load(Dictionary<string, string> environment, string? yaml = null)
    {
        var directory = Directory.CreateTempSubdirectory("composer-k8s-config-").FullName;
        try
        {
            if (yaml is not null) File.WriteAllText(Path.Combine(directory, "default.yaml"), yaml);
            return SettingsLoader.Load(new ConfigLoadRequest { ConfigDirectory = directory, Environment = environment, RequireManagerKey = false });
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private const string Key = "opencti.daemon.kubernetes.base_deployment_json";
    private const string Variable = "OPENCTI__DAEMON__KUBERNETES__BASE_DEPLOYMENT_JSON";

    [Test]
    public async Task Invalid_base_deployment_json_is_an_error_naming_the_key_and_the_variable()
    {
        var result = Load(new() { [Variable] = """{"spec": {"template": """ });
        var error = result.Errors.Single(e => e.Key == Key);
        await Assert.That(error.Source).Contains(Variable);
        await Assert.That(error.Message).StartsWith("expected a JSON object: ");
    }

    [Test]
    [Arguments("""{"kind":"Service"}""", "kind is \"Service\", expected \"Deployment\"")]
    [Arguments("""{"apiVersion":"extensions/v1beta1"}""", "apiVersion is \"extensions/v1beta1\", expected \"apps/v1\"")]
    [Arguments("""{"metadata":{"namespace":"other"}}""", "metadata.namespace is set; remove it and set daemon.kubernetes.namespace")]
    [Arguments("""{"spec":{"selector":{"matchLabels":{"app":"x"}}}}""", "spec.selector.matchLabels.app is not among spec.template.metadata.labels")]
    [Arguments("""{"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}}""", "spec.template.spec.containers[0] needs a name")]
    [Arguments("""{"spec":{"template":{"spec":{"containers":{"name":"x"}}}}}""", "spec.template.spec.containers must be a list")]
    [Arguments("""{"metadata":{"labels":{"team":1}}}""", "metadata.labels.team must be a string")]
    [Arguments("""[1,2]""", "expected a JSON object")]
    public async Task A_base_deployment_the_API_would_refuse_is_an_error_at_load(string json, string expected)
    {
        var result = Load(new() { [Variable] = json });
        var errors = result.Errors.Where(e => e.Key == Key).ToList();
        await Assert.That(errors.Any(e => e.Message.Contains(expected, StringComparison.Ordinal))).IsTrue().Because(string.Join("; ", result.Errors));
        await Assert.That(errors.All(e => e.Source.Contains(Variable, StringComparison.Ordinal))).IsTrue();
    }

    [Test]
    public async Task A_camel_case_base_deployment_in_yaml_is_accepted_and_one_with_a_wrong_kind_names_its_file_position()
    {
        var valid = Load([], """
            opencti:
              daemon:
                kubernetes:
                  base_deployment:
                    spec:
                      template:
                        metadata:
                          labels: {team: cti}
                        spec:
                          serviceAccountName: connectors
                          tolerations: [{key: dedicated, operator: Equal, value: cti, effect: NoSchedule}]
                  image_resources:
                    limits: {cpu: 500m, memory: 512Mi}
                    requests: {cpu: 0.1}
            """);
        await Assert.That(valid.Errors.Where(e => e.Key.StartsWith("opencti.daemon.kubernetes", StringComparison.Ordinal))).IsEmpty();

        var invalid = Load([], """
            opencti:
              daemon:
                kubernetes:
                  base_deployment:
                    kind: StatefulSet
            """);
        var error = invalid.Errors.Single(e => e.Key == "opencti.daemon.kubernetes.base_deployment");
        await Assert.That(error.Message).Contains("StatefulSet");
        await Assert.That(error.Source).Contains("default.yaml:");
    }

    [Test]
    public async Task Both_base_deployment_forms_warn_that_the_json_one_is_ignored()
    {
        var result = Load(new() { [Variable] = """{"spec":{}}""" }, "opencti:\n  daemon:\n    kubernetes:\n      base_deployment: {spec: {}}\n");
        await Assert.That(result.Errors).IsEmpty();
        await Assert.That(result.Warnings.Single(w => w.Key == Key).Message).Contains("ignored");
    }

    [Test]
    [Arguments("OPENCTI__DAEMON__KUBERNETES__IMAGE_RESOURCES", """{"limit":{"cpu":"1"}}""", "opencti.daemon.kubernetes.image_resources", "unknown field \"limit\"")]
    [Arguments("OPENCTI__DAEMON__KUBERNETES__IMAGE_RESOURCES", """{"limits":{"cpu":[1]}}""", "opencti.daemon.kubernetes.image_resources", "limits.cpu must be a quantity")]
    [Arguments("OPENAEV__DAEMON__KUBERNETES__NAMESPACE", "Connectors_NS", "openaev.daemon.kubernetes.namespace", "is not a namespace name")]
    [Arguments("OPENCTI__DAEMON__KUBERNETES__IMAGE_PULL_SECRETS", """["ok-secret","Not OK"]""", "opencti.daemon.kubernetes.image_pull_secrets", "\"Not OK\" is not a secret name")]
    public async Task Kubernetes_values_are_checked_at_load(string variable, string value, string key, string expected)
    {
        var result = Load(new() { [variable] = value });
        var error = result.Errors.Single(e => e.Key == key);
        await Assert.That(error.Message).Contains(expected);
        await Assert.That(error.Source).Contains(variable);
    }

    [Test]
    public async Task Namespace_context_and_pull_secret_names_bind_per_platform()
    {
        var result = Load(new()
        {
            ["OPENCTI__DAEMON__KUBERNETES__NAMESPACE"] = "cti-connectors",
            ["OPENAEV__DAEMON__KUBERNETES__CONTEXT"] = "prod",
            ["OPENCTI__DAEMON__KUBERNETES__IMAGE_PULL_SECRETS"] = """["corp-pull"]""",
        });
        await Assert.That(result.Errors).IsEmpty();
        await Assert.That(result.Settings.OpenCti.Daemon.Kubernetes!.Namespace).IsEqualTo("cti-connectors");
        await Assert.That(result.Settings.OpenAev.Daemon.Kubernetes!.Context).IsEqualTo("prod");
        await Assert.That(result.Settings.OpenCti.Daemon.Kubernetes!.ImagePullSecrets).IsEquivalentTo(new[] { "corp-pull" });
        await Assert.That(result.Settings.OpenAev.Daemon.Kubernetes!.Namespace).IsNull();
    }
}

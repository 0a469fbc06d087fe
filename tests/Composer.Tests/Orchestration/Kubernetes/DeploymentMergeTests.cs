using System.Text.Json.Nodes;
using Composer.Orchestration.Kubernetes;

namespace Composer.Tests.Orchestration.Kubernetes;

/// <summary>k8s-openapi DeepMerge semantics (upstream-behaviour §6.7) on JsonNode: base.merge_from(generated).</summary>
public class DeploymentMergeTests
{
    private static JsonObject Merge(string baseJson, string generatedJson) =>
        DeploymentMerge.Merge(JsonNode.Parse(baseJson)!.AsObject(), JsonNode.Parse(generatedJson)!.AsObject());

    private static async Task AssertJson(JsonNode actual, string expected) =>
        await Assert.That(actual.ToJsonString()).IsEqualTo(JsonNode.Parse(expected)!.ToJsonString());

    [Test]
    public async Task Scalars_from_the_generated_object_win_and_fields_it_does_not_set_survive()
    {
        await AssertJson(Merge("""{"spec":{"replicas":3,"minReadySeconds":5}}""", """{"spec":{"replicas":1}}"""),
            """{"spec":{"replicas":1,"minReadySeconds":5}}""");
    }

    [Test]
    public async Task Maps_merge_key_by_key()
    {
        await AssertJson(Merge("""{"metadata":{"labels":{"team":"cti","opencti-manager":"old"}}}""", """{"metadata":{"labels":{"opencti-manager":"m","opencti-platform":"opencti"}}}"""),
            """{"metadata":{"labels":{"team":"cti","opencti-manager":"m","opencti-platform":"opencti"}}}""");
    }

    [Test]
    public async Task Containers_merge_by_name_keeping_the_base_order_and_other_containers()
    {
        var merged = Merge(
            """{"containers":[{"name":"sidecar","image":"s:1"},{"name":"c","image":"base:0","securityContext":{"runAsNonRoot":true},"env":[{"name":"A","value":"base"},{"name":"B","value":"base"}]}]}""",
            """{"containers":[{"name":"c","image":"gen:1","env":[{"name":"B","value":"gen"},{"name":"C","value":"gen"}]},{"name":"extra","image":"e:1"}]}""");
        await AssertJson(merged, """
            {"containers":[{"name":"sidecar","image":"s:1"},
              {"name":"c","image":"gen:1","securityContext":{"runAsNonRoot":true},"env":[{"name":"A","value":"base"},{"name":"B","value":"gen"},{"name":"C","value":"gen"}]},
              {"name":"extra","image":"e:1"}]}
            """);
    }

    [Test]
    public async Task Volumes_mounts_and_pull_secrets_merge_on_their_keys()
    {
        var merged = Merge(
            """{"volumes":[{"name":"data","emptyDir":{}}],"imagePullSecrets":[{"name":"corp"}],"volumeMounts":[{"name":"data","mountPath":"/data"},{"name":"old","mountPath":"/ca"}]}""",
            """{"volumes":[{"name":"proxy-ca-cert","secret":{"secretName":"x"}}],"imagePullSecrets":[{"name":"corp"},{"name":"registry"}],"volumeMounts":[{"name":"proxy-ca-cert","mountPath":"/ca","readOnly":true}]}""");
        await AssertJson(merged, """
            {"volumes":[{"name":"data","emptyDir":{}},{"name":"proxy-ca-cert","secret":{"secretName":"x"}}],
             "imagePullSecrets":[{"name":"corp"},{"name":"registry"}],
             "volumeMounts":[{"name":"data","mountPath":"/data"},{"name":"proxy-ca-cert","mountPath":"/ca","readOnly":true}]}
            """);
    }

    [Test]
    public async Task Ports_merge_on_container_port_and_protocol_with_tcp_as_the_default()
    {
        await AssertJson(Merge("""{"ports":[{"containerPort":80,"name":"http"},{"containerPort":53,"protocol":"UDP"}]}""", """{"ports":[{"containerPort":80,"protocol":"TCP","hostPort":8080},{"containerPort":53}]}"""),
            """{"ports":[{"containerPort":80,"name":"http","protocol":"TCP","hostPort":8080},{"containerPort":53,"protocol":"UDP"},{"containerPort":53}]}""");
    }

    [Test]
    public async Task Atomic_lists_and_node_selector_are_replaced_whole_when_the_generated_object_sets_them()
    {
        await AssertJson(Merge("""{"tolerations":[{"key":"a"}],"nodeSelector":{"pool":"a","zone":"1"},"args":["x"]}""", """{"tolerations":[{"key":"b"}],"nodeSelector":{"pool":"b"}}"""),
            """{"tolerations":[{"key":"b"}],"nodeSelector":{"pool":"b"},"args":["x"]}""");
    }

    [Test]
    public async Task A_list_the_base_does_not_have_is_taken_and_the_base_is_not_modified()
    {
        var baseDeployment = JsonNode.Parse("""{"spec":{"template":{"spec":{"serviceAccountName":"sa"}}}}""")!.AsObject();
        var before = baseDeployment.ToJsonString();
        var merged = DeploymentMerge.Merge(baseDeployment, JsonNode.Parse("""{"spec":{"template":{"spec":{"containers":[{"name":"c"}]}}}}""")!.AsObject());
        await AssertJson(merged, """{"spec":{"template":{"spec":{"serviceAccountName":"sa","containers":[{"name":"c"}]}}}}""");
        await Assert.That(baseDeployment.ToJsonString()).IsEqualTo(before);
        await AssertJson(DeploymentMerge.Merge(null, JsonNode.Parse("""{"a":1}""")!.AsObject()), """{"a":1}""");
    }
}

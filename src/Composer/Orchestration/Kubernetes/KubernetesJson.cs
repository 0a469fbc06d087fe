using System.Text.Json.Serialization;

namespace Composer.Orchestration.Kubernetes;

// Only the fields Composer reads from the API; everything Composer writes is built as JsonNode (DeploymentManifest,
// KubernetesSecrets) so that fields it does not know survive a read-modify-write.

internal sealed class KubeObjectMeta
{
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("uid")] public string? Uid { get; init; }
    [JsonPropertyName("resourceVersion")] public string? ResourceVersion { get; init; }
    [JsonPropertyName("labels")] public Dictionary<string, string>? Labels { get; init; }
    [JsonPropertyName("annotations")] public Dictionary<string, string>? Annotations { get; init; }
    [JsonPropertyName("creationTimestamp")] public DateTimeOffset? CreationTimestamp { get; init; }
    [JsonPropertyName("deletionTimestamp")] public DateTimeOffset? DeletionTimestamp { get; init; }
}

/// <summary>A list's metadata: the resourceVersion a watch continues from.</summary>
internal sealed class KubeListMeta
{
    [JsonPropertyName("resourceVersion")] public string? ResourceVersion { get; init; }
}

/// <summary>One line of a watch: ADDED, MODIFIED, DELETED (the object), BOOKMARK (its resourceVersion only) or ERROR (a Status).</summary>
internal sealed class KubeWatchEvent
{
    [JsonPropertyName("type")] public string? Type { get; init; }
    [JsonPropertyName("object")] public System.Text.Json.JsonElement Object { get; init; }
}

internal sealed class KubeDeploymentList
{
    [JsonPropertyName("metadata")] public KubeListMeta? Metadata { get; init; }
    [JsonPropertyName("items")] public List<KubeDeployment>? Items { get; init; }
}

internal sealed class KubeDeployment
{
    [JsonPropertyName("metadata")] public KubeObjectMeta? Metadata { get; init; }
    [JsonPropertyName("spec")] public KubeDeploymentSpec? Spec { get; init; }
}

internal sealed class KubeDeploymentSpec
{
    [JsonPropertyName("replicas")] public int? Replicas { get; init; }
    [JsonPropertyName("template")] public KubeDeploymentTemplate? Template { get; init; }
}

/// <summary>spec.template.spec.containers[].image: the images whose registries the pull secret must carry.</summary>
internal sealed class KubeDeploymentTemplate
{
    [JsonPropertyName("spec")] public KubeDeploymentPodSpec? Spec { get; init; }
}

internal sealed class KubeDeploymentPodSpec
{
    [JsonPropertyName("containers")] public List<KubeDeploymentContainer>? Containers { get; init; }
}

internal sealed class KubeDeploymentContainer
{
    [JsonPropertyName("image")] public string? Image { get; init; }
}

internal sealed class KubePodList
{
    [JsonPropertyName("metadata")] public KubeListMeta? Metadata { get; init; }
    [JsonPropertyName("items")] public List<KubePod>? Items { get; init; }
}

internal sealed class KubePod
{
    [JsonPropertyName("metadata")] public KubeObjectMeta? Metadata { get; init; }
    [JsonPropertyName("status")] public KubePodStatus? Status { get; init; }
}

internal sealed class KubePodStatus
{
    [JsonPropertyName("phase")] public string? Phase { get; init; }
    [JsonPropertyName("reason")] public string? Reason { get; init; }
    [JsonPropertyName("containerStatuses")] public List<KubeContainerStatus>? ContainerStatuses { get; init; }
}

internal sealed class KubeContainerStatus
{
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("ready")] public bool Ready { get; init; }
    [JsonPropertyName("restartCount")] public int RestartCount { get; init; }
    [JsonPropertyName("state")] public KubeContainerState? State { get; init; }
    [JsonPropertyName("lastState")] public KubeContainerState? LastState { get; init; }
}

internal sealed class KubeContainerState
{
    [JsonPropertyName("running")] public KubeStateRunning? Running { get; init; }
    [JsonPropertyName("waiting")] public KubeStateReason? Waiting { get; init; }
    [JsonPropertyName("terminated")] public KubeStateTerminated? Terminated { get; init; }
}

internal sealed class KubeStateRunning
{
    [JsonPropertyName("startedAt")] public DateTimeOffset? StartedAt { get; init; }
}

internal sealed class KubeStateReason
{
    [JsonPropertyName("reason")] public string? Reason { get; init; }
}

internal sealed class KubeStateTerminated
{
    [JsonPropertyName("reason")] public string? Reason { get; init; }
    [JsonPropertyName("exitCode")] public int ExitCode { get; init; }
    [JsonPropertyName("startedAt")] public DateTimeOffset? StartedAt { get; init; }
}

/// <summary>The meta/v1 Status object of API errors: {"kind":"Status","status":"Failure","message","reason","code"}.</summary>
internal sealed class KubeStatus
{
    [JsonPropertyName("kind")] public string? Kind { get; init; }
    [JsonPropertyName("message")] public string? Message { get; init; }
    [JsonPropertyName("reason")] public string? Reason { get; init; }
    [JsonPropertyName("code")] public int? Code { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(KubeDeploymentList))]
[JsonSerializable(typeof(KubePodList))]
[JsonSerializable(typeof(KubeStatus))]
[JsonSerializable(typeof(KubeDeployment))]
[JsonSerializable(typeof(KubePod))]
[JsonSerializable(typeof(KubeWatchEvent))]
internal sealed partial class KubernetesJsonContext : JsonSerializerContext;

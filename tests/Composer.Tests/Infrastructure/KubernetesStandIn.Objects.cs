using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Composer.Tests.Infrastructure;

/// <summary>The objects of the stand-in and the API semantics Composer relies on (validation, merge patch, conflicts, pods).</summary>
public sealed partial class KubernetesStandIn
{
    private readonly Dictionary<(string Ns, string Name), JsonObject> _deployments = new();
    private readonly Dictionary<(string Ns, string Name), JsonObject> _pods = new();
    private readonly Dictionary<(string Ns, string Name), string> _podOwner = new();
    private readonly Dictionary<(string Ns, string Name), JsonObject> _secrets = new();
    private readonly Dictionary<(string Ns, string Pod), List<(DateTimeOffset At, string Container, string Line)>> _logs = new();
    private readonly HashSet<(string Ns, string Name)> _secretConflicts = new();
    private long _resourceVersion = 1000;

    // ---- what tests read and arrange ----------------------------------------------------------------------------

    public JsonObject? Deployment(string ns, string name)
    {
        lock (_gate) return _deployments.TryGetValue((ns, name), out var d) ? d.DeepClone().AsObject() : null;
    }

    public IReadOnlyList<string> DeploymentNames(string ns)
    {
        lock (_gate) return _deployments.Keys.Where(k => k.Ns == ns).Select(k => k.Name).Order(StringComparer.Ordinal).ToList();
    }

    public JsonObject? Secret(string ns, string name)
    {
        lock (_gate) return _secrets.TryGetValue((ns, name), out var s) ? s.DeepClone().AsObject() : null;
    }

    public IReadOnlyList<string> SecretNames(string ns)
    {
        lock (_gate) return _secrets.Keys.Where(k => k.Ns == ns).Select(k => k.Name).Order(StringComparer.Ordinal).ToList();
    }

    /// <summary>The decoded value of one key of a secret.</summary>
    public string? SecretValue(string ns, string name, string key) =>
        Secret(ns, name)?["data"]?[key]?.GetValue<string>() is { } b64 ? Encoding.UTF8.GetString(Convert.FromBase64String(b64)) : null;

    public IReadOnlyList<JsonObject> PodsOf(string ns, string deployment)
    {
        lock (_gate)
        {
            AdvanceCrashLoops();
            Publish();
            return OwnedPods(ns, deployment).Select(p => p.DeepClone().AsObject()).ToList();
        }
    }

    /// <summary>Creates a deployment as a client would (e.g. one the Rust version created); throws when the API would refuse it.</summary>
    public void SeedDeployment(string ns, JsonObject deployment)
    {
        lock (_gate)
        {
            var reply = CreateDeployment(ns, deployment.ToJsonString());
            if (reply.Code != 201) throw new InvalidOperationException($"seeding refused: {reply.Body}");
            Publish();
        }
    }

    /// <summary>Writes a line to the log of the deployment's current pod (container = the deployment name unless given).</summary>
    public void AppendLog(string ns, string deployment, string line, DateTimeOffset at, string? container = null)
    {
        lock (_gate)
        {
            var pod = OwnedPods(ns, deployment).Single();
            var key = (ns, Name(pod));
            if (!_logs.TryGetValue(key, out var log)) _logs[key] = log = [];
            log.Add((at, container ?? deployment, line));
        }
    }

    /// <summary>Changes the connector container of the deployment's pod: restarts, start time, or waiting (not ready) with a reason.</summary>
    public void SetContainerState(string ns, string deployment, int restartCount, DateTimeOffset? startedAt, string? waitingReason = null)
    {
        lock (_gate)
        {
            var pod = OwnedPods(ns, deployment).Single();
            var status = pod["status"]!["containerStatuses"]!.AsArray().OfType<JsonObject>().First(c => c["name"]!.GetValue<string>() == deployment);
            status["restartCount"] = restartCount;
            status["ready"] = waitingReason is null;
            status["started"] = waitingReason is null;
            status["state"] = waitingReason is null
                ? new JsonObject { ["running"] = new JsonObject { ["startedAt"] = Timestamp(startedAt ?? Now) } }
                : new JsonObject { ["waiting"] = new JsonObject { ["reason"] = waitingReason, ["message"] = "back-off restarting failed container" } };
            pod["metadata"]!["resourceVersion"] = NextVersion();
            UpdateDeploymentStatus(ns, deployment);
            Publish();
        }
    }

    /// <summary>
    /// The connector container of the deployment's pod ended with <paramref name="exitCode"/> and the kubelet started it
    /// again at once: restartCount + 1, lastState.terminated, running since now.
    /// </summary>
    public void RestartContainer(string ns, string deployment, int exitCode)
    {
        lock (_gate)
        {
            var pod = OwnedPods(ns, deployment).Single();
            var status = pod["status"]!["containerStatuses"]!.AsArray().OfType<JsonObject>().First(c => c["name"]!.GetValue<string>() == deployment);
            var startedAt = status["state"]?["running"]?["startedAt"]?.DeepClone();
            status["restartCount"] = status["restartCount"]!.GetValue<int>() + 1;
            status["lastState"] = new JsonObject
            {
                ["terminated"] = new JsonObject
                {
                    ["exitCode"] = exitCode, ["reason"] = exitCode == 137 ? "OOMKilled" : "Error", ["startedAt"] = startedAt, ["finishedAt"] = Timestamp(Now),
                    ["containerID"] = status["containerID"]?.DeepClone(),
                },
            };
            status["state"] = new JsonObject { ["running"] = new JsonObject { ["startedAt"] = Timestamp(Now) } };
            status["containerID"] = "containerd://" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
            pod["metadata"]!["resourceVersion"] = NextVersion();
            UpdateDeploymentStatus(ns, deployment);
            Publish();
        }
    }

    /// <summary>Deletes a deployment and its pods as another client would (kubectl delete deployment).</summary>
    public void DeleteDeployment(string ns, string name)
    {
        lock (_gate)
        {
            if (!_deployments.Remove((ns, name))) throw new InvalidOperationException($"no deployment {name} in {ns}");
            foreach (var pod in OwnedPods(ns, name).ToList()) DeletePod(ns, Name(pod));
            Publish();
        }
    }

    /// <summary>The next PUT of this secret meets a concurrent writer: the stored object changes (new resourceVersion) and the PUT gets 409.</summary>
    public void ConflictOnNextSecretUpdate(string ns, string name)
    {
        lock (_gate) _secretConflicts.Add((ns, name));
    }

    // ---- deployments -----------------------------------------------------------------------------------------------

    private Reply Deployments(HttpRequest request, string ns, string[] rest, string body, bool table)
    {
        switch (rest, request.Method)
        {
            case ([], "GET"):
                if (FailDeploymentLists != 0)
                {
                    if (FailDeploymentLists > 0) FailDeploymentLists--;
                    return Reply.Status(500, "InternalError", "Internal error occurred: etcdserver: request timed out (injected)");
                }
                var selected = Select(_deployments, ns, request.Query["labelSelector"]);
                if (int.TryParse(request.Query["limit"], out var limit)) selected = selected.Take(limit).ToList();
                return table ? Reply.Json(DeploymentTable(selected)) : Reply.Json(List("DeploymentList", "apps/v1", selected));
            case ([], "POST"):
                return CreateDeployment(ns, body);
            case ([var name], "GET"):
                return _deployments.TryGetValue((ns, name), out var d)
                    ? Reply.Json(table ? DeploymentTable([d]) : d)
                    : NotFound("deployments", "apps", name);
            case ([var name], "PATCH"):
                return PatchDeployment(request, ns, name, body);
            case ([var name], "DELETE"):
                if (!_deployments.Remove((ns, name), out var deleted)) return NotFound("deployments", "apps", name);
                foreach (var pod in OwnedPods(ns, name).ToList()) DeletePod(ns, Name(pod));
                return Reply.Json(Success("deployments", "apps", name, deleted));
            default:
                return Reply.Status(405, "MethodNotAllowed", $"the server does not allow this method on the requested resource");
        }
    }

    private Reply CreateDeployment(string ns, string body)
    {
        var deployment = JsonNode.Parse(body) as JsonObject ?? throw new JsonException("not an object");
        if (deployment["metadata"]?["namespace"]?.GetValue<string>() is { } bodyNs && bodyNs != ns)
        {
            return Reply.Status(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
        }
        var name = deployment["metadata"]?["name"]?.GetValue<string>() ?? "";
        if (_deployments.ContainsKey((ns, name))) return AlreadyExists("deployments", "apps", name);
        ApplyDeploymentDefaults(deployment);
        if (ValidateDeployment(name, deployment, null) is { } invalid) return invalid;
        var metadata = deployment["metadata"]!.AsObject();
        metadata["namespace"] = ns;
        metadata["uid"] = Guid.NewGuid().ToString();
        metadata["resourceVersion"] = NextVersion();
        metadata["generation"] = 1;
        metadata["creationTimestamp"] = Timestamp(Now);
        deployment["apiVersion"] = "apps/v1";
        deployment["kind"] = "Deployment";
        _deployments[(ns, name)] = deployment;
        ReconcilePods(ns, name);
        return Reply.Json(deployment, 201);
    }

    private Reply PatchDeployment(HttpRequest request, string ns, string name, string body)
    {
        if (request.ContentType?.StartsWith("application/merge-patch+json", StringComparison.Ordinal) != true)
        {
            return Reply.Status(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/merge-patch+json (the stand-in implements JSON merge patch only, got {request.ContentType})");
        }
        if (!_deployments.TryGetValue((ns, name), out var current)) return NotFound("deployments", "apps", name);
        var patch = JsonNode.Parse(body);
        var updated = MergePatch(current.DeepClone(), patch)!.AsObject();
        ApplyDeploymentDefaults(updated);
        if (ValidateDeployment(name, updated, current) is { } invalid) return invalid;
        var metadata = updated["metadata"]!.AsObject();
        foreach (var field in new[] { "uid", "namespace", "creationTimestamp" }) metadata[field] = current["metadata"]![field]!.DeepClone();
        metadata["resourceVersion"] = NextVersion();
        if (!JsonNode.DeepEquals(updated["spec"], current["spec"])) metadata["generation"] = current["metadata"]!["generation"]!.GetValue<int>() + 1;
        _deployments[(ns, name)] = updated;
        ReconcilePods(ns, name);
        return Reply.Json(updated);
    }

    private Reply? ValidateDeployment(string name, JsonObject d, JsonObject? previous)
    {
        var causes = new List<string>();
        if (!IsSubdomain(name)) causes.Add($"metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character");
        foreach (var (path, labels) in new[] { ("metadata.labels", d["metadata"]?["labels"]), ("spec.template.metadata.labels", d["spec"]?["template"]?["metadata"]?["labels"]) })
        {
            foreach (var (key, value) in labels as JsonObject ?? [])
            {
                if (!IsLabelValue(value?.GetValue<string>() ?? "")) causes.Add($"{path}: Invalid value: \"{value}\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character");
            }
        }
        var selector = d["spec"]?["selector"]?["matchLabels"] as JsonObject;
        var templateLabels = d["spec"]?["template"]?["metadata"]?["labels"] as JsonObject;
        if (previous is not null && !JsonNode.DeepEquals(previous["spec"]?["selector"], d["spec"]?["selector"]))
        {
            causes.Add($"spec.selector: Invalid value: v1.LabelSelector{{MatchLabels:{GoMap(selector)}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}}: field is immutable");
        }
        if (selector is null || selector.Count == 0)
        {
            causes.Add("spec.selector: Required value");
        }
        else if (selector.Any(kv => templateLabels?[kv.Key]?.GetValue<string>() != kv.Value?.GetValue<string>()))
        {
            causes.Add($"spec.template.metadata.labels: Invalid value: {GoMap(templateLabels)}: `selector` does not match template `labels`");
        }
        var podSpec = d["spec"]?["template"]?["spec"] as JsonObject;
        var containers = podSpec?["containers"] as JsonArray;
        if (containers is null || containers.Count == 0) causes.Add("spec.template.spec.containers: Required value");
        var volumes = (podSpec?["volumes"] as JsonArray ?? []).OfType<JsonObject>().Select(v => v["name"]?.GetValue<string>()).ToHashSet();
        for (var i = 0; i < (containers?.Count ?? 0); i++)
        {
            var container = containers![i] as JsonObject;
            var containerName = container?["name"]?.GetValue<string>() ?? "";
            if (!IsLabel(containerName)) causes.Add($"spec.template.spec.containers[{i}].name: Invalid value: \"{containerName}\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character");
            if (string.IsNullOrEmpty(container?["image"]?.GetValue<string>())) causes.Add($"spec.template.spec.containers[{i}].image: Required value");
            var mounts = container?["volumeMounts"] as JsonArray ?? [];
            for (var m = 0; m < mounts.Count; m++)
            {
                var volume = mounts[m]?["name"]?.GetValue<string>();
                if (!volumes.Contains(volume)) causes.Add($"spec.template.spec.containers[{i}].volumeMounts[{m}].name: Not found: \"{volume}\"");
            }
        }
        if (causes.Count == 0) return null;
        var message = $"Deployment.apps \"{name}\" is invalid: {(causes.Count == 1 ? causes[0] : "[" + string.Join(", ", causes) + "]")}";
        return Reply.Status(422, "Invalid", message, new JsonObject { ["name"] = name, ["group"] = "apps", ["kind"] = "Deployment" });
    }

    private static void ApplyDeploymentDefaults(JsonObject d)
    {
        var spec = Child(d, "spec");
        spec["replicas"] ??= 1;
        spec["revisionHistoryLimit"] ??= 10;
        spec["progressDeadlineSeconds"] ??= 600;
        spec["strategy"] ??= new JsonObject
        {
            ["type"] = "RollingUpdate",
            ["rollingUpdate"] = new JsonObject { ["maxUnavailable"] = "25%", ["maxSurge"] = "25%" },
        };
        var podSpec = Child(Child(spec, "template"), "spec");
        podSpec["restartPolicy"] ??= "Always";
        podSpec["terminationGracePeriodSeconds"] ??= 30;
        podSpec["dnsPolicy"] ??= "ClusterFirst";
        podSpec["schedulerName"] ??= "default-scheduler";
        podSpec["securityContext"] ??= new JsonObject();
        foreach (var container in (podSpec["containers"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var image = container["image"]?.GetValue<string>() ?? "";
            container["imagePullPolicy"] ??= image.EndsWith(":latest", StringComparison.Ordinal) || !image[(image.LastIndexOf('/') + 1)..].Contains(':') ? "Always" : "IfNotPresent";
            container["terminationMessagePath"] ??= "/dev/termination-log";
            container["terminationMessagePolicy"] ??= "File";
            container["resources"] ??= new JsonObject();
        }
    }

    // ---- pods: one per deployment scaled up, replaced when the template changes ----------------------------------

    private IEnumerable<JsonObject> OwnedPods(string ns, string deployment) =>
        _pods.Where(p => p.Key.Ns == ns && _podOwner.GetValueOrDefault(p.Key) == deployment).Select(p => p.Value);

    private void ReconcilePods(string ns, string name)
    {
        var d = _deployments[(ns, name)];
        var template = d["spec"]!["template"]!.AsObject();
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(template.ToJsonString())))[..10];
        var wanted = d["spec"]!["replicas"]!.GetValue<int>() >= 1;
        var owned = OwnedPods(ns, name).ToList();
        foreach (var pod in owned.Where(p => !wanted || p["metadata"]!["labels"]!["pod-template-hash"]!.GetValue<string>() != hash)) DeletePod(ns, Name(pod));
        if (wanted && !OwnedPods(ns, name).Any()) CreatePod(ns, name, template, hash);
        UpdateDeploymentStatus(ns, name);
    }

    private void CreatePod(string ns, string deployment, JsonObject template, string hash)
    {
        var podName = $"{deployment}-{hash}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))[..5]}";
        var labels = (template["metadata"]?["labels"]?.DeepClone() as JsonObject) ?? [];
        labels["pod-template-hash"] = hash;
        var spec = template["spec"]!.DeepClone().AsObject();
        spec["nodeName"] = "standin-node";
        var now = Timestamp(Now);
        var statuses = new JsonArray();
        foreach (var container in (spec["containers"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var image = container["image"]!.GetValue<string>();
            statuses.Add(new JsonObject
            {
                ["name"] = container["name"]!.DeepClone(),
                ["state"] = new JsonObject { ["running"] = new JsonObject { ["startedAt"] = now } },
                ["lastState"] = new JsonObject(),
                ["ready"] = true,
                ["restartCount"] = 0,
                ["image"] = image,
                ["imageID"] = image + "@sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(image))),
                ["containerID"] = "containerd://" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
                ["started"] = true,
            });
        }
        var pod = new JsonObject
        {
            ["kind"] = "Pod",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject
            {
                ["name"] = podName,
                ["generateName"] = $"{deployment}-{hash}-",
                ["namespace"] = ns,
                ["uid"] = Guid.NewGuid().ToString(),
                ["resourceVersion"] = NextVersion(),
                ["creationTimestamp"] = now,
                ["labels"] = labels,
                ["ownerReferences"] = new JsonArray(new JsonObject
                {
                    ["apiVersion"] = "apps/v1",
                    ["kind"] = "ReplicaSet",
                    ["name"] = $"{deployment}-{hash}",
                    ["uid"] = Guid.NewGuid().ToString(),
                    ["controller"] = true,
                    ["blockOwnerDeletion"] = true,
                }),
            },
            ["spec"] = spec,
            ["status"] = new JsonObject
            {
                ["phase"] = "Running",
                ["conditions"] = new JsonArray(
                    Condition("PodReadyToStartContainers", now), Condition("Initialized", now), Condition("Ready", now),
                    Condition("ContainersReady", now), Condition("PodScheduled", now)),
                ["hostIP"] = "10.0.0.10",
                ["podIP"] = $"10.244.0.{RandomNumberGenerator.GetInt32(2, 250)}",
                ["startTime"] = now,
                ["containerStatuses"] = statuses,
                ["qosClass"] = "BestEffort",
            },
        };
        _pods[(ns, podName)] = pod;
        _podOwner[(ns, podName)] = deployment;
        foreach (var container in (spec["containers"] as JsonArray ?? []).OfType<JsonObject>()) WatchForCrash(ns, podName, container);
    }

    private static JsonObject Condition(string type, string at) => new() { ["type"] = type, ["status"] = "True", ["lastProbeTime"] = null, ["lastTransitionTime"] = at };

    private void DeletePod(string ns, string pod)
    {
        _pods.Remove((ns, pod));
        _podOwner.Remove((ns, pod));
        _logs.Remove((ns, pod));
        _crashing.Remove((ns, pod));
    }

    private void UpdateDeploymentStatus(string ns, string name)
    {
        var d = _deployments[(ns, name)];
        var pods = OwnedPods(ns, name).ToList();
        var ready = pods.Count(p => p["status"]!["containerStatuses"]!.AsArray().All(c => c!["ready"]!.GetValue<bool>()));
        var now = Timestamp(Now);
        var status = new JsonObject { ["observedGeneration"] = d["metadata"]!["generation"]!.DeepClone() };
        if (pods.Count > 0)
        {
            status["replicas"] = pods.Count;
            status["updatedReplicas"] = pods.Count;
            status["readyReplicas"] = ready;
            status["availableReplicas"] = ready;
            if (ready < pods.Count) status["unavailableReplicas"] = pods.Count - ready;
        }
        status["conditions"] = new JsonArray(
            new JsonObject
            {
                ["type"] = "Available", ["status"] = ready >= Math.Min(1, pods.Count) ? "True" : "False",
                ["lastUpdateTime"] = now, ["lastTransitionTime"] = now,
                ["reason"] = "MinimumReplicasAvailable", ["message"] = "Deployment has minimum availability.",
            },
            new JsonObject
            {
                ["type"] = "Progressing", ["status"] = "True", ["lastUpdateTime"] = now, ["lastTransitionTime"] = now,
                ["reason"] = "NewReplicaSetAvailable", ["message"] = $"ReplicaSet \"{name}\" has successfully progressed.",
            });
        // A status update is a change of the object: watches see it (what the deployment controller writes).
        // An unchanged status is not written again (its condition times stay).
        if (JsonNode.DeepEquals(WithoutTimes(d["status"]), WithoutTimes(status))) return;
        d["metadata"]!["resourceVersion"] = NextVersion();
        d["status"] = status;
    }

    private static JsonNode? WithoutTimes(JsonNode? status)
    {
        if (status?.DeepClone() is not JsonObject copy) return null;
        foreach (var condition in (copy["conditions"] as JsonArray ?? []).OfType<JsonObject>())
        {
            condition.Remove("lastUpdateTime");
            condition.Remove("lastTransitionTime");
        }
        return copy;
    }

    private Reply Pods(HttpRequest request, string ns, string[] rest, bool table)
    {
        switch (rest, request.Method)
        {
            case ([], "GET"):
                if (FailPodLists > 0)
                {
                    FailPodLists--;
                    return Reply.Status(500, "InternalError", "Internal error occurred: injected pod list failure");
                }
                var selected = Select(_pods, ns, request.Query["labelSelector"]);
                return table ? Reply.Json(PodTable(selected)) : Reply.Json(List("PodList", "v1", selected));
            case ([var name], "GET"):
                return _pods.TryGetValue((ns, name), out var pod) ? Reply.Json(table ? PodTable([pod]) : pod) : NotFound("pods", "", name);
            case ([var name, "log"], "GET"):
                return PodLog(request, ns, name);
            default:
                return Reply.Status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
        }
    }

    private Reply PodLog(HttpRequest request, string ns, string name)
    {
        if (!_pods.TryGetValue((ns, name), out var pod)) return NotFound("pods", "", name);
        var containers = pod["spec"]!["containers"]!.AsArray().Select(c => c!["name"]!.GetValue<string>()).ToList();
        var container = request.Query["container"].ToString();
        if (container.Length == 0)
        {
            if (containers.Count != 1) return Reply.Status(400, "BadRequest", $"a container name must be specified for pod {name}, choose one of: [{string.Join(" ", containers)}]");
            container = containers[0];
        }
        if (!containers.Contains(container)) return Reply.Status(400, "BadRequest", $"container {container} is not valid for pod {name}");
        var status = pod["status"]!["containerStatuses"]!.AsArray().First(c => c!["name"]!.GetValue<string>() == container)!;
        if (status["state"]?["waiting"] is { } waiting && _logs.GetValueOrDefault((ns, name))?.Any(l => l.Container == container) != true)
        {
            return Reply.Status(400, "BadRequest", $"container \"{container}\" in pod \"{name}\" is waiting to start: {waiting["reason"]}");
        }
        IEnumerable<(DateTimeOffset At, string Container, string Line)> lines = (_logs.GetValueOrDefault((ns, name)) ?? []).Where(l => l.Container == container);
        if (request.Query["sinceTime"].ToString() is { Length: > 0 } sinceText)
        {
            var since = DateTimeOffset.Parse(sinceText, CultureInfo.InvariantCulture);
            lines = lines.Where(l => l.At >= since);
        }
        if (int.TryParse(request.Query["tailLines"], out var tail)) lines = lines.TakeLast(tail);
        var timestamps = request.Query["timestamps"] == "true";
        var text = new StringBuilder();
        foreach (var (at, _, line) in lines) text.Append(timestamps ? NanoTimestamp(at) + " " : "").Append(line).Append('\n');
        var body = text.ToString();
        if (int.TryParse(request.Query["limitBytes"], out var limit) && Encoding.UTF8.GetByteCount(body) > limit)
        {
            body = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(body), 0, limit);
        }
        return Reply.Text(body);
    }

    // ---- secrets ----------------------------------------------------------------------------------------------------

    private Reply Secrets(HttpRequest request, string ns, string[] rest, string body, bool table)
    {
        switch (rest, request.Method)
        {
            case ([], "GET"):
                var selected = Select(_secrets, ns, request.Query["labelSelector"]);
                return table ? Reply.Json(SecretTable(selected)) : Reply.Json(List("SecretList", "v1", selected));
            case ([], "POST"):
                return CreateSecret(ns, JsonNode.Parse(body) as JsonObject ?? throw new JsonException("not an object"));
            case ([var name], "GET"):
                return _secrets.TryGetValue((ns, name), out var s) ? Reply.Json(table ? SecretTable([s]) : s) : NotFound("secrets", "", name);
            case ([var name], "PUT"):
                return ReplaceSecret(ns, name, JsonNode.Parse(body) as JsonObject ?? throw new JsonException("not an object"));
            case ([var name], "PATCH"):
                if (!_secrets.TryGetValue((ns, name), out var current)) return NotFound("secrets", "", name);
                var patched = MergePatch(current.DeepClone(), JsonNode.Parse(body))!.AsObject();
                return StoreSecret(ns, name, patched, current);
            case ([var name], "DELETE"):
                return _secrets.Remove((ns, name), out var deleted) ? Reply.Json(Success("secrets", "", name, deleted)) : NotFound("secrets", "", name);
            default:
                return Reply.Status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
        }
    }

    private Reply CreateSecret(string ns, JsonObject secret)
    {
        var name = secret["metadata"]?["name"]?.GetValue<string>() ?? "";
        if (!IsSubdomain(name)) return Reply.Status(422, "Invalid", $"Secret \"{name}\" is invalid: metadata.name: Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'");
        if (_secrets.ContainsKey((ns, name))) return AlreadyExists("secrets", "", name);
        var metadata = secret["metadata"]!.AsObject();
        metadata["namespace"] = ns;
        metadata["uid"] = Guid.NewGuid().ToString();
        metadata["creationTimestamp"] = Timestamp(Now);
        return StoreSecret(ns, name, secret, null, 201);
    }

    private Reply ReplaceSecret(string ns, string name, JsonObject secret)
    {
        if (!_secrets.TryGetValue((ns, name), out var current)) return NotFound("secrets", "", name);
        if (_secretConflicts.Remove((ns, name)))
        {
            current["metadata"]!["resourceVersion"] = NextVersion();
            Child(current["metadata"]!.AsObject(), "annotations")["standin/concurrent-writer"] = "touched";
            return Conflict("secrets", name);
        }
        var version = secret["metadata"]?["resourceVersion"]?.GetValue<string>();
        if (string.IsNullOrEmpty(version)) return Reply.Status(422, "Invalid", $"Secret \"{name}\" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update");
        if (version != current["metadata"]!["resourceVersion"]!.GetValue<string>()) return Conflict("secrets", name);
        if (secret["metadata"]?["name"]?.GetValue<string>() != name) return Reply.Status(400, "BadRequest", $"the name of the object ({secret["metadata"]?["name"]}) does not match the name on the URL ({name})");
        var metadata = secret["metadata"]!.AsObject();
        foreach (var field in new[] { "uid", "namespace", "creationTimestamp" }) metadata[field] = current["metadata"]![field]!.DeepClone();
        return StoreSecret(ns, name, secret, current);
    }

    private Reply StoreSecret(string ns, string name, JsonObject secret, JsonObject? previous, int code = 200)
    {
        secret["type"] ??= "Opaque";
        var data = Child(secret, "data");
        if (secret["stringData"] is JsonObject stringData)
        {
            foreach (var (key, value) in stringData) data[key] = Convert.ToBase64String(Encoding.UTF8.GetBytes(value!.GetValue<string>()));
            secret.Remove("stringData");
        }
        var type = secret["type"]!.GetValue<string>();
        if (previous is not null && previous["type"]!.GetValue<string>() != type)
        {
            return Reply.Status(422, "Invalid", $"Secret \"{name}\" is invalid: type: Invalid value: \"{type}\": field is immutable");
        }
        if (type == "kubernetes.io/dockerconfigjson")
        {
            try
            {
                var config = data[".dockerconfigjson"]?.GetValue<string>() ?? throw new JsonException("missing");
                if (JsonNode.Parse(Convert.FromBase64String(config)) is not JsonObject) throw new JsonException("not an object");
            }
            catch (Exception ex) when (ex is JsonException or FormatException)
            {
                return Reply.Status(422, "Invalid", $"Secret \"{name}\" is invalid: data[.dockerconfigjson]: Invalid value: \"<secret contents redacted>\": {ex.Message}");
            }
        }
        secret["apiVersion"] = "v1";
        secret["kind"] = "Secret";
        secret["metadata"]!["resourceVersion"] = NextVersion();
        _secrets[(ns, name)] = secret;
        return Reply.Json(secret, code);
    }

    // ---- shared API behaviour ----------------------------------------------------------------------------------------

    /// <summary>RFC 7386 JSON merge patch: objects merge, null removes, anything else (lists included) replaces.</summary>
    internal static JsonNode? MergePatch(JsonNode? target, JsonNode? patch)
    {
        if (patch is not JsonObject patchObject) return patch?.DeepClone();
        var result = target as JsonObject ?? [];
        foreach (var (key, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(key);
                continue;
            }
            var existing = result[key]?.DeepClone();
            result[key] = MergePatch(existing, value);
        }
        return result;
    }

    /// <summary>The objects of a namespace matching an equality-based label selector (k=v, k==v, k!=v, k, !k).</summary>
    private static List<JsonObject> Select(Dictionary<(string Ns, string Name), JsonObject> objects, string ns, string? selector)
    {
        var terms = (selector ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return objects.Where(o => o.Key.Ns == ns).OrderBy(o => o.Key.Name, StringComparer.Ordinal).Select(o => o.Value)
            .Where(o => terms.All(t => Matches(o["metadata"]?["labels"] as JsonObject, t))).ToList();
    }

    private static bool Matches(JsonObject? labels, string term)
    {
        string? Value(string key) => labels?[key]?.GetValue<string>();
        if (term.Contains("!=", StringComparison.Ordinal))
        {
            var parts = term.Split("!=", 2);
            return Value(parts[0].Trim()) != parts[1].Trim();
        }
        if (term.Contains('='))
        {
            var parts = term.Split('=', 2);
            return Value(parts[0].Trim()) == parts[1].TrimStart('=').Trim();
        }
        return term.StartsWith('!') ? Value(term[1..]) is null : Value(term) is not null;
    }

    private JsonObject List(string kind, string apiVersion, IEnumerable<JsonObject> items) => new()
    {
        ["kind"] = kind,
        ["apiVersion"] = apiVersion,
        ["metadata"] = new JsonObject { ["resourceVersion"] = _resourceVersion.ToString(CultureInfo.InvariantCulture) },
        // As the API server lists them: items carry no kind and apiVersion of their own.
        ["items"] = new JsonArray(items.Select(i =>
        {
            var copy = i.DeepClone().AsObject();
            copy.Remove("kind");
            copy.Remove("apiVersion");
            return (JsonNode)copy;
        }).ToArray()),
    };

    private JsonObject EmptyList(string kind, string apiVersion) => List(kind, apiVersion, []);

    private static Reply NotFound(string resource, string group, string name) =>
        Reply.Status(404, "NotFound", $"{resource}{(group.Length > 0 ? "." + group : "")} \"{name}\" not found",
            new JsonObject { ["name"] = name, ["group"] = group, ["kind"] = resource });

    private static Reply AlreadyExists(string resource, string group, string name) =>
        Reply.Status(409, "AlreadyExists", $"{resource}{(group.Length > 0 ? "." + group : "")} \"{name}\" already exists",
            new JsonObject { ["name"] = name, ["group"] = group, ["kind"] = resource });

    private static Reply Conflict(string resource, string name) =>
        Reply.Status(409, "Conflict", $"Operation cannot be fulfilled on {resource} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
            new JsonObject { ["name"] = name, ["kind"] = resource });

    private static JsonObject Success(string resource, string group, string name, JsonObject deleted) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Success",
        ["details"] = new JsonObject { ["name"] = name, ["group"] = group, ["kind"] = resource, ["uid"] = deleted["metadata"]?["uid"]?.DeepClone() },
    };

    private string NextVersion() => (++_resourceVersion).ToString(CultureInfo.InvariantCulture);

    private DateTimeOffset Now => _time.GetUtcNow();

    private static string Name(JsonObject o) => o["metadata"]!["name"]!.GetValue<string>();

    private static JsonObject Child(JsonObject parent, string key)
    {
        if (parent[key] is JsonObject child) return child;
        child = new JsonObject();
        parent[key] = child;
        return child;
    }

    private static string Timestamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>Go's RFC3339Nano as the kubelet writes log timestamps (nine fraction digits, trailing zeros dropped).</summary>
    internal static string NanoTimestamp(DateTimeOffset at)
    {
        var fraction = (at.UtcDateTime.Ticks % TimeSpan.TicksPerSecond * 100).ToString("D9", CultureInfo.InvariantCulture).TrimEnd('0');
        return at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture) + (fraction.Length > 0 ? "." + fraction : "") + "Z";
    }

    private static string GoMap(JsonObject? map) =>
        "map[string]string{" + string.Join(", ", (map ?? []).OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"\"{kv.Key}\":\"{kv.Value}\"")) + "}";

    private static bool IsLabel(string s) =>
        s.Length is > 0 and <= 63 && s.All(c => c is >= 'a' and <= 'z' or >= '0' and <= '9' or '-') && char.IsAsciiLetterOrDigit(s[0]) && char.IsAsciiLetterOrDigit(s[^1]);

    private static bool IsSubdomain(string s) => s.Length is > 0 and <= 253 && s.Split('.').All(IsLabel);

    private static bool IsLabelValue(string s) =>
        s.Length == 0 || (s.Length <= 63 && char.IsAsciiLetterOrDigit(s[0]) && char.IsAsciiLetterOrDigit(s[^1]) && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'));
}

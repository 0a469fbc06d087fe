using System.Text.Json.Nodes;
using Composer.Diagnostics;

namespace Composer.Orchestration.Kubernetes;

/// <summary>
/// Secrets created or updated in place: GET, then POST when missing or PUT with the resourceVersion that was read
/// when the content differs; a 409 (someone else wrote it in between, or created it first) is answered by reading
/// it again and retrying. Never delete-then-create: a pod being scheduled in between would find no pull secret or
/// no CA file. The PUT is the object as read with only data and Composer's labels changed, so that what others
/// added (annotations, owner references, labels) survives.
/// </summary>
internal sealed class KubernetesSecrets(KubernetesApiClient api, Logger logger)
{
    public const string DockerConfigJsonType = "kubernetes.io/dockerconfigjson";
    public const string OpaqueType = "Opaque";
    private const int Attempts = 4;

    /// <summary>Null when the secret holds exactly <paramref name="data"/> afterwards, else why not (never with secret content).</summary>
    public async Task<Failure?> ApplyAsync(string name, string type, IReadOnlyDictionary<string, byte[]> data,
        IReadOnlyDictionary<string, string> labels, CancellationToken cancellationToken)
    {
        var what = $"secret {name} in namespace {api.Namespace}";
        for (var attempt = 1; attempt <= Attempts; attempt++)
        {
            var read = await api.GetSecretAsync(name, cancellationToken).ConfigureAwait(false);
            if (read.IsNotFound)
            {
                var created = await api.CreateSecretAsync(NewSecret(name, type, data, labels), cancellationToken).ConfigureAwait(false);
                if (created.IsSuccess)
                {
                    logger.Info("Kubernetes secret created", ("secret", name), ("namespace", api.Namespace));
                    return null;
                }
                if (created.IsConflict) continue; // created by someone else meanwhile: read it and update it
                return created.Fail($"creating {what}");
            }
            if (!read.IsSuccess) return read.Fail($"reading {what}");
            if (read.ReadObject() is not { } existing) return Failure.Orchestrator($"reading {what}: the answer is not a Secret object");
            var existingType = existing["type"] is JsonValue t && t.TryGetValue<string>(out var typeText) ? typeText : OpaqueType;
            if (existingType != type)
            {
                return Failure.Orchestrator(
                    $"{what} exists with type {existingType}, Composer needs {type} (the type cannot change): delete it or let Composer use another name");
            }
            if (HoldsExactly(existing, data) && HasLabels(existing, labels)) return null;
            existing.Remove("stringData");
            existing["data"] = DataObject(data);
            var metadata = existing["metadata"] as JsonObject ?? [];
            existing["metadata"] = metadata;
            var existingLabels = metadata["labels"] as JsonObject ?? [];
            metadata["labels"] = existingLabels;
            foreach (var (key, value) in labels) existingLabels[key] = value;
            var replaced = await api.ReplaceSecretAsync(name, existing, cancellationToken).ConfigureAwait(false);
            if (replaced.IsSuccess)
            {
                logger.Info("Kubernetes secret updated in place", ("secret", name), ("namespace", api.Namespace));
                return null;
            }
            if (replaced.IsConflict)
            {
                logger.Debug("Kubernetes secret changed since it was read; reading it again", ("secret", name), ("attempt", attempt));
                continue;
            }
            return replaced.Fail($"updating {what}");
        }
        return Failure.Orchestrator($"updating {what}: it changed under Composer {Attempts} times in a row (409 Conflict); retried on the next cycle");
    }

    /// <summary>Null when the secret is gone (or was never there), else why it could not be deleted.</summary>
    public async Task<Failure?> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        var reply = await api.DeleteSecretAsync(name, cancellationToken).ConfigureAwait(false);
        if (reply.IsSuccess) logger.Info("Kubernetes secret deleted", ("secret", name), ("namespace", api.Namespace));
        return reply.IsSuccess || reply.IsNotFound ? null : reply.Fail($"deleting secret {name} in namespace {api.Namespace}");
    }

    private static JsonObject NewSecret(string name, string type, IReadOnlyDictionary<string, byte[]> data, IReadOnlyDictionary<string, string> labels)
    {
        var labelObject = new JsonObject();
        foreach (var (key, value) in labels) labelObject[key] = value;
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Secret",
            ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = labelObject },
            ["type"] = type,
            ["data"] = DataObject(data),
        };
    }

    private static JsonObject DataObject(IReadOnlyDictionary<string, byte[]> data)
    {
        var result = new JsonObject();
        foreach (var (key, value) in data) result[key] = Convert.ToBase64String(value);
        return result;
    }

    private static bool HoldsExactly(JsonObject secret, IReadOnlyDictionary<string, byte[]> data)
    {
        if (secret["stringData"] is not null || secret["data"] is not JsonObject existing || existing.Count != data.Count) return false;
        foreach (var (key, value) in data)
        {
            if (existing[key] is not JsonValue v || !v.TryGetValue<string>(out var text) || text != Convert.ToBase64String(value)) return false;
        }
        return true;
    }

    private static bool HasLabels(JsonObject secret, IReadOnlyDictionary<string, string> labels)
    {
        var existing = secret["metadata"]?["labels"] as JsonObject;
        foreach (var (key, value) in labels)
        {
            if (existing?[key] is not JsonValue v || !v.TryGetValue<string>(out var text) || text != value) return false;
        }
        return true;
    }
}

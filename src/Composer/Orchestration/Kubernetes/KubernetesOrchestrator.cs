using System.Globalization;
using System.Net;
using System.Text;
using Composer.Diagnostics;
using Composer.Images;
using Composer.Reconciliation;

namespace Composer.Orchestration.Kubernetes;

/// <summary>
/// Connectors as Deployments in one namespace (upstream-behaviour §6.7), over <see cref="KubernetesApiClient"/>.
/// <list type="bullet">
/// <item>List: one deployments list and one pods list (labelSelector opencti-manager=&lt;id&gt;) per call; config hash from
/// the OPENCTI_CONFIG_HASH annotation. State: Stopped at 0 replicas; Running when a pod of the deployment, not being
/// deleted, has the connector container running and ready; otherwise Restarting (pending, pulling, crash-looping,
/// no pod yet): Kubernetes is already working on it, so it is neither started again nor reported as started.</item>
/// <item>Start/stop: replicas 1/0 by merge patch. Deploy: pre-flight, pull secret, CA Secret, then create.
/// Refresh: pre-flight, then a merge patch without the (immutable) selector; a 422 on the selector deletes the
/// deployment, which is deployed again on the next cycle (upstream's self-heal).</item>
/// <item>Pull secret: one kubernetes.io/dockerconfigjson Secret named after the registry server, holding the credentials
/// of every registry the deployed images come from (the registry block's, the Docker config's and its helpers'),
/// rendered on the first call, for each new registry and again every token_ttl, updated in place, so rotated
/// credentials reach the kubelet without a restart; or the existing secrets of daemon.kubernetes.image_pull_secrets.</item>
/// <item>CA bundle: Secret &lt;name&gt;-proxy-ca (key ca.crt) mounted with subPath at the bundle path, updated in place,
/// deleted with the deployment.</item>
/// <item>Events (<see cref="IWorkloadWatch"/>): list then watch deployments and pods with resourceVersion and bookmarks,
/// relisting on 410 Gone (<see cref="KubernetesWorkloadWatch"/>): state, restart count and start time come from
/// there, not from a pods list per health report; an idle cycle makes no call while watched.</item>
/// </list>
/// Every failure is an <see cref="Failure"/> naming the object, the namespace and what the API said.
/// </summary>
public sealed class KubernetesOrchestrator : WorkloadOrchestrator, IOrchestrator, IWorkloadWatch
{
    private const string ManagedByLabel = "app.kubernetes.io/managed-by";
    private const string ManagedByValue = "composer";

    private readonly KubernetesOrchestratorOptions _options;
    private readonly ResolvedKubernetes _kubernetes;
    private readonly KubernetesApiClient _api;
    private readonly KubernetesSecrets _secrets;
    private readonly Logger _logger;
    private readonly KubernetesWorkloadWatch _watch;
    private readonly SemaphoreSlim _pullSecretGate = new(1, 1);
    private long? _pullSecretRenderedAt;
    private readonly HashSet<string> _neededRegistries = new(StringComparer.Ordinal);
    private readonly HashSet<string> _pullSecretLookedUp = new(StringComparer.Ordinal);
    private Dictionary<string, RegistryCredentials> _pullSecretRegistries = new(StringComparer.Ordinal);

    private KubernetesOrchestrator(ResolvedKubernetes kubernetes, KubernetesOrchestratorOptions options)
        : base(options.Workloads)
    {
        _options = options;
        _kubernetes = kubernetes;
        _logger = options.Logger;
        _api = new KubernetesApiClient(kubernetes.Endpoint, options.Handlers, kubernetes.Platform, options.Time);
        _secrets = new KubernetesSecrets(_api, _logger);
        // A listing renders the pull secret when due; while watched there is no listing per cycle, so the watch does.
        _watch = new KubernetesWorkloadWatch(_api, ManagerSelector, _api.Namespace, options.Time,
            ct => options.ObserveOnly ? Task.CompletedTask : EnsurePullSecretAsync(ct));
    }

    /// <summary>The orchestrator of one platform, connected as the resolve step decided (<see cref="KubernetesEndpoint"/>). Nothing is called yet.</summary>
    public static KubernetesOrchestrator Create(ResolvedKubernetes kubernetes, KubernetesOrchestratorOptions options)
    {
        var endpoint = kubernetes.Endpoint;
        options.Logger.Info("Kubernetes API", ("server", endpoint.Server.ToString()), ("source", endpoint.Source), ("namespace", endpoint.Namespace));
        return new KubernetesOrchestrator(kubernetes, options);
    }

    public string Kind => "kubernetes";

    public IAsyncEnumerable<WorkloadChange> WatchAsync(CancellationToken cancellationToken) => _watch.WatchAsync(cancellationToken);

    public KubernetesEndpoint Endpoint => _kubernetes.Endpoint;

    public string Namespace => _api.Namespace;

    private string ManagerSelector => $"{ConnectorLabels.Manager}={_options.ManagerId}";

    public async Task<Failure?> CheckAsync(CancellationToken cancellationToken)
    {
        var reply = await _api.ListDeploymentsAsync(ManagerSelector, 1, cancellationToken).ConfigureAwait(false);
        return reply.IsSuccess ? null : reply.Fail($"listing deployments in namespace {Namespace} ({Endpoint.Source})");
    }

    public async Task<Result<IReadOnlyList<ObservedWorkload>>> ListAsync(CancellationToken cancellationToken)
    {
        // Due every token_ttl: renders the pull secret again (a failure is logged, and retried on the next call).
        if (!_options.ObserveOnly) await EnsurePullSecretAsync(cancellationToken).ConfigureAwait(false);
        var deploymentsReply = await _api.ListDeploymentsAsync(ManagerSelector, null, cancellationToken).ConfigureAwait(false);
        if (!deploymentsReply.IsSuccess) return deploymentsReply.Fail($"listing deployments in namespace {Namespace}");
        var deployments = deploymentsReply.Read(KubernetesJsonContext.Default.KubeDeploymentList);
        if (deployments?.Items is null) return Failure.Orchestrator($"listing deployments in namespace {Namespace}: the answer is not a DeploymentList");
        var podsReply = await _api.ListPodsAsync(ManagerSelector, cancellationToken).ConfigureAwait(false);
        if (!podsReply.IsSuccess) return podsReply.Fail($"listing pods in namespace {Namespace}");
        var pods = podsReply.Read(KubernetesJsonContext.Default.KubePodList);
        if (pods?.Items is null) return Failure.Orchestrator($"listing pods in namespace {Namespace}: the answer is not a PodList");

        var workloads = new List<ObservedWorkload>(deployments.Items.Count);
        foreach (var deployment in deployments.Items)
        {
            if (Observe(deployment, pods.Items, withHealth: false) is { } workload) workloads.Add(workload);
        }
        return Result<IReadOnlyList<ObservedWorkload>>.Success(workloads);
    }

    /// <summary>
    /// A deployment as a listing shows it, from it and the pods of the namespace (null without a name);
    /// <paramref name="withHealth"/>: with the health of its current pod (a watch's snapshot).
    /// </summary>
    internal static ObservedWorkload? Observe(KubeDeployment deployment, IEnumerable<KubePod> pods, bool withHealth)
    {
        if (deployment.Metadata?.Name is not { Length: > 0 } name) return null;
        var labels = deployment.Metadata.Labels ?? [];
        var owned = pods.Where(p => BelongsTo(p, labels)).ToList();
        var (state, raw) = StateOf(deployment, owned);
        string? hash = null;
        deployment.Metadata.Annotations?.TryGetValue(ConnectorLabels.ConfigHashVariable, out hash);
        return new ObservedWorkload(deployment.Metadata.Uid ?? name, name, labels, state, raw, hash)
        {
            CreatedAt = deployment.Metadata.CreationTimestamp,
            Health = withHealth ? HealthOf(CurrentPod(owned, name), name) : null,
        };
    }

    internal override async Task<Failure?> DeployAsync(ConnectorWorkload workload, CancellationToken cancellationToken)
    {
        var built = await BuildAsync(workload, cancellationToken).ConfigureAwait(false);
        if (!built.IsSuccess) return built.Failure;
        var reply = await _api.CreateDeploymentAsync(built.Value.Manifest, cancellationToken).ConfigureAwait(false);
        if (reply.IsSuccess)
        {
            _logger.Info("Deployment created", ("deployment", workload.Name), ("namespace", Namespace), ("image", built.Value.Image), ("replicas", workload.Start ? 1 : 0));
            return null;
        }
        if (reply.IsConflict)
        {
            return Failure.Orchestrator($"deployment {workload.Name} already exists in namespace {Namespace} but is not labelled " +
                $"{ManagerSelector} (created outside Composer or by another manager): remove or rename it");
        }
        return reply.Fail($"creating deployment {workload.Name} in namespace {Namespace}");
    }

    internal override async Task<Failure?> RefreshAsync(ObservedWorkload current, ConnectorWorkload workload, CancellationToken cancellationToken)
    {
        if (current.Name != workload.Name)
        {
            return Failure.Orchestrator($"refreshing deployment {current.Name} as {workload.Name}: a refresh cannot rename; remove it and deploy the new name");
        }
        // The pre-flight comes first: an image that cannot be pulled leaves the running deployment alone.
        var built = await BuildAsync(workload, cancellationToken).ConfigureAwait(false);
        if (!built.IsSuccess) return built.Failure;
        var reply = await _api.PatchDeploymentAsync(current.Name, DeploymentManifest.RefreshPatch(built.Value.Manifest), cancellationToken).ConfigureAwait(false);
        if (reply.IsSuccess)
        {
            _logger.Info("Deployment updated", ("deployment", current.Name), ("namespace", Namespace), ("image", built.Value.Image), ("config_hash", workload.ConfigHash));
            // A bundle dropped from the configuration: the pods no longer mount it.
            if (workload.CaBundle is null && await _secrets.DeleteAsync(KubernetesNames.ProxyCaSecretName(current.Name), cancellationToken).ConfigureAwait(false) is { } leftover)
            {
                _logger.Warn("Unused CA secret could not be deleted", ("error", leftover.Message));
            }
            return null;
        }
        if (IsSelectorImmutabilityConflict(reply))
        {
            _logger.Warn("Deployment update rejected on immutable selector mismatch, deleting stale deployment for redeploy",
                ("deployment", current.Name), ("namespace", Namespace), ("error", reply.Message));
            var deleted = await _api.DeleteDeploymentAsync(current.Name, cancellationToken).ConfigureAwait(false);
            if (!deleted.IsSuccess && !deleted.IsNotFound)
            {
                return deleted.Fail($"deleting deployment {current.Name} (its selector cannot be updated) in namespace {Namespace}");
            }
            _logger.Info("Stale deployment deleted, it will be redeployed on the next cycle", ("deployment", current.Name));
            return Failure.Orchestrator($"deployment {current.Name} had a selector that cannot be updated ({reply.Message}); it was deleted and is deployed again on the next cycle");
        }
        if (reply.IsNotFound)
        {
            return Failure.Orchestrator($"deployment {current.Name} no longer exists in namespace {Namespace}; it is deployed again on the next cycle");
        }
        return reply.Fail($"updating deployment {current.Name} in namespace {Namespace}");
    }

    internal override async Task<Failure?> StartAsync(ObservedWorkload current, ConnectorWorkload workload, CancellationToken cancellationToken)
    {
        // The pods about to be created mount the CA Secret and pull with the pull secret: both first.
        var prepared = await PrepareAsync(workload, cancellationToken).ConfigureAwait(false);
        if (!prepared.IsSuccess) return prepared.Failure;
        return await ScaleAsync(current.Name, 1, cancellationToken).ConfigureAwait(false);
    }

    public Task<Failure?> StopAsync(ObservedWorkload current, CancellationToken cancellationToken) => ScaleAsync(current.Name, 0, cancellationToken);

    public async Task<Failure?> RemoveAsync(ObservedWorkload current, CancellationToken cancellationToken)
    {
        var reply = await _api.DeleteDeploymentAsync(current.Name, cancellationToken).ConfigureAwait(false);
        if (!reply.IsSuccess && !reply.IsNotFound) return reply.Fail($"deleting deployment {current.Name} in namespace {Namespace}");
        _logger.Info("Deployment deleted", ("deployment", current.Name), ("namespace", Namespace));
        return await _secrets.DeleteAsync(KubernetesNames.ProxyCaSecretName(current.Name), cancellationToken).ConfigureAwait(false);
    }

    public async Task<Result<LogBatch>> LogsAsync(ObservedWorkload current, DateTimeOffset? since, LogLimits limits, CancellationToken cancellationToken)
    {
        var pod = await CurrentPodAsync(current, cancellationToken).ConfigureAwait(false);
        if (!pod.IsSuccess) return pod.Failure;
        if (pod.Value is not { Metadata.Name: { } podName }) return Result<LogBatch>.Success(new LogBatch([], since));
        var collector = new LogCollector(limits, since);
        var reply = await _api.ReadPodLogAsync(podName, current.Name, since, limits, collector, cancellationToken).ConfigureAwait(false);
        if (!reply.IsSuccess)
        {
            // A container that has not started yet has no log: nothing new, not a failure.
            if (reply.Status == HttpStatusCode.BadRequest && reply.Message.Contains("waiting to start", StringComparison.Ordinal))
            {
                return Result<LogBatch>.Success(new LogBatch([], since));
            }
            return reply.Fail($"reading the log of pod {podName} (container {current.Name}) in namespace {Namespace}");
        }
        return Result<LogBatch>.Success(collector.ToBatch());
    }

    public async Task<Result<WorkloadHealth>> HealthAsync(ObservedWorkload current, CancellationToken cancellationToken)
    {
        var pod = await CurrentPodAsync(current, cancellationToken).ConfigureAwait(false);
        if (!pod.IsSuccess) return pod.Failure;
        return Result<WorkloadHealth>.Success(HealthOf(pod.Value, current.Name));
    }

    /// <summary>The health of a deployment's current pod (or of none).</summary>
    private static WorkloadHealth HealthOf(KubePod? pod, string name)
    {
        // No pod: scaled to 0, or not created yet.
        if (pod is null || ConnectorContainer(pod, name) is not { } status) return new WorkloadHealth(0, null);
        var (state, last) = (status.State, status.LastState);
        // A container of a Deployment (restartPolicy Always) that ended is started again by the kubelet, after a
        // back-off that grows to 5 minutes (waiting, reason CrashLoopBackOff).
        var ended = state?.Terminated ?? last?.Terminated;
        var restarting = state?.Running is null && (state?.Terminated is not null || last?.Terminated is not null || state?.Waiting?.Reason == "CrashLoopBackOff");
        return new WorkloadHealth(status.RestartCount, state?.Running?.StartedAt ?? ended?.StartedAt, restarting, ended?.ExitCode);
    }

    public ValueTask DisposeAsync()
    {
        _api.Dispose();
        _pullSecretGate.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Upstream's test (kubernetes.rs is_selector_immutability_conflict): 422 whose message names the selector.</summary>
    internal static bool IsSelectorImmutabilityConflict(KubeReply reply)
    {
        if (reply.TransportError is not null || reply.Status != HttpStatusCode.UnprocessableEntity) return false;
        var message = reply.Message;
        return message.Contains("selector", StringComparison.Ordinal)
            && (message.Contains("does not match template", StringComparison.Ordinal) || message.Contains("field is immutable", StringComparison.Ordinal));
    }

    private async Task<Failure?> ScaleAsync(string name, int replicas, CancellationToken cancellationToken)
    {
        var reply = await _api.PatchDeploymentAsync(name, DeploymentManifest.ScalePatch(replicas), cancellationToken).ConfigureAwait(false);
        if (reply.IsSuccess)
        {
            _logger.Info(replicas > 0 ? "Deployment started" : "Deployment stopped", ("deployment", name), ("namespace", Namespace));
            return null;
        }
        return reply.Fail($"scaling deployment {name} to {replicas} in namespace {Namespace}");
    }

    private sealed record BuiltDeployment(System.Text.Json.Nodes.JsonObject Manifest, string Image);

    /// <summary>
    /// The Deployment of a workload, once everything it needs is in place: valid names, an image the registry serves
    /// with the kubelet's credentials, the pull secret and the CA Secret.
    /// </summary>
    private async Task<Result<BuiltDeployment>> BuildAsync(ConnectorWorkload workload, CancellationToken cancellationToken)
    {
        if (CheckNames(workload) is { } invalid) return invalid;
        var image = await PreflightAsync(workload, cancellationToken).ConfigureAwait(false);
        if (!image.IsSuccess) return image.Failure;
        var prepared = await PrepareAsync(workload, cancellationToken).ConfigureAwait(false);
        if (!prepared.IsSuccess) return prepared.Failure;
        var manifest = DeploymentManifest.Build(workload, image.Value, _kubernetes.Deployment, prepared.Value.PullSecrets, prepared.Value.CaSecret);
        return Result<BuiltDeployment>.Success(new BuiltDeployment(manifest, image.Value));
    }

    /// <summary>The workload name becomes the deployment and container name, the labels selector values: the API refuses anything else.</summary>
    private Failure? CheckNames(ConnectorWorkload workload)
    {
        if (KubernetesNames.LabelProblem(workload.Name) is { } problem)
        {
            return Failure.Orchestrator($"connector name gives the workload name \"{workload.Name}\", which Kubernetes refuses as a deployment and container name: {problem}; rename the connector");
        }
        foreach (var (key, value) in workload.Labels)
        {
            if (!KubernetesNames.IsLabelValue(value))
            {
                return Failure.Orchestrator($"label {key}=\"{value}\" is not a Kubernetes label value (at most 63 of letters, digits, '-', '_', '.', a letter or digit at both ends)");
            }
        }
        return null;
    }

    /// <summary>The image to run, once the registry says it can be pulled with the credentials the kubelet gets.</summary>
    private async Task<Result<string>> PreflightAsync(ConnectorWorkload workload, CancellationToken cancellationToken)
    {
        var (check, _) = await _options.Registry.LookUpAndCheckAsync(workload.Image, cancellationToken).ConfigureAwait(false);
        return check.IsAvailable ? Result<string>.Success(workload.Image.Reference) : Failure.Orchestrator(check.Message) with { Outage = check.Outage };
    }

    private sealed record PodPrerequisites(IReadOnlyList<string> PullSecrets, string? CaSecret);

    /// <summary>The pull secret (rendered when due, or when it lacks the workload's registry) and the CA Secret, before a pod can need them.</summary>
    private async Task<Result<PodPrerequisites>> PrepareAsync(ConnectorWorkload workload, CancellationToken cancellationToken)
    {
        NeedRegistry(workload.Image.RegistryHost);
        if (await EnsurePullSecretAsync(cancellationToken, workload.Image.RegistryHost).ConfigureAwait(false) is { } pullSecretFailure) return pullSecretFailure;
        string? caSecret = null;
        if (workload.CaBundle is { } bundle)
        {
            caSecret = KubernetesNames.ProxyCaSecretName(workload.Name);
            var labels = new Dictionary<string, string>(workload.Labels) { [ManagedByLabel] = ManagedByValue };
            var data = new Dictionary<string, byte[]> { [DeploymentManifest.CaSecretKey] = bundle };
            if (await _secrets.ApplyAsync(caSecret, KubernetesSecrets.OpaqueType, data, labels, cancellationToken).ConfigureAwait(false) is { } error)
            {
                return error;
            }
        }
        return Result<PodPrerequisites>.Success(new PodPrerequisites(PullSecretNames(), caSecret));
    }

    /// <summary>The imagePullSecrets of connector pods: the configured names, else Composer's own secret once it holds credentials.</summary>
    private IReadOnlyList<string> PullSecretNames()
    {
        if (_kubernetes.ImagePullSecrets is { } named) return named;
        return _pullSecretRegistries.Count > 0 ? [_options.Registry.Configuration.PullSecretName] : [];
    }

    /// <summary>A registry the deployed images come from: the pull secret carries its credentials from the next render on.</summary>
    private void NeedRegistry(string registryHost)
    {
        lock (_neededRegistries) _neededRegistries.Add(registryHost);
    }

    /// <summary>
    /// Renders the pull secret when it is due (never rendered, token_ttl ago, or <paramref name="registryHost"/> not
    /// looked up yet): one kubernetes.io/dockerconfigjson Secret, updated in place, with the credentials of every
    /// registry the deployed images come from (<see cref="RegistryAccess.CredentialsForAsync(string, CancellationToken)"/>:
    /// the registry block's password file read again first, the Docker config and its helpers asked again), so rotated
    /// credentials reach the kubelet without a restart. Nothing to do with named image_pull_secrets; not written while no
    /// registry has credentials. Null on success, else why (and it stays due): a failed lookup fails only the deploy
    /// from that registry (<paramref name="registryHost"/>); the others are logged and the secret keeps their last entries.
    /// </summary>
    private async Task<Failure?> EnsurePullSecretAsync(CancellationToken cancellationToken, string? registryHost = null)
    {
        if (_kubernetes.ImagePullSecrets is not null) return null;
        await _pullSecretGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var time = _options.Time;
            var registry = _options.Registry;
            string[] needed;
            lock (_neededRegistries) needed = [.. _neededRegistries];
            var due = _pullSecretRenderedAt is not { } at || time.GetElapsedTime(at) >= registry.Configuration.TokenTtl
                      || needed.Any(h => !_pullSecretLookedUp.Contains(h));
            if (!due) return null;
            registry.Credentials.Reload();
            Failure? failure = null;
            var entries = new Dictionary<string, RegistryCredentials>(_pullSecretRegistries, StringComparer.Ordinal);
            if (registry.Credentials.Current is { } configured) entries[configured.ServerAddress ?? RegistryHosts.DockerHub] = configured;
            foreach (var host in needed)
            {
                var login = await registry.CredentialsForAsync(host, cancellationToken).ConfigureAwait(false);
                if (!login.IsSuccess)
                {
                    _logger.Warn("Registry credentials for the image pull secret not found out; its last entry stays", ("registry", host), ("error", login.Failure.Message));
                    if (host == registryHost) failure = Failure.Orchestrator($"no credentials for registry {host}: {login.Failure.Message}");
                    continue;
                }
                if (login.Value.Credentials is { HasPassword: true } credentials) entries[host] = credentials;
                else
                {
                    if (login.Value.Credentials is not null)
                    {
                        _logger.Warn("Registry credentials are a token the kubelet cannot use; the pull secret has no entry for this registry",
                            ("registry", host), ("source", login.Value.Credentials.Source));
                    }
                    entries.Remove(host);
                }
            }
            // Applied on every due render (ApplyAsync writes only a difference), so a secret deleted behind Composer's back comes back.
            if (entries.Count > 0)
            {
                var name = registry.Configuration.PullSecretName;
                var labels = new Dictionary<string, string> { [ManagedByLabel] = ManagedByValue };
                var data = new Dictionary<string, byte[]> { [".dockerconfigjson"] = Encoding.UTF8.GetBytes(registry.Configuration.DockerConfigJson(entries.Values)) };
                var error = await _secrets.ApplyAsync(name, KubernetesSecrets.DockerConfigJsonType, data, labels, cancellationToken).ConfigureAwait(false);
                if (error is not null)
                {
                    _logger.Warn("Image pull secret could not be written; retried on the next call", ("secret", name), ("error", error.Message));
                    return error;
                }
                if (!SameEntries(entries, _pullSecretRegistries))
                {
                    _logger.Info("Image pull secret rendered", ("secret", name), ("registries", string.Join(",", entries.Keys.Order(StringComparer.Ordinal))));
                }
            }
            _pullSecretRegistries = entries;
            foreach (var host in needed) _pullSecretLookedUp.Add(host);
            if (failure is not null) _pullSecretLookedUp.Remove(registryHost!);
            _pullSecretRenderedAt = time.GetTimestamp();
            return failure;
        }
        finally
        {
            _pullSecretGate.Release();
        }
    }

    private static bool SameEntries(Dictionary<string, RegistryCredentials> a, Dictionary<string, RegistryCredentials> b) =>
        a.Count == b.Count && a.All(e => b.TryGetValue(e.Key, out var other) && other.Username == e.Value.Username
                                         && other.Password == e.Value.Password && other.Email == e.Value.Email);

    /// <summary>The pod of a deployment whose log and health count: not being deleted, the connector container running first, then the newest.</summary>
    private async Task<Result<KubePod?>> CurrentPodAsync(ObservedWorkload current, CancellationToken cancellationToken)
    {
        var selector = ManagerSelector + (current.ConnectorId is { } id ? $",{ConnectorLabels.ConnectorId}={id}" : "");
        var reply = await _api.ListPodsAsync(selector, cancellationToken).ConfigureAwait(false);
        if (!reply.IsSuccess) return reply.Fail($"listing the pods of deployment {current.Name} in namespace {Namespace}");
        var pods = reply.Read(KubernetesJsonContext.Default.KubePodList);
        if (pods?.Items is null) return Failure.Orchestrator($"listing the pods of deployment {current.Name}: the answer is not a PodList");
        return Result<KubePod?>.Success(CurrentPod(pods.Items.Where(p => BelongsTo(p, current.Labels)), current.Name));
    }

    /// <summary>Of a deployment's pods, the one whose log and health count: not being deleted, the connector container running first, then the newest.</summary>
    private static KubePod? CurrentPod(IEnumerable<KubePod> owned, string name) => owned
        .Where(p => p.Metadata?.DeletionTimestamp is null)
        .OrderByDescending(p => ConnectorContainer(p, name)?.State?.Running is not null)
        .ThenByDescending(p => p.Metadata?.CreationTimestamp ?? DateTimeOffset.MinValue)
        .FirstOrDefault();

    /// <summary>A pod of the deployment with these labels: same connector id and, when the deployment has one, same platform.</summary>
    internal static bool BelongsTo(KubePod pod, IReadOnlyDictionary<string, string> deploymentLabels)
    {
        var podLabels = pod.Metadata?.Labels;
        if (podLabels is null) return false;
        foreach (var key in new[] { ConnectorLabels.ConnectorId, ConnectorLabels.Platform })
        {
            if (deploymentLabels.TryGetValue(key, out var value) && (!podLabels.TryGetValue(key, out var podValue) || podValue != value)) return false;
        }
        return deploymentLabels.ContainsKey(ConnectorLabels.ConnectorId);
    }

    /// <summary>The connector's container status (named like the deployment), else the first.</summary>
    private static KubeContainerStatus? ConnectorContainer(KubePod pod, string name)
    {
        var statuses = pod.Status?.ContainerStatuses;
        return statuses?.FirstOrDefault(s => s.Name == name) ?? statuses?.FirstOrDefault();
    }

    private static (WorkloadState State, string Raw) StateOf(KubeDeployment deployment, IEnumerable<KubePod> pods)
    {
        // The API server always sets replicas; 1 is its default.
        var replicas = deployment.Spec?.Replicas ?? 1;
        var name = deployment.Metadata?.Name ?? "";
        var live = pods.Where(p => p.Metadata?.DeletionTimestamp is null).ToList();
        var ready = live.Count(p => ConnectorContainer(p, name) is { Ready: true, State.Running: not null } && p.Status?.Phase == "Running");
        if (replicas == 0) return (WorkloadState.Stopped, $"{ready}/0 scaled to 0");
        if (ready > 0) return (WorkloadState.Running, $"{ready}/{replicas} running");
        var pod = live.OrderByDescending(p => p.Metadata?.CreationTimestamp ?? DateTimeOffset.MinValue).FirstOrDefault();
        var container = pod is null ? null : ConnectorContainer(pod, name);
        var why = pod is null ? "no pod"
            : container?.State?.Waiting?.Reason ?? container?.State?.Terminated?.Reason ?? pod.Status?.Reason ?? pod.Status?.Phase ?? "pending";
        return (WorkloadState.Restarting, $"0/{replicas} {why}");
    }
}

using System.Collections.Concurrent;
using System.Globalization;
using Composer.Diagnostics;
using Composer.Reconciliation;
using Docker.DotNet;
using Docker.DotNet.Models;
using Version = System.Version;

namespace Composer.Orchestration.Docker;

/// <summary>
/// Connectors as containers of one Docker engine (upstream-behaviour §6.6, its quirks fixed).
/// <list type="bullet">
/// <item>API version: the first call asks the engine (GET /_ping, GET /version) and every later request names
/// min(engine's version, <see cref="NewestApiVersion"/>), so a 20.10 engine (1.41) and newer ones are spoken to in
/// their own terms (<see cref="DockerConnection"/>; behind Portainer, its configured api_version).</item>
/// <item>List: one GET /containers/json?all=true filtered on opencti-manager; the contract hash comes from the
/// <see cref="DockerContainerSpec.ConfigHashLabel"/> label, or for containers of the Rust version (only the
/// OPENCTI_CONFIG_HASH variable) from one inspect, cached by container id since a container's environment never
/// changes.</item>
/// <item>Deploy: image made available (<see cref="DockerImagePuller"/>), container created with the labels, the
/// environment (values as given, everything after the first '='), every opencti.daemon.docker option and restart
/// policy unless-stopped, the CA bundle copied in with the archive API (never a host bind mount) before it starts.
/// A container of this manager and connector already under the name (a deploy interrupted after its create) is
/// completed; a name taken by anything else is left alone and reported.</item>
/// <item>Refresh: the new image first; then stop, rename aside, create, copy, start, remove the old one; a failure
/// after the rename puts the old container back. An aside container left by a crash keeps every label and carries a
/// name no connector can have ('.'), so the reconciler removes it as a stale name.</item>
/// </list>
/// <item>Events (<see cref="IWorkloadWatch"/>): GET /events filtered on this manager's label, each burst's containers
/// inspected once (<see cref="DockerEventWatch"/>): state, restart count and start time come from there, not from an
/// inspect per health report.</item>
/// <item>Logs: one GET /containers/{id}/logs per read, sent on the client's own handler (<see cref="DockerStreamRequests"/>),
/// its framing (TTY or not) told by the answer (<see cref="ContainerLogReader"/>), not by an inspect.</item>
/// Calls per deploy (image present, CA bundle): inspect image, create, archive, start. Per idle cycle: one list while
/// polling, none while the events are watched. Per log read: one.
/// The same code serves Portainer's Docker proxy (<see cref="Portainer.PortainerOrchestrator"/>): an endpoint with a
/// <see cref="DockerGateway"/>, its stack label and network mode in the options.
/// </summary>
public sealed class DockerOrchestrator : WorkloadOrchestrator, IOrchestrator, IWorkloadWatch
{
    /// <summary>The newest Engine API version Docker.DotNet.Enhanced 4.3.3 models (Docker 29.4).</summary>
    public static readonly Version NewestApiVersion = new(1, 54);

    /// <summary>How long a container gets to exit after SIGTERM before the engine kills it.</summary>
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private const string NeverStarted = "0001-01-01";

    private readonly DockerEndpoint _endpoint;
    private readonly DockerConnection _connection;
    private readonly DockerOrchestratorOptions _options;
    private readonly DockerErrors _errors;
    private readonly DockerImagePuller _images;
    private readonly EngineLogDriver _engineLogDriver;
    private readonly Logger _logger;
    private readonly ConcurrentDictionary<string, string?> _environmentHashes = new(StringComparer.Ordinal);
    private readonly DockerEventWatch _events;

    public DockerOrchestrator(DockerEndpoint endpoint, DockerClientFactory clients, DockerOrchestratorOptions options)
        : base(options.Workloads)
    {
        _endpoint = endpoint;
        _options = options;
        _logger = options.Logger;
        _connection = new DockerConnection(endpoint, clients, options.Proxy, options.Logger);
        _errors = new DockerErrors(endpoint, options.Proxy);
        _images = new DockerImagePuller(options.Registry, _errors, options.Logger, options.Time);
        _engineLogDriver = new EngineLogDriver(options.Logger);
        _events = new DockerEventWatch(ConnectAsync, Snapshot, options.ManagerId, _errors, options.Time);
    }

    public IAsyncEnumerable<WorkloadChange> WatchAsync(CancellationToken cancellationToken) => _events.WatchAsync(cancellationToken);

    public string Kind => _options.Kind;

    public async Task<Failure?> CheckAsync(CancellationToken cancellationToken)
    {
        var connected = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        if (!connected.IsSuccess) return connected.Failure;
        var client = connected.Value;
        var version = await DockerPreflight.CheckAsync(client, _endpoint, _options.Proxy, cancellationToken).ConfigureAwait(false);
        return version.Failure;
    }

    public async Task<Result<IReadOnlyList<ObservedWorkload>>> ListAsync(CancellationToken cancellationToken)
    {
        var what = $"cannot list the containers of manager {_options.ManagerId}";
        var connected = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        if (!connected.IsSuccess) return connected.Failure.Within(what);
        var client = connected.Value;
        IList<ContainerListResponse> containers;
        try
        {
            // The engine's map form of filters={"label":["opencti-manager=<id>"]}; every engine version reads both.
            containers = await client.Containers.ListContainersAsync(new ContainersListParameters
            {
                All = true,
                Filters = new Dictionary<string, IDictionary<string, bool>>
                {
                    ["label"] = new Dictionary<string, bool> { [$"{ConnectorLabels.Manager}={_options.ManagerId}"] = true },
                },
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (NotCancelled(ex, cancellationToken))
        {
            return _errors.Failed(what, ex);
        }

        var workloads = new List<ObservedWorkload>(containers.Count);
        foreach (var container in containers)
        {
            var labels = container.Labels is null
                ? new Dictionary<string, string>(StringComparer.Ordinal)
                : new Dictionary<string, string>(container.Labels, StringComparer.Ordinal);
            var name = NameOf(container);
            string? hash;
            if (labels.TryGetValue(DockerContainerSpec.ConfigHashLabel, out var labelled))
            {
                hash = labelled;
            }
            else
            {
                var inspected = await EnvironmentHashAsync(client, container.ID, cancellationToken).ConfigureAwait(false);
                if (!inspected.IsSuccess) return inspected.Failure.Within($"{what}: container {name}");
                if (inspected.Value.Gone) continue; // removed between the list and the inspect
                hash = inspected.Value.Hash;
            }
            workloads.Add(new ObservedWorkload(container.ID, name, labels, Reduce(container.State), container.State ?? "", hash)
            {
                CreatedAt = Utc(container.Created),
            });
        }
        ForgetRemovedContainers(workloads);
        return Result<IReadOnlyList<ObservedWorkload>>.Success(workloads);
    }

    internal override async Task<Failure?> DeployAsync(ConnectorWorkload workload, CancellationToken cancellationToken)
    {
        if (DockerContainerSpec.NameProblem(workload) is { } badName) return Failure.Orchestrator(badName);
        var connected = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        if (!connected.IsSuccess) return connected.Failure with { Message = $"connector {workload.ConnectorId}: cannot deploy container {workload.Name}: {connected.Failure.Message}" };
        var client = connected.Value;
        var pulled = await _images.EnsureAsync(client, workload, cancellationToken).ConfigureAwait(false);
        if (!pulled.IsSuccess) return pulled.Failure;
        var image = pulled.Value.Reference;
        var created = await CreateOrAdoptAsync(client, workload, image, cancellationToken).ConfigureAwait(false);
        if (!created.IsSuccess) return created.Failure;
        if (await PrepareAndStartAsync(client, created.Value, workload, cancellationToken).ConfigureAwait(false) is { } failure) return failure;
        _logger.Info("Container deployed", ("container", workload.Name), ("connector", workload.ConnectorId), ("image", image),
            ("started", workload.Start));
        return null;
    }

    internal override async Task<Failure?> RefreshAsync(ObservedWorkload current, ConnectorWorkload workload, CancellationToken cancellationToken)
    {
        if (DockerContainerSpec.NameProblem(workload) is { } badName) return Failure.Orchestrator(badName);
        var connected = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        if (!connected.IsSuccess) return connected.Failure with { Message = $"connector {workload.ConnectorId}: cannot refresh container {current.Name}: {connected.Failure.Message}" };
        var client = connected.Value;
        var pulled = await _images.EnsureAsync(client, workload, cancellationToken).ConfigureAwait(false);
        if (!pulled.IsSuccess) return pulled.Failure with { Message = $"{pulled.Failure.Message}; container {current.Name} left as it was" };
        var image = pulled.Value.Reference;

        var what = $"connector {workload.ConnectorId}: cannot refresh container {current.Name}";
        var wasRunning = current.State != WorkloadState.Stopped;
        var oldExists = true;
        try
        {
            await client.Containers.StopContainerAsync(current.WorkloadId, new ContainerStopParameters { WaitBeforeKillSeconds = StopSeconds },
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (DockerErrors.IsNotFound(ex))
        {
            oldExists = false; // removed outside Composer: nothing to put aside
        }
        catch (Exception ex) when (NotCancelled(ex, cancellationToken))
        {
            return _errors.Failed($"{what}: stopping it failed", ex);
        }

        var aside = AsideName(current);
        if (oldExists)
        {
            try
            {
                await client.Containers.RenameContainerAsync(current.WorkloadId, new ContainerRenameParameters { NewName = aside }, cancellationToken)
                    .ConfigureAwait(false);
            }
            catch (Exception ex) when (NotCancelled(ex, cancellationToken))
            {
                var renameFailed = $"{what}: renaming it to {aside} failed: {_errors.Cause(ex)}";
                return Failure.Orchestrator(wasRunning ? renameFailed + RestartAfterFailure(await StartQuietlyAsync(client, current.WorkloadId)) : renameFailed);
            }
        }

        string? id = null;
        Failure? failure;
        try
        {
            var created = await CreateOrAdoptAsync(client, workload, image, cancellationToken).ConfigureAwait(false);
            id = created.Value;
            failure = created.IsSuccess ? await PrepareAndStartAsync(client, created.Value, workload, cancellationToken).ConfigureAwait(false) : created.Failure;
        }
        catch (OperationCanceledException) when (oldExists)
        {
            // Shutting down mid-replacement: the old container goes back first, as on a failure.
            await RestoreAsync(client, current, id, wasRunning).ConfigureAwait(false);
            throw;
        }
        if (failure is not null)
        {
            if (!oldExists) return failure;
            return failure with { Message = failure.Message + await RestoreAsync(client, current, id, wasRunning).ConfigureAwait(false) };
        }

        if (oldExists)
        {
            try
            {
                await client.Containers.RemoveContainerAsync(current.WorkloadId, new ContainerRemoveParameters { Force = true, RemoveVolumes = true },
                    cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (NotCancelled(ex, cancellationToken) && !DockerErrors.IsNotFound(ex))
            {
                // The new container runs; the old one carries its labels and a stale name: the next cycle removes it.
                _logger.Warn("Could not remove the replaced container", ("container", aside), ("connector", workload.ConnectorId),
                    ("error", _errors.Cause(ex)));
            }
        }
        _logger.Info("Container refreshed", ("container", workload.Name), ("connector", workload.ConnectorId), ("image", image),
            ("started", workload.Start));
        return null;
    }

    internal override async Task<Failure?> StartAsync(ObservedWorkload current, ConnectorWorkload workload, CancellationToken cancellationToken)
    {
        var connected = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        if (!connected.IsSuccess) return connected.Failure with { Message = $"connector {workload.ConnectorId}: cannot start container {current.Name}: {connected.Failure.Message}" };
        var client = connected.Value;
        // Again: a container created before a crash may not have it yet; copying it twice changes nothing.
        return await CopyCaBundleAsync(client, current.WorkloadId, current.Name, workload, cancellationToken).ConfigureAwait(false)
               ?? await StartContainerAsync(client, current.WorkloadId, current.Name, workload.ConnectorId, cancellationToken).ConfigureAwait(false);
    }

    public async Task<Failure?> StopAsync(ObservedWorkload current, CancellationToken cancellationToken)
    {
        var what = $"connector {current.ConnectorId}: cannot stop container {current.Name}";
        var connected = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        if (!connected.IsSuccess) return connected.Failure.Within(what);
        var client = connected.Value;
        try
        {
            var stopped = await client.Containers.StopContainerAsync(current.WorkloadId, new ContainerStopParameters { WaitBeforeKillSeconds = StopSeconds },
                cancellationToken).ConfigureAwait(false);
            _logger.Info(stopped ? "Container stopped" : "Container already stopped", ("container", current.Name), ("connector", current.ConnectorId));
            return null;
        }
        catch (Exception ex) when (DockerErrors.IsNotFound(ex))
        {
            _logger.Info("Container to stop no longer exists", ("container", current.Name), ("connector", current.ConnectorId));
            return null;
        }
        catch (Exception ex) when (NotCancelled(ex, cancellationToken))
        {
            return _errors.Failed(what, ex);
        }
    }

    public async Task<Failure?> RemoveAsync(ObservedWorkload current, CancellationToken cancellationToken)
    {
        var what = $"connector {current.ConnectorId}: cannot remove container {current.Name}";
        var connected = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        if (!connected.IsSuccess) return connected.Failure.Within(what);
        var client = connected.Value;
        try
        {
            await client.Containers.RemoveContainerAsync(current.WorkloadId, new ContainerRemoveParameters { Force = true, RemoveVolumes = true },
                cancellationToken).ConfigureAwait(false);
            _logger.Info("Container removed", ("container", current.Name), ("connector", current.ConnectorId));
        }
        catch (Exception ex) when (DockerErrors.IsNotFound(ex)
                                   || (DockerErrors.IsConflict(ex) && _errors.Cause(ex).Contains("already in progress", StringComparison.Ordinal)))
        {
            _logger.Info("Container already removed", ("container", current.Name), ("connector", current.ConnectorId));
        }
        catch (Exception ex) when (NotCancelled(ex, cancellationToken))
        {
            return _errors.Failed(what, ex);
        }
        _environmentHashes.TryRemove(current.WorkloadId, out _);
        return null;
    }

    public async Task<Result<LogBatch>> LogsAsync(ObservedWorkload current, DateTimeOffset? since, LogLimits limits, CancellationToken cancellationToken)
    {
        var what = $"connector {current.ConnectorId}: cannot read the logs of container {current.Name}";
        // One engine call: Docker.DotNet's log read would inspect the container first (for its TTY), so the GET is sent
        // on the client's own handler and the answer tells its framing (ContainerLogReader).
        var connected = await _connection.ConnectStreamsAsync(cancellationToken).ConfigureAwait(false);
        if (!connected.IsSuccess) return connected.Failure.Within(what);
        var streams = connected.Value;
        var path = $"containers/{Uri.EscapeDataString(current.WorkloadId)}/logs";
        // The engine takes the tail first, then drops what is older than since: the newest lines, whatever was written.
        var query = $"stdout=1&stderr=1&timestamps=1&tail={limits.MaxLines.ToString(CultureInfo.InvariantCulture)}";
        // Whole seconds: lines of that second written up to the cursor come back and are dropped by timestamp.
        if (since is { } cursor) query += $"&since={cursor.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}";
        try
        {
            var batch = await ContainerLogReader.ReadWithinAsync(token => streams.GetStreamAsync(path, query, token), streams.Timeout, _options.Time,
                since, limits, cancellationToken).ConfigureAwait(false);
            return batch.IsSuccess ? batch : batch.Failure.Within(what);
        }
        catch (Exception ex) when (NotCancelled(ex, cancellationToken))
        {
            return _errors.Failed(what, ex);
        }
    }

    public async Task<Result<WorkloadHealth>> HealthAsync(ObservedWorkload current, CancellationToken cancellationToken)
    {
        var what = $"connector {current.ConnectorId}: cannot inspect container {current.Name}";
        var connected = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        if (!connected.IsSuccess) return connected.Failure.Within(what);
        var client = connected.Value;
        try
        {
            var inspect = await client.Containers.InspectContainerAsync(current.WorkloadId, cancellationToken).ConfigureAwait(false);
            return Result<WorkloadHealth>.Success(HealthOf(inspect));
        }
        catch (Exception ex) when (NotCancelled(ex, cancellationToken))
        {
            return _errors.Failed(what, ex);
        }
    }

    private static WorkloadHealth HealthOf(ContainerInspectResponse inspect)
    {
        var state = inspect.State;
        var restarts = (int)Math.Clamp(inspect.RestartCount, 0, int.MaxValue);
        // FinishedAt is the zero time until a run ended; ExitCode is 0 until then, and reset to 0 when a run starts
        // again: while it runs, the last run's code is not known here.
        var ended = Timestamp(state?.FinishedAt) is not null && !(state!.Running && !state.Restarting);
        int? exitCode = ended ? (int)Math.Clamp(state!.ExitCode, int.MinValue, int.MaxValue) : null;
        return new WorkloadHealth(restarts, Timestamp(state?.StartedAt), state?.Restarting == true, exitCode);
    }

    /// <summary>A container as a listing shows it, with its health, from one inspection (the events' snapshot).</summary>
    private ObservedWorkload Snapshot(ContainerInspectResponse inspect)
    {
        var labels = inspect.Config?.Labels is { } configured
            ? new Dictionary<string, string>(configured, StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal);
        var hash = labels.TryGetValue(DockerContainerSpec.ConfigHashLabel, out var labelled) ? labelled : HashFromEnvironment(inspect.Config?.Env);
        var rawState = inspect.State?.Status ?? "";
        return new ObservedWorkload(inspect.ID, (inspect.Name ?? inspect.ID).TrimStart('/'), labels, Reduce(rawState), rawState, hash)
        {
            CreatedAt = Utc(inspect.Created),
            Health = HealthOf(inspect),
        };
    }

    public ValueTask DisposeAsync()
    {
        _connection.Dispose();
        return ValueTask.CompletedTask;
    }

    private static uint StopSeconds => (uint)StopTimeout.TotalSeconds;

    /// <summary>A time Docker.DotNet read from the engine (UTC, or unspecified meaning UTC), or null for the zero value.</summary>
    internal static DateTimeOffset? Utc(DateTime? time) => time is not { } t || t == default ? null
        : new DateTimeOffset(t.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(t, DateTimeKind.Utc) : t.ToUniversalTime());

    /// <summary>A State.StartedAt or FinishedAt of the inspection, or null for the zero time the engine shows before it happened.</summary>
    private static DateTimeOffset? Timestamp(string? text) =>
        !string.IsNullOrEmpty(text) && !text.StartsWith(NeverStarted, StringComparison.Ordinal)
        && LogCollector.TryParseTimestamp(text.AsSpan(), out var parsed) ? parsed : null;

    private Task<Result<DockerClient>> ConnectAsync(CancellationToken cancellationToken) => _connection.ConnectAsync(cancellationToken);

    /// <summary>
    /// Creates the container, or finds the one a deploy interrupted after its create left under the name (this
    /// manager's labels and this connector's id). Anything else under the name is reported and never touched.
    /// </summary>
    private async Task<Result<string>> CreateOrAdoptAsync(DockerClient client, ConnectorWorkload workload, string image,
        CancellationToken cancellationToken)
    {
        var what = $"connector {workload.ConnectorId}: cannot create container {workload.Name}";
        var docker = _options.Containers;
        var engineDriver = ConnectorLogConfig.NeedsEngineDriver(docker.LogDriver, docker.LogOpts)
            ? await _engineLogDriver.GetAsync(client, cancellationToken).ConfigureAwait(false)
            : null;
        var logs = ConnectorLogConfig.For(docker.LogDriver, docker.LogOpts, engineDriver);
        try
        {
            var created = await client.Containers.CreateContainerAsync(DockerContainerSpec.CreateParameters(workload, image, docker, _options.ExtraLabels, logs),
                cancellationToken).ConfigureAwait(false);
            foreach (var warning in created.Warnings ?? []) _logger.Warn("Docker engine warning", ("container", workload.Name), ("warning", warning));
            return Result<string>.Success(created.ID);
        }
        catch (Exception ex) when (DockerErrors.IsConflict(ex))
        {
            ContainerInspectResponse existing;
            try
            {
                existing = await client.Containers.InspectContainerAsync(workload.Name, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception inner) when (NotCancelled(inner, cancellationToken))
            {
                return _errors.Failed($"{what}: the name is taken ({_errors.Cause(ex)}) and inspecting that container failed", inner);
            }
            var labels = existing.Config?.Labels ?? new Dictionary<string, string>();
            labels.TryGetValue(ConnectorLabels.Manager, out var manager);
            labels.TryGetValue(ConnectorLabels.ConnectorId, out var connector);
            var shortId = ShortId(existing.ID);
            if (manager == _options.ManagerId && connector == workload.ConnectorId)
            {
                _logger.Info("Completing the container of an interrupted deploy", ("container", workload.Name), ("connector", workload.ConnectorId),
                    ("id", shortId));
                return Result<string>.Success(existing.ID);
            }
            return Failure.Orchestrator(manager == _options.ManagerId && !string.IsNullOrEmpty(connector)
                ? $"{what}: the name is already used by container {shortId} of connector {connector} (two connectors with the same name?); " +
                  "Composer will not touch it: rename one of the connectors"
                : $"{what}: the name is taken by container {shortId}, which manager {_options.ManagerId} does not own; " +
                  "Composer will not touch it: remove or rename that container, or rename the connector");
        }
        catch (Exception ex) when (NotCancelled(ex, cancellationToken))
        {
            return _errors.Failed($"{what} from {image}", ex);
        }
    }

    /// <summary>CA bundle in, then start when the platform asks for it.</summary>
    private async Task<Failure?> PrepareAndStartAsync(DockerClient client, string id, ConnectorWorkload workload, CancellationToken cancellationToken)
    {
        if (await CopyCaBundleAsync(client, id, workload.Name, workload, cancellationToken).ConfigureAwait(false) is { } failure) return failure;
        return workload.Start ? await StartContainerAsync(client, id, workload.Name, workload.ConnectorId, cancellationToken).ConfigureAwait(false) : null;
    }

    /// <summary>PUT /containers/{id}/archive with the bundle at <see cref="ConnectorNetworkEnvironment.CaBundlePath"/> (works on a created or running container).</summary>
    private async Task<Failure?> CopyCaBundleAsync(DockerClient client, string id, string name, ConnectorWorkload workload, CancellationToken cancellationToken)
    {
        if (workload.CaBundle is not { Length: > 0 } bundle) return null;
        try
        {
            using var archive = CaBundleArchive.Create(bundle, _options.Time.GetUtcNow());
            await client.Containers.ExtractArchiveToContainerAsync(id, new CopyToContainerParameters { Path = "/" }, archive, cancellationToken)
                .ConfigureAwait(false);
            return null;
        }
        catch (Exception ex) when (NotCancelled(ex, cancellationToken))
        {
            return _errors.Failed($"connector {workload.ConnectorId}: cannot copy the CA bundle into container {name} at {ConnectorNetworkEnvironment.CaBundlePath}", ex);
        }
    }

    private async Task<Failure?> StartContainerAsync(DockerClient client, string id, string name, string? connectorId, CancellationToken cancellationToken)
    {
        try
        {
            var started = await client.Containers.StartContainerAsync(id, new ContainerStartParameters(), cancellationToken).ConfigureAwait(false);
            _logger.Info(started ? "Container started" : "Container already running", ("container", name), ("connector", connectorId));
            return null;
        }
        catch (Exception ex) when (NotCancelled(ex, cancellationToken))
        {
            return _errors.Failed($"connector {connectorId}: cannot start container {name}", ex);
        }
    }

    /// <summary>After a failed replacement: the new container removed, the old one back under its name (and running if it was).</summary>
    private async Task<string> RestoreAsync(DockerClient client, ObservedWorkload old, string? newId, bool wasRunning)
    {
        // Not cancellable: leaving the connector without its container is worse than a late shutdown.
        var problems = new List<string>();
        if (newId is not null && newId != old.WorkloadId)
        {
            try
            {
                await client.Containers.RemoveContainerAsync(newId, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }).ConfigureAwait(false);
            }
            catch (Exception ex) when (!DockerErrors.IsNotFound(ex))
            {
                problems.Add($"removing the new container {ShortId(newId)} failed: {_errors.Cause(ex)}");
            }
        }
        try
        {
            await client.Containers.RenameContainerAsync(old.WorkloadId, new ContainerRenameParameters { NewName = old.Name }).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            problems.Add($"renaming {AsideName(old)} back to {old.Name} failed: {_errors.Cause(ex)}");
        }
        if (wasRunning && problems.Count == 0 && await StartQuietlyAsync(client, old.WorkloadId) is { } startFailed) problems.Add(startFailed.Message);
        return problems.Count == 0
            ? $"; the previous container {old.Name} was restored{(wasRunning ? " and restarted" : "")}"
            : $"; restoring the previous container failed: {string.Join("; ", problems)}";
    }

    private async Task<Failure?> StartQuietlyAsync(DockerClient client, string id)
    {
        try
        {
            await client.Containers.StartContainerAsync(id, new ContainerStartParameters()).ConfigureAwait(false);
            return null;
        }
        catch (Exception ex)
        {
            return _errors.Failed($"restarting it failed", ex);
        }
    }

    private static string RestartAfterFailure(Failure? startFailed) =>
        startFailed is null ? "; the container was restarted" : $"; {startFailed.Message}";

    /// <summary>OPENCTI_CONFIG_HASH from the environment of a container without the hash label (created by the Rust version), cached.</summary>
    private async Task<Result<EnvironmentHash>> EnvironmentHashAsync(DockerClient client, string id, CancellationToken cancellationToken)
    {
        if (_environmentHashes.TryGetValue(id, out var cached)) return Result<EnvironmentHash>.Success(new EnvironmentHash(cached, Gone: false));
        try
        {
            var inspect = await client.Containers.InspectContainerAsync(id, cancellationToken).ConfigureAwait(false);
            var hash = HashFromEnvironment(inspect.Config?.Env);
            _environmentHashes[id] = hash;
            return Result<EnvironmentHash>.Success(new EnvironmentHash(hash, Gone: false));
        }
        catch (Exception ex) when (DockerErrors.IsNotFound(ex))
        {
            return Result<EnvironmentHash>.Success(new EnvironmentHash(null, Gone: true));
        }
        catch (Exception ex) when (NotCancelled(ex, cancellationToken))
        {
            return _errors.Failed($"inspecting it for its {ConnectorLabels.ConfigHashVariable} failed", ex);
        }
    }

    /// <summary>A container's OPENCTI_CONFIG_HASH (null when it has none), or <paramref name="Gone"/> when it was removed before it could be inspected.</summary>
    private readonly record struct EnvironmentHash(string? Hash, bool Gone);

    /// <summary>The value of the last OPENCTI_CONFIG_HASH entry (the one Docker applies): everything after the first '='.</summary>
    internal static string? HashFromEnvironment(IList<string>? environment)
    {
        string? hash = null;
        foreach (var entry in environment ?? [])
        {
            var equals = entry.IndexOf('=');
            if (equals > 0 && entry.AsSpan(0, equals).SequenceEqual(ConnectorLabels.ConfigHashVariable)) hash = entry[(equals + 1)..];
        }
        return hash;
    }

    private void ForgetRemovedContainers(List<ObservedWorkload> listed)
    {
        if (_environmentHashes.IsEmpty) return;
        var present = new HashSet<string>(listed.Select(w => w.WorkloadId), StringComparer.Ordinal);
        foreach (var id in _environmentHashes.Keys)
        {
            if (!present.Contains(id)) _environmentHashes.TryRemove(id, out _);
        }
    }

    private static WorkloadState Reduce(string? state) => state switch
    {
        "running" => WorkloadState.Running,
        // Being removed (docker rm -f): starting it fails, and its destroy event (or the next listing) comes next.
        "restarting" or "removing" => WorkloadState.Restarting,
        _ => WorkloadState.Stopped,
    };

    /// <summary>The container's own name: the entry of Names without a '/' after the leading one (others are legacy link aliases).</summary>
    private static string NameOf(ContainerListResponse container)
    {
        var names = container.Names ?? [];
        foreach (var n in names)
        {
            var trimmed = n.TrimStart('/');
            if (!trimmed.Contains('/')) return trimmed;
        }
        return names.Count > 0 ? names[0].TrimStart('/') : container.ID;
    }

    /// <summary>
    /// Where a container waits while its replacement is created: its name, '.replaced-' and its short id. No connector
    /// name holds a '.', so the reconciler sees a stale name of the connector and removes it after a crash.
    /// </summary>
    internal static string AsideName(ObservedWorkload current) => $"{current.Name}.replaced-{ShortId(current.WorkloadId)}";

    private static string ShortId(string id) => id.Length > 12 ? id[..12] : id;

    private static bool NotCancelled(Exception ex, CancellationToken cancellationToken) =>
        ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested;
}

using System.Globalization;
using System.Net;
using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Images;
using Composer.Network;
using Composer.Orchestration.Docker;
using Composer.Reconciliation;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Composer.Orchestration.Swarm;

/// <summary>
/// Connectors as services of a Docker swarm, through the Engine API of a manager node (upstream-behaviour §6.9, its
/// quirks fixed). The engine is the Docker orchestrator's (opencti.daemon.docker.host, else DOCKER_HOST, else the
/// local socket), reached and version-negotiated the same way (<see cref="DockerConnection"/>); the first contact also
/// checks that the node is a swarm manager.
/// <list type="bullet">
/// <item>List: one GET /services filtered on opencti-manager and one GET /tasks for those services; the contract hash
/// is the OPENCTI_CONFIG_HASH of the service's environment (the list returns the whole spec), the state comes from the
/// tasks (<see cref="SwarmTasks"/>).</item>
/// <item>Deploy: the image made available on this node as the Docker orchestrator does (<see cref="DockerImagePuller"/>:
/// present-image check, pre-flight, pull with retries), pinned to the digest the registry gave so every node runs the
/// same image, then POST /services/create with X-Registry-Auth (base64url) so that every node can pull it, the
/// daemon.swarm options (<see cref="SwarmServiceSpec"/>), the CA bundle as a swarm config mounted as a file
/// (<see cref="SwarmCaConfig"/>) and 1 replica, or 0 when the connector is not to run. A service of this manager and
/// connector already under the name (a deploy interrupted after its create) is adopted; anything else is reported.</item>
/// <item>Refresh: the new image first (a failed pull leaves the service as it was), then one in-place update of the
/// whole spec (Swarm replaces the task), then the CA config it no longer uses is removed.</item>
/// <item>Start/stop: replicas 1/0 by updating the inspected spec (the stored registry auth is kept); start also puts
/// the current CA bundle in place. Remove: the service, then every CA config of the connector.</item>
/// <item>Logs: GET /services/{id}/logs (every task, demultiplexed, with the since cursor); health: from the task list of
/// the listing or of the events' snapshot (<see cref="Observe"/>), so <see cref="HealthAsync"/> is not called.</item>
/// <item>Events (<see cref="IWorkloadWatch"/>): the service events and the task containers' events of the manager
/// node, and a poll of the tasks no event tells of (<see cref="SwarmEventWatch"/>).</item>
/// </list>
/// Calls per idle cycle: while polling, one service list and one task list (none when there is no service); while the
/// events are watched, none.
/// </summary>
public sealed class SwarmOrchestrator : WorkloadOrchestrator, IOrchestrator, IWorkloadWatch
{
    private readonly DockerEndpoint _endpoint;
    private readonly DockerConnection _connection;
    private readonly SwarmOrchestratorOptions _options;
    private readonly DockerErrors _errors;
    private readonly DockerImagePuller _images;
    private readonly EngineLogDriver _engineLogDriver;
    private readonly Logger _logger;
    private readonly SwarmEventWatch _events;

    public SwarmOrchestrator(DockerEndpoint endpoint, DockerClientFactory clients, SwarmOrchestratorOptions options)
        : base(options.Workloads)
    {
        _endpoint = endpoint;
        _options = options;
        _logger = options.Logger;
        _errors = new DockerErrors(endpoint, options.Proxy);
        _connection = new DockerConnection(endpoint, clients, options.Proxy, options.Logger)
        {
            Verify = ManagerProblemAsync,
        };
        _images = new DockerImagePuller(options.Registry, _errors, options.Logger, options.Time);
        _engineLogDriver = new EngineLogDriver(options.Logger);
        _events = new SwarmEventWatch(_connection.ConnectAsync, options.ManagerId, _errors, options.Time);
    }

    public IAsyncEnumerable<WorkloadChange> WatchAsync(CancellationToken cancellationToken) => _events.WatchAsync(cancellationToken);

    /// <summary>The tasks' log settings: daemon.swarm.log_driver/log_opts, else Composer's bound on the manager engine's default driver.</summary>
    private async Task<ConnectorLogConfig?> LogConfigAsync(DockerClient client, CancellationToken cancellationToken)
    {
        var swarm = _options.Services;
        var engineDriver = ConnectorLogConfig.NeedsEngineDriver(swarm.LogDriver, swarm.LogOpts)
            ? await _engineLogDriver.GetAsync(client, cancellationToken).ConfigureAwait(false)
            : null;
        return ConnectorLogConfig.For(swarm.LogDriver, swarm.LogOpts, engineDriver);
    }

    /// <summary>
    /// The orchestrator of one platform whose selector is swarm, from what the resolve step decided: the engine, the
    /// service options, and the platform's proxy for a TCP endpoint. Nothing is called yet: the first call connects
    /// and reports an engine that is not a swarm manager.
    /// </summary>
    /// <param name="network">The platform's network policy: its proxy serves a TCP endpoint.</param>
    /// <param name="workloads">Builds each connector's service from the manager's workload context.</param>
    public static SwarmOrchestrator Create(string managerId, ResolvedSwarm swarm, PlatformNetworkPolicy network, WorkloadBuilder workloads,
        IOutboundHandlerFactory handlers, RegistryAccess registry, Logger logger, TimeProvider time)
    {
        var endpoint = swarm.Endpoint;
        var proxy = endpoint.Transport == DockerTransport.Tcp ? network.ProxyFor(endpoint.Address, network.NoProxyMatcher) : null;
        var options = new SwarmOrchestratorOptions(managerId, swarm.Services, registry, logger, time) { Workloads = workloads, Proxy = proxy };
        return new SwarmOrchestrator(endpoint, new DockerClientFactory(handlers, swarm.Platform), options);
    }

    public string Kind => "swarm";

    public async Task<Failure?> CheckAsync(CancellationToken cancellationToken)
    {
        var connected = await _connection.ConnectAsync(cancellationToken).ConfigureAwait(false);
        if (!connected.IsSuccess) return connected.Failure;
        var client = connected.Value;
        // Connected before: the node may have been demoted or have left the swarm since.
        return await ManagerProblemAsync(client, cancellationToken).ConfigureAwait(false);
    }

    public async Task<Result<IReadOnlyList<ObservedWorkload>>> ListAsync(CancellationToken cancellationToken)
    {
        var what = $"cannot list the swarm services of manager {_options.ManagerId}";
        var connected = await _connection.ConnectAsync(cancellationToken).ConfigureAwait(false);
        if (!connected.IsSuccess) return connected.Failure.Within(what);
        var client = connected.Value;
        var mark = _events.Mark();
        IList<SwarmService> services;
        IList<TaskResponse> tasks;
        try
        {
            services = await client.Swarm.ListServicesAsync(new ServiceListParameters
            {
                Filters = Filter("label", [$"{ConnectorLabels.Manager}={_options.ManagerId}"]),
            }, cancellationToken).ConfigureAwait(false);
            tasks = services.Count == 0 ? [] : await client.Tasks.ListAsync(new TasksListParameters
            {
                Filters = Filter("service", services.Select(s => s.ID)),
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (NotCancelled(ex, cancellationToken))
        {
            return _errors.Failed(what, ex);
        }

        var byService = tasks.Where(t => t.ServiceID is not null).ToLookup(t => t.ServiceID!, StringComparer.Ordinal);
        var workloads = new List<ObservedWorkload>(services.Count);
        var listing = new List<(SwarmService, IReadOnlyList<TaskResponse>, ObservedWorkload)>(services.Count);
        foreach (var service in services)
        {
            List<TaskResponse> own = [.. byService[service.ID]];
            if (Observe(service, own) is not { } workload) continue;
            workloads.Add(workload);
            listing.Add((service, own, workload));
        }
        _events.Listed(mark, listing);
        return Result<IReadOnlyList<ObservedWorkload>>.Success(workloads);
    }

    /// <summary>
    /// A service as a listing shows it, with the health its tasks tell (restart count, start time, exit code): the
    /// task list is read anyway, so no health report costs a call of its own. Null for a service without a name.
    /// </summary>
    internal static ObservedWorkload? Observe(SwarmService service, IReadOnlyList<TaskResponse> tasks)
    {
        if (service.Spec?.Name is not { Length: > 0 } name) return null;
        var labels = service.Spec.Labels is null
            ? new Dictionary<string, string>(StringComparer.Ordinal)
            : new Dictionary<string, string>(service.Spec.Labels, StringComparer.Ordinal);
        var (state, raw) = SwarmTasks.Reduce(service, tasks);
        var hash = DockerOrchestrator.HashFromEnvironment(service.Spec.TaskTemplate?.ContainerSpec?.Env);
        return new ObservedWorkload(service.ID, name, labels, state, raw, hash)
        {
            CreatedAt = DockerOrchestrator.Utc(service.CreatedAt),
            Health = SwarmTasks.Health(service, tasks),
        };
    }

    internal override async Task<Failure?> DeployAsync(ConnectorWorkload workload, CancellationToken cancellationToken)
    {
        if (SwarmServiceSpec.NameProblem(workload) is { } badName) return Failure.Orchestrator(badName);
        var what = $"connector {workload.ConnectorId}: cannot create service {workload.Name}";
        var connected = await _connection.ConnectAsync(cancellationToken).ConfigureAwait(false);
        if (!connected.IsSuccess) return connected.Failure.Within(what);
        var client = connected.Value;
        var pulled = await ImageAsync(client, workload, cancellationToken).ConfigureAwait(false);
        if (!pulled.IsSuccess) return pulled.Failure;
        var image = pulled.Value.Reference;
        SwarmConfigReference? config = null;
        if (workload.CaBundle is { Length: > 0 } bundle)
        {
            var ensured = await EnsureCaConfigAsync(client, workload, bundle, cancellationToken).ConfigureAwait(false);
            if (!ensured.IsSuccess) return ensured.Failure;
            config = ensured.Value;
        }

        try
        {
            var created = await client.Swarm.CreateServiceAsync(new ServiceCreateParameters
            {
                Service = SwarmServiceSpec.Build(workload, image, _options.Services, config, workload.Start, await LogConfigAsync(client, cancellationToken).ConfigureAwait(false)),
                // The credentials of the pull just made: every node's agent pulls with the same ones.
                RegistryAuth = DockerRegistryAuth.ForService(pulled.Value.Credentials)!,
            }, cancellationToken).ConfigureAwait(false);
            foreach (var warning in created.Warnings ?? []) _logger.Warn("Docker engine warning", ("service", workload.Name), ("warning", warning));
            _logger.Info("Service created", ("service", workload.Name), ("connector", workload.ConnectorId), ("image", image),
                ("replicas", workload.Start ? 1 : 0), ("ca_config", config?.ConfigName));
            return null;
        }
        catch (Exception ex) when (DockerErrors.IsConflict(ex))
        {
            return await AdoptAsync(client, workload, what, ex, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (NotCancelled(ex, cancellationToken))
        {
            // The config is only worth keeping for a service: a retry creates it again under the same name.
            if (config is not null) await RemoveConfigQuietlyAsync(client, config.ConfigID).ConfigureAwait(false);
            return _errors.Failed($"{what} from {image}", ex);
        }
    }

    internal override async Task<Failure?> RefreshAsync(ObservedWorkload current, ConnectorWorkload workload, CancellationToken cancellationToken)
    {
        if (current.Name != workload.Name)
        {
            return Failure.Orchestrator($"refreshing service {current.Name} as {workload.Name}: Swarm cannot rename a service; remove it and deploy the new name");
        }
        var what = $"connector {workload.ConnectorId}: cannot update service {current.Name}";
        var connected = await _connection.ConnectAsync(cancellationToken).ConfigureAwait(false);
        if (!connected.IsSuccess) return connected.Failure.Within(what);
        var client = connected.Value;
        var pulled = await ImageAsync(client, workload, cancellationToken).ConfigureAwait(false);
        if (!pulled.IsSuccess) return pulled.Failure with { Message = $"{pulled.Failure.Message}; service {current.Name} left as it was" };
        var image = pulled.Value.Reference;

        var inspected = await InspectAsync(client, current, what, cancellationToken).ConfigureAwait(false);
        if (!inspected.IsSuccess) return inspected.Failure;
        var service = inspected.Value;
        SwarmConfigReference? config = null;
        if (workload.CaBundle is { Length: > 0 } bundle)
        {
            var ensured = await EnsureCaConfigAsync(client, workload, bundle, cancellationToken).ConfigureAwait(false);
            if (!ensured.IsSuccess) return ensured.Failure with { Message = $"{ensured.Failure.Message}; service {current.Name} left as it was" };
            config = ensured.Value;
        }
        var spec = SwarmServiceSpec.Build(workload, image, _options.Services, config, workload.Start, await LogConfigAsync(client, cancellationToken).ConfigureAwait(false));
        if (await UpdateAsync(client, service, spec, DockerRegistryAuth.ForService(pulled.Value.Credentials), cancellationToken).ConfigureAwait(false) is { } updateError)
        {
            return updateError with { Message = $"{what}: {updateError.Message}; service left as it was" };
        }
        await RemoveReplacedConfigsAsync(client, SwarmCaConfig.In(service.Spec), config).ConfigureAwait(false);
        _logger.Info("Service updated", ("service", current.Name), ("connector", workload.ConnectorId), ("image", image),
            ("config_hash", workload.ConfigHash), ("replicas", workload.Start ? 1 : 0));
        return null;
    }

    internal override Task<Failure?> StartAsync(ObservedWorkload current, ConnectorWorkload workload, CancellationToken cancellationToken) =>
        ScaleAsync(current, workload, cancellationToken);

    public Task<Failure?> StopAsync(ObservedWorkload current, CancellationToken cancellationToken) => ScaleAsync(current, null, cancellationToken);

    public async Task<Failure?> RemoveAsync(ObservedWorkload current, CancellationToken cancellationToken)
    {
        var what = $"connector {current.ConnectorId}: cannot remove service {current.Name}";
        var connected = await _connection.ConnectAsync(cancellationToken).ConfigureAwait(false);
        if (!connected.IsSuccess) return connected.Failure.Within(what);
        var client = connected.Value;
        try
        {
            await client.Swarm.RemoveServiceAsync(current.WorkloadId, cancellationToken).ConfigureAwait(false);
            _logger.Info("Service removed", ("service", current.Name), ("connector", current.ConnectorId));
        }
        catch (Exception ex) when (DockerErrors.IsNotFound(ex))
        {
            _logger.Info("Service already removed", ("service", current.Name), ("connector", current.ConnectorId));
        }
        catch (Exception ex) when (NotCancelled(ex, cancellationToken))
        {
            return _errors.Failed(what, ex);
        }
        return current.ConnectorId is { } connectorId
            ? await RemoveConnectorConfigsAsync(client, connectorId, current.Name, cancellationToken).ConfigureAwait(false)
            : null;
    }

    public async Task<Result<LogBatch>> LogsAsync(ObservedWorkload current, DateTimeOffset? since, LogLimits limits, CancellationToken cancellationToken)
    {
        var what = $"connector {current.ConnectorId}: cannot read the logs of service {current.Name}";
        var connected = await _connection.ConnectAsync(cancellationToken).ConfigureAwait(false);
        if (!connected.IsSuccess) return connected.Failure.Within(what);
        var client = connected.Value;
        var parameters = new ServiceLogsParameters
        {
            ShowStdout = true,
            ShowStderr = true,
            Timestamps = true,
            // Whole seconds: lines of that second written up to the cursor come back and are dropped by timestamp.
            Since = since?.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture),
            // Per task, the newest lines first, then since: a flooding connector costs a bounded read.
            Tail = limits.MaxLines.ToString(CultureInfo.InvariantCulture),
        };
        try
        {
            // One engine call (the service's TTY is not asked: the answer tells its framing), within the request timeout.
            var batch = await ContainerLogReader.ReadWithinAsync(token => client.Swarm.GetServiceLogsAsync(current.WorkloadId, parameters, token),
                client.Options.Timeout, _options.Time, since, limits, cancellationToken).ConfigureAwait(false);
            return batch.IsSuccess ? batch : batch.Failure.Within(what);
        }
        catch (Exception ex) when (NotCancelled(ex, cancellationToken))
        {
            return _errors.Failed(what, ex);
        }
    }

    public async Task<Result<WorkloadHealth>> HealthAsync(ObservedWorkload current, CancellationToken cancellationToken)
    {
        var what = $"connector {current.ConnectorId}: cannot list the tasks of service {current.Name}";
        var connected = await _connection.ConnectAsync(cancellationToken).ConfigureAwait(false);
        if (!connected.IsSuccess) return connected.Failure.Within(what);
        var client = connected.Value;
        try
        {
            var service = await client.Swarm.InspectServiceAsync(current.WorkloadId, cancellationToken).ConfigureAwait(false);
            var tasks = await client.Tasks.ListAsync(new TasksListParameters { Filters = Filter("service", [current.WorkloadId]) }, cancellationToken)
                .ConfigureAwait(false);
            return Result<WorkloadHealth>.Success(SwarmTasks.Health(service, [.. tasks]));
        }
        catch (Exception ex) when (NotCancelled(ex, cancellationToken))
        {
            return _errors.Failed(what, ex);
        }
    }

    public ValueTask DisposeAsync()
    {
        _connection.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Null when the engine is a manager of an active swarm, else why it cannot serve.</summary>
    private async Task<Failure?> ManagerProblemAsync(DockerClient client, CancellationToken cancellationToken)
    {
        SystemInfoResponse info;
        try
        {
            info = await client.System.GetSystemInfoAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (NotCancelled(ex, cancellationToken))
        {
            return _errors.Failed($"cannot read the swarm state of the Docker engine", ex);
        }
        var state = info.Swarm?.LocalNodeState;
        if (state != "active")
        {
            return Failure.Orchestrator($"the Docker engine at {_endpoint.Display} ({_endpoint.Source}) is not part of a swarm (swarm state: {(string.IsNullOrEmpty(state) ? "unknown" : state)}): " +
                   "point it at a swarm manager, or create a swarm there (docker swarm init)");
        }
        return info.Swarm!.ControlAvailable ? null
            : Failure.Orchestrator($"the Docker engine at {_endpoint.Display} ({_endpoint.Source}) is a swarm worker, not a manager: point it at a manager node");
    }

    /// <summary>
    /// The image on this node (present, or pre-flighted and pulled), with the digest of its repository appended when
    /// the engine knows it (repository:tag@sha256:...), as docker service create does: the agents of every node then
    /// pull exactly this image.
    /// </summary>
    private async Task<Result<PulledImage>> ImageAsync(DockerClient client, ConnectorWorkload workload, CancellationToken cancellationToken)
    {
        var pulled = await _images.EnsureAsync(client, workload, cancellationToken).ConfigureAwait(false);
        if (!pulled.IsSuccess || pulled.Value.Reference.Contains('@')) return pulled;
        var image = pulled.Value.Reference;
        try
        {
            var inspect = await client.Images.InspectImageAsync(image, cancellationToken).ConfigureAwait(false);
            var repository = image[..image.LastIndexOf(':')];
            var digest = inspect.RepoDigests?.FirstOrDefault(d => d.StartsWith(repository + "@", StringComparison.Ordinal));
            return digest is null ? pulled : Result<PulledImage>.Success(pulled.Value with { Reference = image + digest[repository.Length..] });
        }
        catch (Exception ex) when (NotCancelled(ex, cancellationToken))
        {
            return pulled; // unpinned: every node pulls the tag
        }
    }

    /// <summary>The CA config of the workload's bundle: created, or found from an earlier attempt.</summary>
    private async Task<Result<SwarmConfigReference>> EnsureCaConfigAsync(DockerClient client, ConnectorWorkload workload, byte[] bundle,
        CancellationToken cancellationToken)
    {
        var name = SwarmCaConfig.NameFor(workload.ConnectorId, bundle);
        var what = $"connector {workload.ConnectorId}: cannot create the CA bundle config {name}";
        try
        {
            var created = await client.Configs.CreateConfigAsync(new SwarmCreateConfigParameters
            {
                Config = new SwarmConfigSpec { Name = name, Labels = SwarmCaConfig.Labels(_options.ManagerId, workload, bundle), Data = bundle },
            }, cancellationToken).ConfigureAwait(false);
            return Result<SwarmConfigReference>.Success(SwarmCaConfig.Reference(created.ID, name));
        }
        catch (Exception ex) when (DockerErrors.IsConflict(ex))
        {
            try
            {
                var existing = await client.Configs.InspectConfigAsync(name, cancellationToken).ConfigureAwait(false);
                return SwarmCaConfig.BelongsTo(existing, _options.ManagerId, workload.ConnectorId)
                    ? Result<SwarmConfigReference>.Success(SwarmCaConfig.Reference(existing.ID, name))
                    : Failure.Orchestrator($"{what}: the name is taken by a config manager {_options.ManagerId} does not own for this connector; remove that config");
            }
            catch (Exception inner) when (NotCancelled(inner, cancellationToken))
            {
                return _errors.Failed($"{what}: the name is taken ({_errors.Cause(ex)}) and inspecting that config failed", inner);
            }
        }
        catch (Exception ex) when (NotCancelled(ex, cancellationToken))
        {
            return _errors.Failed(what, ex);
        }
    }

    /// <summary>After a create refused for the name: the service of an interrupted deploy is this one; anything else is reported.</summary>
    private async Task<Failure?> AdoptAsync(DockerClient client, ConnectorWorkload workload, string what, Exception conflict,
        CancellationToken cancellationToken)
    {
        SwarmService existing;
        try
        {
            existing = await client.Swarm.InspectServiceAsync(workload.Name, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (NotCancelled(ex, cancellationToken))
        {
            return _errors.Failed($"{what}: the name is taken ({_errors.Cause(conflict)}) and inspecting that service failed", ex);
        }
        var labels = existing.Spec?.Labels ?? new Dictionary<string, string>();
        labels.TryGetValue(ConnectorLabels.Manager, out var manager);
        labels.TryGetValue(ConnectorLabels.ConnectorId, out var connector);
        if (manager == _options.ManagerId && connector == workload.ConnectorId)
        {
            _logger.Info("Adopting the service of an interrupted deploy", ("service", workload.Name), ("connector", workload.ConnectorId), ("id", existing.ID));
            return null;
        }
        return Failure.Orchestrator(manager == _options.ManagerId && !string.IsNullOrEmpty(connector)
            ? $"{what}: the name is already used by the service of connector {connector} (two connectors with the same name?); " +
              "Composer will not touch it: rename one of the connectors"
            : $"{what}: the name is taken by service {existing.ID}, which manager {_options.ManagerId} does not own; " +
              "Composer will not touch it: remove or rename that service, or rename the connector");
    }

    /// <summary>
    /// Replicas 1 (with the workload: start, its current CA bundle in place) or 0 (stop), on the inspected spec; nothing
    /// is sent when the service already is that way.
    /// </summary>
    private async Task<Failure?> ScaleAsync(ObservedWorkload current, ConnectorWorkload? workload, CancellationToken cancellationToken)
    {
        var replicas = workload is null ? 0UL : 1UL;
        var what = $"connector {current.ConnectorId}: cannot {(workload is null ? "stop" : "start")} service {current.Name}";
        var connected = await _connection.ConnectAsync(cancellationToken).ConfigureAwait(false);
        if (!connected.IsSuccess) return connected.Failure.Within(what);
        var client = connected.Value;
        // Twice at most: a concurrent change of the service makes the first update out of sequence.
        for (var attempt = 1; ; attempt++)
        {
            var inspected = await InspectAsync(client, current, what, cancellationToken).ConfigureAwait(false);
            if (!inspected.IsSuccess)
            {
                if (inspected.Failure.HttpStatus != (int)HttpStatusCode.NotFound || workload is not null) return inspected.Failure;
                _logger.Info("Service to stop no longer exists", ("service", current.Name), ("connector", current.ConnectorId));
                return null;
            }
            var service = inspected.Value;
            var spec = service.Spec!;
            var mounted = SwarmCaConfig.In(spec).ToList();
            if (spec.Mode?.Replicated is not { } replicated)
            {
                return Failure.Orchestrator($"{what}: it is not a replicated service (Composer creates replicated services; remove it to have it deployed again)");
            }
            SwarmConfigReference? config = null;
            var configChanged = false;
            // The spec already mounting the config of the current bundle (the usual case) costs no config call.
            if (workload is not null && !(workload.CaBundle is { Length: > 0 } wanted && mounted.Count == 1
                                          && mounted[0].ConfigName == SwarmCaConfig.NameFor(workload.ConnectorId, wanted)))
            {
                if (workload.CaBundle is { Length: > 0 } bundle)
                {
                    var ensured = await EnsureCaConfigAsync(client, workload, bundle, cancellationToken).ConfigureAwait(false);
                    if (!ensured.IsSuccess) return ensured.Failure;
                    config = ensured.Value;
                }
                configChanged = ReplaceCaConfig(spec, config);
            }
            if (replicated.Replicas == replicas && !configChanged)
            {
                _logger.Info(workload is null ? "Service already stopped" : "Service already started", ("service", current.Name), ("connector", current.ConnectorId));
                return null;
            }
            replicated.Replicas = replicas;
            // Starting may make a node pull: the credentials as of now go with it (stopping keeps the stored ones).
            AuthConfig? auth = null;
            if (workload is not null)
            {
                var login = await _options.Registry.CredentialsForAsync(workload.Image, cancellationToken).ConfigureAwait(false);
                if (!login.IsSuccess) return Failure.Orchestrator($"{what}: no credentials for registry {workload.Image.RegistryHost}: {login.Failure.Message}");
                auth = DockerRegistryAuth.ForService(login.Value.Credentials);
            }
            var error = await UpdateAsync(client, service, spec, auth, cancellationToken).ConfigureAwait(false);
            if (error is null)
            {
                if (configChanged) await RemoveReplacedConfigsAsync(client, mounted, config).ConfigureAwait(false);
                _logger.Info(workload is null ? "Service stopped" : "Service started", ("service", current.Name), ("connector", current.ConnectorId));
                return null;
            }
            if (attempt == 1 && error.Message.Contains("out of sequence", StringComparison.OrdinalIgnoreCase)) continue;
            return error.Within(what);
        }
    }

    /// <summary>
    /// Puts <paramref name="config"/> in place of the CA config the spec mounts (none: removes it); true when the spec
    /// changed. The spec's config list is replaced, not edited, so the replaced references stay readable elsewhere.
    /// </summary>
    private static bool ReplaceCaConfig(ServiceSpec spec, SwarmConfigReference? config)
    {
        var container = spec.TaskTemplate?.ContainerSpec;
        if (container is null) return false;
        var mounted = SwarmCaConfig.In(spec).ToList();
        if (config is null ? mounted.Count == 0 : mounted.Count == 1 && mounted[0].ConfigName == config.ConfigName) return false;
        var others = (container.Configs ?? []).Where(c => !mounted.Contains(c)).ToList();
        if (config is not null) others.Add(config);
        container.Configs = others.Count == 0 ? null : others;
        return true;
    }

    /// <summary>The service as it is now (its version and spec); a service that no longer exists fails with HTTP status 404.</summary>
    private async Task<Result<SwarmService>> InspectAsync(DockerClient client, ObservedWorkload current, string what, CancellationToken cancellationToken)
    {
        try
        {
            var service = await client.Swarm.InspectServiceAsync(current.WorkloadId, cancellationToken).ConfigureAwait(false);
            return service.Spec is null ? Failure.Orchestrator($"{what}: the engine returned the service without its spec") : Result<SwarmService>.Success(service);
        }
        catch (Exception ex) when (DockerErrors.IsNotFound(ex))
        {
            return new Failure(FailureKind.Orchestrator, null, $"{what}: it no longer exists; it is deployed again on the next cycle", (int)HttpStatusCode.NotFound);
        }
        catch (Exception ex) when (NotCancelled(ex, cancellationToken))
        {
            return _errors.Failed(what, ex);
        }
    }

    /// <summary>POST /services/{id}/update at the inspected version; null on success, else the engine's reason.</summary>
    private async Task<Failure?> UpdateAsync(DockerClient client, SwarmService service, ServiceSpec spec, AuthConfig? auth, CancellationToken cancellationToken)
    {
        try
        {
            // Without X-Registry-Auth the engine keeps the credentials stored with the spec (registryAuthFrom=spec).
            var updated = await client.Swarm.UpdateServiceAsync(service.ID, new ServiceUpdateParameters
            {
                Service = spec,
                Version = (long)(service.Version?.Index ?? 0),
                RegistryAuth = auth!,
            }, cancellationToken).ConfigureAwait(false);
            foreach (var warning in updated.Warnings ?? []) _logger.Warn("Docker engine warning", ("service", spec.Name), ("warning", warning));
            return null;
        }
        catch (Exception ex) when (NotCancelled(ex, cancellationToken))
        {
            return _errors.Failed(ex);
        }
    }

    /// <summary>The CA configs the previous spec mounted and the new one does not: nothing uses them any more.</summary>
    private async Task RemoveReplacedConfigsAsync(DockerClient client, IEnumerable<SwarmConfigReference> previous, SwarmConfigReference? kept)
    {
        foreach (var old in previous.Where(c => c.ConfigName != kept?.ConfigName).ToList())
        {
            await RemoveConfigQuietlyAsync(client, old.ConfigID).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Every CA config of the connector, after its service is gone: those its last spec mounted and any a crash left
    /// behind. The config API has no filter in the client library: the list is read whole, once per removal.
    /// </summary>
    private async Task<Failure?> RemoveConnectorConfigsAsync(DockerClient client, string connectorId, string serviceName, CancellationToken cancellationToken)
    {
        IList<SwarmConfig> configs;
        try
        {
            configs = await client.Configs.ListConfigsAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (NotCancelled(ex, cancellationToken))
        {
            return _errors.Failed($"connector {connectorId}: service {serviceName} removed, but listing its CA configs failed", ex);
        }
        var problems = new List<string>();
        foreach (var config in configs.Where(c => SwarmCaConfig.BelongsTo(c, _options.ManagerId, connectorId)))
        {
            try
            {
                await client.Configs.RemoveConfigAsync(config.ID, cancellationToken).ConfigureAwait(false);
                _logger.Info("CA config removed", ("config", config.Spec.Name), ("connector", connectorId));
            }
            catch (Exception ex) when (DockerErrors.IsNotFound(ex))
            {
            }
            catch (Exception ex) when (NotCancelled(ex, cancellationToken))
            {
                problems.Add($"{config.Spec.Name}: {_errors.Cause(ex)}");
            }
        }
        return problems.Count == 0 ? null
            : Failure.Orchestrator($"connector {connectorId}: service {serviceName} removed, but removing its CA configs failed: {string.Join("; ", problems)}");
    }

    /// <summary>Best effort: a config still in use (the engine refuses) or already gone stays as it is.</summary>
    private async Task RemoveConfigQuietlyAsync(DockerClient client, string id)
    {
        try
        {
            await client.Configs.RemoveConfigAsync(id).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            if (!DockerErrors.IsNotFound(ex)) _logger.Warn("Could not remove a CA config", ("config", id), ("error", _errors.Cause(ex)));
        }
    }

    private static Dictionary<string, IDictionary<string, bool>> Filter(string name, IEnumerable<string> values) =>
        new(StringComparer.Ordinal) { [name] = values.ToDictionary(v => v, _ => true, StringComparer.Ordinal) };

    private static bool NotCancelled(Exception ex, CancellationToken cancellationToken) =>
        ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested;
}

using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Composer.Configuration;
using Composer.Orchestration.Swarm;
using Composer.Reconciliation;
using Composer.Tests.Infrastructure;
using Composer.Tests.Orchestration.Docker;
using TUnit.Assertions.Enums;

namespace Composer.Tests.Orchestration.Swarm;

/// <summary>
/// Which Engine API requests the Swarm orchestrator sends, counted on the wire: the swarm manager over TCP (socat in
/// front of the real engine) through a recording handler. Also what the events watch costs and tells: nothing while a
/// watched service runs, a killed task and a removed service within 2 s.
/// </summary>
[ClassDataSource<HtpasswdRegistryFixture>(Shared = SharedType.PerTestSession)]
public class SwarmOrchestratorApiCallTests(HtpasswdRegistryFixture registry)
{
    [ClassDataSource<DockerTcpFixture>(Shared = SharedType.PerTestSession)]
    public required DockerTcpFixture Tcp { get; init; }

    [ClassDataSource<SwarmFixture>(Shared = SharedType.PerTestSession)]
    public required SwarmFixture Swarm { get; init; }

    private SwarmTestManager Manager(RegistrySettings? registry = null)
    {
        Tcp.Require();
        Swarm.Require();
        return SwarmTestManager.Create(Swarm, registry: registry, endpoint: Tcp.DockerHost);
    }

    private string V => $"/v{Tcp.Engine.ApiVersion}";

    /// <summary>The requests to the engine since the last call (not the pre-flight's to the registry).</summary>
    private List<string> Calls(SwarmTestManager manager)
    {
        var calls = manager.Handlers.Requests.Where(r => r.Uri.Port == Tcp.Port)
            .Select(r => $"{r.Method} {r.Uri.AbsolutePath}").ToList();
        manager.Handlers.Requests.Clear();
        return calls;
    }

    [Test]
    public async Task The_first_call_learns_the_version_and_checks_the_node_is_a_manager()
    {
        await using var manager = Manager();

        await manager.ListAsync();
        await manager.ListAsync();

        await Assert.That(Calls(manager)).IsEquivalentTo(new[] { "GET /_ping", "GET /version", $"GET {V}/info", $"GET {V}/services", $"GET {V}/services" },
            CollectionOrdering.Matching);
    }

    [Test]
    public async Task An_idle_cycle_is_one_service_list_and_one_task_list()
    {
        await using var manager = Manager();
        await manager.DeployAsync(manager.Workload("one", start: false));
        await manager.DeployAsync(manager.Workload("two", start: false));
        await manager.ListAsync();
        Calls(manager);

        var list = await manager.ListAsync();

        await Assert.That(list.Count).IsEqualTo(2);
        await Assert.That(Calls(manager)).IsEquivalentTo(new[] { $"GET {V}/services", $"GET {V}/tasks" }, CollectionOrdering.Matching);
    }

    [Test]
    public async Task A_log_read_is_one_request()
    {
        await using var manager = Manager();
        var workload = manager.Workload("logs");
        await manager.DeployAsync(workload);
        await manager.WaitForLogAsync(workload.Name, TestConnectorImage.StderrLine);
        var observed = await manager.ObservedAsync(workload.Name);
        Calls(manager);

        var read = await manager.Orchestrator.LogsAsync(observed, null, LogLimits.Default, CancellationToken.None);

        await Assert.That(Calls(manager)).IsEquivalentTo(new[] { $"GET {V}/services/{observed.WorkloadId}/logs" }, CollectionOrdering.Matching);
        await Assert.That(read.Value!.Lines).Contains(TestConnectorImage.StderrLine);
    }

    [Test]
    public async Task A_deploy_from_the_registry_sends_the_credentials_in_base64url_on_the_create()
    {
        await using var manager = Manager(registry.EngineRegistrySettings());
        var unprefixed = await Swarm.Image.PushToRegistryOnlyAsync(registry, $"composer-tests/{manager.Prefix}-auth", manager.RemoveImageOnDispose);
        var workload = manager.Workload("auth", image: unprefixed, start: false);
        await manager.ListAsync();
        manager.Handlers.Requests.Clear();

        await manager.DeployAsync(workload);

        var create = manager.Handlers.Requests.Single(r => r.Uri.AbsolutePath == $"{V}/services/create");
        await Assert.That(create.RegistryAuth).IsNotNull();
        await Assert.That(create.RegistryAuth!.IndexOfAny(['+', '/'])).IsLessThan(0);
        var json = Encoding.UTF8.GetString(Convert.FromBase64String(create.RegistryAuth.Replace('-', '+').Replace('_', '/')));
        using var auth = JsonDocument.Parse(json);
        await Assert.That(auth.RootElement.GetProperty("username").GetString()).IsEqualTo(HtpasswdRegistryFixture.EngineUser);
        await Assert.That(auth.RootElement.GetProperty("password").GetString()).IsEqualTo(registry.EnginePassword);
        await Assert.That(auth.RootElement.GetProperty("serveraddress").GetString()).IsEqualTo(registry.Host);
        var pull = manager.Handlers.Requests.Single(r => r.Uri.AbsolutePath == $"{V}/images/create");
        await Assert.That(pull.RegistryAuth).IsEqualTo(new Composer.Images.RegistryCredentials(HtpasswdRegistryFixture.EngineUser, new Composer.Diagnostics.Secret(registry.EnginePassword), null, registry.Host)
            .ToXRegistryAuth());
    }

    [Test]
    public async Task Deploy_start_stop_and_remove_cost_a_few_calls_each()
    {
        await using var manager = Manager();
        var workload = manager.Workload("costs", start: false, caBundle: DockerTestManager.Pem("Y29zdHM="));
        await manager.ListAsync();
        Calls(manager);

        await manager.DeployAsync(workload);
        var deploy = Calls(manager);
        var observed = await manager.ObservedAsync(workload.Name);
        Calls(manager);
        SwarmTestManager.Succeeded(await manager.Orchestrator.StartAsync(observed, workload, CancellationToken.None), "start");
        var start = Calls(manager);
        SwarmTestManager.Succeeded(await manager.Orchestrator.StopAsync(observed, CancellationToken.None), "stop");
        var stop = Calls(manager);
        SwarmTestManager.Succeeded(await manager.Orchestrator.RemoveAsync(observed, CancellationToken.None), "remove");
        var remove = Calls(manager);

        var image = $"{V}/images/{TestConnectorImage.Reference}/json";
        // GET /info: the engine's default log driver, asked once per orchestrator (the tasks' log bound).
        await Assert.That(deploy).IsEquivalentTo(new[] { $"GET {image}", $"GET {image}", $"POST {V}/configs/create", $"GET {V}/info", $"POST {V}/services/create" },
            CollectionOrdering.Matching);
        // The service already mounts the config of this bundle: no config call.
        await Assert.That(start).IsEquivalentTo(new[] { $"GET {V}/services/{observed.WorkloadId}", $"POST {V}/services/{observed.WorkloadId}/update" },
            CollectionOrdering.Matching);
        await Assert.That(stop).IsEquivalentTo(new[] { $"GET {V}/services/{observed.WorkloadId}", $"POST {V}/services/{observed.WorkloadId}/update" },
            CollectionOrdering.Matching);
        await Assert.That(remove.Take(2)).IsEquivalentTo(new[] { $"DELETE {V}/services/{observed.WorkloadId}", $"GET {V}/configs" }, CollectionOrdering.Matching);
        await Assert.That(remove.Count(c => c.StartsWith($"DELETE {V}/configs/", StringComparison.Ordinal))).IsEqualTo(1);
    }

    [Test]
    public async Task While_watched_a_running_service_costs_no_call_and_a_killed_task_and_a_removed_service_are_told_within_2_s()
    {
        await using var manager = Manager();
        var workload = manager.Workload("watched");
        await manager.DeployAsync(workload);
        var running = await manager.WaitForStateAsync(workload.Name, WorkloadState.Running);
        var taskLabels = (await manager.InspectAsync(workload.Name)).Spec?.TaskTemplate?.ContainerSpec?.Labels ?? new Dictionary<string, string>();
        // The engine gives task containers the ContainerSpec labels only: the container events are filtered on this one.
        await Assert.That(taskLabels.TryGetValue(SwarmServiceSpec.TaskManagerLabel, out var labelled) ? labelled : null).IsEqualTo(manager.ManagerId);
        await Assert.That(taskLabels.ContainsKey(ConnectorLabels.Manager)).IsFalse();

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var clock = Stopwatch.StartNew();
        var (changes, watching) = Watch(manager, clock, stop.Token);
        try
        {
            await Assert.That((await changes.ReadAsync(stop.Token)).Change).IsTypeOf<WatchStarted>();
            await manager.ListAsync(); // the core's listing after the start

            await Task.Delay(TimeSpan.FromSeconds(2));
            Calls(manager);
            await Task.Delay(TimeSpan.FromSeconds(3));
            await Assert.That(await WithoutForeignInspectsAsync(manager, Calls(manager))).IsEmpty();

            var container = (await manager.Docker.Client.Containers.ListContainersAsync(new global::Docker.DotNet.Models.ContainersListParameters
            {
                Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"com.docker.swarm.service.id={running.WorkloadId}"] = true } },
            })).Single();
            var killedAt = clock.Elapsed;
            await manager.Docker.Client.Containers.KillContainerAsync(container.ID, new global::Docker.DotNet.Models.ContainerKillParameters());
            var told = await NextAsync(changes, c => c is WorkloadObserved { Workload: var w } && w.WorkloadId == running.WorkloadId
                && w.State != WorkloadState.Running && w.Health is { RestartCount: > 0 }, stop.Token);
            await Assert.That(told.At - killedAt).IsLessThanOrEqualTo(TimeSpan.FromSeconds(2));
            var health = ((WorkloadObserved)told.Change).Workload.Health!;
            await Assert.That(health.Restarting).IsTrue();
            await Assert.That(health.ExitCode).IsEqualTo(137);

            var removedAt = clock.Elapsed;
            await manager.Docker.Client.Swarm.RemoveServiceAsync(running.WorkloadId);
            var removed = await NextAsync(changes, c => c is WorkloadRemoved { WorkloadId: var id } && id == running.WorkloadId, stop.Token);
            await Assert.That(removed.At - removedAt).IsLessThanOrEqualTo(TimeSpan.FromSeconds(2));
        }
        finally
        {
            await stop.CancelAsync();
            await watching;
        }
    }

    [Test]
    public async Task A_service_whose_task_containers_carry_no_events_label_has_its_tasks_polled_every_2_s()
    {
        await using var manager = Manager();
        var workload = manager.Workload("unlabelled");
        await manager.DeployAsync(workload);
        // As an earlier version created it: no label on the task containers, so no container event names them.
        var service = await manager.InspectAsync(workload.Name);
        service.Spec!.TaskTemplate!.ContainerSpec!.Labels = null;
        await manager.Docker.Client.Swarm.UpdateServiceAsync(service.ID, new global::Docker.DotNet.Models.ServiceUpdateParameters
        {
            Service = service.Spec,
            Version = (long)(service.Version?.Index ?? 0),
        });
        await Manager_sees_one_running_task_async(manager, service.ID);

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        var clock = Stopwatch.StartNew();
        var (changes, watching) = Watch(manager, clock, stop.Token);
        try
        {
            await Assert.That((await changes.ReadAsync(stop.Token)).Change).IsTypeOf<WatchStarted>();
            await manager.ListAsync();
            await Task.Delay(TimeSpan.FromSeconds(1));
            Calls(manager);
            await Task.Delay(TimeSpan.FromSeconds(5));
            var calls = await WithoutForeignInspectsAsync(manager, Calls(manager));
            // One task list per 2 s round, nothing else.
            await Assert.That(calls.All(c => c == $"GET {V}/tasks")).IsTrue().Because(string.Join(", ", calls));
            await Assert.That(calls.Count).IsBetween(2, 3);

            var container = (await manager.Docker.Client.Containers.ListContainersAsync(new global::Docker.DotNet.Models.ContainersListParameters
            {
                Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"com.docker.swarm.service.id={service.ID}"] = true } },
            })).Single();
            var killedAt = clock.Elapsed;
            await manager.Docker.Client.Containers.KillContainerAsync(container.ID, new global::Docker.DotNet.Models.ContainerKillParameters());
            // (Its restart count and exit code may stay unknown: the engine moved the service's UpdatedAt when the
            // test's update completed, after that task was created, and SwarmTasks counts the tasks since.)
            var told = await NextAsync(changes, c => c is WorkloadObserved { Workload: var w } && w.WorkloadId == service.ID
                && w.State != WorkloadState.Running, stop.Token);
            await Assert.That(told.At - killedAt).IsLessThanOrEqualTo(TimeSpan.FromSeconds(3));
        }
        finally
        {
            await stop.CancelAsync();
            await watching;
        }
    }

    /// <summary>
    /// The calls without the one inspect of each service of another manager (the other tests' services on the shared
    /// swarm): a service event carries no label, so the watch inspects a service it does not know once, and never
    /// again. Fails the test when one is inspected twice.
    /// </summary>
    private async Task<List<string>> WithoutForeignInspectsAsync(SwarmTestManager manager, List<string> calls)
    {
        var own = (await manager.ListAsync()).Select(w => $"GET {V}/services/{w.WorkloadId}").ToHashSet(StringComparer.Ordinal);
        Calls(manager); // that listing is the test's, not the watch's
        var inspect = new System.Text.RegularExpressions.Regex($@"^GET {System.Text.RegularExpressions.Regex.Escape(V)}/services/[^/]+$");
        var foreign = calls.Where(c => inspect.IsMatch(c) && !own.Contains(c)).ToList();
        await Assert.That(foreign.Distinct(StringComparer.Ordinal).Count()).IsEqualTo(foreign.Count).Because(string.Join(", ", foreign));
        return [.. calls.Where(c => !foreign.Contains(c))];
    }

    /// <summary>Waits (bounded) until the service has exactly one task, running, and its update completed.</summary>
    /// <summary>The orchestrator's changes, each with when it came (on <paramref name="clock"/>), until <paramref name="stop"/>.</summary>
    private static (ChannelReader<(WorkloadChange Change, TimeSpan At)> Changes, Task Watching) Watch(SwarmTestManager manager, Stopwatch clock,
        CancellationToken stop)
    {
        var changes = Channel.CreateUnbounded<(WorkloadChange Change, TimeSpan At)>();
        var watching = Task.Run(async () =>
        {
            try
            {
                await foreach (var change in manager.Orchestrator.WatchAsync(stop)) changes.Writer.TryWrite((change, clock.Elapsed));
            }
            catch (OperationCanceledException)
            {
            }
            changes.Writer.TryComplete();
        });
        return (changes.Reader, watching);
    }

    private static async Task Manager_sees_one_running_task_async(SwarmTestManager manager, string serviceId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var tasks = await manager.Docker.Client.Tasks.ListAsync(new global::Docker.DotNet.Models.TasksListParameters
            {
                Filters = new Dictionary<string, IDictionary<string, bool>> { ["service"] = new Dictionary<string, bool> { [serviceId] = true } },
            });
            var live = tasks.Where(t => t.DesiredState == global::Docker.DotNet.Models.TaskState.Running).ToList();
            // The rolling update ends (a service update event) only after its monitoring period: waited for too.
            var update = (await manager.Docker.Client.Swarm.InspectServiceAsync(serviceId)).UpdateStatus;
            if ((update is null || update.State == "completed") && live.Count == 1 && live[0].Status?.State == global::Docker.DotNet.Models.TaskState.Running
                && tasks.All(t => t.DesiredState == global::Docker.DotNet.Models.TaskState.Running || t.Status?.State > global::Docker.DotNet.Models.TaskState.Running)) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"service {serviceId} did not settle on one running task");
            await Task.Delay(250);
        }
    }

    private static async Task<(WorkloadChange Change, TimeSpan At)> NextAsync(ChannelReader<(WorkloadChange Change, TimeSpan At)> reader, Func<WorkloadChange, bool> match,
        CancellationToken cancellationToken)
    {
        await foreach (var item in reader.ReadAllAsync(cancellationToken))
        {
            if (item.Change is WatchLost lost) throw new InvalidOperationException($"the watch was lost: {lost.Reason}");
            if (match(item.Change)) return item;
        }
        throw new InvalidOperationException("the watch ended");
    }
}

using System.Globalization;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Composer.Diagnostics;
using Composer.Orchestration.Docker;
using Composer.Reconciliation;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Composer.Orchestration.Swarm;

/// <summary>
/// The swarm manager's events as <see cref="IWorkloadWatch"/> changes, from two GET /events streams of the manager
/// engine, from the engine's own time at the start (since=):
/// <list type="bullet">
/// <item>type=service, events create, update and remove. A service event carries only the service's name (engine 20.10
/// to 29: no label), so it cannot be filtered on this manager's label: the service is inspected once, and one found
/// to be another's is remembered as such (<see cref="MaxForeign"/> at most) and not inspected again.</item>
/// <item>type=container, label <see cref="SwarmServiceSpec.TaskManagerLabel"/>=&lt;manager id&gt; (the engine gives
/// a task container the ContainerSpec labels, never the service's), events start, die, oom, destroy and health_status:
/// the task containers of this manager's services on this node.</item>
/// </list>
/// Each burst of events is read whole and each service it names is inspected once after it, with its tasks (GET
/// /services/{id}, GET /tasks?service=id): the snapshot carries state, labels, config hash and the health the tasks
/// tell (<see cref="SwarmTasks"/>). <see cref="WatchStarted"/> is yielded once both streams held for
/// <see cref="Settle"/>.
/// <para>The engine gives no event for a task state change on another node, nor for a task pending, rejected or
/// waiting out its restart delay (only its container, once there is one on this node). So the tasks of the services
/// in those cases are polled, all in one GET /tasks per round, and nothing else ever is: a service whose tasks are
/// under way (meant to run and not running, meant to stop and still running, none created yet, or one whose
/// container just died while the manager still shows it running) every <see cref="FirstUnsettledPoll"/> doubling up to
/// <see cref="MaxUnsettledPoll"/> while nothing changes; a running service this engine cannot tell of (a task on
/// another node, or a service created before its task containers were labelled) every <see cref="UnwatchedPoll"/>.
/// A service whose task runs on this node, labelled, costs nothing while it runs.</para>
/// The services are known from each listing (<see cref="Listed"/>) and each snapshot. At most <see cref="Capacity"/>
/// events wait to be read; beyond that they are dropped and a gap is yielded.
/// </summary>
internal sealed class SwarmEventWatch(Func<CancellationToken, Task<Result<DockerClient>>> connect, string managerId, DockerErrors errors, TimeProvider time)
{
    /// <summary>How long both streams must stay open before the watch counts as started.</summary>
    internal static readonly TimeSpan Settle = DockerEventWatch.Settle;

    /// <summary>The events of one burst (a kill: kill, die, then the task's failure) are read together.</summary>
    internal static readonly TimeSpan Burst = DockerEventWatch.Burst;

    /// <summary>Events read ahead of their handling, at most.</summary>
    internal const int Capacity = 1024;

    /// <summary>The tasks of a service under way are polled this soon first...</summary>
    internal static readonly TimeSpan FirstUnsettledPoll = TimeSpan.FromMilliseconds(500);

    /// <summary>...doubling while nothing changes, up to this (a task that stays pending or keeps being rejected).</summary>
    internal static readonly TimeSpan MaxUnsettledPoll = TimeSpan.FromSeconds(5);

    /// <summary>The tasks of a running service no event tells of (another node, unlabelled containers) are polled this often.</summary>
    internal static readonly TimeSpan UnwatchedPoll = TimeSpan.FromSeconds(2);

    /// <summary>Services of others remembered as such, at most (then forgotten together, and inspected again on their next event).</summary>
    internal const int MaxForeign = 4096;

    private const string ServiceIdLabel = "com.docker.swarm.service.id";
    private const string TaskIdLabel = "com.docker.swarm.task.id";

    private static readonly string[] ServiceEvents = ["create", "update", "remove"];
    private static readonly string[] ContainerEvents = ["start", "die", "oom", "destroy", "health_status"];

    private enum Poll { None, Unsettled, Unwatched }

    /// <summary>One service of this manager as last seen: its spec, its snapshot, and when its tasks are to be polled.</summary>
    private sealed class Tracked(SwarmService service, ObservedWorkload workload, Poll poll, long stamp)
    {
        public SwarmService Service { get; set; } = service;
        public ObservedWorkload Workload { get; set; } = workload;
        public Poll Poll { get; set; } = poll;
        public long Stamp { get; set; } = stamp;
        public int QuietPolls { get; set; }
        public DateTimeOffset Due { get; set; }
    }

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Tracked> _tracked = new(StringComparer.Ordinal);
    private readonly HashSet<string> _foreign = new(StringComparer.Ordinal);
    private long _stamp;
    private string? _localNode;

    /// <summary>Taken before a listing: what the watch learns after it is kept when the listing comes back (<see cref="Listed"/>).</summary>
    public long Mark()
    {
        lock (_gate) return _stamp;
    }

    /// <summary>
    /// The services of a listing started at <paramref name="mark"/>, with their tasks and snapshots: they replace what
    /// is known, except the services a snapshot taken since told of (newer).
    /// </summary>
    public void Listed(long mark, IReadOnlyList<(SwarmService Service, IReadOnlyList<TaskResponse> Tasks, ObservedWorkload Workload)> listing)
    {
        lock (_gate)
        {
            var listed = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (service, tasks, workload) in listing)
            {
                listed.Add(service.ID);
                if (_tracked.TryGetValue(service.ID, out var known) && known.Stamp > mark) continue;
                SetLocked(service, tasks, workload, null, mark);
            }
            foreach (var id in _tracked.Where(t => t.Value.Stamp <= mark && !listed.Contains(t.Key)).Select(t => t.Key).ToList()) _tracked.Remove(id);
        }
    }

    public async IAsyncEnumerable<WorkloadChange> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var connected = await connect(cancellationToken).ConfigureAwait(false);
        if (!connected.IsSuccess)
        {
            yield return new WatchLost(Failure.Orchestrator($"cannot watch the swarm events: {connected.Failure.Message}"));
            yield break;
        }
        var client = connected.Value;
        var info = await EngineInfoAsync(client, cancellationToken).ConfigureAwait(false);
        if (!info.IsSuccess)
        {
            yield return new WatchLost(Failure.Orchestrator($"cannot watch the swarm events: {info.Failure.Message}"));
            yield break;
        }
        var (since, node) = info.Value;
        lock (_gate) _localNode = node;

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var events = Channel.CreateBounded<Message>(new BoundedChannelOptions(Capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.DropWrite,
        });
        var overflow = new EventOverflow();
        var services = StreamAsync(client, since, ServiceFilters(), events.Writer, overflow, stop.Token);
        var containers = StreamAsync(client, since, ContainerFilters(), events.Writer, overflow, stop.Token);
        try
        {
            var ended = Task.WhenAny(services, containers);
            await Task.WhenAny(ended, Task.Delay(Settle, time, cancellationToken)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            if (ended.IsCompleted)
            {
                yield return new WatchLost(Failure.Orchestrator($"the swarm events stream ended at once: {await StreamEndAsync(services, containers).ConfigureAwait(false)}"));
                yield break;
            }
            yield return new WatchStarted();
            var batch = new List<Message>();
            while (true)
            {
                if (!await WaitAsync(events.Reader, cancellationToken).ConfigureAwait(false)) break;
                if (events.Reader.TryPeek(out _))
                {
                    await Task.Delay(Burst, time, cancellationToken).ConfigureAwait(false);
                    batch.Clear();
                    while (batch.Count < Capacity && events.Reader.TryRead(out var message)) batch.Add(message);
                    if (overflow.Take())
                    {
                        yield return new WatchGap($"more than {Capacity} swarm events waited to be read; some were dropped");
                        continue;
                    }
                    foreach (var touched in Touched(batch))
                    {
                        if (touched.Removed)
                        {
                            if (ForgetRemoved(touched.ServiceId)) yield return new WorkloadRemoved(touched.ServiceId);
                            continue;
                        }
                        if (touched.ServiceEventOnly && IsForeign(touched.ServiceId)) continue;
                        if (await SnapshotAsync(client, touched.ServiceId, touched.DyingTasks, cancellationToken).ConfigureAwait(false) is { } change) yield return change;
                    }
                }
                await foreach (var change in PollDueAsync(client, cancellationToken).ConfigureAwait(false)) yield return change;
            }
            cancellationToken.ThrowIfCancellationRequested();
            yield return new WatchLost(Failure.Orchestrator($"the swarm events stream ended: {await StreamEndAsync(services, containers).ConfigureAwait(false)}"));
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(services, containers).ConfigureAwait(false);
        }
    }

    /// <summary>One service a burst names, in the order of its first event.</summary>
    /// <param name="Removed">Its last service event removed it.</param>
    /// <param name="ServiceEventOnly">Only service events named it (a container event names one of this manager's).</param>
    /// <param name="DyingTasks">The tasks whose containers died, were killed by the kernel or were destroyed.</param>
    private sealed record TouchedService(string ServiceId, bool Removed, bool ServiceEventOnly, HashSet<string> DyingTasks);

    private static List<TouchedService> Touched(List<Message> batch)
    {
        var order = new List<string>();
        var byId = new Dictionary<string, TouchedService>(StringComparer.Ordinal);
        foreach (var message in batch)
        {
            var container = message.Type == "container";
            var id = container ? Attribute(message, ServiceIdLabel) : message.Actor?.ID;
            if (string.IsNullOrEmpty(id)) continue;
            if (!byId.TryGetValue(id, out var touched))
            {
                order.Add(id);
                touched = new TouchedService(id, false, true, new HashSet<string>(StringComparer.Ordinal));
            }
            if (container)
            {
                touched = touched with { ServiceEventOnly = false };
                if (message.Action is "die" or "oom" or "destroy" && Attribute(message, TaskIdLabel) is { Length: > 0 } task) touched.DyingTasks.Add(task);
            }
            else
            {
                // A container event after the service's removal (its task containers going) does not bring it back.
                touched = touched with { Removed = message.Action == "remove" };
            }
            byId[id] = touched;
        }
        return order.ConvertAll(id => byId[id]);
    }

    private static string? Attribute(Message message, string key) =>
        message.Actor?.Attributes is { } attributes && attributes.TryGetValue(key, out var value) ? value : null;

    /// <summary>The service and its tasks after an event: observed, removed (gone, or not this manager's), or a gap when it cannot be read.</summary>
    private async Task<WorkloadChange?> SnapshotAsync(DockerClient client, string id, HashSet<string> dying, CancellationToken cancellationToken)
    {
        try
        {
            var service = await client.Swarm.InspectServiceAsync(id, cancellationToken).ConfigureAwait(false);
            if (!IsOurs(service))
            {
                // Relabelled away from this manager: no longer its workload. Remembered as another's after forgetting
                // it (forgetting clears the mark), so that its later events cost no inspect.
                var wasOurs = Forget(id);
                MarkForeign(id);
                return wasOurs ? new WorkloadRemoved(id) : null;
            }
            var tasks = await client.Tasks.ListAsync(new TasksListParameters { Filters = ServiceFilter([id]) }, cancellationToken).ConfigureAwait(false);
            var workload = SwarmOrchestrator.Observe(service, [.. tasks]);
            if (workload is null) return new WatchGap($"service {id} has no name");
            lock (_gate) SetLocked(service, [.. tasks], workload, dying, ++_stamp);
            return new WorkloadObserved(workload);
        }
        catch (Exception ex) when (DockerErrors.IsNotFound(ex))
        {
            var tell = ForgetRemoved(id);
            // Gone: the events of it still on their way (its removal) need no inspect.
            MarkForeign(id);
            return tell ? new WorkloadRemoved(id) : null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new WatchGap($"reading service {id} after its event failed: {errors.Cause(ex)}");
        }
    }

    /// <summary>One GET /tasks for every service whose poll is due; the snapshots that changed.</summary>
    private async IAsyncEnumerable<WorkloadChange> PollDueAsync(DockerClient client, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        List<string> due;
        var now = time.GetUtcNow();
        lock (_gate) due = [.. _tracked.Where(t => t.Value.Poll != Poll.None && t.Value.Due <= now).Select(t => t.Key)];
        if (due.Count == 0) yield break;
        IList<TaskResponse> tasks;
        WatchGap? gap = null;
        try
        {
            tasks = await client.Tasks.ListAsync(new TasksListParameters { Filters = ServiceFilter(due) }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            tasks = [];
            // A 404: one of them was removed and its event is on its way; the relist settles which.
            gap = new WatchGap($"polling the tasks of {due.Count} service(s) failed: {errors.Cause(ex)}");
            lock (_gate)
            {
                foreach (var id in due)
                {
                    if (_tracked.TryGetValue(id, out var known)) known.Due = now + MaxUnsettledPoll;
                }
            }
        }
        if (gap is not null)
        {
            yield return gap;
            yield break;
        }
        var byService = tasks.Where(t => t.ServiceID is not null).ToLookup(t => t.ServiceID!, StringComparer.Ordinal);
        var changed = new List<ObservedWorkload>();
        lock (_gate)
        {
            foreach (var id in due)
            {
                if (!_tracked.TryGetValue(id, out var known)) continue;
                List<TaskResponse> own = [.. byService[id]];
                var workload = SwarmOrchestrator.Observe(known.Service, own);
                if (workload is null)
                {
                    known.Due = time.GetUtcNow() + MaxUnsettledPoll; // never a busy loop
                    continue;
                }
                var same = Same(known.Workload, workload);
                var quiet = same ? known.QuietPolls + 1 : 0;
                SetLocked(known.Service, own, workload, null, known.Stamp);
                _tracked[id].QuietPolls = quiet;
                _tracked[id].Due = NextDue(_tracked[id]);
                if (!same) changed.Add(workload);
            }
        }
        foreach (var workload in changed) yield return new WorkloadObserved(workload);
    }

    /// <summary>Records what is known of one service (under the lock) and when its tasks are polled next.</summary>
    private void SetLocked(SwarmService service, IReadOnlyList<TaskResponse> tasks, ObservedWorkload workload, HashSet<string>? dying, long stamp)
    {
        var poll = Classify(service, tasks, dying);
        if (_tracked.TryGetValue(service.ID, out var known))
        {
            known.Service = service;
            known.Workload = workload;
            known.Stamp = stamp;
            if (known.Poll != poll || poll == Poll.None) known.QuietPolls = 0;
            known.Poll = poll;
        }
        else
        {
            known = _tracked[service.ID] = new Tracked(service, workload, poll, stamp);
        }
        known.Due = NextDue(known);
    }

    private DateTimeOffset NextDue(Tracked known) => known.Poll switch
    {
        Poll.Unsettled => time.GetUtcNow() + Backoff.Delay(known.QuietPolls + 1, FirstUnsettledPoll, MaxUnsettledPoll),
        Poll.Unwatched => time.GetUtcNow() + UnwatchedPoll,
        _ => DateTimeOffset.MaxValue,
    };

    /// <summary>Whether the service's tasks need polling, and why (the lock held: reads the local node).</summary>
    private Poll Classify(SwarmService service, IReadOnlyList<TaskResponse> tasks, HashSet<string>? dying)
    {
        var replicas = SwarmTasks.Replicas(service);
        if (replicas > 0 && tasks.Count == 0) return Poll.Unsettled; // the scheduler has yet to create its task
        var unwatched = false;
        foreach (var task in tasks)
        {
            var state = task.Status?.State;
            var live = state is { } s && s <= TaskState.Running;
            if (task.DesiredState is TaskState.Running or TaskState.Ready)
            {
                if (state != TaskState.Running || dying?.Contains(task.ID) == true) return Poll.Unsettled;
            }
            else if (live)
            {
                return Poll.Unsettled; // being stopped
            }
            if (live && _localNode is { } local && !string.IsNullOrEmpty(task.NodeID) && task.NodeID != local) unwatched = true;
        }
        if (replicas > 0 && !Labelled(service)) unwatched = true;
        return unwatched ? Poll.Unwatched : Poll.None;
    }

    private bool Labelled(SwarmService service) =>
        service.Spec?.TaskTemplate?.ContainerSpec?.Labels is { } labels
        && labels.TryGetValue(SwarmServiceSpec.TaskManagerLabel, out var manager) && manager == managerId;

    private bool IsOurs(SwarmService service) =>
        service.Spec?.Labels is { } labels && labels.TryGetValue(ConnectorLabels.Manager, out var manager) && manager == managerId;

    /// <summary>Remembers a service that is not this manager's (or no longer exists): its service events are not inspected.</summary>
    private void MarkForeign(string id)
    {
        lock (_gate)
        {
            if (_foreign.Count >= MaxForeign) _foreign.Clear();
            _foreign.Add(id);
        }
    }

    /// <summary>Forgets a service; whether it was one of this manager's known.</summary>
    private bool Forget(string id)
    {
        lock (_gate)
        {
            _foreign.Remove(id);
            return _tracked.Remove(id);
        }
    }

    /// <summary>
    /// Forgets a service that no longer exists; whether to tell it removed: unless it is known to be another's (one
    /// this watch did not hear of may be this manager's, and the core ignores the removal of an unknown one).
    /// </summary>
    private bool ForgetRemoved(string id)
    {
        lock (_gate)
        {
            var tracked = _tracked.Remove(id);
            return _foreign.Remove(id) ? tracked : true;
        }
    }

    private bool IsForeign(string id)
    {
        lock (_gate) return _foreign.Contains(id);
    }

    /// <summary>Whether a poll found nothing a plan or a report reads changed.</summary>
    private static bool Same(ObservedWorkload a, ObservedWorkload b) =>
        a.State == b.State && a.RawState == b.RawState && a.Health == b.Health && a.ConfigHash == b.ConfigHash && a.Name == b.Name;

    /// <summary>Completes with true when an event can be read or a poll is due, false when a stream ended.</summary>
    private async Task<bool> WaitAsync(ChannelReader<Message> reader, CancellationToken cancellationToken)
    {
        DateTimeOffset due;
        lock (_gate) due = _tracked.Count == 0 ? DateTimeOffset.MaxValue : _tracked.Values.Min(t => t.Due);
        if (due == DateTimeOffset.MaxValue) return await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
        var wait = due - time.GetUtcNow();
        if (wait <= TimeSpan.Zero) return !reader.Completion.IsCompleted || reader.TryPeek(out _);
        using var tick = new CancellationTokenSource(wait, time);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, tick.Token);
        try
        {
            return await reader.WaitToReadAsync(either.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return true; // a poll is due
        }
    }

    /// <summary>The engine's clock (since= as the engine reads it: Unix seconds and nanoseconds) and this node's swarm id.</summary>
    private async Task<Result<(string Since, string Node)>> EngineInfoAsync(DockerClient client, CancellationToken cancellationToken)
    {
        try
        {
            var info = await client.System.GetSystemInfoAsync(cancellationToken).ConfigureAwait(false);
            var since = EngineEvents.Since(info);
            if (!since.IsSuccess) return since.Failure;
            if (info.Swarm?.NodeID is not { Length: > 0 } node) return Failure.Orchestrator("the engine is no longer part of a swarm");
            return Result<(string, string)>.Success((since.Value, node));
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return Failure.Orchestrator(errors.Cause(ex));
        }
    }

    private static Dictionary<string, IDictionary<string, bool>> ServiceFilters() => new(StringComparer.Ordinal)
    {
        ["type"] = new Dictionary<string, bool> { ["service"] = true },
        ["event"] = ServiceEvents.ToDictionary(e => e, _ => true),
    };

    private Dictionary<string, IDictionary<string, bool>> ContainerFilters() => new(StringComparer.Ordinal)
    {
        ["type"] = new Dictionary<string, bool> { ["container"] = true },
        ["label"] = new Dictionary<string, bool> { [$"{SwarmServiceSpec.TaskManagerLabel}={managerId}"] = true },
        ["event"] = ContainerEvents.ToDictionary(e => e, _ => true),
    };

    private static Dictionary<string, IDictionary<string, bool>> ServiceFilter(IEnumerable<string> ids) =>
        new(StringComparer.Ordinal) { ["service"] = ids.ToDictionary(v => v, _ => true, StringComparer.Ordinal) };

    /// <summary>Reads one stream into the channel until it ends, then completes the channel; its task tells why it ended (null: closed by the engine).</summary>
    private static Task<Exception?> StreamAsync(DockerClient client, string since, Dictionary<string, IDictionary<string, bool>> filters,
        ChannelWriter<Message> writer, EventOverflow overflow, CancellationToken cancellationToken) =>
        Task.Run(async () =>
        {
            Exception? ended = null;
            try
            {
                var parameters = new ContainerEventsParameters { Since = since, Filters = filters };
                await client.System.MonitorEventsAsync(parameters, new EventChannelProgress(writer, overflow), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                ended = ex;
            }
            // Either stream ending ends the watch.
            writer.TryComplete();
            return ended;
        }, CancellationToken.None);

    /// <summary>Why the streams ended, once they have (the first one's reason).</summary>
    private async Task<string> StreamEndAsync(Task<Exception?> services, Task<Exception?> containers)
    {
        var first = await Task.WhenAny(services, containers).ConfigureAwait(false);
        var reason = await first.ConfigureAwait(false) is { } ex ? errors.Cause(ex) : "closed by the engine";
        return reason;
    }
}

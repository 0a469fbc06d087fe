using System.Globalization;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Composer.Diagnostics;
using Composer.Reconciliation;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Composer.Orchestration.Docker;

/// <summary>
/// The engine's events as <see cref="IWorkloadWatch"/> changes: one GET /events, filtered on type=container, this
/// manager's label and the container events that change what a listing shows or what health tells, from the engine's
/// own time at the start (since=, so the events between <see cref="WatchStarted"/> and the stream's first byte are
/// replayed, not lost). <see cref="WatchStarted"/> is yielded once the stream held for <see cref="Settle"/>: an engine or a
/// proxy that refuses or drops the request at once is a lost stream, not a started one (which would flip between
/// watching and polling at every retry). Each burst of events is read whole and each container it names is inspected once, after its
/// events: the snapshot carries the state, the labels, the config hash and the restart count, start time and exit
/// code. At most <see cref="Capacity"/> events wait to be read; beyond that they are dropped and a gap is yielded.
/// </summary>
internal sealed class DockerEventWatch(
    Func<CancellationToken, Task<Result<DockerClient>>> connect,
    Func<ContainerInspectResponse, ObservedWorkload> snapshot,
    string managerId,
    DockerErrors errors,
    TimeProvider time)
{
    /// <summary>How long the stream must stay open before it counts as started.</summary>
    internal static readonly TimeSpan Settle = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The events of one burst (a `docker rm -f`: kill, die, destroy) arrive within this of the first: they are read
    /// together, so that a container on its way out is seen removed, not stopped and started again.
    /// </summary>
    internal static readonly TimeSpan Burst = TimeSpan.FromMilliseconds(150);

    /// <summary>Events read ahead of their inspection, at most.</summary>
    internal const int Capacity = 1024;

    /// <summary>The events that change a container's listing or health (a kill is followed by its die, an update changes nothing listed).</summary>
    private static readonly string[] Events = ["create", "start", "restart", "die", "stop", "oom", "destroy", "rename", "pause", "unpause", "health_status"];

    public async IAsyncEnumerable<WorkloadChange> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var connected = await connect(cancellationToken).ConfigureAwait(false);
        if (!connected.IsSuccess)
        {
            yield return new WatchLost(Failure.Orchestrator($"cannot watch the container events: {connected.Failure.Message}"));
            yield break;
        }
        var client = connected.Value;
        var engineTime = await EngineTimeAsync(client, cancellationToken).ConfigureAwait(false);
        if (!engineTime.IsSuccess)
        {
            yield return new WatchLost(Failure.Orchestrator($"cannot watch the container events: {engineTime.Failure.Message}"));
            yield break;
        }
        var since = engineTime.Value;

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var events = Channel.CreateBounded<Message>(new BoundedChannelOptions(Capacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.DropWrite,
        });
        var overflow = new EventOverflow();
        var stream = StreamAsync(client, since, events.Writer, overflow, stop.Token);
        try
        {
            await Task.WhenAny(stream, Task.Delay(Settle, time, cancellationToken)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            if (stream.IsCompleted)
            {
                yield return new WatchLost(Failure.Orchestrator($"the container events stream ended at once: {await StreamEndAsync(stream).ConfigureAwait(false)}"));
                yield break;
            }
            yield return new WatchStarted();
            var batch = new List<Message>();
            while (true)
            {
                var more = await WaitAsync(events.Reader, cancellationToken).ConfigureAwait(false);
                if (!more) break;
                await Task.Delay(Burst, time, cancellationToken).ConfigureAwait(false);
                batch.Clear();
                while (batch.Count < Capacity && events.Reader.TryRead(out var message)) batch.Add(message);
                if (overflow.Take())
                {
                    yield return new WatchGap($"more than {Capacity} container events waited to be read; some were dropped");
                    continue;
                }
                foreach (var (id, destroyed) in Containers(batch))
                {
                    if (destroyed)
                    {
                        yield return new WorkloadRemoved(id);
                        continue;
                    }
                    yield return await InspectAsync(client, id, cancellationToken).ConfigureAwait(false);
                }
            }
            cancellationToken.ThrowIfCancellationRequested();
            yield return new WatchLost(Failure.Orchestrator($"the container events stream ended: {await StreamEndAsync(stream).ConfigureAwait(false)}"));
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await StreamEndAsync(stream).ConfigureAwait(false);
        }
    }

    /// <summary>The containers a burst names, in the order of their first event, each once; destroyed: its last event removed it.</summary>
    private static List<(string Id, bool Destroyed)> Containers(List<Message> batch)
    {
        var order = new List<string>();
        var destroyed = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var message in batch)
        {
            var id = message.Actor?.ID;
            if (string.IsNullOrEmpty(id)) continue;
            if (!destroyed.ContainsKey(id)) order.Add(id);
            destroyed[id] = message.Action == "destroy";
        }
        return order.ConvertAll(id => (id, destroyed[id]));
    }

    private async Task<WorkloadChange> InspectAsync(DockerClient client, string id, CancellationToken cancellationToken)
    {
        try
        {
            var inspect = await client.Containers.InspectContainerAsync(id, cancellationToken).ConfigureAwait(false);
            var labels = inspect.Config?.Labels;
            // The filter names this manager; a container relabelled since its event is no longer this manager's.
            if (labels is null || !labels.TryGetValue(ConnectorLabels.Manager, out var manager) || manager != managerId) return new WorkloadRemoved(id);
            return new WorkloadObserved(snapshot(inspect));
        }
        catch (Exception ex) when (DockerErrors.IsNotFound(ex))
        {
            return new WorkloadRemoved(id);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return new WatchGap($"inspecting container {id} after its event failed: {errors.Cause(ex)}");
        }
    }

    /// <summary>The engine's clock now, as since= (<see cref="EngineEvents.Since"/>).</summary>
    private async Task<Result<string>> EngineTimeAsync(DockerClient client, CancellationToken cancellationToken)
    {
        try
        {
            return EngineEvents.Since(await client.System.GetSystemInfoAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return Failure.Orchestrator(errors.Cause(ex));
        }
    }

    /// <summary>Reads the stream into the channel until it ends; its task tells why it ended (null: closed by the engine).</summary>
    private Task<Exception?> StreamAsync(DockerClient client, string since, ChannelWriter<Message> writer, EventOverflow overflow, CancellationToken cancellationToken) =>
        Task.Run(async () =>
        {
            Exception? ended = null;
            try
            {
                var parameters = new ContainerEventsParameters
                {
                    Since = since,
                    Filters = new Dictionary<string, IDictionary<string, bool>>
                    {
                        ["type"] = new Dictionary<string, bool> { ["container"] = true },
                        ["label"] = new Dictionary<string, bool> { [$"{ConnectorLabels.Manager}={managerId}"] = true },
                        ["event"] = Events.ToDictionary(e => e, _ => true),
                    },
                };
                await client.System.MonitorEventsAsync(parameters, new EventChannelProgress(writer, overflow), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                ended = ex;
            }
            writer.TryComplete();
            return ended;
        }, CancellationToken.None);

    /// <summary>Whether more events can be read (false: the stream ended).</summary>
    private static async Task<bool> WaitAsync(ChannelReader<Message> reader, CancellationToken cancellationToken)
    {
        return await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Why the stream ended, once it has.</summary>
    private async Task<string> StreamEndAsync(Task<Exception?> stream) =>
        await stream.ConfigureAwait(false) is { } ex ? errors.Cause(ex) : "closed by the engine";
}

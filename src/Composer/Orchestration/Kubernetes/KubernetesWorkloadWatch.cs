using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using Composer.Diagnostics;
using Composer.Reconciliation;

namespace Composer.Orchestration.Kubernetes;

/// <summary>
/// The deployments and pods of this manager as <see cref="IWorkloadWatch"/> changes, as client-go's reflector keeps
/// an informer: list each (labelSelector opencti-manager=&lt;id&gt;), then watch each from the list's resourceVersion
/// with bookmarks; a watch that ends (its timeoutSeconds, <see cref="WatchTimeoutSeconds"/>) or breaks is resumed
/// from the last resourceVersion seen (an event's or a bookmark's), nothing relisted; a watch answered 410 Gone (an
/// ERROR event with a Status code 410, or an HTTP 410) is listed and watched again, and a <see cref="WatchGap"/> tells
/// the core to relist too. The deployments and pods are kept here, so that each change yields the snapshot of the
/// deployment it concerns (a pod's change: its deployment's) exactly as <see cref="KubernetesOrchestrator.ListAsync"/>
/// shows it, with the health of its current pod: restart count, start time and exit code come from the pod's events,
/// never from a call per connector. At most <see cref="Capacity"/> events wait to be handled; beyond that they are
/// dropped, both are listed again and a gap is yielded.
/// </summary>
/// <param name="idle">Called at least every <see cref="IdleTick"/> while watching: what a listing did besides listing (the pull secret's rendering when due).</param>
internal sealed class KubernetesWorkloadWatch(KubernetesApiClient api, string selector, string ns, TimeProvider time, Func<CancellationToken, Task> idle)
{
    /// <summary>How often <c>idle</c> runs while nothing else happens.</summary>
    internal static readonly TimeSpan IdleTick = TimeSpan.FromSeconds(1);

    /// <summary>Events read ahead of their handling, at most.</summary>
    internal const int Capacity = 1024;

    /// <summary>What the API is asked to end each watch after (client-go asks 5 to 10 minutes); it is then resumed.</summary>
    internal const int WatchTimeoutSeconds = 300;

    /// <summary>A watch silent for its timeout and this much more is taken as broken.</summary>
    internal static readonly TimeSpan SilenceGrace = TimeSpan.FromSeconds(30);

    /// <summary>The largest event read (the API stores objects up to 1.5 MB).</summary>
    internal const int MaxEventBytes = 4 * 1024 * 1024;

    /// <summary>A watch that ends this many times in a row without lasting a second is given up (the core retries with a backoff).</summary>
    private const int QuickEndsAllowed = 3;

    private enum Kind { Deployments, Pods }

    /// <summary>One event of a watch, or its end (<see cref="Ended"/> set), tagged with the stream it came from.</summary>
    private sealed record Item(Kind Kind, int Generation, string? Type, KubeDeployment? Deployment, KubePod? Pod, KubeStatus? Status, string? Version, string? Ended);

    /// <summary>What this watch knows: the objects of both lists kept current by the events, and where each watch stands.</summary>
    private sealed class Store
    {
        public Dictionary<string, KubeDeployment> Deployments { get; set; } = new(StringComparer.Ordinal);
        public Dictionary<string, KubePod> Pods { get; set; } = new(StringComparer.Ordinal);
        public string?[] Versions { get; } = new string?[2];
    }

    /// <summary>One open watch: its stream, the task reading it and its generation (items of older ones are ignored).</summary>
    private sealed class OpenWatch(KubeWatchStream open, Task reader, int generation, long openedAt)
    {
        public KubeWatchStream Open { get; } = open;
        public Task Reader { get; } = reader;
        public int Generation { get; } = generation;
        public long OpenedAt { get; } = openedAt;
    }

    public async IAsyncEnumerable<WorkloadChange> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var items = Channel.CreateBounded<Item>(new BoundedChannelOptions(Capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.DropWrite,
        });
        var overflow = new Overflow();
        var store = new Store();
        var streams = new OpenWatch?[2];
        var generation = 0;
        var quickEnds = 0;
        try
        {
            foreach (var kind in new[] { Kind.Deployments, Kind.Pods })
            {
                if (await ListAndWatchAsync(kind).ConfigureAwait(false) is { } failure)
                {
                    yield return new WatchLost(failure);
                    yield break;
                }
            }
            yield return new WatchStarted();
            while (true)
            {
                using (var tick = new CancellationTokenSource(IdleTick, time))
                using (var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, tick.Token))
                {
                    try
                    {
                        await items.Reader.WaitToReadAsync(either.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        // Nothing came: the idle duties.
                    }
                }
                await idle(cancellationToken).ConfigureAwait(false);
                var touched = new List<string>();
                var removed = new List<string>();
                var resume = new HashSet<Kind>();
                var relist = new Dictionary<Kind, string>();
                while (items.Reader.TryRead(out var item))
                {
                    if (streams[(int)item.Kind]?.Generation != item.Generation) continue;
                    if (item.Ended is { } ended)
                    {
                        resume.Add(item.Kind);
                        continue;
                    }
                    if (item.Version is { } version) store.Versions[(int)item.Kind] = version;
                    switch (item.Type)
                    {
                        case "ERROR":
                            relist[item.Kind] = item.Status?.Code == 410
                                ? $"the {Name(item.Kind)} watch expired (410 Gone: {item.Status.Message})"
                                : $"the {Name(item.Kind)} watch failed ({item.Status?.Code} {item.Status?.Reason}: {item.Status?.Message})";
                            break;
                        case "ADDED" or "MODIFIED" when item.Deployment?.Metadata?.Name is { } name:
                            store.Deployments[name] = item.Deployment;
                            touched.Add(name);
                            break;
                        case "DELETED" when item.Deployment?.Metadata?.Name is { } name:
                            if (store.Deployments.Remove(name, out var gone)) removed.Add(gone.Metadata?.Uid ?? name);
                            touched.RemoveAll(t => t == name);
                            break;
                        case "ADDED" or "MODIFIED" when item.Pod?.Metadata?.Name is { } name:
                            store.Pods[name] = item.Pod;
                            touched.AddRange(OwnersOf(store, item.Pod));
                            break;
                        case "DELETED" when item.Pod?.Metadata?.Name is { } name:
                            store.Pods.Remove(name);
                            touched.AddRange(OwnersOf(store, item.Pod));
                            break;
                    }
                }
                if (overflow.Take())
                {
                    relist[Kind.Deployments] = $"more than {Capacity} events waited to be handled; some were dropped";
                    relist[Kind.Pods] = relist[Kind.Deployments];
                }
                foreach (var uid in removed)
                {
                    if (!store.Deployments.Values.Any(d => d.Metadata?.Uid == uid)) yield return new WorkloadRemoved(uid);
                }
                foreach (var name in touched.Distinct(StringComparer.Ordinal))
                {
                    if (store.Deployments.TryGetValue(name, out var deployment) && KubernetesOrchestrator.Observe(deployment, store.Pods.Values, withHealth: true) is { } workload)
                    {
                        yield return new WorkloadObserved(workload);
                    }
                }
                foreach (var kind in resume.Where(k => !relist.ContainsKey(k)))
                {
                    var lasted = time.GetElapsedTime(streams[(int)kind]!.OpenedAt);
                    quickEnds = lasted < TimeSpan.FromSeconds(1) ? quickEnds + 1 : 0;
                    if (quickEnds > QuickEndsAllowed)
                    {
                        yield return new WatchLost(Failure.Orchestrator($"the {Name(kind)} watch in namespace {ns} keeps ending at once"));
                        yield break;
                    }
                    var resumed = await WatchFromAsync(kind, store.Versions[(int)kind]!).ConfigureAwait(false);
                    if (!resumed.IsSuccess)
                    {
                        yield return new WatchLost(resumed.Failure);
                        yield break;
                    }
                    if (resumed.Value.Expired is { } expired) relist[kind] = expired;
                }
                if (relist.Count == 0) continue;
                foreach (var kind in relist.Keys)
                {
                    if (await ListAndWatchAsync(kind).ConfigureAwait(false) is { } failure)
                    {
                        yield return new WatchLost(failure);
                        yield break;
                    }
                }
                yield return new WatchGap(string.Join("; ", relist.Values.Distinct(StringComparer.Ordinal)) + "; listed and watched again");
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            foreach (var stream in streams) await CloseAsync(stream).ConfigureAwait(false);
        }

        // Lists one kind into the store and watches it from the list's resourceVersion; null, or why not.
        async Task<Failure?> ListAndWatchAsync(Kind kind)
        {
            await CloseAsync(streams[(int)kind]).ConfigureAwait(false);
            streams[(int)kind] = null;
            var listed = await ListAsync(kind, store, cancellationToken).ConfigureAwait(false);
            if (!listed.IsSuccess) return listed.Failure;
            var opened = await WatchFromAsync(kind, listed.Value).ConfigureAwait(false);
            if (!opened.IsSuccess) return opened.Failure;
            // A version that expires right after its own list is a failure like any other.
            return opened.Value.Expired is { } expired ? Failure.Orchestrator(expired) : null;
        }

        // Opens the watch of one kind from a resourceVersion; or that the version expired (relist), or why it failed.
        async Task<Result<WatchOpening>> WatchFromAsync(Kind kind, string version)
        {
            await CloseAsync(streams[(int)kind]).ConfigureAwait(false);
            streams[(int)kind] = null;
            var open = await api.WatchAsync(kind == Kind.Pods, selector, version, WatchTimeoutSeconds, cancellationToken).ConfigureAwait(false);
            if (open.Refused is { } refused)
            {
                open.Dispose();
                var what = $"watching the {Name(kind)} in namespace {ns}";
                return refused.Status == System.Net.HttpStatusCode.Gone && refused.TransportError is null
                    ? Result<WatchOpening>.Success(new WatchOpening(Expired: refused.Describe(what)))
                    : refused.Fail(what);
            }
            generation++;
            var reader = ReadAsync(kind, generation, open.Body!, items.Writer, overflow, stop.Token);
            streams[(int)kind] = new OpenWatch(open, reader, generation, time.GetTimestamp());
            return Result<WatchOpening>.Success(new WatchOpening(Expired: null));
        }
    }

    /// <summary>A watch that opened (<paramref name="Expired"/> null), or whose resourceVersion had expired: why, to relist.</summary>
    private readonly record struct WatchOpening(string? Expired);

    private static string Name(Kind kind) => kind.ToString()!.ToLowerInvariant();

    /// <summary>The deployments (by name) a pod belongs to.</summary>
    private static IEnumerable<string> OwnersOf(Store store, KubePod pod) =>
        store.Deployments.Where(d => KubernetesOrchestrator.BelongsTo(pod, d.Value.Metadata?.Labels ?? [])).Select(d => d.Key).ToList();

    /// <summary>Lists one kind into the store: its list's resourceVersion, or why it failed.</summary>
    private async Task<Result<string>> ListAsync(Kind kind, Store store, CancellationToken cancellationToken)
    {
        var what = $"listing the {Name(kind)} in namespace {ns}";
        if (kind == Kind.Deployments)
        {
            var reply = await api.ListDeploymentsAsync(selector, null, cancellationToken).ConfigureAwait(false);
            if (!reply.IsSuccess) return reply.Fail(what);
            var list = reply.Read(KubernetesJsonContext.Default.KubeDeploymentList);
            if (list?.Items is null || list.Metadata?.ResourceVersion is not { Length: > 0 } version) return Failure.Orchestrator($"{what}: the answer is not a DeploymentList with a resourceVersion");
            store.Deployments = list.Items.Where(d => d.Metadata?.Name is { Length: > 0 }).ToDictionary(d => d.Metadata!.Name!, StringComparer.Ordinal);
            store.Versions[(int)Kind.Deployments] = version;
            return Result<string>.Success(version);
        }
        var podsReply = await api.ListPodsAsync(selector, cancellationToken).ConfigureAwait(false);
        if (!podsReply.IsSuccess) return podsReply.Fail(what);
        var pods = podsReply.Read(KubernetesJsonContext.Default.KubePodList);
        if (pods?.Items is null || pods.Metadata?.ResourceVersion is not { Length: > 0 } podsVersion) return Failure.Orchestrator($"{what}: the answer is not a PodList with a resourceVersion");
        store.Pods = pods.Items.Where(p => p.Metadata?.Name is { Length: > 0 }).ToDictionary(p => p.Metadata!.Name!, StringComparer.Ordinal);
        store.Versions[(int)Kind.Pods] = podsVersion;
        return Result<string>.Success(podsVersion);
    }

    /// <summary>Reads one watch's lines into the channel until it ends; its last item tells why it ended.</summary>
    private Task ReadAsync(Kind kind, int generation, Stream body, ChannelWriter<Item> writer, Overflow overflow, CancellationToken cancellationToken) =>
        Task.Run(async () =>
        {
            string ended;
            try
            {
                var lines = new WatchLineReader(body, MaxEventBytes);
                var silence = TimeSpan.FromSeconds(WatchTimeoutSeconds) + SilenceGrace;
                while (true)
                {
                    using var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    using var timer = time.CreateTimer(_ => quiet.Cancel(), null, silence, Timeout.InfiniteTimeSpan);
                    ReadOnlyMemory<byte>? line;
                    try
                    {
                        line = await lines.ReadLineAsync(quiet.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        ended = $"nothing came for {silence.TotalSeconds:0} s";
                        break;
                    }
                    if (line is not { } bytes)
                    {
                        ended = "closed by the API";
                        break;
                    }
                    if (bytes.IsEmpty) continue;
                    if (!writer.TryWrite(Parse(kind, generation, bytes.Span))) overflow.Set();
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Broken connection, an event too long or not JSON: the stream is over either way.
                ended = ExceptionText.Describe(ex);
            }
            if (!writer.TryWrite(new Item(kind, generation, null, null, null, null, null, ended))) overflow.Set();
        }, CancellationToken.None);

    private static Item Parse(Kind kind, int generation, ReadOnlySpan<byte> line)
    {
        var e = JsonSerializer.Deserialize(line, KubernetesJsonContext.Default.KubeWatchEvent) ?? throw new JsonException("an empty watch event");
        if (e.Type == "ERROR")
        {
            return new Item(kind, generation, e.Type, null, null, e.Object.Deserialize(KubernetesJsonContext.Default.KubeStatus), null, null);
        }
        if (kind == Kind.Deployments)
        {
            var deployment = e.Object.Deserialize(KubernetesJsonContext.Default.KubeDeployment);
            return new Item(kind, generation, e.Type, deployment, null, null, deployment?.Metadata?.ResourceVersion, null);
        }
        var pod = e.Object.Deserialize(KubernetesJsonContext.Default.KubePod);
        return new Item(kind, generation, e.Type, null, pod, null, pod?.Metadata?.ResourceVersion, null);
    }

    private static async Task CloseAsync(OpenWatch? stream)
    {
        if (stream is null) return;
        // Disposing the response ends the read in progress.
        stream.Open.Dispose();
        try
        {
            await stream.Reader.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The reader ends with what it was reading; nothing is left to report.
        }
    }

    /// <summary>Set when an item was dropped because <see cref="Capacity"/> were waiting.</summary>
    private sealed class Overflow
    {
        private int _dropped;

        public void Set() => Interlocked.Exchange(ref _dropped, 1);

        public bool Take() => Interlocked.Exchange(ref _dropped, 0) == 1;
    }
}

/// <summary>Lines of a stream ('\n'-terminated), each at most a bound long.</summary>
internal sealed class WatchLineReader(Stream stream, int maxLine)
{
    private byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;
    private int _scanned;

    /// <summary>The next line without its '\n' (valid until the next call), or null at the end of the stream.</summary>
    public async Task<ReadOnlyMemory<byte>?> ReadLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var newline = Array.IndexOf(_buffer, (byte)'\n', _scanned, _end - _scanned);
            if (newline >= 0)
            {
                var line = _buffer.AsMemory(_start, newline - _start);
                _start = _scanned = newline + 1;
                return line;
            }
            _scanned = _end;
            if (_end - _start > maxLine) throw new InvalidDataException($"a watch event longer than {maxLine} bytes");
            if (_end == _buffer.Length)
            {
                var length = _end - _start;
                var target = length > _buffer.Length / 2 ? new byte[Math.Min(_buffer.Length * 2, maxLine + 1)] : _buffer;
                Array.Copy(_buffer, _start, target, 0, length);
                _buffer = target;
                _scanned -= _start;
                (_start, _end) = (0, length);
                if (_end == _buffer.Length) throw new InvalidDataException($"a watch event longer than {maxLine} bytes");
            }
            var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                // (A conditional with null would make an empty line of it: byte[] converts to memory.)
                if (_end > _start) return TakeRest();
                return null;
            }
            _end += read;
        }
    }

    private ReadOnlyMemory<byte> TakeRest()
    {
        var rest = _buffer.AsMemory(_start, _end - _start);
        _start = _scanned = _end;
        return rest;
    }
}

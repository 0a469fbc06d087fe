using Composer.Diagnostics;
using Composer.Images;

namespace Composer.Reconciliation;

/// <summary>What one cycle (or one re-plan) did: it plans and starts lanes, it does not wait for them.</summary>
/// <param name="NotRun">Why nothing was done (a listing failed, with its error), or null.</param>
/// <param name="Actions">Actions planned.</param>
/// <param name="Started">Connectors whose lanes were started.</param>
/// <param name="InFlight">Connectors with work planned but their lane still in flight: planned again once it ends.</param>
public sealed record CycleReport(string? NotRun, int Actions, int Started, int InFlight, TimeSpan Duration)
{
    /// <summary>Why the platform listing failed, or null.</summary>
    public string? PlatformFailure { get; init; }

    /// <summary>Why the orchestrator listing failed, or null.</summary>
    public string? OrchestratorFailure { get; init; }

    /// <summary>The lanes started; completes when they have ended (tests and benchmarks wait on it, the loop never does).</summary>
    public Task Completion { get; init; } = Task.CompletedTask;

    public override string ToString() => NotRun is not null
        ? $"nothing done: {NotRun}"
        : $"{Actions} action{(Actions == 1 ? "" : "s")} planned, {Started} connector lanes started, {InFlight} still in flight, in {Duration.TotalMilliseconds:0} ms";
}

/// <summary>
/// The reconcile loop's work for one platform. A cycle (every execute_schedule) lists the platform's connectors and
/// observes the workloads, plans, and starts a lane per connector with something to do (<see cref="ReconcileExecutor"/>),
/// without waiting for them. Between cycles a connector is planned again at once (<see cref="ReplanAsync"/>) when its
/// workload changed (an event of <see cref="IWorkloadWatch"/>) or its lane ended (the newest desired state wins), from
/// the last listing. Workloads are observed from the <see cref="WorkloadCache"/> while the orchestrator's events are
/// watched (no orchestrator call when idle), and listed otherwise: every cycle while polling, after a gap in the
/// events, after a lane whose change failed or may have half happened, and every <see cref="FullRelist"/> as a safety
/// net. A lane whose changes the orchestrator reported done needs no listing while the events are watched: its
/// connector is held (planned by nothing, as while its lane ran) until the cache shows those changes
/// (<see cref="WorkloadCache.Shows"/>: the events of its own work arrived), then planned again at once; when they do
/// not show within <see cref="ConfirmWait"/>, the workloads are listed and it is planned from the listing. So a
/// connector is never planned from a view older than its own work. The state store lives as long as the cycle object.
/// </summary>
public sealed class ReconcileCycle
{
    /// <summary>While events are watched, the workloads are listed again this often anyway (the informer's resync).</summary>
    public static readonly TimeSpan FullRelist = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a connector whose lane's changes were done waits for the cache to show them (the events of its own
    /// work) before the workloads are listed instead: the events normally arrive within a fraction of a second.
    /// </summary>
    public static readonly TimeSpan ConfirmWait = TimeSpan.FromSeconds(5);

    /// <summary>Reconnecting to a lost event stream waits this, doubling per failure...</summary>
    public static readonly TimeSpan WatchRetry = TimeSpan.FromSeconds(1);

    /// <summary>...up to this.</summary>
    public static readonly TimeSpan MaxWatchRetry = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long planning waits for the image policy's answers: an image whose check takes longer (a registry that does
    /// not answer) leaves only its connectors waiting, planned again when the answer comes.
    /// </summary>
    public static readonly TimeSpan ImageCheckWait = TimeSpan.FromSeconds(1);

    private readonly IPlatformClient _platform;
    private readonly IOrchestrator _orchestrator;
    private readonly ImageResolver _images;
    private readonly ImageGate? _gate;
    private readonly RegistryAccess? _registry;
    private readonly IWorkloadWatch? _watch;
    private readonly ConnectorStateStore _store = new();
    private readonly ReconcileOptions _options;
    private readonly TimeProvider _time;
    private readonly Logger _logger;
    private readonly ReconcileExecutor _executor;
    private readonly KeyValuePair<string, object?> _platformTag;
    private readonly WorkloadCache _cache = new();
    private readonly Lock _sync = new();
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly SemaphoreSlim _listing = new(1, 1);
    private HashSet<string> _dirty = new(StringComparer.Ordinal);
    private ConnectorListing? _lastListing;
    private readonly HashSet<string> _awaitingImage = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ITimer> _backoffTimers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Unconfirmed> _unconfirmed = new(StringComparer.Ordinal);
    private Dictionary<Outage, DateTimeOffset> _recovered = [];
    private readonly HashSet<string> _probing = new(StringComparer.Ordinal);
    private bool _orchestratorDown;
    private bool _relistNeeded;
    private bool _streamUp;
    private bool _synced;
    private long _epoch;
    private DateTimeOffset _lastRelist;
    private string _observation;

    /// <param name="images">Registry prefix resolution: each listed connector's image is resolved once, here.</param>
    /// <param name="gate">The platform's image policy, applied here to each resolved image (null: none).</param>
    /// <param name="registry">
    /// The process's registry access: a registry that answers a check again cuts short the backoffs that waited on it,
    /// and registries that backoffs wait on are probed once per cycle (null: neither).
    /// </param>
    public ReconcileCycle(IPlatformClient platform, IOrchestrator orchestrator, ImageResolver images, ReconcileOptions options,
        TimeProvider time, Logger logger, Random? random = null, ImageGate? gate = null, RegistryAccess? registry = null)
    {
        _platform = platform;
        _orchestrator = orchestrator;
        _images = images;
        _gate = gate;
        _registry = registry;
        if (registry is not null) registry.RegistryAnswered += host => Recovered(Outage.Registry(host));
        _watch = orchestrator as IWorkloadWatch;
        _options = options;
        _time = time;
        _logger = logger;
        _executor = new ReconcileExecutor(orchestrator, platform, _store, options, time, logger, random) { LaneEnded = OnLaneEnded };
        _platformTag = new("platform", ConnectorLabels.PlatformValue(options.Platform));
        _observation = _watch is null ? $"polling: {orchestrator.Kind} streams no events" : "polling until the events are watched";
    }

    /// <summary>How workloads are observed now, for /readyz: "watching events", or "polling: why".</summary>
    public string Observation
    {
        get { lock (_sync) return _observation; }
    }

    /// <summary>Raised when <see cref="Observation"/> changes.</summary>
    public event Action<string>? ObservationChanged;

    /// <summary>Observes and plans, without executing anything or changing any state (`composer plan`).</summary>
    public async Task<ReconcilePlan> PlanAsync(CancellationToken cancellationToken)
    {
        var connectorsTask = _platform.ListConnectorsAsync(cancellationToken);
        var workloadsTask = _orchestrator.ListAsync(cancellationToken);
        await Task.WhenAll(connectorsTask, workloadsTask).ConfigureAwait(false);
        // A plan shows the image policy's answers, however long the registries take (within their own timeouts).
        return (await PlanFromAsync(connectorsTask.Result, workloadsTask.Result, Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false)).Plan;
    }

    /// <summary>Runs one cycle: lists, plans, starts lanes. Throws only <see cref="OperationCanceledException"/> (shutdown).</summary>
    /// <param name="cancellationToken">The shutdown's abort: the lanes started run until they end or it is cancelled.</param>
    public async Task<CycleReport> RunAsync(CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        // Everything is planned now: what was waiting for a re-plan is part of it.
        lock (_sync) _dirty.Clear();
        CutShortRecoveredBackoffs();
        var connectorsTask = _platform.ListConnectorsAsync(cancellationToken);
        var workloadsTask = ObserveWorkloadsAsync(cancellationToken);
        // Both finish before anything is looked at: no call is left running, no exception unobserved.
        await Task.WhenAll(connectorsTask, workloadsTask).ConfigureAwait(false);
        var (plan, failedListing, platformFailure, orchestratorFailure) = await PlanFromAsync(connectorsTask.Result, workloadsTask.Result.Workloads, ImageCheckWait, cancellationToken)
            .ConfigureAwait(false);
        if (failedListing is not null)
        {
            ComposerMetrics.CycleErrors.Add(1, _platformTag, new KeyValuePair<string, object?>("reason", failedListing));
            return Done(new CycleReport(plan.NotPlanned, 0, 0, 0, _time.GetElapsedTime(started))
            {
                PlatformFailure = platformFailure?.ToString(),
                OrchestratorFailure = orchestratorFailure?.ToString(),
            });
        }
        var batch = _executor.Start(plan, group => !AwaitsConfirmation(group), cancellationToken);
        PlanAgainAfterBackoff(plan);
        ProbeAwaitedRegistries(connectorsTask.Result.Value!, cancellationToken);
        return Done(new CycleReport(null, plan.ActionCount, batch.Started, batch.InFlight, _time.GetElapsedTime(started)) { Completion = batch.Completion });

        CycleReport Done(CycleReport report)
        {
            ComposerMetrics.CycleDuration.Record(report.Duration.TotalSeconds, _platformTag);
            return report;
        }
    }

    /// <summary>Completes when a connector waits to be planned again (its workload changed, its lane ended).</summary>
    public async Task WaitForReplanAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            lock (_sync)
            {
                if (_dirty.Count > 0 || _recovered.Count > 0) return;
            }
            await _wake.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Plans again, from the last listing, the connectors whose workload changed or whose lane ended since they were
    /// last planned, and starts their lanes; null when there was nothing to do (no listing yet, nothing waiting, the
    /// workloads could not be observed: the next cycle plans everything anyway).
    /// </summary>
    public async Task<CycleReport?> ReplanAsync(CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        HashSet<string> dirty;
        ConnectorListing? listing;
        var cutShort = CutShortRecoveredBackoffs();
        lock (_sync)
        {
            _dirty.UnionWith(cutShort);
            if (_dirty.Count == 0) return null;
            if (_lastListing is null)
            {
                // Nothing listed yet: the next cycle plans everything.
                _dirty.Clear();
                return null;
            }
            dirty = _dirty;
            _dirty = new HashSet<string>(StringComparer.Ordinal);
            listing = _lastListing;
        }
        var (workloads, changed) = await ObserveWorkloadsAsync(cancellationToken).ConfigureAwait(false);
        if (!workloads.IsSuccess) return null;
        dirty.UnionWith(changed);
        var gated = await WithPullImagesAsync(listing, ImageCheckWait, cancellationToken).ConfigureAwait(false);
        var plan = Reconciler.Plan(_options, gated, workloads.Value, _store, _time.GetUtcNow());
        var batch = _executor.Start(plan, group => dirty.Contains(group.ConnectorId ?? "") && !AwaitsConfirmation(group), cancellationToken);
        PlanAgainAfterBackoff(plan);
        return new CycleReport(null, plan.ActionCount, batch.Started, batch.InFlight, _time.GetElapsedTime(started)) { Completion = batch.Completion };
    }

    /// <summary>Completes when every lane in flight has ended (shutdown: once the abort cancelled their steps).</summary>
    public Task DrainAsync() => _executor.DrainAsync();

    /// <summary>
    /// Watches the orchestrator's events until <paramref name="cancellationToken"/> is cancelled (returns at once when
    /// it streams none): list after the stream is established and after any gap, apply each change to the cache and
    /// plan its connector again at once; when the stream is lost, poll, and connect again after a backoff
    /// (<see cref="WatchRetry"/> doubling up to <see cref="MaxWatchRetry"/>). Each change of mode is logged once.
    /// </summary>
    public async Task WatchAsync(CancellationToken cancellationToken)
    {
        if (_watch is null)
        {
            _logger.Info("Polling the workloads every cycle: the orchestrator streams no events", ("platform", _platformTag.Value), ("orchestrator", _orchestrator.Kind));
            return;
        }
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            Failure? lost = null;
            try
            {
                await foreach (var change in _watch.WatchAsync(cancellationToken).ConfigureAwait(false))
                {
                    switch (change)
                    {
                        case WatchStarted:
                            lock (_sync)
                            {
                                _streamUp = true;
                                _synced = false;
                                _epoch++;
                            }
                            _cache.ForgetHealth();
                            if (await RelistAsync(keepHealth: false, cancellationToken).ConfigureAwait(false)) failures = 0;
                            break;
                        case WorkloadObserved observed:
                            if (_cache.Apply(observed.Workload) is { } changedId) Changed(changedId);
                            break;
                        case WorkloadRemoved removed:
                            if (_cache.Remove(removed.WorkloadId) is { } removedId) Changed(removedId);
                            break;
                        case WatchGap gap:
                            _logger.Info("Orchestrator events may have been missed: listing the workloads again", ("orchestrator", _orchestrator.Kind),
                                ("reason", gap.Reason));
                            lock (_sync)
                            {
                                _synced = false;
                                _epoch++;
                            }
                            _cache.ForgetHealth();
                            await RelistAsync(keepHealth: false, cancellationToken).ConfigureAwait(false);
                            break;
                        case WatchLost gone:
                            lost = gone.Reason;
                            break;
                    }
                    if (lost is not null) break;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            lock (_sync)
            {
                _streamUp = false;
                _synced = false;
                _epoch++;
                // The next listing that succeeds shows the orchestrator answering again.
                _orchestratorDown = true;
            }
            _cache.ForgetHealth();
            // No more events will show what the lanes did: the next plan lists.
            ReleaseUnconfirmed();
            failures++;
            var retry = Backoff.Delay(failures, WatchRetry, MaxWatchRetry);
            // The same words whatever the reason, so that retries failing differently are not a change each.
            SetObservation($"polling: the {_orchestrator.Kind} events stream is down; connecting again", lost?.Message ?? "it ended", retry);
            try
            {
                await Task.Delay(retry, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// A lane ended: its connector is planned again from a view that includes its work. Changes that failed or may
    /// have half happened: from a listing. Changes done while the events are watched: from the cache once it shows
    /// them (now, when their events came first), else after <see cref="ConfirmWait"/> from a listing.
    /// </summary>
    private void OnLaneEnded(LaneEnd end)
    {
        var key = end.ConnectorId ?? "";
        if (end.Done.Count > 0 && !end.Uncertain)
        {
            Unconfirmed? waiting = new(end.Done);
            lock (_sync)
            {
                if (_streamUp && _synced)
                {
                    if (_unconfirmed.Remove(key, out var earlier)) earlier.Timer?.Dispose();
                    _unconfirmed[key] = waiting;
                    waiting.Timer = _time.CreateTimer(_ => ConfirmTimedOut(key, waiting), null, ConfirmWait, Timeout.InfiniteTimeSpan);
                }
                else
                {
                    // Polling: the next plan lists anyway.
                    _relistNeeded = true;
                    waiting = null;
                }
            }
            // Registered first, then checked: an event applied meanwhile is seen either here or by the watch's check.
            if (waiting is not null)
            {
                Confirm(key);
                return;
            }
        }
        else if (end.Tried)
        {
            lock (_sync) _relistNeeded = true;
        }
        MarkDirty(key);
    }

    /// <summary>A connector's workload changed in the cache: planned again, unless it waits for its lane's work to show and it does not yet.</summary>
    private void Changed(string connectorId)
    {
        bool waiting;
        lock (_sync) waiting = _unconfirmed.ContainsKey(connectorId);
        if (waiting) Confirm(connectorId);
        else MarkDirty(connectorId);
    }

    /// <summary>Plans the connector again once the cache shows every change its lane did.</summary>
    private void Confirm(string connectorId)
    {
        Unconfirmed? waiting;
        lock (_sync)
        {
            if (!_unconfirmed.TryGetValue(connectorId, out waiting)) return;
        }
        foreach (var change in waiting.Changes)
        {
            if (!_cache.Shows(change)) return;
        }
        lock (_sync)
        {
            // Only the one that removes it plans it (the lane's end and the watch may both get here).
            if (!_unconfirmed.TryGetValue(connectorId, out var current) || current != waiting) return;
            _unconfirmed.Remove(connectorId);
        }
        waiting.Timer?.Dispose();
        MarkDirty(connectorId);
    }

    private void ConfirmTimedOut(string connectorId, Unconfirmed waiting)
    {
        lock (_sync)
        {
            if (!_unconfirmed.TryGetValue(connectorId, out var current) || current != waiting) return;
            _unconfirmed.Remove(connectorId);
            _relistNeeded = true;
        }
        waiting.Timer?.Dispose();
        _logger.Debug("The events did not show a connector's own work in time: listing the workloads", ("connector_id", connectorId),
            ("waited_seconds", ConfirmWait.TotalSeconds));
        MarkDirty(connectorId);
    }

    /// <summary>Every connector waiting for its work to show is planned again, from a listing (the events are gone).</summary>
    private void ReleaseUnconfirmed()
    {
        List<(string Id, Unconfirmed Waiting)> released;
        lock (_sync)
        {
            if (_unconfirmed.Count == 0) return;
            released = [.. _unconfirmed.Select(pair => (pair.Key, pair.Value))];
            _unconfirmed.Clear();
            _relistNeeded = true;
        }
        foreach (var (id, waiting) in released)
        {
            waiting.Timer?.Dispose();
            MarkDirty(id);
        }
    }

    /// <summary>Whether the group's connector waits for its lane's work to show: it is not planned meanwhile.</summary>
    private bool AwaitsConfirmation(ConnectorPlan group)
    {
        lock (_sync) return _unconfirmed.ContainsKey(group.ConnectorId ?? "");
    }

    /// <summary>The changes a lane did, not yet shown by the cache, and the timer that lists instead.</summary>
    private sealed class Unconfirmed(IReadOnlyList<ConnectorAction> changes)
    {
        public IReadOnlyList<ConnectorAction> Changes { get; } = changes;

        public ITimer? Timer { get; set; }
    }

    private void MarkDirty(string connectorId)
    {
        lock (_sync)
        {
            _dirty.Add(connectorId);
            if (_wake.CurrentCount == 0) _wake.Release();
        }
    }

    /// <summary>The workloads from the cache when the events are watched and nothing calls for a listing; else listed.</summary>
    private async Task<(Result<IReadOnlyList<ObservedWorkload>> Workloads, IReadOnlyCollection<string> Changed)> ObserveWorkloadsAsync(CancellationToken ct)
    {
        lock (_sync)
        {
            if (_streamUp && _synced && !_relistNeeded && _time.GetUtcNow() - _lastRelist < FullRelist)
            {
                return (Result<IReadOnlyList<ObservedWorkload>>.Success(_cache.Snapshot()), []);
            }
            _relistNeeded = false;
        }
        var (listed, changed) = await ListIntoCacheAsync(keepHealth: true, ct).ConfigureAwait(false);
        if (!listed.IsSuccess)
        {
            lock (_sync) _relistNeeded = true;
            return (listed.Failure, []);
        }
        return (listed, changed);
    }

    /// <summary>The watch's listing (after the stream started or a gap): the connectors it shows changed are planned again.</summary>
    private async Task<bool> RelistAsync(bool keepHealth, CancellationToken ct)
    {
        var (listed, changed) = await ListIntoCacheAsync(keepHealth, ct).ConfigureAwait(false);
        if (!listed.IsSuccess)
        {
            // The cycles poll until a listing succeeds.
            _logger.Warn("Listing the workloads after the events started failed: polling until a listing succeeds", ("orchestrator", _orchestrator.Kind),
                ("reason", listed.Failure.Message));
            return false;
        }
        foreach (var id in changed) Changed(id);
        return true;
    }

    /// <summary>
    /// Lists the workloads into the cache and returns the cache as it then is; a listing started while the stream was up
    /// and no gap came since makes the cache current. One listing at a time: a listing that started earlier but ended
    /// later would otherwise put back an older view over a newer one (a workload just created shown missing, and
    /// deployed twice).
    /// </summary>
    private async Task<(Result<IReadOnlyList<ObservedWorkload>> Workloads, IReadOnlyCollection<string> Changed)> ListIntoCacheAsync(bool keepHealth, CancellationToken ct)
    {
        await _listing.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            long epoch;
            lock (_sync) epoch = _epoch;
            var version = _cache.Version;
            var listed = await _orchestrator.ListAsync(ct).ConfigureAwait(false);
            if (!listed.IsSuccess)
            {
                lock (_sync) _orchestratorDown = true;
                return (listed, []);
            }
            var changed = _cache.Replace(listed.Value, version, keepHealth);
            foreach (var id in changed) Confirm(id);
            bool nowWatching;
            bool back;
            lock (_sync)
            {
                back = _orchestratorDown;
                _orchestratorDown = false;
                _lastRelist = _time.GetUtcNow();
                if (_streamUp && epoch == _epoch) _synced = true;
                nowWatching = _streamUp && _synced;
            }
            if (nowWatching) SetObservation("watching events", null, null);
            if (back) Recovered(Outage.Orchestrator);
            return (Result<IReadOnlyList<ObservedWorkload>>.Success(_cache.Snapshot()), changed);
        }
        finally
        {
            _listing.Release();
        }
    }

    private void SetObservation(string text, string? reason, TimeSpan? retry)
    {
        lock (_sync)
        {
            if (_observation == text) return;
            _observation = text;
        }
        if (reason is null)
        {
            _logger.Info("Watching the orchestrator's events: idle cycles make no orchestrator call", ("platform", _platformTag.Value),
                ("orchestrator", _orchestrator.Kind), ("full_relist_seconds", FullRelist.TotalSeconds));
        }
        else
        {
            _logger.Warn("The orchestrator's events stream is down: polling the workloads every cycle until it is back", ("platform", _platformTag.Value),
                ("orchestrator", _orchestrator.Kind), ("reason", reason), ("retry_in_seconds", Math.Round(retry?.TotalSeconds ?? 0, 1)));
        }
        ObservationChanged?.Invoke(text);
    }

    /// <summary>composer_connectors: this platform's listed connectors by the state of their workload (missing when none).</summary>
    private void RecordConnectorStates(ConnectorListing listing, IReadOnlyList<ObservedWorkload> workloads)
    {
        var platform = ConnectorLabels.PlatformValue(_options.Platform);
        var stateById = new Dictionary<string, WorkloadState>(workloads.Count, StringComparer.Ordinal);
        foreach (var w in workloads)
        {
            if (w.ConnectorId is { } id && (w.PlatformLabel is null || w.PlatformLabel == platform)) stateById[id] = w.State;
        }
        long running = 0, restarting = 0, stopped = 0, missing = 0;
        foreach (var c in listing.Connectors)
        {
            if (!stateById.TryGetValue(c.Id, out var state)) missing++;
            else if (state == WorkloadState.Running) running++;
            else if (state == WorkloadState.Restarting) restarting++;
            else stopped++;
        }
        ComposerMetrics.SetConnectorStates(platform, new Dictionary<string, long>(StringComparer.Ordinal)
        {
            ["running"] = running,
            ["restarting"] = restarting,
            ["stopped"] = stopped,
            ["missing"] = missing,
        });
    }

    /// <summary>
    /// Each connector's image resolved with the registry prefix, once, for every later step (plan, registry check, pull),
    /// then put to the image policy: an approved image is pinned to the digest that was checked; a connector whose image
    /// cannot be pulled or is refused is blocked with the reason, its workload kept as it is (never pulled or started
    /// with the refused image: a running approved version keeps running). The policy's checks run side by side and are
    /// waited for <paramref name="checkWait"/> at most (<see cref="ImageCheckWait"/> in a cycle; a plan waits for all):
    /// a connector whose image is still being checked waits (its
    /// workload kept as it is) and is planned again when the answer comes, so one registry that does not answer holds up
    /// only the connectors of its images.
    /// </summary>
    private async Task<ConnectorListing> WithPullImagesAsync(ConnectorListing listing, TimeSpan checkWait, CancellationToken ct)
    {
        var resolved = new (DesiredConnector Connector, Task<ImageVerdict>? Check)[listing.Connectors.Count];
        for (var i = 0; i < resolved.Length; i++)
        {
            var connector = listing.Connectors[i];
            var image = _images.Resolve(connector.Image);
            if (!image.IsSuccess) resolved[i] = (connector with { Blocked = connector.Blocked ?? image.Failure.Message }, null);
            else if (_gate is null || connector.Blocked is not null) resolved[i] = (connector with { PullImage = image.Value }, null);
            else resolved[i] = (connector with { PullImage = image.Value }, _gate.CheckAsync(image.Value, ct));
        }
        var checks = resolved.Where(r => r.Check is { IsCompleted: false }).Select(r => r.Check!).Distinct().ToList();
        if (checks.Count > 0)
        {
            try
            {
                await Task.WhenAll(checks).WaitAsync(checkWait, _time, ct).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // The checks go on; their connectors wait below.
            }
        }
        ct.ThrowIfCancellationRequested();

        var connectors = new List<DesiredConnector>(resolved.Length);
        foreach (var (connector, check) in resolved)
        {
            if (check is null)
            {
                connectors.Add(connector);
            }
            else if (check.IsCompletedSuccessfully)
            {
                var verdict = check.Result;
                connectors.Add(verdict.Image is { } approved ? connector with { PullImage = approved } : connector with { Blocked = verdict.Refusal });
            }
            else
            {
                connectors.Add(connector with { Waiting = $"the image policy is still checking {connector.PullImage!.Reference}" });
                PlanAgainWhenDone(connector.Id, check);
            }
        }
        return listing with { Connectors = connectors };
    }

    /// <summary>
    /// Plans each connector whose changes a backoff held back again when the backoff ends (a work queue's rate-limited
    /// re-add), rather than at the next cycle: a connector whose start failed while its container was being removed is
    /// deployed again seconds later, not a whole <c>execute_schedule</c> later. One timer per connector, the latest wins.
    /// </summary>
    private void PlanAgainAfterBackoff(ReconcilePlan plan)
    {
        foreach (var group in plan.Connectors)
        {
            if (group.DeferredUntil is not { } at || group.ConnectorId is not { } id) continue;
            var due = at - _time.GetUtcNow();
            if (due < TimeSpan.Zero) due = TimeSpan.Zero;
            var holder = new ITimer?[1];
            lock (_sync)
            {
                if (_backoffTimers.Remove(id, out var earlier)) earlier.Dispose();
                holder[0] = _time.CreateTimer(_ =>
                {
                    lock (_sync)
                    {
                        if (_backoffTimers.TryGetValue(id, out var current) && current == holder[0]) _backoffTimers.Remove(id);
                    }
                    holder[0]?.Dispose();
                    MarkDirty(id);
                }, null, due, Timeout.InfiniteTimeSpan);
                _backoffTimers[id] = holder[0]!;
            }
        }
    }

    /// <summary>
    /// Notes that <paramref name="outage"/> is over (the orchestrator answered a listing after a failed one or a lost
    /// events stream; a registry answered a check) and wakes the loop: the next plan cuts short the backoffs that
    /// waited on it (<see cref="ReconcileExecutor.CutShort"/>). Any thread.
    /// </summary>
    private void Recovered(Outage outage)
    {
        lock (_sync)
        {
            _recovered[outage] = _time.GetUtcNow();
            if (_wake.CurrentCount == 0) _wake.Release();
        }
    }

    /// <summary>Cuts short the backoffs on the outages seen over since the last plan (planning thread); returns their connectors.</summary>
    private List<string> CutShortRecoveredBackoffs()
    {
        Dictionary<Outage, DateTimeOffset> recovered;
        lock (_sync)
        {
            if (_recovered.Count == 0) return [];
            recovered = _recovered;
            _recovered = [];
        }
        var cut = new List<string>();
        foreach (var (outage, at) in recovered) cut.AddRange(_executor.CutShort(outage, at));
        return cut;
    }

    /// <summary>
    /// While a connector's backoff waits on a registry that did not answer, nothing else may ask that registry (its
    /// connectors are the ones held back): each cycle asks it once, one probe per registry host at a time, so that its
    /// return is seen within a cycle (<see cref="RegistryAccess.ProbeAsync"/>; its answer cuts the backoffs short).
    /// </summary>
    private void ProbeAwaitedRegistries(ConnectorListing listing, CancellationToken ct)
    {
        if (_registry is null) return;
        var now = _time.GetUtcNow();
        foreach (var connector in listing.Connectors)
        {
            if (_store.Find(connector.Id) is not { WaitsOn.RegistryHost: { } host } state || !state.InBackoff(now)) continue;
            var image = _images.Resolve(connector.Image);
            if (!image.IsSuccess || image.Value.RegistryHost != host) continue;
            lock (_sync)
            {
                if (!_probing.Add(host)) continue;
            }
            _ = ProbeAsync(image.Value, host, ct);
        }
    }

    private async Task ProbeAsync(ResolvedImage image, string host, CancellationToken ct)
    {
        try
        {
            await _registry!.ProbeAsync(image, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _logger.Debug("Registry probe failed", ("registry", host), ("reason", ex.Message));
        }
        catch (OperationCanceledException)
        {
            // Shutdown.
        }
        finally
        {
            lock (_sync) _probing.Remove(host);
        }
    }

    /// <summary>Plans the connector again once the check of its image ended (once per check, however many cycles saw it waiting).</summary>
    private void PlanAgainWhenDone(string connectorId, Task<ImageVerdict> check)
    {
        lock (_sync)
        {
            if (!_awaitingImage.Add(connectorId)) return;
        }
        _ = check.ContinueWith(_ =>
        {
            lock (_sync) _awaitingImage.Remove(connectorId);
            MarkDirty(connectorId);
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>The plan, and which listing failed ("platform_listing", "orchestrator_listing", or both as "listings") with the errors.</summary>
    private async Task<(ReconcilePlan Plan, string? FailedListing, Failure? PlatformFailure, Failure? OrchestratorFailure)> PlanFromAsync(
        Result<ConnectorListing> connectors, Result<IReadOnlyList<ObservedWorkload>> workloads, TimeSpan imageCheckWait, CancellationToken ct)
    {
        if (connectors.IsSuccess && workloads.IsSuccess)
        {
            // Re-plans between cycles start from this listing (the image policy's answers are kept by the gate).
            lock (_sync) _lastListing = connectors.Value;
            var listing = await WithPullImagesAsync(connectors.Value, imageCheckWait, ct).ConfigureAwait(false);
            RecordConnectorStates(listing, workloads.Value);
            return (Reconciler.Plan(_options, listing, workloads.Value, _store, _time.GetUtcNow()), null, null, null);
        }

        // Nothing is planned on a partial view; say exactly which listing failed and why.
        string reason, tag;
        if (!connectors.IsSuccess && !workloads.IsSuccess)
        {
            reason = $"listing the connectors failed ({connectors.Failure}) and listing the workloads failed ({workloads.Failure})";
            tag = "listings";
        }
        else if (!connectors.IsSuccess)
        {
            reason = $"listing the connectors failed: {connectors.Failure}";
            tag = "platform_listing";
        }
        else
        {
            reason = $"listing the workloads ({_orchestrator.Kind}) failed: {workloads.Failure}";
            tag = "orchestrator_listing";
        }
        return (ReconcilePlan.Unplanned(_options.Platform, reason), tag, connectors.Failure, workloads.Failure);
    }
}

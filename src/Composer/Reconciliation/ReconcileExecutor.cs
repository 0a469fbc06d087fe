using System.Globalization;
using Composer.Diagnostics;

namespace Composer.Reconciliation;

/// <summary>Counts of one plan's execution.</summary>
/// <param name="Succeeded">Actions that did what they should.</param>
/// <param name="ChangeFailures">Failed deploys, starts, stops, refreshes and removals (each starts or extends a backoff).</param>
/// <param name="ReportFailures">Failed status, health, log and problem reports (retried on a later cycle).</param>
/// <param name="Skipped">Changes not tried because an earlier change of the same connector failed in this cycle.</param>
/// <param name="Deferred">Connectors whose changes were held back by their backoff.</param>
public sealed record ExecutionResult(int Succeeded, int ChangeFailures, int ReportFailures, int Skipped, int Deferred)
{
    public static ExecutionResult None { get; } = new(0, 0, 0, 0, 0);
}

/// <summary>
/// Carries out plans against the orchestrator and the platform, one lane per connector: a connector's actions run in
/// order, within <see cref="ReconcileOptions.ConnectorDeadline"/> (counted from when its lane gets a slot); different
/// connectors run in parallel, at most <see cref="ReconcileOptions.MaxParallel"/> at once. A lane runs on its own,
/// after <see cref="Start"/> returned, so a slow pull, pre-flight or start holds up only its own connector and never
/// the loop that lists and plans; a connector with a lane in flight is not started again:
/// the next plan after it ended decides, with the newest listing. Results are recorded in the state store only after
/// an action completed, so a cancelled step leaves nothing half-recorded.
/// </summary>
public sealed class ReconcileExecutor
{
    /// <summary>A reboot loop: more restarts than this...</summary>
    private const int RebootLoopRestarts = 3;

    /// <summary>...while restarting, or within this of the last start.</summary>
    private static readonly TimeSpan RebootLoopWindow = TimeSpan.FromMinutes(5);

    /// <summary>The last lines of a crashing connector told with its reboot loop.</summary>
    private const int RebootLoopLines = 5;

    /// <summary>The lane key of the group of notices about workloads of no connector.</summary>
    private const string NoticesLane = "";

    private readonly IOrchestrator _orchestrator;
    private readonly IPlatformClient _platform;
    private readonly ConnectorStateStore _store;
    private readonly ReconcileOptions _options;
    private readonly TimeProvider _time;
    private readonly Logger _logger;
    private readonly Random _random;
    private readonly Lock _randomGate = new();
    private readonly SemaphoreSlim _slots;
    private readonly Lock _lanesGate = new();
    private readonly Dictionary<string, Task> _lanes = new(StringComparer.Ordinal);
    private readonly HashSet<string> _plannedWhileInFlight = new(StringComparer.Ordinal);
    private string? _lastNoRemoval;

    /// <param name="random">Jitter of the backoff (tests pass their own); default <see cref="Random.Shared"/>.</param>
    public ReconcileExecutor(IOrchestrator orchestrator, IPlatformClient platform, ConnectorStateStore store,
        ReconcileOptions options, TimeProvider time, Logger logger, Random? random = null)
    {
        _orchestrator = orchestrator;
        _platform = platform;
        _store = store;
        _options = options;
        _time = time;
        _logger = logger;
        _random = random ?? Random.Shared;
        _slots = new SemaphoreSlim(Math.Max(1, options.MaxParallel));
    }

    /// <summary>
    /// Called when a lane that matters for the next plan ends (on the lane's thread), with what it changed
    /// (<see cref="LaneEnd"/>). A lane matters when it tried a change (deploy, start, stop, refresh, remove: what the
    /// orchestrator lists may have changed; told while the connector still counts as in flight) or when the connector
    /// was planned again while it ran (its newest desired state waits for it; told once it no longer counts as in
    /// flight, with no changes: so a lane that did both is told twice); a lane of reports only does not, so a failing
    /// report is not retried in a loop but at the next cycle.
    /// </summary>
    public Action<LaneEnd>? LaneEnded { get; init; }

    /// <summary>Runs every group of the plan and waits for all of them (`composer plan` never executes; tests do).</summary>
    public async Task<ExecutionResult> ExecuteAsync(ReconcilePlan plan, CancellationToken cancellationToken)
    {
        var started = Start(plan, null, cancellationToken);
        await started.Completion.ConfigureAwait(false);
        return started.Result();
    }

    /// <summary>
    /// Starts a lane for each group of <paramref name="plan"/> that <paramref name="include"/> accepts (null: all) and
    /// whose connector has no lane in flight, and returns at once. <paramref name="cancellationToken"/> is the
    /// shutdown's abort: it cancels the lanes' steps in flight.
    /// </summary>
    public LaneBatch Start(ReconcilePlan plan, Func<ConnectorPlan, bool>? include, CancellationToken cancellationToken)
    {
        var batch = new LaneBatch();
        if (plan.NotPlanned is not null) return batch;
        // It holds every cycle while the platform lists such entries: said once per reason, repeats at debug.
        if (plan.CleanupSkipped is { } noRemoval)
        {
            _logger.Write(noRemoval == _lastNoRemoval ? LogLevel.Debug : LogLevel.Warn, "No workload is removed while the listing is incomplete",
                [("reason", noRemoval)]);
        }
        _lastNoRemoval = plan.CleanupSkipped;

        // States are created here, on the planning thread: the store itself is not thread-safe, each state is
        // written by the one lane that works on its connector.
        var lanes = new List<Task>();
        foreach (var group in plan.Connectors) Add(group);
        foreach (var group in plan.Cleanup) Add(group);
        _store.Prune(plan);
        batch.Completion = Task.WhenAll(lanes);
        return batch;

        void Add(ConnectorPlan group)
        {
            if (include is not null && !include(group)) return;
            var key = group.ConnectorId ?? NoticesLane;
            var state = group.ConnectorId is null ? null : _store.GetOrAdd(group.ConnectorId);
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Task lane;
            lock (_lanesGate)
            {
                if (_lanes.ContainsKey(key))
                {
                    if (group.Actions.Count > 0) _plannedWhileInFlight.Add(key);
                    batch.InFlight++;
                    return;
                }
                // Registered before it runs, so that it cannot end before it is known.
                lane = LaneAsync(key, group, state, batch.Tally, ready.Task, cancellationToken);
                _lanes.Add(key, lane);
            }
            if (group.DeferredUntil is not null) Interlocked.Increment(ref batch.Tally.Deferred);
            batch.Started++;
            lanes.Add(lane);
            ready.SetResult();
        }
    }

    /// <summary>Completes when every lane in flight has ended (shutdown: after the abort cancelled their steps).</summary>
    public Task DrainAsync()
    {
        lock (_lanesGate) return Task.WhenAll(_lanes.Values.ToList());
    }

    private async Task LaneAsync(string key, ConnectorPlan group, ConnectorState? state, Tally tally, Task ready, CancellationToken ct)
    {
        await ready.ConfigureAwait(false);
        var end = new LaneEnd(group.ConnectorId, [], Uncertain: false);
        try
        {
            await _slots.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                end = await RunGroupAsync(group, state, tally, ct).ConfigureAwait(false);
            }
            finally
            {
                _slots.Release();
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // Nobody awaits a lane but the shutdown: a bug here is logged, and the connector is planned again.
            _logger.Error("A connector's work ended unexpectedly", ("connector", group.Name), ("connector_id", group.ConnectorId),
                ("reason", $"{ex.GetType().Name}: {ex.Message}"));
            end = end with { Uncertain = true };
        }
        finally
        {
            // Told while the lane still counts as in flight, so that no plan in between takes the connector as free
            // with a view older than its work (the cycle first holds it, or asks for a listing).
            if (end.Tried) LaneEnded?.Invoke(end);
            bool wanted;
            lock (_lanesGate)
            {
                _lanes.Remove(key);
                wanted = _plannedWhileInFlight.Remove(key);
            }
            // Planned while it ran (perhaps by the re-plan the line above asked for): its newest desired state waits.
            if (wanted) LaneEnded?.Invoke(end with { Done = [], Uncertain = false });
        }
    }

    /// <summary>Runs a group's actions in order within the deadline; returns the changes done and whether one failed.</summary>
    private async Task<LaneEnd> RunGroupAsync(ConnectorPlan group, ConnectorState? state, Tally tally, CancellationToken ct)
    {
        var changeFailed = false;
        var done = new List<ConnectorAction>();
        List<ProblemKey>? reported = null;
        if (group.ReleaseHold && state?.RebootLoopHold is not null)
        {
            // Requested again or reconfigured: the connector may run; a new loop is detected and told again.
            state.RebootLoopHold = null;
            state.RebootLoopReported = false;
            _logger.Info("Reboot-loop hold released: the requested status or the configuration changed", ("connector", group.Name), ("connector_id", group.ConnectorId));
        }
        using var deadline = new CancellationTokenSource(_options.ConnectorDeadline, _time);
        using var lane = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
        foreach (var action in group.Actions)
        {
            if (action.IsMutating && changeFailed)
            {
                Interlocked.Increment(ref tally.Skipped);
                continue;
            }
            if (lane.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                // Past the deadline: what is left waits for the next plan.
                Interlocked.Increment(ref tally.Skipped);
                continue;
            }
            Failure? failure;
            try
            {
                failure = await RunAsync(action, group, state!, lane.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (deadline.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                // Nothing says what it waited on: the connector's own failure, its backoff kept.
                failure = Failure.Orchestrator($"not done within {_options.ConnectorDeadline.TotalSeconds:0} s (manager.connector_deadline); abandoned, tried again after a backoff");
            }
            catch (Exception ex) when (!(ex is OperationCanceledException && ct.IsCancellationRequested))
            {
                // The interfaces return failures as values; an exception is a bug, but it must not stop the others.
                failure = Failure.Orchestrator($"unexpected {ex.GetType().Name}: {ex.Message}");
            }

            if (action.IsMutating)
            {
                if (failure is null)
                {
                    done.Add(action);
                    Interlocked.Increment(ref tally.Succeeded);
                }
                else
                {
                    changeFailed = true;
                    Interlocked.Increment(ref tally.ChangeFailures);
                    await RecordChangeFailureAsync(action, group, state!, failure, ct).ConfigureAwait(false);
                }
                continue;
            }
            if (failure is null)
            {
                Interlocked.Increment(ref tally.Succeeded);
                if (action is ReportProblemAction problem) (reported ??= []).Add(problem.Key);
            }
            else
            {
                Interlocked.Increment(ref tally.ReportFailures);
                if (action is ReportHealthAction && state is not null) state.HealthOwed = true;
                _logger.Warn($"{action.Verb} failed, retried on a later cycle", ("connector", group.Name), ("connector_id", group.ConnectorId), ("reason", failure.Message));
            }
        }

        if (state is not null)
        {
            if (group.CurrentProblems is { } current) state.ReportedProblems = StillReported(current, state.ReportedProblems, reported);
            if (done.Count > 0 && !changeFailed)
            {
                state.Failures = 0;
                state.RetryAt = null;
                state.FailedAt = null;
                state.WaitsOn = null;
            }
        }
        if (group.CurrentNotices is { } notices) _store.SetNoticed(notices);
        return new LaneEnd(group.ConnectorId, done, changeFailed);
    }

    /// <summary>Runs one action; returns null on success, else why it failed (its message safe to log and to show on the platform).</summary>
    private async Task<Failure?> RunAsync(ConnectorAction action, ConnectorPlan group, ConnectorState state, CancellationToken ct)
    {
        switch (action)
        {
            case DeployAction deploy:
            {
                var connector = deploy.Connector;
                _logger.Info("Deploying connector", ("connector", connector.Name), ("connector_id", connector.Id),
                    ("workload", WorkloadNames.ContainerName(connector.Name)), ("image", connector.Image),
                    ("start", connector.RequestedStatus == RequestedStatus.Starting));
                return await _orchestrator.DeployAsync(connector, ct).ConfigureAwait(false);
            }
            case StartAction start:
                _logger.Info("Starting connector", ("connector", start.Connector.Name), ("connector_id", start.Connector.Id), ("workload", start.Workload.Name));
                return await _orchestrator.StartAsync(start.Workload, start.Connector, ct).ConfigureAwait(false);
            case StopAction stop:
                _logger.Info("Stopping connector", ("connector", stop.Connector.Name), ("connector_id", stop.Connector.Id), ("workload", stop.Workload.Name),
                    ("reason", stop.Reason));
                return await _orchestrator.StopAsync(stop.Workload, ct).ConfigureAwait(false);
            case RefreshAction refresh:
                _logger.Info("Refreshing connector", ("connector", refresh.Connector.Name), ("connector_id", refresh.Connector.Id),
                    ("workload", refresh.Workload.Name), ("hash", refresh.Connector.ContractHash));
                return await _orchestrator.RefreshAsync(refresh.Workload, refresh.Connector, ct).ConfigureAwait(false);
            case RemoveAction remove:
                _logger.Info(remove.Reason == RemoveReason.Orphan ? "Removing orphan workload" : "Removing workload with a stale name",
                    ("workload", remove.Workload.Name), ("connector_id", remove.Workload.ConnectorId));
                return await _orchestrator.RemoveAsync(remove.Workload, ct).ConfigureAwait(false);
            case ReportStatusAction status:
            {
                var error = await _platform.ReportStatusAsync(status.Connector.Id, status.Status, ct).ConfigureAwait(false);
                if (error is not null) return error;
                _logger.Info("Reported status", ("connector", status.Connector.Name), ("connector_id", status.Connector.Id),
                    ("status", ReportStatusAction.StatusWord(status.Status)));
                state.LastStatusReport = (status.Status, status.Connector.CurrentStatus);
                return null;
            }
            case ReportHealthAction health:
                return await ReportHealthAsync(health, state, ct).ConfigureAwait(false);
            case ReportLogsAction logs:
            {
                var batch = await _orchestrator.LogsAsync(logs.Workload, state.LogCursor, _options.Logs, ct).ConfigureAwait(false);
                if (!batch.IsSuccess) return Failure.Orchestrator($"reading logs: {batch.Failure.Message}");
                if (batch.Value.Lines.Count > 0)
                {
                    var error = await ReportLinesAsync(logs.Connector.Id, batch.Value.Lines, ct).ConfigureAwait(false);
                    if (error is not null) return error;
                    _logger.Debug("Reported logs", ("connector", logs.Connector.Name), ("connector_id", logs.Connector.Id), ("lines", batch.Value.Lines.Count));
                }
                state.LogCursor = batch.Value.LastTimestamp ?? state.LogCursor;
                state.LastLogs = _time.GetUtcNow();
                return null;
            }
            case ReportProblemAction problem:
                if (problem.ConnectorId is null)
                {
                    _logger.Write(problem.Severity, problem.Message, []);
                    return null;
                }
                _logger.Write(problem.Severity, problem.Message, [("connector", problem.ConnectorName), ("connector_id", problem.ConnectorId)]);
                return await ReportLinesAsync(problem.ConnectorId, [PlatformLine(problem.Message)], ct).ConfigureAwait(false);
            default:
                throw new InvalidOperationException($"unknown action {action.GetType().Name} in {group.Name}");
        }
    }

    /// <summary>
    /// Reads the workload's health and sends it, running or not. The platform requires a start time: a workload that
    /// never started reports when it was created. A reboot loop is more than 3 restarts while the orchestrator is
    /// restarting it or within 5 minutes of its last start (upstream's rule, plus restarts Kubernetes backs off for
    /// longer than that); it is told once per loop on the platform with the last exit code and the last lines, and
    /// with manager.reboot_loop.stop the connector is held stopped (the next plan stops it), reported in a loop
    /// while held.
    /// </summary>
    private async Task<Failure?> ReportHealthAsync(ReportHealthAction action, ConnectorState state, CancellationToken ct)
    {
        var (c, workload) = (action.Connector, action.Workload);
        WorkloadHealth health;
        if (workload.Health is { } watched)
        {
            // From the orchestrator's events: no call needed.
            health = watched;
        }
        else
        {
            var observed = await _orchestrator.HealthAsync(workload, ct).ConfigureAwait(false);
            if (!observed.IsSuccess) return Failure.Orchestrator($"reading health: {observed.Failure.Message}");
            health = observed.Value;
        }
        if (health.ExitCode is { } ended) state.LastExitCode = (workload.WorkloadId, ended);
        else if (state.LastExitCode is { } remembered && remembered.WorkloadId == workload.WorkloadId) health = health with { ExitCode = remembered.Code };
        var now = _time.GetUtcNow();
        if ((health.StartedAt ?? workload.CreatedAt) is not { } startedAt)
        {
            // Nothing the platform would accept; tried again at the next interval or state change.
            _logger.Debug("No start or creation time for the health report", ("connector", c.Name), ("connector_id", c.Id));
            state.LastHealth = new HealthReport(now, workload.WorkloadId, workload.State);
            state.HealthOwed = false;
            return null;
        }

        var held = state.RebootLoopHold is not null;
        var looping = health.RestartCount > RebootLoopRestarts && (health.Restarting || now - startedAt < RebootLoopWindow);
        if (looping && !held)
        {
            // Not a workload a new configuration replaces this cycle: the new one may well run.
            var stopping = _options.StopRebootLoops && !(workload.ConfigHash is { } hash && hash != c.ContractHash);
            if (stopping) state.RebootLoopHold = new RebootLoopHold(c.RequestedStatus, c.ContractHash);
            if (!state.RebootLoopReported) state.RebootLoopReported = await TellRebootLoopAsync(c, workload, health, startedAt, stopping, ct).ConfigureAwait(false);
        }
        else if (!looping && !held)
        {
            state.RebootLoopReported = false;
        }

        var report = new ConnectorHealth(health.RestartCount, startedAt, looping || held);
        var failed = await _platform.ReportHealthAsync(c.Id, report, ct).ConfigureAwait(false);
        if (failed is not null) return failed;
        _logger.Debug("Reported health", ("connector", c.Name), ("connector_id", c.Id), ("restart_count", report.RestartCount),
            ("reboot_loop", report.IsInRebootLoop));
        state.LastHealth = new HealthReport(now, workload.WorkloadId, workload.State);
        state.ReportedHealth = health;
        state.HealthOwed = false;
        return null;
    }

    /// <summary>Logs the reboot loop and tells it on the platform, with the exit code and the last lines; true once it reached the platform.</summary>
    private async Task<bool> TellRebootLoopAsync(DesiredConnector c, ObservedWorkload workload, WorkloadHealth health, DateTimeOffset startedAt, bool stopping,
        CancellationToken ct)
    {
        var exitCode = health.ExitCode is { } code ? code.ToString(CultureInfo.InvariantCulture) : "unknown";
        _logger.Warn("Reboot loop detected", ("connector", c.Name), ("connector_id", c.Id), ("restart_count", health.RestartCount), ("exit_code", exitCode),
            ("stopping", stopping));
        var message = $"{c.Name} is in a reboot loop: restarted {health.RestartCount} times, last exit code {exitCode}, last start at {Timestamp(startedAt)}";
        if (stopping)
        {
            message += "; Composer stops it (manager.reboot_loop.stop) and keeps it stopped until it is requested again (stop, then start) or its configuration changes";
        }
        var lines = new List<string>();
        // Read through the same bounds as every upload: only the last lines, each within manager.logs.max_line_bytes.
        var output = await _orchestrator.LogsAsync(workload, null, _options.Logs with { MaxLines = RebootLoopLines }, ct).ConfigureAwait(false);
        if (output.IsSuccess && output.Value.Lines.Count > 0)
        {
            lines.Add(PlatformLine(message + $"; its last {Math.Min(RebootLoopLines, output.Value.Lines.Count)} lines follow"));
            lines.AddRange(output.Value.Lines.TakeLast(RebootLoopLines).Select(line => PlatformLine("last output: " + line)));
        }
        else
        {
            lines.Add(PlatformLine(message + (output.IsSuccess ? "; it wrote nothing" : $"; its last lines could not be read ({output.Failure.Message})")));
        }
        var error = await ReportLinesAsync(c.Id, lines, ct).ConfigureAwait(false);
        if (error is null) return true;
        _logger.Warn("Could not tell the reboot loop to the platform, retried with the next health report", ("connector", c.Name), ("connector_id", c.Id),
            ("reason", error.Message));
        return false;
    }

    private async Task RecordChangeFailureAsync(ConnectorAction action, ConnectorPlan group, ConnectorState state, Failure failure, CancellationToken ct)
    {
        var reason = failure.Message;
        state.Failures++;
        double jitter;
        lock (_randomGate) jitter = _random.NextDouble();
        var delay = Backoff.Delay(state.Failures, _options.ExecuteSchedule, _options.MaxBackoff, jitter);
        var now = _time.GetUtcNow();
        state.RetryAt = now + delay;
        state.FailedAt = now;
        state.WaitsOn = failure.Outage;
        ComposerMetrics.ActionFailures.Add(1, new KeyValuePair<string, object?>("action", action.Verb));
        _logger.Error($"{action.Verb} failed", ("connector", group.Name), ("connector_id", group.ConnectorId), ("reason", reason),
            ("failures", state.Failures), ("retry_in", delay), ("waits_on", failure.Outage?.ToString()));

        // Tell the user on the platform, as one of the connector's log lines (an orphan has no connector to tell).
        var connector = action switch
        {
            DeployAction d => d.Connector,
            StartAction s => s.Connector,
            StopAction s => s.Connector,
            RefreshAction r => r.Connector,
            RemoveAction r => r.Connector,
            _ => null,
        };
        if (connector is null) return;
        var error = await ReportLinesAsync(connector.Id, [PlatformLine($"{action.Verb} failed: {reason}")], ct).ConfigureAwait(false);
        if (error is not null)
        {
            _logger.Warn("Could not report the failure to the platform", ("connector", connector.Name), ("connector_id", connector.Id), ("reason", error.Message));
        }
    }

    /// <summary>
    /// Cuts short the backoffs that waited on <paramref name="outage"/>, seen over at <paramref name="over"/> (the
    /// engine or API server answered a listing again, the events stream is back, the registry answered a check): a
    /// connector whose last change failed on it before then may try again one execute_schedule after that failure
    /// (what a first failure costs), or at once if that is past; never sooner. A failure after the outage was seen over
    /// keeps its backoff until the outage is seen over again, so a flapping engine or registry makes each connector try
    /// at most once per execute_schedule, within the global max_parallel. The connector's own failures (no
    /// <see cref="ConnectorState.WaitsOn"/>) are never touched: a crash loop stays backed off. Connectors with a lane
    /// in flight are left alone (their lane records its own outcome). Planning thread only, like the store. Returns the
    /// connectors whose backoff was cut short.
    /// </summary>
    internal List<string> CutShort(Outage outage, DateTimeOffset over)
    {
        var now = _time.GetUtcNow();
        var cut = new List<string>();
        foreach (var (id, state) in _store.All)
        {
            if (state.WaitsOn != outage || state.FailedAt is not { } failedAt || failedAt > over || state.RetryAt is not { } retryAt) continue;
            lock (_lanesGate)
            {
                if (_lanes.ContainsKey(id)) continue;
            }
            var earliest = failedAt + _options.ExecuteSchedule;
            if (earliest < now) earliest = now;
            if (earliest >= retryAt) continue;
            state.RetryAt = earliest;
            cut.Add(id);
            _logger.Info("Backoff cut short: what the connector's last failure waited on answers again", ("connector_id", id),
                ("waits_on", outage.ToString()), ("failures", state.Failures), ("retry_in", earliest - now));
        }
        return cut;
    }

    /// <summary>
    /// The one way lines reach the platform (the connector's own and Composer's): every secret known to the process
    /// masked, control characters other than tab stripped, each line within manager.logs.max_line_bytes. A connector's
    /// lines come from its orchestrator already so (and within max_lines and max_bytes); this holds for every line.
    /// </summary>
    private Task<Failure?> ReportLinesAsync(string connectorId, IReadOnlyList<string> lines, CancellationToken ct)
    {
        var safe = new string[lines.Count];
        for (var i = 0; i < lines.Count; i++) safe[i] = LogLineText.Clean(SecretScrubber.Shared.Scrub(lines[i]), _options.Logs.MaxLineBytes);
        return _platform.ReportLogsAsync(connectorId, safe, ct);
    }

    /// <summary>A connector log line from Composer, as the platform shows it: "&lt;timestamp&gt; composer: &lt;message&gt;".</summary>
    private string PlatformLine(string message) => $"{Timestamp(_time.GetUtcNow())} composer: {message}";

    private static string Timestamp(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>The current problems that were reported before or in this cycle.</summary>
    private static ProblemKey[] StillReported(ProblemKey[] current, IReadOnlyList<ProblemKey> before, List<ProblemKey>? now)
    {
        var kept = new List<ProblemKey>(current.Length);
        foreach (var key in current)
        {
            if (now?.Contains(key) == true || Contains(before, key)) kept.Add(key);
        }
        return [.. kept];

        static bool Contains(IReadOnlyList<ProblemKey> keys, ProblemKey key)
        {
            for (var i = 0; i < keys.Count; i++)
            {
                if (keys[i] == key) return true;
            }
            return false;
        }
    }

    internal sealed class Tally
    {
        public int Succeeded;
        public int ChangeFailures;
        public int ReportFailures;
        public int Skipped;
        public int Deferred;

        public ExecutionResult Result() => new(Succeeded, ChangeFailures, ReportFailures, Skipped, Deferred);
    }
}

/// <summary>What a lane did, when it ended.</summary>
/// <param name="ConnectorId">Its connector id (null for the group of notices).</param>
/// <param name="Done">The changes the orchestrator reported done, in order.</param>
/// <param name="Uncertain">
/// A change failed, ran past the deadline or ended unexpectedly: whether it happened in part is not known (a create
/// without its start, a stop that went through after the deadline), so nothing may be assumed about the workload.
/// </param>
public sealed record LaneEnd(string? ConnectorId, IReadOnlyList<ConnectorAction> Done, bool Uncertain)
{
    /// <summary>Whether it tried a change: what the orchestrator lists may have changed.</summary>
    public bool Tried => Done.Count > 0 || Uncertain;
}

/// <summary>The lanes one <see cref="ReconcileExecutor.Start"/> started, and the connectors it left alone because their lane was in flight.</summary>
public sealed class LaneBatch
{
    internal ReconcileExecutor.Tally Tally { get; } = new();

    /// <summary>Lanes started.</summary>
    public int Started { get; internal set; }

    /// <summary>Connectors with work planned but a lane still in flight: planned again once it ends.</summary>
    public int InFlight { get; internal set; }

    /// <summary>Completes when the lanes started have ended.</summary>
    public Task Completion { get; internal set; } = Task.CompletedTask;

    /// <summary>The counts of the lanes started, once <see cref="Completion"/> completed.</summary>
    public ExecutionResult Result() => Tally.Result();
}

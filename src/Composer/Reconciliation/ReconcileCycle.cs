using System.Diagnostics;
using Composer.Diagnostics;
using Composer.Images;

namespace Composer.Reconciliation;

/// <summary>What one cycle did.</summary>
/// <param name="NotRun">Why nothing was done (a listing failed, with its error), or null.</param>
/// <param name="Actions">Actions planned.</param>
public sealed record CycleReport(string? NotRun, int Actions, ExecutionResult Execution, TimeSpan Duration)
{
    /// <summary>Why the platform listing failed, or null.</summary>
    public string? PlatformFailure { get; init; }

    /// <summary>Why the orchestrator listing failed, or null.</summary>
    public string? OrchestratorFailure { get; init; }

    public override string ToString() => NotRun is not null
        ? $"nothing done: {NotRun}"
        : $"{Actions} action{(Actions == 1 ? "" : "s")}: {Execution.Succeeded} succeeded, {Execution.ChangeFailures} changes failed, "
            + $"{Execution.ReportFailures} reports failed, {Execution.Skipped} skipped, {Execution.Deferred} connectors in backoff, in {Duration.TotalMilliseconds:0} ms";
}

/// <summary>
/// One reconcile cycle of one platform: list the platform's connectors and the orchestrator's workloads (one call
/// each, side by side), plan, execute. The state store lives as long as the cycle object, across cycles.
/// </summary>
public sealed class ReconcileCycle
{
    private readonly IPlatformClient _platform;
    private readonly IOrchestrator _orchestrator;
    private readonly ImageResolver _images;
    private readonly ImageGate? _gate;
    private readonly ConnectorStateStore _store = new();
    private readonly ReconcileOptions _options;
    private readonly TimeProvider _time;
    private readonly ReconcileExecutor _executor;
    private readonly KeyValuePair<string, object?> _platformTag;

    /// <param name="images">Registry prefix resolution: each listed connector's image is resolved once, here.</param>
    /// <param name="gate">The platform's image policy, applied here to each resolved image (null: none).</param>
    public ReconcileCycle(IPlatformClient platform, IOrchestrator orchestrator, ImageResolver images, ReconcileOptions options,
        TimeProvider time, Logger logger, Random? random = null, ImageGate? gate = null)
    {
        _platform = platform;
        _orchestrator = orchestrator;
        _images = images;
        _gate = gate;
        _options = options;
        _time = time;
        _executor = new ReconcileExecutor(orchestrator, platform, _store, options, time, logger, random);
        _platformTag = new("platform", ConnectorLabels.PlatformValue(options.Platform));
    }

    /// <summary>Observes and plans, without executing anything or changing any state (`composer plan`).</summary>
    public async Task<ReconcilePlan> PlanAsync(CancellationToken cancellationToken) => (await ObserveAndPlanAsync(cancellationToken).ConfigureAwait(false)).Plan;


    /// <summary>Runs one cycle. Throws only <see cref="OperationCanceledException"/> (shutdown).</summary>
    public async Task<CycleReport> RunAsync(CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var (plan, failedListing, platformFailure, orchestratorFailure) = await ObserveAndPlanAsync(cancellationToken).ConfigureAwait(false);
        if (failedListing is not null)
        {
            ComposerMetrics.CycleErrors.Add(1, _platformTag, new KeyValuePair<string, object?>("reason", failedListing));
            return Done(new CycleReport(plan.NotPlanned, 0, ExecutionResult.None, _time.GetElapsedTime(started))
            {
                PlatformFailure = platformFailure?.ToString(),
                OrchestratorFailure = orchestratorFailure?.ToString(),
            });
        }
        var result = await _executor.ExecuteAsync(plan, cancellationToken).ConfigureAwait(false);
        return Done(new CycleReport(null, plan.ActionCount, result, _time.GetElapsedTime(started)));

        CycleReport Done(CycleReport report)
        {
            ComposerMetrics.CycleDuration.Record(report.Duration.TotalSeconds, _platformTag);
            return report;
        }
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
    /// with the refused image: a running approved version keeps running).
    /// </summary>
    private async Task<ConnectorListing> WithPullImagesAsync(ConnectorListing listing, CancellationToken ct)
    {
        var connectors = new List<DesiredConnector>(listing.Connectors.Count);
        foreach (var connector in listing.Connectors)
        {
            var image = _images.Resolve(connector.Image);
            if (!image.IsSuccess)
            {
                connectors.Add(connector with { Blocked = connector.Blocked ?? image.Failure.Message });
                continue;
            }
            if (_gate is null || connector.Blocked is not null)
            {
                connectors.Add(connector with { PullImage = image.Value });
                continue;
            }
            var verdict = await _gate.CheckAsync(image.Value, ct).ConfigureAwait(false);
            connectors.Add(verdict.Image is { } approved
                ? connector with { PullImage = approved }
                : connector with { Blocked = verdict.Refusal });
        }
        return listing with { Connectors = connectors };
    }

    /// <summary>The plan, and which listing failed ("platform_listing", "orchestrator_listing", or both as "listings") with the errors.</summary>
    private async Task<(ReconcilePlan Plan, string? FailedListing, Failure? PlatformFailure, Failure? OrchestratorFailure)> ObserveAndPlanAsync(CancellationToken ct)
    {
        var connectorsTask = _platform.ListConnectorsAsync(ct);
        var workloadsTask = _orchestrator.ListAsync(ct);
        // Both finish before anything is looked at: no call is left running, no exception unobserved.
        await Task.WhenAll(connectorsTask, workloadsTask).ConfigureAwait(false);
        var connectors = connectorsTask.Result;
        var workloads = workloadsTask.Result;
        if (connectors.IsSuccess && workloads.IsSuccess)
        {
            var listing = await WithPullImagesAsync(connectors.Value, ct).ConfigureAwait(false);
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

using System.Collections.Concurrent;
using Composer.Diagnostics;
using Composer.Orchestration;
using Composer.Reconciliation;

namespace Composer.Tests.Reconciliation;

/// <summary>
/// An orchestrator in memory for the executor tests: deploys add workloads, removes drop them, every call is
/// recorded ("deploy A", "start connector-a", …). <see cref="Behaviour"/> decides a call's outcome and may block it.
/// Workloads are built as the real orchestrators build them, with a <see cref="WorkloadBuilder"/>.
/// </summary>
internal sealed class FakeOrchestrator(WorkloadBuilder? workloads = null) : IOrchestrator
{
    private readonly WorkloadBuilder _builder = workloads ?? new WorkloadBuilder(ReconcileTestData.ManagerContext, Logger.Null);
    private readonly Lock _gate = new();
    private readonly List<ObservedWorkload> _workloads = [];
    private int _inFlight;

    public string Kind => "fake";

    /// <summary>Called for each change with its call text ("deploy A", "stop connector-a"); returns the error, or null for success.</summary>
    public Func<string, CancellationToken, Task<Failure?>> Behaviour { get; set; } = (_, _) => Task.FromResult<Failure?>(null);

    public Failure? ListError { get; set; }

    public ConcurrentQueue<string> Calls { get; } = new();

    public int ListCalls;

    /// <summary>The most changes that ran at the same time.</summary>
    public int MaxInFlight;

    public int InFlight => Volatile.Read(ref _inFlight);

    public WorkloadHealth Health { get; set; } = new(0, null);

    /// <summary>When set, health reads fail with this error.</summary>
    public Failure? HealthError { get; set; }

    /// <summary>Log lines returned to the next log fetch (then cleared), and the cursor each fetch asked for.</summary>
    public List<string> PendingLogLines { get; } = [];

    public ConcurrentQueue<(string Workload, DateTimeOffset? Since)> LogRequests { get; } = new();

    /// <summary>The limits each log read was given, in order.</summary>
    public ConcurrentQueue<LogLimits> LogLimitsAsked { get; } = new();

    /// <summary>The limits the last log read was given.</summary>
    public LogLimits? LastLogLimits => LogLimitsAsked.LastOrDefault();

    public DateTimeOffset LogTimestamp { get; set; }

    public void Add(ObservedWorkload workload)
    {
        lock (_gate) _workloads.Add(workload);
    }

    public IReadOnlyList<ObservedWorkload> Workloads
    {
        get { lock (_gate) return [.. _workloads]; }
    }

    public Task<Failure?> CheckAsync(CancellationToken cancellationToken) => Task.FromResult<Failure?>(null);

    public Task<Result<IReadOnlyList<ObservedWorkload>>> ListAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref ListCalls);
        return Task.FromResult(ListError is { } e ? e : Result<IReadOnlyList<ObservedWorkload>>.Success(Workloads));
    }

    public async Task<Failure?> DeployAsync(DesiredConnector connector, CancellationToken cancellationToken)
    {
        var workload = _builder.Build(connector);
        var error = await Change("deploy " + workload.ConnectorId, cancellationToken);
        if (error is null)
        {
            Add(new ObservedWorkload("wid-" + workload.Name, workload.Name, workload.Labels,
                workload.Start ? WorkloadState.Running : WorkloadState.Stopped, workload.Start ? "running" : "created", workload.ConfigHash));
        }
        return error;
    }

    public Task<Failure?> RefreshAsync(ObservedWorkload current, DesiredConnector connector, CancellationToken cancellationToken)
    {
        _builder.Build(connector);
        return Change("refresh " + current.Name, cancellationToken);
    }

    public async Task<Failure?> StartAsync(ObservedWorkload current, DesiredConnector connector, CancellationToken cancellationToken)
    {
        _builder.Build(connector);
        var error = await Change("start " + current.Name, cancellationToken);
        if (error is null) SetState(current.WorkloadId, WorkloadState.Running, "running");
        return error;
    }

    public async Task<Failure?> StopAsync(ObservedWorkload current, CancellationToken cancellationToken)
    {
        var error = await Change("stop " + current.Name, cancellationToken);
        if (error is null) SetState(current.WorkloadId, WorkloadState.Stopped, "exited");
        return error;
    }

    /// <summary>Changes a workload's state, as the engine would (a crash, a restart).</summary>
    public void SetState(string workloadId, WorkloadState state, string raw)
    {
        lock (_gate)
        {
            var i = _workloads.FindIndex(w => w.WorkloadId == workloadId);
            if (i >= 0) _workloads[i] = _workloads[i] with { State = state, RawState = raw };
        }
    }

    public async Task<Failure?> RemoveAsync(ObservedWorkload current, CancellationToken cancellationToken)
    {
        var error = await Change("remove " + current.Name, cancellationToken);
        if (error is null)
        {
            lock (_gate) _workloads.RemoveAll(w => w.WorkloadId == current.WorkloadId);
        }
        return error;
    }

    public Task<Result<LogBatch>> LogsAsync(ObservedWorkload current, DateTimeOffset? since, LogLimits limits, CancellationToken cancellationToken)
    {
        LogRequests.Enqueue((current.Name, since));
        LogLimitsAsked.Enqueue(limits);
        lock (_gate)
        {
            var lines = PendingLogLines.ToArray();
            PendingLogLines.Clear();
            return Task.FromResult(Result<LogBatch>.Success(new LogBatch(lines, lines.Length == 0 ? null : LogTimestamp)));
        }
    }

    public int HealthCalls;

    public Task<Result<WorkloadHealth>> HealthAsync(ObservedWorkload current, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref HealthCalls);
        return Task.FromResult(HealthError is { } e ? e : Result<WorkloadHealth>.Success(Health));
    }

    private async Task<Failure?> Change(string call, CancellationToken cancellationToken)
    {
        Calls.Enqueue(call);
        var now = Interlocked.Increment(ref _inFlight);
        int seen;
        while ((seen = Volatile.Read(ref MaxInFlight)) < now && Interlocked.CompareExchange(ref MaxInFlight, now, seen) != seen)
        {
        }
        try
        {
            return await Behaviour(call, cancellationToken);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

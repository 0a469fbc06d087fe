using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Composer.Diagnostics;
using Composer.Reconciliation;

namespace Composer.Tests.Reconciliation;

/// <summary>
/// <see cref="FakeOrchestrator"/> with an event stream the test writes (<see cref="Send"/>): each <see cref="WatchAsync"/>
/// reads the changes sent from then on until a <see cref="WatchLost"/> (then it ends) or cancellation. With
/// <see cref="Echo"/>, each change done is followed by its event, as an engine's stream tells it.
/// </summary>
internal sealed class FakeWatchedOrchestrator(FakeOrchestrator inner) : IOrchestrator, IWorkloadWatch
{
    private Channel<WorkloadChange> _changes = Channel.CreateUnbounded<WorkloadChange>();

    public FakeOrchestrator Inner => inner;

    public int Watches;

    public string Kind => inner.Kind;

    /// <summary>When set, each change done sends the workload's snapshot after it (started at <see cref="ReconcileTestData.Now"/>), or its removal.</summary>
    public bool Echo { get; set; }

    public void Send(WorkloadChange change) => _changes.Writer.TryWrite(change);

    public async IAsyncEnumerable<WorkloadChange> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Watches);
        var reader = _changes.Reader;
        while (true)
        {
            var change = await reader.ReadAsync(cancellationToken);
            yield return change;
            if (change is WatchLost) yield break;
        }
    }

    public Task<Failure?> CheckAsync(CancellationToken cancellationToken) => inner.CheckAsync(cancellationToken);
    public Task<Result<IReadOnlyList<ObservedWorkload>>> ListAsync(CancellationToken cancellationToken) => inner.ListAsync(cancellationToken);
    public async Task<Failure?> DeployAsync(DesiredConnector connector, CancellationToken cancellationToken) =>
        Echoed(await inner.DeployAsync(connector, cancellationToken), "wid-" + WorkloadNames.ContainerName(connector.Name));
    public async Task<Failure?> RefreshAsync(ObservedWorkload current, DesiredConnector connector, CancellationToken cancellationToken) =>
        Echoed(await inner.RefreshAsync(current, connector, cancellationToken), current.WorkloadId);
    public async Task<Failure?> StartAsync(ObservedWorkload current, DesiredConnector connector, CancellationToken cancellationToken) =>
        Echoed(await inner.StartAsync(current, connector, cancellationToken), current.WorkloadId);
    public async Task<Failure?> StopAsync(ObservedWorkload current, CancellationToken cancellationToken) =>
        Echoed(await inner.StopAsync(current, cancellationToken), current.WorkloadId);
    public async Task<Failure?> RemoveAsync(ObservedWorkload current, CancellationToken cancellationToken) =>
        Echoed(await inner.RemoveAsync(current, cancellationToken), current.WorkloadId);
    public Task<Result<LogBatch>> LogsAsync(ObservedWorkload current, DateTimeOffset? since, LogLimits limits, CancellationToken cancellationToken) =>
        inner.LogsAsync(current, since, limits, cancellationToken);
    public Task<Result<WorkloadHealth>> HealthAsync(ObservedWorkload current, CancellationToken cancellationToken) => inner.HealthAsync(current, cancellationToken);
    public ValueTask DisposeAsync() => inner.DisposeAsync();

    private Failure? Echoed(Failure? error, string workloadId)
    {
        if (error is not null || !Echo) return error;
        var now = inner.Workloads.FirstOrDefault(w => w.WorkloadId == workloadId);
        Send(now is null
            ? new WorkloadRemoved(workloadId)
            : new WorkloadObserved(now with { Health = new WorkloadHealth(0, now.RawState == "created" ? null : ReconcileTestData.Now) }));
        return null;
    }
}

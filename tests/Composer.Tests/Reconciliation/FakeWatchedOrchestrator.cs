using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Composer.Diagnostics;
using Composer.Reconciliation;

namespace Composer.Tests.Reconciliation;

/// <summary>
/// <see cref="FakeOrchestrator"/> with an event stream the test writes (<see cref="Send"/>): each <see cref="WatchAsync"/>
/// reads the changes sent from then on until a <see cref="WatchLost"/> (then it ends) or cancellation.
/// </summary>
internal sealed class FakeWatchedOrchestrator(FakeOrchestrator inner) : IOrchestrator, IWorkloadWatch
{
    private Channel<WorkloadChange> _changes = Channel.CreateUnbounded<WorkloadChange>();

    public FakeOrchestrator Inner => inner;

    public int Watches;

    public string Kind => inner.Kind;

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
    public Task<Failure?> DeployAsync(DesiredConnector connector, CancellationToken cancellationToken) => inner.DeployAsync(connector, cancellationToken);
    public Task<Failure?> RefreshAsync(ObservedWorkload current, DesiredConnector connector, CancellationToken cancellationToken) =>
        inner.RefreshAsync(current, connector, cancellationToken);
    public Task<Failure?> StartAsync(ObservedWorkload current, DesiredConnector connector, CancellationToken cancellationToken) =>
        inner.StartAsync(current, connector, cancellationToken);
    public Task<Failure?> StopAsync(ObservedWorkload current, CancellationToken cancellationToken) => inner.StopAsync(current, cancellationToken);
    public Task<Failure?> RemoveAsync(ObservedWorkload current, CancellationToken cancellationToken) => inner.RemoveAsync(current, cancellationToken);
    public Task<Result<LogBatch>> LogsAsync(ObservedWorkload current, DateTimeOffset? since, LogLimits limits, CancellationToken cancellationToken) =>
        inner.LogsAsync(current, since, limits, cancellationToken);
    public Task<Result<WorkloadHealth>> HealthAsync(ObservedWorkload current, CancellationToken cancellationToken) => inner.HealthAsync(current, cancellationToken);
    public ValueTask DisposeAsync() => inner.DisposeAsync();
}

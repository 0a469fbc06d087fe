using Composer.Diagnostics;

namespace Composer.Reconciliation;

/// <summary>
/// The event port: an orchestrator that can tell changes of this manager's workloads as they happen implements it
/// besides <see cref="IOrchestrator"/> (Docker's /events, a Kubernetes watch, ...). The core keeps a cache of the
/// workloads from it (list, then watch; relist after any gap), re-plans a connector as soon as its workload changes,
/// and plans idle cycles from the cache without calling the orchestrator. An orchestrator without it is polled: one
/// <see cref="IOrchestrator.ListAsync"/> per cycle.
/// </summary>
public interface IWorkloadWatch
{
    /// <summary>
    /// Streams the changes of the workloads <see cref="IOrchestrator.ListAsync"/> lists (labelled
    /// opencti-manager=&lt;manager id&gt;, every platform), over one connection, until it is lost or
    /// <paramref name="cancellationToken"/> is cancelled.
    /// <para>The contract, which the core relies on:</para>
    /// <list type="number">
    /// <item>The first item is <see cref="WatchStarted"/>, yielded once the stream is established: every change that
    /// happens after it is yielded. The core lists the workloads after it (so nothing falls between the list and the
    /// watch) and applies the changes that follow on top of that list.</item>
    /// <item>Changes of one workload are yielded in the order they happened. Each <see cref="WorkloadObserved"/> is a
    /// full snapshot taken after the event it reports (never the event's own partial view): the
    /// <see cref="ObservedWorkload"/> exactly as <see cref="IOrchestrator.ListAsync"/> would give it (id, name, all
    /// labels, state, raw state, config hash, creation time) with <see cref="ObservedWorkload.Health"/> set (restart
    /// count, start time, exit code, restarting). So the last snapshot of a workload is its newest known state, and
    /// applying snapshots in order converges. A workload that is gone by the time its snapshot is taken is yielded
    /// as <see cref="WorkloadRemoved"/>.</item>
    /// <item><see cref="WorkloadRemoved"/>: the workload no longer exists (destroyed, deleted).</item>
    /// <item><see cref="WatchGap"/>: changes may have been missed while the stream goes on (the source lagged or
    /// overflowed, a Kubernetes watch answered 410 Gone and was re-established, an event could not be read, a
    /// snapshot could not be taken). The core relists. When in doubt, yield a gap: a relist costs one list call, a
    /// missed change costs a connector left wrong until the next full relist.</item>
    /// <item><see cref="WatchLost"/>, then the end of the enumeration: the connection is gone (the engine went away,
    /// the stream ended, the source gave up). The core falls back to polling, waits a backoff and calls
    /// <see cref="WatchAsync"/> again; reconnecting is the core's job, never the source's. Failures are items, never
    /// exceptions: only <paramref name="cancellationToken"/> ends the enumeration with
    /// <see cref="OperationCanceledException"/> (or by completing), promptly, the connection closed.</item>
    /// </list>
    /// Nothing is buffered without bound: a source that cannot keep up yields a gap and drops what it held.
    /// </summary>
    IAsyncEnumerable<WorkloadChange> WatchAsync(CancellationToken cancellationToken);
}

/// <summary>One item of <see cref="IWorkloadWatch.WatchAsync"/>.</summary>
public abstract record WorkloadChange;

/// <summary>The stream is established: every change from now on is yielded; the core relists.</summary>
public sealed record WatchStarted : WorkloadChange;

/// <summary>A workload was created or changed: its full snapshot, <see cref="ObservedWorkload.Health"/> set.</summary>
public sealed record WorkloadObserved(ObservedWorkload Workload) : WorkloadChange;

/// <summary>The workload with this id no longer exists.</summary>
public sealed record WorkloadRemoved(string WorkloadId) : WorkloadChange;

/// <summary>Changes may have been missed (<paramref name="Reason"/> says why, for the log); the stream goes on; the core relists.</summary>
public sealed record WatchGap(string Reason) : WorkloadChange;

/// <summary>The stream is gone (the last item): the core polls until it watches again.</summary>
public sealed record WatchLost(Failure Reason) : WorkloadChange;

using System.Threading.Channels;
using Composer.Reconciliation;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Orchestration.Kubernetes;

/// <summary>
/// The Kubernetes event source (KubernetesOrchestrator as IWorkloadWatch) against the stand-in's streaming watches:
/// list then watch deployments and pods from the lists' resourceVersion; each change a full snapshot with the pod's
/// health; a watch that ends is resumed from the last resourceVersion without a list; a 410 Gone is listed again and
/// yields a gap; a watch that cannot be opened again is lost.
/// </summary>
[ClassDataSource<HtpasswdRegistryFixture>(Shared = SharedType.PerTestSession)]
public class KubernetesWatchTests(HtpasswdRegistryFixture registry)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    /// <summary>The changes of one WatchAsync, read in the background.</summary>
    private sealed class Changes : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Channel<WorkloadChange> _changes = Channel.CreateUnbounded<WorkloadChange>();
        private readonly Task _reading;

        public Changes(IWorkloadWatch watch)
        {
            _reading = Task.Run(async () =>
            {
                try
                {
                    await foreach (var change in watch.WatchAsync(_stop.Token)) await _changes.Writer.WriteAsync(change);
                }
                catch (OperationCanceledException)
                {
                }
                _changes.Writer.TryComplete();
            });
        }

        public List<WorkloadChange> Seen { get; } = [];

        /// <summary>The next change that matches (those before it are kept in <see cref="Seen"/>).</summary>
        public async Task<T> NextAsync<T>(Func<T, bool>? match = null) where T : WorkloadChange
        {
            using var timeout = new CancellationTokenSource(Wait);
            while (true)
            {
                WorkloadChange change;
                try
                {
                    change = await _changes.Reader.ReadAsync(timeout.Token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
                {
                    throw new TimeoutException($"no {typeof(T).Name} within {Wait.TotalSeconds} s; seen: {string.Join(", ", Seen)}");
                }
                Seen.Add(change);
                if (change is T wanted && (match is null || match(wanted))) return wanted;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _reading;
            _stop.Dispose();
        }
    }

    private static int Lists(KubernetesHarness h) => h.Api.ComposerRequests.Count(r => r.Verb == "list");

    private static List<KubernetesRequest> Watches(KubernetesHarness h) => h.Api.ComposerRequests.Where(r => r.Verb == "watch").ToList();

    [Test]
    public async Task Changes_come_as_snapshots_with_health_and_a_deletion_as_a_removal()
    {
        await using var h = await KubernetesHarness.StartAsync(registry);
        await using var changes = new Changes(h.Orchestrator);
        await changes.NextAsync<WatchStarted>();
        // Listed once each, then watched from the lists' resourceVersion with bookmarks.
        await Assert.That(Lists(h)).IsEqualTo(2);
        var watches = Watches(h);
        await Assert.That(watches.Count).IsEqualTo(2);
        await Assert.That(watches.All(w => w.Query.Contains("watch=1", StringComparison.Ordinal) && w.Query.Contains("allowWatchBookmarks=true", StringComparison.Ordinal)
            && w.Query.Contains("resourceVersion=", StringComparison.Ordinal) && w.Query.Contains("labelSelector=opencti-manager%3D" + h.ManagerId, StringComparison.Ordinal))).IsTrue();

        var workload = h.Workload("connector-watched");
        await Assert.That((await h.Orchestrator.DeployAsync(workload, CancellationToken.None))?.Message).IsNull();
        var running = await changes.NextAsync<WorkloadObserved>(o => o.Workload.Name == "connector-watched" && o.Workload.State == WorkloadState.Running);
        var listed = await h.ObservedAsync("connector-watched");
        // Exactly what a listing shows, plus the pod's health.
        await Assert.That(running.Workload with { Health = null, Labels = listed.Labels }).IsEqualTo(listed);
        await Assert.That(running.Workload.Labels).IsEquivalentTo(listed.Labels);
        await Assert.That(running.Workload.ConfigHash).IsEqualTo("hash-1");
        await Assert.That(running.Workload.Health!.RestartCount).IsEqualTo(0);

        var listsBefore = Lists(h);
        var crashed = DateTimeOffset.UtcNow;
        h.Api.SetContainerState(h.Namespace, "connector-watched", 3, crashed, waitingReason: "CrashLoopBackOff");
        var crash = await changes.NextAsync<WorkloadObserved>(o => o.Workload.Health?.RestartCount == 3);
        await Assert.That(crash.Workload.State).IsEqualTo(WorkloadState.Restarting);
        await Assert.That(crash.Workload.RawState).IsEqualTo("0/1 CrashLoopBackOff");
        await Assert.That(crash.Workload.Health!.Restarting).IsTrue();

        await Assert.That((await h.Orchestrator.RemoveAsync(listed, CancellationToken.None))?.Message).IsNull();
        var removed = await changes.NextAsync<WorkloadRemoved>();
        await Assert.That(removed.WorkloadId).IsEqualTo(listed.WorkloadId);
        // Nothing of it was listed: the events told it all.
        await Assert.That(Lists(h)).IsEqualTo(listsBefore);
        await Assert.That(changes.Seen.OfType<WatchGap>()).IsEmpty();
    }

    [Test]
    public async Task A_watch_that_ends_is_resumed_from_the_last_resource_version_without_a_list()
    {
        await using var h = await KubernetesHarness.StartAsync(registry);
        await using var changes = new Changes(h.Orchestrator);
        await changes.NextAsync<WatchStarted>();
        await Assert.That((await h.Orchestrator.DeployAsync(h.Workload("connector-resumed"), CancellationToken.None))?.Message).IsNull();
        await changes.NextAsync<WorkloadObserved>(o => o.Workload.State == WorkloadState.Running);
        var lists = Lists(h);

        h.Api.CloseWatches();
        await WaitUntilAsync(() => h.Api.OpenWatches == 2, "both watches open again");
        // Changed while no watch was open: the resumed watch replays it.
        h.Api.SetContainerState(h.Namespace, "connector-resumed", 1, DateTimeOffset.UtcNow);
        await changes.NextAsync<WorkloadObserved>(o => o.Workload.Health?.RestartCount == 1);
        var resumed = Watches(h).Skip(2).ToList();
        await Assert.That(resumed.Count).IsEqualTo(2);
        await Assert.That(resumed.All(w => !w.Query.Contains("resourceVersion=0&", StringComparison.Ordinal) && w.Status == 200)).IsTrue();
        await Assert.That(Lists(h)).IsEqualTo(lists);
        await Assert.That(changes.Seen.OfType<WatchGap>()).IsEmpty();
    }

    [Test]
    public async Task A_410_Gone_is_listed_and_watched_again_and_yields_a_gap()
    {
        await using var h = await KubernetesHarness.StartAsync(registry);
        await using var changes = new Changes(h.Orchestrator);
        await changes.NextAsync<WatchStarted>();
        await Assert.That((await h.Orchestrator.DeployAsync(h.Workload("connector-expired"), CancellationToken.None))?.Message).IsNull();
        await changes.NextAsync<WorkloadObserved>(o => o.Workload.State == WorkloadState.Running);
        var lists = Lists(h);

        h.Api.ExpireWatches();
        var gap = await changes.NextAsync<WatchGap>();
        await Assert.That(gap.Reason).Contains("410 Gone");
        await Assert.That(Lists(h)).IsGreaterThan(lists);
        // Both watches expired (one gap or two): once both are open again, a change comes as an event.
        await WaitUntilAsync(() => h.Api.OpenWatches == 2, "both watches open again");
        // Watching again: a change after the gap comes as an event.
        h.Api.SetContainerState(h.Namespace, "connector-expired", 2, DateTimeOffset.UtcNow);
        await changes.NextAsync<WorkloadObserved>(o => o.Workload.Health?.RestartCount == 2);
        await Assert.That(changes.Seen.OfType<WatchLost>()).IsEmpty();
    }

    [Test]
    public async Task A_watch_that_cannot_be_opened_again_is_lost()
    {
        await using var h = await KubernetesHarness.StartAsync(registry);
        await using var changes = new Changes(h.Orchestrator);
        await changes.NextAsync<WatchStarted>();
        h.Api.RefuseWatches = true;
        h.Api.CloseWatches();
        var lost = await changes.NextAsync<WatchLost>();
        await Assert.That(lost.Reason.Message).Contains("503");
        await Assert.That(lost.Reason.Message).Contains($"in namespace {h.Namespace}");
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow + Wait;
        while (!condition())
        {
            if (DateTime.UtcNow > until) throw new TimeoutException(what);
            await Task.Delay(50);
        }
    }
}


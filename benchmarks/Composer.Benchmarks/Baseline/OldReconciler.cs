using System.Runtime.InteropServices;
using Composer.Diagnostics;
using Composer.Reconciliation;

namespace Composer.Benchmarks.Baseline;

/// <summary>
/// The planner as it was before issue 15 (commit 3cdbc90, src/Composer/Reconciliation/Reconciler.cs), kept here only
/// to be measured beside the rewritten one in the same run. Adapted to today's types and nothing else: health state
/// read from ConnectorState.LastHealth, the plan built with the listed ids, and the workload name computed each plan
/// (the per-state name cache it used is gone). Not used by the product.
/// </summary>
public static class OldReconciler
{
    public static ReconcilePlan Plan(
        ReconcileOptions options,
        ConnectorListing? listing,
        IReadOnlyList<ObservedWorkload>? workloads,
        ConnectorStateStore store,
        DateTimeOffset now)
    {
        // Never act on a partial view: a failed listing is not an empty one.
        if (listing is null) return ReconcilePlan.Unplanned(options.Platform, "the platform's connector listing failed");
        if (workloads is null) return ReconcilePlan.Unplanned(options.Platform, "the orchestrator's workload listing failed");
        return new Planner(options, listing, workloads, store, now).Run();
    }

    private enum Ownership : byte
    {
        /// <summary>Another manager's or another platform's: only its name matters (no two workloads can share one).</summary>
        Foreign,

        /// <summary>This platform's, with a connector id.</summary>
        Own,

        /// <summary>No opencti-platform label while another platform is enabled: left alone, reported once.</summary>
        Unlabelled,

        /// <summary>This platform's (or unlabelled) but without an opencti-connector-id label: never removed, reported once.</summary>
        NoConnectorId,
    }

    /// <summary>What a workload name maps to: the workload carrying it and the listed connector that may use it (indexes + 1; 0 for none).</summary>
    private struct NameSlot
    {
        public int Workload;
        public int Claimant;
    }

    private sealed class Planner
    {
        private readonly ReconcileOptions _options;
        private readonly ConnectorListing _listing;
        private readonly IReadOnlyList<ObservedWorkload> _workloads;
        private readonly ConnectorStateStore _store;
        private readonly DateTimeOffset _now;
        private readonly string _platformLabel;
        private readonly bool _complete;

        // Per workload.
        private readonly Ownership[] _ownership;
        private readonly string?[] _ownerIds;

        // Per listed connector.
        private readonly IReadOnlyList<DesiredConnector> _connectors;
        private readonly Dictionary<string, int> _byId;
        private readonly string[] _names;
        private readonly ConnectorState?[] _states;
        private readonly int[] _found;
        private readonly Dictionary<string, NameSlot> _slots;
        private bool _contested;
        private bool[]? _ignored;
        private List<(int First, int Ignored)>? _duplicateIds;
        private List<int>?[]? _stale;
        private HashSet<string>? _skippedIds;

        // Reused for every connector; copied out only into a group that is kept.
        private readonly List<ConnectorAction> _actions = new(8);
        private readonly List<ConnectorAction> _changes = new(4);
        private readonly List<ProblemKey> _problems = new(4);

        public Planner(ReconcileOptions options, ConnectorListing listing, IReadOnlyList<ObservedWorkload> workloads, ConnectorStateStore store, DateTimeOffset now)
        {
            _options = options;
            _listing = listing;
            _workloads = workloads;
            _store = store;
            _now = now;
            _platformLabel = ConnectorLabels.PlatformValue(options.Platform);
            _complete = listing.IsComplete;
            _connectors = listing.Connectors;
            var n = _connectors.Count;
            var m = workloads.Count;
            _ownership = new Ownership[m];
            _ownerIds = new string?[m];
            _byId = new Dictionary<string, int>(n, StringComparer.Ordinal);
            _names = new string[n];
            _states = new ConnectorState?[n];
            _found = new int[n];
            // In the steady state every connector's name is its workload's: max(n, m) entries, no growth.
            _slots = new Dictionary<string, NameSlot>(Math.Max(n, m), StringComparer.Ordinal);
        }

        public ReconcilePlan Run()
        {
            IndexWorkloads();
            IndexConnectors();
            foreach (var skipped in _listing.Skipped)
            {
                if (skipped.Id is not null) (_skippedIds ??= new HashSet<string>(StringComparer.Ordinal)).Add(skipped.Id);
            }
            var orphans = FindStaleAndOrphans(out var notices);

            List<ConnectorPlan>? groups = null;
            for (var i = 0; i < _connectors.Count; i++)
            {
                if (_ignored?[i] == true) continue;
                if (PlanConnector(i) is { } group) (groups ??= []).Add(group);
            }
            PlanSkipped(ref groups);

            var cleanup = PlanOrphans(orphans);
            if (PlanNotices(notices) is { } noticeGroup) (cleanup ??= []).Add(noticeGroup);
            var listed = new HashSet<string>(_byId.Keys, StringComparer.Ordinal);
            if (_skippedIds is not null) listed.UnionWith(_skippedIds);
            return new ReconcilePlan(_options.Platform, groups ?? (IReadOnlyList<ConnectorPlan>)[], cleanup ?? (IReadOnlyList<ConnectorPlan>)[],
                _complete ? null : IncompleteReason(), listed);
        }

        private void IndexWorkloads()
        {
            for (var k = 0; k < _workloads.Count; k++)
            {
                var w = _workloads[k];
                // Every workload's name counts: the orchestrator cannot create a second workload of that name.
                ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_slots, w.Name, out _);
                if (slot.Workload == 0) slot.Workload = k + 1;

                var ours = w.Labels.TryGetValue(ConnectorLabels.Manager, out var manager) && manager == _options.ManagerId;
                var platform = w.PlatformLabel;
                if (!ours || (platform is not null && platform != _platformLabel))
                {
                    _ownership[k] = Ownership.Foreign;
                }
                else if (platform is null && _options.OtherPlatformsEnabled)
                {
                    // Created before the label existed: it may be the other platform's. Upstream removes such workloads
                    // from every platform loop whose listing lacks them, which is wrong with two platforms.
                    _ownership[k] = Ownership.Unlabelled;
                }
                else if (w.ConnectorId is { } id)
                {
                    _ownership[k] = Ownership.Own;
                    _ownerIds[k] = id;
                }
                else
                {
                    _ownership[k] = Ownership.NoConnectorId;
                }
            }
        }

        private void IndexConnectors()
        {
            for (var i = 0; i < _connectors.Count; i++)
            {
                var c = _connectors[i];
                if (!_byId.TryAdd(c.Id, i))
                {
                    (_ignored ??= new bool[_connectors.Count])[i] = true;
                    (_duplicateIds ??= []).Add((_byId[c.Id], i));
                    continue;
                }
                var state = _store.Find(c.Id);
                _states[i] = state;
                var name = WorkloadNames.ContainerName(c.Name);
                _names[i] = name;
                ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_slots, name, out _);
                _found[i] = slot.Workload;
                if (slot.Claimant == 0)
                {
                    slot.Claimant = i + 1;
                }
                else
                {
                    // Two connectors, one workload name: the connector whose workload already carries it keeps it,
                    // else the first listed. The other is not deployed (it would take over the first one's workload).
                    _contested = true;
                    if (slot.Workload > 0 && _ownerIds[slot.Workload - 1] == c.Id) slot.Claimant = i + 1;
                }
            }
        }

        /// <summary>Stale names go to their connector (to be removed before its deploy); orphans are returned grouped by connector id.</summary>
        private List<(string Id, List<int> Workloads)>? FindStaleAndOrphans(out List<int>? notices)
        {
            notices = null;
            List<(string Id, List<int> Workloads)>? orphans = null;
            for (var k = 0; k < _workloads.Count; k++)
            {
                switch (_ownership[k])
                {
                    case Ownership.Foreign:
                        continue;
                    case Ownership.Unlabelled or Ownership.NoConnectorId:
                        (notices ??= []).Add(k);
                        continue;
                }
                var id = _ownerIds[k]!;
                if (_byId.TryGetValue(id, out var i))
                {
                    if (!string.Equals(_workloads[k].Name, _names[i], StringComparison.Ordinal))
                    {
                        ((_stale ??= new List<int>?[_connectors.Count])[i] ??= []).Add(k);
                    }
                }
                else if (_skippedIds?.Contains(id) != true)
                {
                    orphans ??= [];
                    var group = orphans.FindIndex(o => o.Id == id);
                    if (group < 0) orphans.Add((id, [k]));
                    else orphans[group].Workloads.Add(k);
                }
            }
            return orphans;
        }

        private ConnectorPlan? PlanConnector(int i)
        {
            var c = _connectors[i];
            var state = _states[i];
            var name = _names[i];
            var blocked = c.Blocked is not null;
            _actions.Clear();
            _changes.Clear();
            _problems.Clear();
            List<ConnectorAction>? newProblems = null;

            if (blocked)
            {
                var key = new ProblemKey(ProblemKind.Blocked, c.Blocked);
                if (AddProblem(state, key)) (newProblems ??= []).Add(Problem(key, LogLevel.Error, c, $"{c} is not deployed, started or refreshed: {c.Blocked}"));
            }
            if (_duplicateIds is not null)
            {
                foreach (var (first, ignored) in _duplicateIds)
                {
                    if (first != i) continue;
                    var key = new ProblemKey(ProblemKind.DuplicateId, null);
                    if (!_problems.Contains(key) && AddProblem(state, key))
                    {
                        (newProblems ??= []).Add(Problem(key, LogLevel.Error, c,
                            $"connector id {c.Id} is listed more than once (also as '{_connectors[ignored].Name}'): only the first entry, {c.Name}, is managed"));
                    }
                }
            }

            ObservedWorkload? own = null;
            var claimant = ClaimantOf(i);
            var found = _found[i] > 0 ? _workloads[_found[i] - 1] : null;
            // Whether the connector can have its workload under its name, this cycle or the next one.
            var nameUsable = claimant == i;
            if (claimant != i)
            {
                var key = new ProblemKey(ProblemKind.DuplicateName, _connectors[claimant].Id);
                if (AddProblem(state, key))
                {
                    (newProblems ??= []).Add(Problem(key, LogLevel.Error, c,
                        $"{c} has the same workload name '{name}' as {_connectors[claimant]}: it is not deployed; rename one of them"));
                }
            }
            else if (found is not null)
            {
                if (_ownerIds[_found[i] - 1] == c.Id)
                {
                    own = found;
                }
                else if (!RemovedThisCycle(_found[i] - 1))
                {
                    nameUsable = false;
                    // Never deployed over, never changed: it is another connector's (or platform's) workload.
                    var key = new ProblemKey(ProblemKind.NameCollision, found.WorkloadId);
                    if (AddProblem(state, key))
                    {
                        (newProblems ??= []).Add(Problem(key, LogLevel.Error, c,
                            $"the workload name '{name}' of {c} is taken by {OwnerOf(_found[i] - 1)}: it is not deployed; rename one of the connectors"));
                    }
                }
                // Else it is an orphan or another connector's stale name, removed this cycle: deploy on the next one.
            }

            // A renamed connector's old workload goes only when the new one can replace it: a rename to a taken
            // name must not leave the connector without any workload.
            if (_complete && !blocked && nameUsable && _stale?[i] is { } stale)
            {
                foreach (var k in stale) _changes.Add(new RemoveAction(_workloads[k], RemoveReason.StaleName, c));
            }

            if (own is not null)
            {
                PlanExisting(c, state, own, blocked, ref newProblems);
            }
            else if (found is null && nameUsable && !blocked)
            {
                _changes.Add(new DeployAction(c));
            }

            DateTimeOffset? deferred = null;
            if (_changes.Count > 0 && state is not null && state.InBackoff(_now))
            {
                deferred = state.RetryAt;
                _changes.Clear();
            }

            var running = own?.State == WorkloadState.Running;
            var problemsChanged = newProblems is not null || (state?.ReportedProblems.Count ?? 0) != _problems.Count;
            if (newProblems is null && _actions.Count == 0 && _changes.Count == 0 && deferred is null && !problemsChanged
                && (state?.LastHealth?.State == WorkloadState.Running) == running)
            {
                return null; // nothing to do, nothing to record: no allocation for idle connectors
            }

            // Order: problems (so the user reads why first), reports of what was observed, changes, then logs; but the
            // logs of a workload that a refresh replaces go before it (its last lines, while it still exists).
            var logs = _actions.Count > 0 && _actions[^1] is ReportLogsAction && !(_changes.Count > 0 && _changes[0] is RefreshAction) ? 1 : 0;
            var all = new ConnectorAction[(newProblems?.Count ?? 0) + _actions.Count + _changes.Count];
            var at = 0;
            if (newProblems is not null)
            {
                foreach (var p in newProblems) all[at++] = p;
            }
            for (var a = 0; a < _actions.Count - logs; a++) all[at++] = _actions[a];
            foreach (var change in _changes) all[at++] = change;
            if (logs == 1) all[at] = _actions[^1];
            return new ConnectorPlan(c.Id, c.Name, all)
            {
                DeferredUntil = deferred,
                CurrentProblems = problemsChanged ? [.. _problems] : null,
            };
        }

        private void PlanExisting(DesiredConnector c, ConnectorState? state, ObservedWorkload own, bool blocked, ref List<ConnectorAction>? newProblems)
        {
            var running = own.State == WorkloadState.Running;
            // Restarting counts as stopped: the engine is restarting it, it does not run.
            var observed = running ? ConnectorStatus.Started : ConnectorStatus.Stopped;
            if (observed != c.CurrentStatus
                && !(state?.LastStatusReport is { } last && last.Reported == observed && last.PlatformHad == c.CurrentStatus))
            {
                // Not when this very status was already reported while the platform still showed what it shows now.
                _actions.Add(new ReportStatusAction(c, own, observed));
            }
            if (running && (state?.LastHealth is not { } health || health.State != WorkloadState.Running || _now - health.At >= _options.HealthInterval))
            {
                _actions.Add(new ReportHealthAction(c, own));
            }

            var refresh = false;
            if (!blocked)
            {
                if (own.ConfigHash is null)
                {
                    var key = new ProblemKey(ProblemKind.UnknownConfigHash, own.WorkloadId);
                    if (AddProblem(state, key))
                    {
                        (newProblems ??= []).Add(Problem(key, LogLevel.Warn, c,
                            $"the workload {own.Name} of {c} carries no {ConnectorLabels.ConfigHashVariable}: whether its configuration is current cannot be told, so it is not refreshed"));
                    }
                }
                else if (!string.Equals(own.ConfigHash, c.ContractHash, StringComparison.Ordinal))
                {
                    // The new workload is created with the requested status: no start or stop besides.
                    _changes.Add(new RefreshAction(c, own));
                    refresh = true;
                }
            }
            if (!refresh)
            {
                if (c.RequestedStatus == RequestedStatus.Starting && own.State == WorkloadState.Stopped && !blocked)
                {
                    _changes.Add(new StartAction(c, own));
                }
                else if (c.RequestedStatus == RequestedStatus.Stopping && own.State != WorkloadState.Stopped)
                {
                    _changes.Add(new StopAction(c, own));
                }
            }

            // Per connector (upstream shares one timer among all connectors of a platform, so one uploads per window).
            if (state?.LastLogs is not { } logs || _now - logs >= _options.LogsSchedule)
            {
                _actions.Add(new ReportLogsAction(c, own));
            }
        }

        /// <summary>Whether the workload is removed this cycle (an orphan, or a listed connector's stale name), so its name frees up.</summary>
        private bool RemovedThisCycle(int k)
        {
            if (!_complete || _ownership[k] != Ownership.Own) return false;
            var id = _ownerIds[k]!;
            if (_byId.TryGetValue(id, out var owner))
            {
                return _connectors[owner].Blocked is null && !InBackoff(_states[owner]) && ClaimantOf(owner) == owner
                    && !string.Equals(_workloads[k].Name, _names[owner], StringComparison.Ordinal);
            }
            return _skippedIds?.Contains(id) != true && !InBackoff(_store.Find(id));
        }

        private int ClaimantOf(int i) => _contested ? CollectionsMarshal.GetValueRefOrNullRef(_slots, _names[i]).Claimant - 1 : i;

        private bool InBackoff(ConnectorState? state) => state is not null && state.InBackoff(_now);

        private string OwnerOf(int k)
        {
            var w = _workloads[k];
            return _ownership[k] switch
            {
                Ownership.Own => $"{w.Name}, the workload of connector {w.ConnectorId}",
                Ownership.Unlabelled => $"{w.Name}, a workload without an opencti-platform label (created by an older version, left alone while several platforms are enabled)",
                Ownership.NoConnectorId => $"{w.Name}, a workload without an opencti-connector-id label",
                _ when w.PlatformLabel is { } p && p != _platformLabel => $"{w.Name}, a workload of {p} connector {w.ConnectorId}",
                _ => $"{w.Name}, a workload this manager does not own",
            };
        }

        /// <summary>Notes a current problem; true when it was not reported yet (so it must be now).</summary>
        private bool AddProblem(ConnectorState? state, ProblemKey key)
        {
            _problems.Add(key);
            return state is null || !state.HasReported(key);
        }

        private static ReportProblemAction Problem(ProblemKey key, LogLevel severity, DesiredConnector c, string message) =>
            new(key, severity, message, c.Id, c.Name);

        /// <summary>Listing entries that could not be used, with an id: the user learns why on that connector; its workload is kept.</summary>
        private void PlanSkipped(ref List<ConnectorPlan>? groups)
        {
            if (_skippedIds is null) return;
            HashSet<string>? done = null;
            foreach (var skipped in _listing.Skipped)
            {
                if (skipped.Id is not { } id || _byId.ContainsKey(id) || !(done ??= new(StringComparer.Ordinal)).Add(id)) continue;
                var state = _store.Find(id);
                var key = new ProblemKey(ProblemKind.Skipped, skipped.Reason);
                var reported = state is not null && state.HasReported(key);
                if (reported && state!.ReportedProblems.Count == 1) continue;
                var label = skipped.Name is null ? $"connector {id}" : $"connector {skipped.Name} ({id})";
                ConnectorAction[] actions = reported
                    ? []
                    : [new ReportProblemAction(key, LogLevel.Warn, $"{label} is not managed: {skipped.Reason}; its workload is kept as it is", id, skipped.Name)];
                (groups ??= []).Add(new ConnectorPlan(id, skipped.Name ?? id, actions) { CurrentProblems = [key] });
            }
        }

        private List<ConnectorPlan>? PlanOrphans(List<(string Id, List<int> Workloads)>? orphans)
        {
            if (orphans is null || !_complete) return null;
            var groups = new List<ConnectorPlan>(orphans.Count + 1);
            foreach (var (id, workloads) in orphans)
            {
                var state = _store.Find(id);
                var name = _workloads[workloads[0]].Name;
                if (state is not null && state.InBackoff(_now))
                {
                    groups.Add(new ConnectorPlan(id, name, []) { DeferredUntil = state.RetryAt });
                    continue;
                }
                var actions = new ConnectorAction[workloads.Count];
                for (var j = 0; j < workloads.Count; j++) actions[j] = new RemoveAction(_workloads[workloads[j]], RemoveReason.Orphan);
                groups.Add(new ConnectorPlan(id, name, actions));
            }
            return groups;
        }

        /// <summary>Workloads of no connector: reported once each, never touched.</summary>
        private ConnectorPlan? PlanNotices(List<int>? notices)
        {
            if (notices is null)
            {
                return _store.NoticedCount == 0 ? null : new ConnectorPlan(null, "workloads of no connector", []) { CurrentNotices = [] };
            }
            var ids = new string[notices.Count];
            List<ConnectorAction>? actions = null;
            for (var j = 0; j < notices.Count; j++)
            {
                var k = notices[j];
                var w = _workloads[k];
                ids[j] = w.WorkloadId;
                if (_store.IsNoticed(w.WorkloadId)) continue;
                var (kind, message) = _ownership[k] == Ownership.Unlabelled
                    ? (ProblemKind.UnlabelledWorkload, $"the workload {w.Name} ({w.WorkloadId}) has no opencti-platform label (created by an older version) and several platforms are enabled: it is left alone; remove it, or label it opencti-platform=opencti or openaev")
                    : (ProblemKind.NoConnectorId, $"the workload {w.Name} ({w.WorkloadId}) carries this manager's label but no opencti-connector-id label: it is never changed or removed");
                (actions ??= []).Add(new ReportProblemAction(new ProblemKey(kind, w.WorkloadId), LogLevel.Warn, message));
            }
            if (actions is null && _store.NoticedCount == ids.Length) return null;
            return new ConnectorPlan(null, "workloads of no connector", actions ?? (IReadOnlyList<ConnectorAction>)[]) { CurrentNotices = ids };
        }

        /// <summary>Why nothing is removed, with each id-less entry's own reason: nothing else tells the user about those entries.</summary>
        private string IncompleteReason()
        {
            var reasons = new List<string>();
            foreach (var s in _listing.Skipped)
            {
                if (s.Id is null) reasons.Add(s.Name is null ? s.Reason : $"{s.Reason}, name '{s.Name}'");
            }
            return $"{reasons.Count} listing entr{(reasons.Count == 1 ? "y has" : "ies have")} no id ({string.Join("; ", reasons)}), " +
                   "so a workload missing from the listing may still be wanted";
        }
    }
}

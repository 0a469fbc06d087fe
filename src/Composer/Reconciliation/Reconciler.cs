using Composer.Diagnostics;

namespace Composer.Reconciliation;

/// <summary>
/// Computes what one cycle must do for one platform from what was observed: the platform's listing, the
/// orchestrator's listing and the per-connector state. Pure: no I/O, no clock (<c>now</c> is an input), no state
/// written. Level-triggered: the same observation gives the same plan, so an action that failed or was lost is simply
/// planned again.
/// <para>The rules, each decided in one place, in the order <see cref="Planner.Plan"/> applies them:</para>
/// <list type="number">
/// <item>Never act on a partial view: a failed listing plans nothing, and a listing with an entry without an id
/// (<see cref="ConnectorListing.IsComplete"/>) removes nothing.</item>
/// <item>One connector per id: the first usable entry of an id is managed; every other entry with that id is reported
/// once, on that connector (<see cref="ProblemKind.DuplicateId"/>).</item>
/// <item>Whose each workload is (<see cref="Ownership"/>): another manager's or platform's is never touched; one of
/// another Composer instance (another composer.platform-instance label, its connector not listed here) is never
/// touched and noticed once; one labelled with another instance whose connector is listed here is adopted (the
/// platform URL changed); one without a platform label while another platform is enabled, or without a connector
/// id, is noticed once and never touched; the rest is this platform's.</item>
/// <item>One workload name, one connector: when connectors share a name, the one whose workload carries it keeps it,
/// else the first listed; the others are not deployed. A name taken by a workload that is not the connector's is a
/// collision: never deployed over, unless that workload is removed this cycle (then the deploy comes next cycle).</item>
/// <item>Per connector: problems first, then reports of what is observed (status when it differs from the
/// platform's record, health when due), then changes (stale names removed, deploy, refresh, start, stop), then logs
/// (before the changes when a refresh replaces the workload). A blocked connector is never deployed, started or
/// refreshed; a connector in backoff keeps its reports and defers its changes; a reboot-loop hold keeps it stopped.</item>
/// <item>Listing entries that could not be used keep their workload and say why once.</item>
/// <item>Orphans (this platform's workloads whose connector is neither listed nor skipped) are removed, only when the
/// listing is complete, and not while their connector id is in backoff.</item>
/// </list>
/// </summary>
public static class Reconciler
{
    public static ReconcilePlan Plan(
        ReconcileOptions options,
        ConnectorListing? listing,
        IReadOnlyList<ObservedWorkload>? workloads,
        ConnectorStateStore store,
        DateTimeOffset now)
    {
        if (listing is null) return ReconcilePlan.Unplanned(options.Platform, "the platform's connector listing failed");
        if (workloads is null) return ReconcilePlan.Unplanned(options.Platform, "the orchestrator's workload listing failed");
        return new Planner(options, listing, workloads, store, now).Plan();
    }

    /// <summary>Whose a workload is, for this platform's loop.</summary>
    private enum Ownership
    {
        /// <summary>Another manager's or another platform's: only its name matters (no two workloads can share one).</summary>
        Foreign,

        /// <summary>This platform's, with a connector id.</summary>
        Own,

        /// <summary>Labelled with another platform instance, but its connector is listed here: this platform's (its URL changed).</summary>
        Adopted,

        /// <summary>Another Composer's with this manager id (another platform instance, its connector not listed here): left alone.</summary>
        OtherInstance,

        /// <summary>No opencti-platform label while another platform is enabled: left alone.</summary>
        Unlabelled,

        /// <summary>This platform's (or unlabelled) but without an opencti-connector-id label: never removed.</summary>
        NoConnectorId,
    }

    /// <summary>A workload and whose it is.</summary>
    private sealed record Seen(ObservedWorkload Workload, Ownership Owner)
    {
        public bool IsThisPlatforms => Owner is Ownership.Own or Ownership.Adopted;

        public bool BelongsTo(DesiredConnector connector) => IsThisPlatforms && Workload.ConnectorId == connector.Id;
    }

    /// <summary>A connector's current problems; each is reported once while it lasts (the executor remembers the reported ones).</summary>
    private sealed class Problems(DesiredConnector connector, ConnectorState? state)
    {
        public List<ProblemKey> Current { get; } = [];

        public List<ConnectorAction> ToReport { get; } = [];

        /// <summary>Whether the executor must record <see cref="Current"/>: a problem is new, or one went away.</summary>
        public bool Changed => ToReport.Count > 0 || (state?.ReportedProblems.Count ?? 0) != Current.Count;

        public void Add(ProblemKind kind, string? detail, LogLevel severity, string message)
        {
            var key = new ProblemKey(kind, detail);
            if (Current.Contains(key)) return;
            Current.Add(key);
            if (state is null || !state.HasReported(key)) ToReport.Add(new ReportProblemAction(key, severity, message, connector.Id, connector.Name));
        }
    }

    private sealed class Planner(ReconcileOptions options, ConnectorListing listing, IReadOnlyList<ObservedWorkload> workloads, ConnectorStateStore store,
        DateTimeOffset now)
    {
        private readonly string _platformLabel = ConnectorLabels.PlatformValue(options.Platform);

        // Rule 2: the connector managed for each id, in listing order, and what else the listing held with that id.
        private readonly List<DesiredConnector> _connectors = new(listing.Connectors.Count);
        private readonly Dictionary<string, DesiredConnector> _byId = new(listing.Connectors.Count, StringComparer.Ordinal);
        private readonly Dictionary<string, List<string>> _duplicates = new(StringComparer.Ordinal);
        private readonly HashSet<string> _skippedIds = new(StringComparer.Ordinal);

        // Rule 3: every workload by name, this platform's by connector id, and those to notice.
        private readonly Dictionary<string, Seen> _byName = new(workloads.Count, StringComparer.Ordinal);
        private readonly Dictionary<string, List<Seen>> _ownedBy = new(workloads.Count, StringComparer.Ordinal);
        private readonly List<Seen> _noticed = [];

        // Rule 4: each connector's workload name, and which connector keeps a name several connectors want.
        private readonly Dictionary<string, string> _names = new(listing.Connectors.Count, StringComparer.Ordinal);
        private readonly Dictionary<string, DesiredConnector> _keepers = new(listing.Connectors.Count, StringComparer.Ordinal);

        public ReconcilePlan Plan()
        {
            ReadListing();
            ClassifyWorkloads();
            AssignNames();

            var groups = new List<ConnectorPlan>();
            for (var i = 0; i < _connectors.Count; i++)
            {
                if (PlanConnector(_connectors[i], HealthPhase(i)) is { } group) groups.Add(group);
            }
            groups.AddRange(PlanSkipped());

            var cleanup = new List<ConnectorPlan>();
            if (listing.IsComplete) cleanup.AddRange(PlanOrphans());
            if (PlanNotices() is { } notices) cleanup.Add(notices);

            var listedIds = new HashSet<string>(_byId.Keys.Concat(_skippedIds), StringComparer.Ordinal);
            return new ReconcilePlan(options.Platform, groups, cleanup, listing.IsComplete ? null : IncompleteReason(), listedIds);
        }

        // ---- Rule 2: one connector per id -------------------------------------------------------------------------

        private void ReadListing()
        {
            foreach (var connector in listing.Connectors)
            {
                if (_byId.TryAdd(connector.Id, connector)) _connectors.Add(connector);
                else DuplicatesOf(connector.Id).Add($"'{connector.Name}'");
            }
            foreach (var skipped in listing.Skipped)
            {
                if (skipped.Id is not { } id) continue;
                if (_byId.ContainsKey(id)) DuplicatesOf(id).Add($"an entry that cannot be used: {skipped.Reason}");
                else _skippedIds.Add(id);
            }
        }

        private List<string> DuplicatesOf(string id)
        {
            if (!_duplicates.TryGetValue(id, out var list)) _duplicates[id] = list = [];
            return list;
        }

        // ---- Rule 3: whose each workload is ----------------------------------------------------------------------

        private void ClassifyWorkloads()
        {
            foreach (var workload in workloads)
            {
                var seen = new Seen(workload, OwnershipOf(workload));
                // Every workload's name counts: the orchestrator cannot create a second workload of that name.
                _byName.TryAdd(workload.Name, seen);
                if (seen.IsThisPlatforms)
                {
                    var id = workload.ConnectorId!;
                    if (!_ownedBy.TryGetValue(id, out var owned)) _ownedBy[id] = owned = new List<Seen>(1);
                    owned.Add(seen);
                }
                if (seen.Owner is not (Ownership.Own or Ownership.Foreign)) _noticed.Add(seen);
            }
        }

        private Ownership OwnershipOf(ObservedWorkload workload)
        {
            if (!workload.Labels.TryGetValue(ConnectorLabels.Manager, out var manager) || manager != options.ManagerId) return Ownership.Foreign;
            if (workload.PlatformLabel is { } platform && platform != _platformLabel) return Ownership.Foreign;
            // Created before the platform label existed: it may be the other platform's. Upstream removes such
            // workloads from every platform loop whose listing lacks them, which is wrong with two platforms.
            if (workload.PlatformLabel is null && options.OtherPlatformsEnabled) return Ownership.Unlabelled;
            if (workload.ConnectorId is not { } id) return Ownership.NoConnectorId;
            if (workload.PlatformInstance is { } instance && instance != options.PlatformInstance)
            {
                return _byId.ContainsKey(id) || _skippedIds.Contains(id) ? Ownership.Adopted : Ownership.OtherInstance;
            }
            return Ownership.Own;
        }

        // ---- Rule 4: one workload name, one connector ------------------------------------------------------------

        private void AssignNames()
        {
            foreach (var connector in _connectors)
            {
                var name = WorkloadNames.ContainerName(connector.Name);
                _names[connector.Id] = name;
                if (!_keepers.ContainsKey(name) || _byName.GetValueOrDefault(name)?.BelongsTo(connector) == true) _keepers[name] = connector;
            }
        }

        /// <summary>Whether the workload goes this cycle (an orphan, or a listed connector's stale name), so that its name frees up.</summary>
        private bool RemovedThisCycle(Seen seen)
        {
            if (!listing.IsComplete || !seen.IsThisPlatforms) return false;
            var id = seen.Workload.ConnectorId!;
            if (!_byId.TryGetValue(id, out var owner)) return !_skippedIds.Contains(id) && !InBackoff(id);
            var ownerName = _names[id];
            return owner.Blocked is null && owner.Waiting is null && !InBackoff(id) && _keepers[ownerName] == owner && seen.Workload.Name != ownerName;
        }

        private bool InBackoff(string connectorId) => store.Find(connectorId)?.InBackoff(now) == true;

        /// <summary>Who a workload is, for a collision message.</summary>
        private string Describe(Seen seen)
        {
            var w = seen.Workload;
            return seen.Owner switch
            {
                Ownership.Own or Ownership.Adopted => $"{w.Name}, the workload of connector {w.ConnectorId}",
                Ownership.OtherInstance => $"{w.Name}, the workload of connector {w.ConnectorId} of another Composer with manager id {options.ManagerId} " +
                                           $"(platform instance {w.PlatformInstance})",
                Ownership.Unlabelled => $"{w.Name}, a workload without an opencti-platform label (created by an older version, left alone while several platforms are enabled)",
                Ownership.NoConnectorId => $"{w.Name}, a workload without an opencti-connector-id label",
                _ when w.PlatformLabel is { } p && p != _platformLabel => $"{w.Name}, a workload of {p} connector {w.ConnectorId}",
                _ => $"{w.Name}, a workload this manager does not own",
            };
        }

        // ---- Rule 5: per connector -----------------------------------------------------------------------------------

        /// <summary>
        /// Where in each health interval the connector's periodic report falls: the listed connectors spread evenly
        /// over it, so that a cycle sends a few of them rather than all at once.
        /// </summary>
        private TimeSpan HealthPhase(int index) => options.HealthInterval * index / Math.Max(1, _connectors.Count);

        /// <summary>
        /// When the health reported at <paramref name="reportedAt"/> is next due: the connector's next time of its
        /// phase after it, so at most one interval later (plus a cycle, inside the platform's window) and on the
        /// connector's phase whatever its first report was (a report on a change is followed by one at the phase).
        /// </summary>
        private DateTimeOffset NextHealthSlot(DateTimeOffset reportedAt, TimeSpan phase)
        {
            var interval = options.HealthInterval.Ticks;
            if (interval <= 0) return reportedAt;
            var sincePhase = (reportedAt - DateTimeOffset.UnixEpoch).Ticks - phase.Ticks;
            var slots = sincePhase < 0 ? 0 : sincePhase / interval + 1;
            return DateTimeOffset.UnixEpoch + TimeSpan.FromTicks(slots * interval + phase.Ticks);
        }

        private ConnectorPlan? PlanConnector(DesiredConnector connector, TimeSpan healthPhase)
        {
            var state = store.Find(connector.Id);
            var name = _names[connector.Id];
            var blocked = connector.Blocked is not null || connector.Waiting is not null;
            var problems = new Problems(connector, state);
            var reports = new List<ConnectorAction>();
            var changes = new List<ConnectorAction>();

            if (connector.Blocked is { } why)
            {
                problems.Add(ProblemKind.Blocked, why, LogLevel.Error, $"{connector} is not deployed, started or refreshed: {why}");
            }
            if (_duplicates.TryGetValue(connector.Id, out var others))
            {
                problems.Add(ProblemKind.DuplicateId, null, LogLevel.Error,
                    $"connector id {connector.Id} is listed more than once (also as {string.Join("; ", others)}): only the entry {connector.Name} is managed");
            }

            // The workload under the connector's name, and whether the connector may have that name.
            var keeper = _keepers[name];
            var found = _byName.GetValueOrDefault(name);
            ObservedWorkload? own = null;
            var nameUsable = keeper == connector;
            if (keeper != connector)
            {
                problems.Add(ProblemKind.DuplicateName, keeper.Id, LogLevel.Error,
                    $"{connector} has the same workload name '{name}' as {keeper}: it is not deployed; rename one of them");
            }
            else if (found is not null)
            {
                if (found.BelongsTo(connector))
                {
                    own = found.Workload;
                }
                else if (!RemovedThisCycle(found))
                {
                    // Never deployed over, never changed: it is another connector's, platform's or Composer's workload.
                    nameUsable = false;
                    problems.Add(ProblemKind.NameCollision, found.Workload.WorkloadId, LogLevel.Error,
                        $"the workload name '{name}' of {connector} is taken by {Describe(found)}: it is not deployed; rename one of the connectors");
                }
                // Else it is an orphan or another connector's stale name, removed this cycle: deploy on the next one.
            }

            // A renamed connector's old workloads go only when the new one can replace them: a rename to a taken name
            // must not leave the connector without any workload.
            if (listing.IsComplete && !blocked && nameUsable && _ownedBy.TryGetValue(connector.Id, out var owned))
            {
                foreach (var seen in owned)
                {
                    if (seen.Workload.Name != name) changes.Add(new RemoveAction(seen.Workload, RemoveReason.StaleName, connector));
                }
            }

            var held = own is not null && state?.RebootLoopHold is { } hold
                       && hold.RequestedStatus == connector.RequestedStatus && hold.ContractHash == connector.ContractHash;
            if (own is not null)
            {
                PlanExisting(connector, state, own, held, healthPhase, problems, reports, changes);
            }
            else if (found is null && nameUsable && !blocked)
            {
                changes.Add(new DeployAction(connector));
            }

            DateTimeOffset? deferred = null;
            if (changes.Count > 0 && state is not null && state.InBackoff(now))
            {
                deferred = state.RetryAt;
                changes.Clear();
            }

            var logs = own is not null && (state?.LastLogs is not { } lastLogs || now - lastLogs >= options.LogsSchedule);
            var releaseHold = state?.RebootLoopHold is not null && !held;
            if (problems.ToReport.Count == 0 && reports.Count == 0 && changes.Count == 0 && !logs && deferred is null && !problems.Changed && !releaseHold)
            {
                return null; // nothing to do, nothing to record
            }

            // Problems first (the user reads why), reports of what was observed, changes, then logs; but the logs of a
            // workload that a refresh replaces are read before it (its last lines, while it still exists).
            var logsFirst = changes.Count > 0 && changes.OfType<RefreshAction>().Any();
            List<ConnectorAction> actions = [.. problems.ToReport, .. reports];
            if (logs && logsFirst) actions.Add(new ReportLogsAction(connector, own!));
            actions.AddRange(changes);
            if (logs && !logsFirst) actions.Add(new ReportLogsAction(connector, own!));
            return new ConnectorPlan(connector.Id, connector.Name, actions)
            {
                DeferredUntil = deferred,
                CurrentProblems = problems.Changed ? [.. problems.Current] : null,
                ReleaseHold = releaseHold,
            };
        }

        /// <summary>The connector's own workload: reports of what is observed, then refresh, start or stop.</summary>
        private void PlanExisting(DesiredConnector connector, ConnectorState? state, ObservedWorkload own, bool held, TimeSpan healthPhase, Problems problems,
            List<ConnectorAction> reports, List<ConnectorAction> changes)
        {
            // Restarting counts as stopped: the orchestrator is restarting it, it does not run.
            var observed = own.State == WorkloadState.Running ? ConnectorStatus.Started : ConnectorStatus.Stopped;
            // A listing that still shows what the platform had when Composer last reported predates that report: the
            // platform shows the report now. So a status reported already is not reported again every cycle, and a
            // crash right after a reported restart is reported even though that listing still says "stopped".
            var platformShows = state?.LastStatusReport is { } last && last.PlatformHad == connector.CurrentStatus ? last.Reported : connector.CurrentStatus;
            if (observed != platformShows) reports.Add(new ReportStatusAction(connector, own, observed));

            // Health: at once for a workload not reported yet, whose last report failed, or whose state changed
            // (started, crashed, stopped, replaced, restarted as the events tell); else once per health interval at the connector's phase, running
            // or not: the platform forgets health after 5 minutes.
            if (state?.LastHealth is not { } health || state.HealthOwed || health.WorkloadId != own.WorkloadId || health.State != own.State
                || (own.Health is { } facts && state.ReportedHealth is { } told && (facts.RestartCount != told.RestartCount || facts.StartedAt != told.StartedAt))
                || now >= NextHealthSlot(health.At, healthPhase))
            {
                reports.Add(new ReportHealthAction(connector, own));
            }

            var wantsRunning = connector.RequestedStatus == RequestedStatus.Starting && !held;
            if (connector.Blocked is not null || connector.Waiting is not null)
            {
                // Kept as it is (never started or refreshed with an empty secret), but still stoppable.
                if (!wantsRunning && own.State != WorkloadState.Stopped) changes.Add(new StopAction(connector, own, RebootLoopHold: held));
                return;
            }
            if (own.ConfigHash is null)
            {
                problems.Add(ProblemKind.UnknownConfigHash, own.WorkloadId, LogLevel.Warn,
                    $"the workload {own.Name} of {connector} carries no {ConnectorLabels.ConfigHashVariable}: whether its configuration is current cannot be told, so it is not refreshed");
            }
            else if (own.ConfigHash != connector.ContractHash)
            {
                // The new workload is created with the requested status: no start or stop besides. A new contract also
                // ends a reboot-loop hold (the hold no longer matches).
                changes.Add(new RefreshAction(connector, own));
                return;
            }

            if (wantsRunning && own.State == WorkloadState.Stopped) changes.Add(new StartAction(connector, own));
            else if (!wantsRunning && own.State != WorkloadState.Stopped) changes.Add(new StopAction(connector, own, RebootLoopHold: held));
        }

        // ---- Rule 6: listing entries that could not be used ------------------------------------------------------------

        /// <summary>Skipped entries with an id: the user learns why on that connector; its workload is kept as it is.</summary>
        private IEnumerable<ConnectorPlan> PlanSkipped()
        {
            var done = new HashSet<string>(StringComparer.Ordinal);
            foreach (var skipped in listing.Skipped)
            {
                if (skipped.Id is not { } id || !_skippedIds.Contains(id) || !done.Add(id)) continue;
                var state = store.Find(id);
                var key = new ProblemKey(ProblemKind.Skipped, skipped.Reason);
                var reported = state is not null && state.HasReported(key);
                if (reported && state!.ReportedProblems.Count == 1) continue;
                var label = skipped.Name is null ? $"connector {id}" : $"connector {skipped.Name} ({id})";
                ConnectorAction[] actions = reported
                    ? []
                    : [new ReportProblemAction(key, LogLevel.Warn, $"{label} is not managed: {skipped.Reason}; its workload is kept as it is", id, skipped.Name)];
                yield return new ConnectorPlan(id, skipped.Name ?? id, actions) { CurrentProblems = [key] };
            }
        }

        // ---- Rule 7: orphans ---------------------------------------------------------------------------------------

        /// <summary>This platform's workloads whose connector is neither listed nor skipped, one group per connector id.</summary>
        private IEnumerable<ConnectorPlan> PlanOrphans()
        {
            foreach (var (id, owned) in _ownedBy)
            {
                if (_byId.ContainsKey(id) || _skippedIds.Contains(id)) continue;
                var name = owned[0].Workload.Name;
                if (store.Find(id) is { } state && state.InBackoff(now))
                {
                    yield return new ConnectorPlan(id, name, []) { DeferredUntil = state.RetryAt };
                    continue;
                }
                yield return new ConnectorPlan(id, name, [.. owned.Select(o => new RemoveAction(o.Workload, RemoveReason.Orphan))]);
            }
        }

        // ---- Notices about workloads of no connector ------------------------------------------------------------------

        /// <summary>
        /// Workloads left alone or adopted, each noticed once while it lasts: per workload, except another instance's,
        /// noticed once per instance.
        /// </summary>
        private ConnectorPlan? PlanNotices()
        {
            var notices = new List<(string Key, ReportProblemAction Action)>();
            foreach (var seen in _noticed.Where(s => s.Owner != Ownership.OtherInstance))
            {
                var w = seen.Workload;
                var (kind, severity, message) = seen.Owner switch
                {
                    Ownership.Unlabelled => (ProblemKind.UnlabelledWorkload, LogLevel.Warn,
                        $"the workload {w.Name} ({w.WorkloadId}) has no opencti-platform label (created by an older version) and several platforms are enabled: " +
                        "it is left alone; remove it, or label it opencti-platform=opencti or openaev"),
                    Ownership.Adopted => (ProblemKind.AdoptedWorkload, LogLevel.Info,
                        $"the workload {w.Name} ({w.WorkloadId}) is labelled {ConnectorLabels.PlatformInstance}={w.PlatformInstance}, not {options.PlatformInstance}, " +
                        $"but its connector {w.ConnectorId} is listed here (the platform URL changed?): it is managed here and relabelled at its next refresh"),
                    _ => (ProblemKind.NoConnectorId, LogLevel.Warn,
                        $"the workload {w.Name} ({w.WorkloadId}) carries this manager's label but no opencti-connector-id label: it is never changed or removed"),
                };
                notices.Add((w.WorkloadId, new ReportProblemAction(new ProblemKey(kind, w.WorkloadId), severity, message)));
            }
            foreach (var instance in _noticed.Where(s => s.Owner == Ownership.OtherInstance).GroupBy(s => s.Workload.PlatformInstance!))
            {
                var names = instance.Select(s => s.Workload.Name).Order(StringComparer.Ordinal).ToList();
                var shown = string.Join(", ", names.Take(5)) + (names.Count > 5 ? $" and {names.Count - 5} more" : "");
                var message = $"another Composer shares manager id {options.ManagerId} on this orchestrator: {names.Count} workload(s) ({shown}) are labelled " +
                              $"{ConnectorLabels.PlatformInstance}={instance.Key} (this one is {options.PlatformInstance}) and their connectors are not listed here; " +
                              "they are never changed or removed from here. Give each Composer its own manager.id";
                notices.Add(("instance:" + instance.Key, new ReportProblemAction(new ProblemKey(ProblemKind.OtherInstance, instance.Key), LogLevel.Warn, message)));
            }

            if (notices.Count == 0) return store.NoticedCount == 0 ? null : new ConnectorPlan(null, "workloads of no connector", []) { CurrentNotices = [] };
            var actions = notices.Where(n => !store.IsNoticed(n.Key)).Select(n => (ConnectorAction)n.Action).ToList();
            if (actions.Count == 0 && store.NoticedCount == notices.Count) return null;
            return new ConnectorPlan(null, "workloads of no connector", actions) { CurrentNotices = [.. notices.Select(n => n.Key)] };
        }

        /// <summary>Why nothing is removed, with each id-less entry's own reason: nothing else tells the user about those entries.</summary>
        private string IncompleteReason()
        {
            var reasons = listing.Skipped.Where(s => s.Id is null).Select(s => s.Name is null ? s.Reason : $"{s.Reason}, name '{s.Name}'").ToList();
            return $"{reasons.Count} listing entr{(reasons.Count == 1 ? "y has" : "ies have")} no id ({string.Join("; ", reasons)}), " +
                   "so a workload missing from the listing may still be wanted";
        }
    }
}

using Composer.Reconciliation;
using static Composer.Tests.Reconciliation.ReconcileTestData;

namespace Composer.Tests.Reconciliation;

/// <summary>The planner's rules, one table or case each (upstream cleanup tests 31–37 adapted to per-platform labels).</summary>
public class ReconcilerTests
{
    private static string Joined(ReconcilePlan plan) => string.Join(" | ", Lines(plan));

    // ---- Failed and partial listings --------------------------------------------------------------------------

    [Test]
    public async Task A_failed_platform_listing_plans_nothing()
    {
        var plan = Plan(null, [Workload("A"), Workload("Z")]);
        await Assert.That(plan.NotPlanned).IsEqualTo("the platform's connector listing failed");
        await Assert.That(plan.ActionCount).IsEqualTo(0);
    }

    [Test]
    public async Task A_failed_orchestrator_listing_plans_nothing()
    {
        var plan = Plan(Listing(Connector("A"), Connector("B")), null);
        await Assert.That(plan.NotPlanned).IsEqualTo("the orchestrator's workload listing failed");
        await Assert.That(plan.ActionCount).IsEqualTo(0);
    }

    [Test]
    public async Task An_empty_listing_is_not_a_failure_and_removes_this_platforms_orphans()
    {
        var plan = Plan(Listing(), [Workload("A"), Workload("X", platform: "openaev")], otherPlatformsEnabled: true);
        await Assert.That(plan.NotPlanned).IsNull();
        await Assert.That(Joined(plan)).IsEqualTo("remove connector-a orphan");
    }

    [Test]
    public async Task A_partial_listing_removes_nothing_but_still_deploys()
    {
        var listing = new ConnectorListing([Connector("A"), Connector("B")], [new SkippedConnector(null, "broken", "the entry has no id")]);
        var workloads = new[] { Workload("A", name: "connector-a-old-name"), Workload("D") };
        var plan = Plan(listing, workloads, Settled(listing, workloads));
        await Assert.That(Removals(plan)).IsEmpty();
        await Assert.That(Joined(plan)).IsEqualTo("deploy A | deploy B");
        await Assert.That(plan.CleanupSkipped)
            .IsEqualTo("1 listing entry has no id (the entry has no id, name 'broken'), so a workload missing from the listing may still be wanted");
    }

    [Test]
    public async Task Skipped_entries_protect_their_workload_and_say_why_once()
    {
        var listing = new ConnectorListing([Connector("A")], [new SkippedConnector("S", "connector-s", "unknown status 'paused'")]);
        var workloads = new[] { Workload("A"), Workload("S") };
        var store = Settled(listing, workloads);
        var plan = Plan(listing, workloads, store);
        await Assert.That(Joined(plan)).IsEqualTo("report_problem Skipped S");
        var problem = (ReportProblemAction)plan.Connectors[0].Actions[0];
        await Assert.That(problem.Message).IsEqualTo("connector connector-s (S) is not managed: unknown status 'paused'; its workload is kept as it is");

        store.GetOrAdd("S").ReportedProblems = [problem.Key];
        await Assert.That(Plan(listing, workloads, store).ActionCount).IsEqualTo(0);
    }

    // ---- Cleanup (upstream tests 31–36) -----------------------------------------------------------------------

    [Test] // upstream 31
    public async Task Cleanup_leaves_the_other_platforms_workloads_alone()
    {
        var listing = Listing(Connector("A"), Connector("B"), Connector("C"));
        var workloads = new[] { Workload("A"), Workload("B"), Workload("C"), Workload("X", platform: "openaev"), Workload("Y", platform: "openaev") };
        await Assert.That(Removals(Plan(listing, workloads, otherPlatformsEnabled: true))).IsEmpty();
    }

    [Test] // upstream 32
    public async Task Cleanup_removes_only_this_platforms_orphans()
    {
        var listing = Listing(Connector("A"), Connector("B"), Connector("C"));
        var workloads = new[] { Workload("A"), Workload("B"), Workload("C"), Workload("D"), Workload("X", platform: "openaev") };
        var plan = Plan(listing, workloads, otherPlatformsEnabled: true);
        await Assert.That(Removals(plan)).IsEquivalentTo(["remove connector-d orphan"]);
        await Assert.That(plan.Cleanup[0].ConnectorId).IsEqualTo("D");
    }

    [Test] // upstream 33, with one platform: an unlabelled workload is this platform's
    public async Task An_unlabelled_orphan_is_removed_when_no_other_platform_is_enabled()
    {
        var plan = Plan(Listing(Connector("A")), [Workload("A"), Workload("Z", platform: null)]);
        await Assert.That(Removals(plan)).IsEquivalentTo(["remove connector-z orphan"]);
    }

    [Test] // upstream 33, with two platforms: upstream removes it from both loops, which may delete the other platform's connector
    public async Task An_unlabelled_workload_is_left_alone_and_reported_once_when_another_platform_is_enabled()
    {
        var listing = Listing(Connector("A"));
        var workloads = new[] { Workload("A"), Workload("Z", platform: null) };
        var store = Settled(listing, workloads);
        var plan = Plan(listing, workloads, store, otherPlatformsEnabled: true);
        await Assert.That(Joined(plan)).IsEqualTo("report_problem UnlabelledWorkload wid-connector-z");
        await Assert.That(((ReportProblemAction)plan.Cleanup[0].Actions[0]).Message).Contains("has no opencti-platform label");

        store.SetNoticed(["wid-connector-z"]);
        await Assert.That(Plan(listing, workloads, store, otherPlatformsEnabled: true).ActionCount).IsEqualTo(0);
    }

    [Test] // upstream 34
    public async Task An_unlabelled_workload_of_a_listed_connector_is_kept_and_adopted()
    {
        var listing = Listing(Connector("A"), Connector("B"));
        var workloads = new[] { Workload("A"), Workload("B", platform: null) };
        var plan = Plan(listing, workloads, Settled(listing, workloads));
        await Assert.That(plan.ActionCount).IsEqualTo(0);
    }

    [Test] // upstream 35
    public async Task A_renamed_connectors_old_workload_is_removed_before_the_new_one_is_deployed()
    {
        var listing = Listing(Connector("A"), Connector("B"));
        var workloads = new[] { Workload("A", name: "connector-a-old-name"), Workload("B") };
        var plan = Plan(listing, workloads, Settled(listing, workloads));
        await Assert.That(Joined(plan)).IsEqualTo("remove connector-a-old-name stale | deploy A");
    }

    [Test] // upstream 36
    public async Task Correctly_named_workloads_are_kept()
    {
        var listing = Listing(Connector("A"), Connector("B"));
        var workloads = new[] { Workload("A"), Workload("B") };
        await Assert.That(Removals(Plan(listing, workloads))).IsEmpty();
    }

    [Test]
    public async Task A_workload_without_a_connector_id_is_never_removed_and_reported_once()
    {
        var listing = Listing(Connector("A"));
        var workloads = new[] { Workload("A"), Workload(null, name: "mystery") };
        var store = Settled(listing, workloads);
        var plan = Plan(listing, workloads, store);
        await Assert.That(Joined(plan)).IsEqualTo("report_problem NoConnectorId wid-mystery");

        store.SetNoticed(plan.Cleanup[0].CurrentNotices!);
        await Assert.That(Plan(listing, workloads, store).ActionCount).IsEqualTo(0);
        // Gone: forgotten, so it would be reported again if it came back.
        var gone = Plan(listing, [Workload("A")], store);
        await Assert.That(gone.Cleanup[0].CurrentNotices).IsEmpty();
    }

    [Test]
    public async Task Workloads_of_another_manager_are_not_touched()
    {
        var plan = Plan(Listing(), [Workload("A", manager: "someone-else")]);
        await Assert.That(plan.ActionCount).IsEqualTo(0);
    }

    [Test]
    public async Task Orphans_of_one_connector_form_one_group()
    {
        var plan = Plan(Listing(), [Workload("D"), Workload("D", name: "connector-d-old"), Workload("E")]);
        await Assert.That(plan.Cleanup.Count).IsEqualTo(2);
        await Assert.That(plan.Cleanup[0].Actions.Count).IsEqualTo(2);
    }

    // ---- Name collisions (upstream 37) ------------------------------------------------------------------------

    [Test] // upstream 37: the workload named after B belongs to another connector: never touched, never deployed over
    public async Task A_name_taken_by_another_platforms_workload_is_a_collision()
    {
        var listing = Listing(Connector("B"));
        var workloads = new[] { Workload("A", name: "connector-b", platform: "openaev") };
        var plan = Plan(listing, workloads, otherPlatformsEnabled: true);
        await Assert.That(Joined(plan)).IsEqualTo("report_problem NameCollision B");
        var problem = (ReportProblemAction)plan.Connectors[0].Actions[0];
        await Assert.That(problem.Severity).IsEqualTo(Composer.Diagnostics.LogLevel.Error);
        await Assert.That(problem.Message).IsEqualTo(
            "the workload name 'connector-b' of connector connector-B (B) is taken by connector-b, a workload of openaev connector A: it is not deployed; rename one of the connectors");
    }

    [Test]
    public async Task A_name_taken_by_a_skipped_connectors_workload_is_a_collision_and_nothing_is_removed()
    {
        var listing = new ConnectorListing([Connector("B")], [new SkippedConnector("A", "connector-a", "bad")]);
        var workloads = new[] { Workload("A", name: "connector-b") };
        var store = new ConnectorStateStore();
        store.GetOrAdd("A").ReportedProblems = [new ProblemKey(ProblemKind.Skipped, "bad")];
        await Assert.That(Joined(Plan(listing, workloads, store))).IsEqualTo("report_problem NameCollision B");
    }

    [Test]
    public async Task The_right_name_with_the_own_id_is_the_workload()
    {
        var listing = Listing(Connector("A"));
        var workloads = new[] { Workload("A") };
        await Assert.That(Plan(listing, workloads, Settled(listing, workloads)).ActionCount).IsEqualTo(0);
    }

    [Test]
    public async Task A_collision_is_reported_once_and_again_after_it_went_away()
    {
        var listing = Listing(Connector("B"));
        var taken = new[] { Workload(null, name: "connector-b") };
        var store = new ConnectorStateStore();
        var plan = Plan(listing, taken, store);
        await Assert.That(Joined(plan)).IsEqualTo("report_problem NameCollision B | report_problem NoConnectorId wid-connector-b");
        store.GetOrAdd("B").ReportedProblems = plan.Connectors[0].CurrentProblems!;
        store.SetNoticed(plan.Cleanup[0].CurrentNotices!);
        await Assert.That(Plan(listing, taken, store).ActionCount).IsEqualTo(0);

        var free = Plan(listing, [], store);
        await Assert.That(Joined(free)).IsEqualTo("deploy B");
        await Assert.That(free.Connectors[0].CurrentProblems).IsEmpty();
    }

    [Test]
    public async Task A_name_freed_by_an_orphan_removal_this_cycle_is_deployed_on_the_next_without_a_problem()
    {
        // Connector A deleted, B created with A's old name.
        var plan = Plan(Listing(Connector("B", name: "connector-A")), [Workload("A")]);
        await Assert.That(Joined(plan)).IsEqualTo("remove connector-a orphan");
    }

    [Test]
    public async Task With_a_partial_listing_an_orphan_keeps_its_name_and_that_is_a_collision()
    {
        var listing = new ConnectorListing([Connector("B", name: "connector-A")], [new SkippedConnector(null, null, "no id")]);
        await Assert.That(Joined(Plan(listing, [Workload("A")]))).IsEqualTo("report_problem NameCollision B");
    }

    [Test]
    public async Task Two_listed_connectors_with_one_name_the_second_is_not_deployed()
    {
        var plan = Plan(Listing(Connector("A", name: "Same"), Connector("B", name: "same")), []);
        await Assert.That(Joined(plan)).IsEqualTo("deploy A | report_problem DuplicateName B");
        await Assert.That(((ReportProblemAction)plan.Connectors[1].Actions[0]).Message).IsEqualTo(
            "connector same (B) has the same workload name 'same' as connector Same (A): it is not deployed; rename one of them");
    }

    [Test]
    public async Task Two_listed_connectors_with_one_name_the_one_owning_the_workload_keeps_it()
    {
        var listing = Listing(Connector("A", name: "same"), Connector("B", name: "same"));
        var workloads = new[] { Workload("B", name: "same") };
        var plan = Plan(listing, workloads, Settled(listing, workloads));
        await Assert.That(Joined(plan)).IsEqualTo("report_problem DuplicateName A");
    }

    [Test]
    public async Task A_rename_onto_a_taken_name_keeps_the_old_workload()
    {
        var listing = Listing(Connector("A", name: "same"), Connector("B", name: "same"));
        var workloads = new[] { Workload("A", name: "same"), Workload("B", name: "b-old") };
        var plan = Plan(listing, workloads, Settled(listing, workloads));
        await Assert.That(Joined(plan)).IsEqualTo("report_problem DuplicateName B");
    }

    [Test]
    public async Task A_connector_id_listed_twice_is_managed_once()
    {
        var plan = Plan(Listing(Connector("A"), Connector("A", name: "other")), []);
        await Assert.That(Joined(plan)).IsEqualTo("report_problem DuplicateId A | deploy A");
    }

    [Test]
    public async Task A_connector_id_listed_again_as_an_unusable_entry_is_a_duplicate_on_the_managed_one()
    {
        var listing = new ConnectorListing([Connector("A")], [new SkippedConnector("A", "connector-A again", "listing entry 2: manager_contract_image is missing")]);
        var plan = Plan(listing, []);
        await Assert.That(Joined(plan)).IsEqualTo("report_problem DuplicateId A | deploy A");
        await Assert.That(((ReportProblemAction)plan.Connectors[0].Actions[0]).Message).IsEqualTo(
            "connector id A is listed more than once (also as an entry that cannot be used: listing entry 2: manager_contract_image is missing): only the entry connector-A is managed");
        await Assert.That(plan.CleanupSkipped).IsNull();
    }

    // ---- Two Composers, one manager id (platform instances) ------------------------------------------------------

    [Test]
    public async Task Another_instances_workloads_are_never_removed_or_changed_and_noticed_once()
    {
        var listing = Listing(Connector("A"));
        var workloads = new[]
        {
            Workload("A", instance: Instance),
            Workload("X", instance: OtherInstance, state: WorkloadState.Running, hash: "other-hash"),
            Workload("Y", instance: OtherInstance),
        };
        var store = Settled(listing, workloads);
        var plan = Plan(listing, workloads, store);
        await Assert.That(Joined(plan)).IsEqualTo($"report_problem OtherInstance {OtherInstance}");
        var notice = (ReportProblemAction)plan.Cleanup.Single().Actions.Single();
        await Assert.That(notice.Severity).IsEqualTo(Composer.Diagnostics.LogLevel.Warn);
        await Assert.That(notice.Message).IsEqualTo(
            $"another Composer shares manager id test-manager on this orchestrator: 2 workload(s) (connector-x, connector-y) are labelled " +
            $"composer.platform-instance={OtherInstance} (this one is {Instance}) and their connectors are not listed here; " +
            "they are never changed or removed from here. Give each Composer its own manager.id");

        store.SetNoticed(plan.Cleanup[0].CurrentNotices!);
        await Assert.That(Plan(listing, workloads, store).ActionCount).IsEqualTo(0);
        // An empty listing of this platform still removes only this instance's workloads.
        await Assert.That(Removals(Plan(Listing(), workloads, store))).IsEquivalentTo(["remove connector-a orphan"]);
    }

    [Test]
    public async Task A_name_taken_by_another_instances_workload_is_a_collision()
    {
        var plan = Plan(Listing(Connector("B")), [Workload("X", name: "connector-b", instance: OtherInstance)]);
        await Assert.That(Joined(plan)).IsEqualTo($"report_problem NameCollision B | report_problem OtherInstance {OtherInstance}");
        await Assert.That(((ReportProblemAction)plan.Connectors[0].Actions[0]).Message).IsEqualTo(
            $"the workload name 'connector-b' of connector connector-B (B) is taken by connector-b, the workload of connector X of another Composer with manager id " +
            $"test-manager (platform instance {OtherInstance}): it is not deployed; rename one of the connectors");
    }

    [Test]
    public async Task Another_instances_workload_whose_connector_is_listed_here_is_adopted_and_relabelled_by_its_refresh()
    {
        // The platform URL changed: the workloads carry the old URL's instance, their connectors are listed here.
        var listing = Listing(Connector("A", hash: "h2"), Connector("B"));
        var workloads = new[] { Workload("A", instance: OtherInstance, hash: "h1"), Workload("B", instance: OtherInstance) };
        var plan = Plan(listing, workloads, Settled(listing, workloads));
        await Assert.That(Joined(plan)).IsEqualTo("refresh connector-a | report_problem AdoptedWorkload wid-connector-a | report_problem AdoptedWorkload wid-connector-b");
        await Assert.That(((ReportProblemAction)plan.Cleanup[0].Actions[0]).Severity).IsEqualTo(Composer.Diagnostics.LogLevel.Info);
    }

    [Test]
    public async Task Workloads_without_the_instance_label_keep_the_rules_of_before()
    {
        // The Rust version's workloads and Composer's before the label: listed ones are adopted silently, orphans removed.
        var listing = Listing(Connector("A"));
        var workloads = new[] { Workload("A"), Workload("D") };
        var plan = Plan(listing, workloads, Settled(listing, workloads));
        await Assert.That(Joined(plan)).IsEqualTo("remove connector-d orphan");
    }

    // ---- Existing workloads ------------------------------------------------------------------------------------

    [Test]
    public async Task A_workload_created_by_the_rust_version_is_adopted_without_redeploy()
    {
        // Exactly the labels and environment hash upstream writes (§6.2, §6.3), nothing of Composer's own.
        var listing = Listing(Connector("A", requested: RequestedStatus.Starting, current: ConnectorStatus.Started, hash: "abc"));
        var rust = Workload("A", state: WorkloadState.Running, hash: "abc");
        await Assert.That(rust.Labels.Count).IsEqualTo(3);
        // After a restart of Composer (empty state): reports only, no deploy, refresh, start or status patch.
        await Assert.That(Joined(Plan(listing, [rust]))).IsEqualTo("report_health connector-a | report_logs connector-a");
    }

    [Test]
    public async Task A_missing_workload_is_deployed_with_the_requested_status()
    {
        var plan = Plan(Listing(Connector("A", requested: RequestedStatus.Starting), Connector("B")), []);
        await Assert.That(Joined(plan)).IsEqualTo("deploy A | deploy B");
        await Assert.That(plan.Connectors[0].Actions[0].Describe()).IsEqualTo(
            "deploy connector-a for connector connector-A (A) from image opencti/connector-a:6.0.0, started");
        await Assert.That(plan.Connectors[1].Actions[0].Describe()).EndsWith("not started (the platform asks for it stopped)");
    }

    [Test]
    [Arguments(RequestedStatus.Starting, WorkloadState.Stopped, "start connector-a")]
    [Arguments(RequestedStatus.Starting, WorkloadState.Running, "")]
    [Arguments(RequestedStatus.Starting, WorkloadState.Restarting, "")] // the engine is restarting it
    [Arguments(RequestedStatus.Stopping, WorkloadState.Running, "stop connector-a")]
    [Arguments(RequestedStatus.Stopping, WorkloadState.Restarting, "stop connector-a")]
    [Arguments(RequestedStatus.Stopping, WorkloadState.Stopped, "")]
    public async Task The_requested_status_is_applied(RequestedStatus requested, WorkloadState state, string expected)
    {
        var current = state == WorkloadState.Running ? ConnectorStatus.Started : ConnectorStatus.Stopped;
        var listing = Listing(Connector("A", requested: requested, current: current));
        var workloads = new[] { Workload("A", state: state) };
        await Assert.That(Joined(Plan(listing, workloads, Settled(listing, workloads)))).IsEqualTo(expected);
    }

    [Test]
    // observed, what the platform recorded, what Composer last reported (and what the platform had then), expected
    [Arguments(WorkloadState.Running, ConnectorStatus.Stopped, null, null, "started")]
    [Arguments(WorkloadState.Running, null, null, null, "started")]
    [Arguments(WorkloadState.Running, ConnectorStatus.Started, null, null, "")]
    [Arguments(WorkloadState.Restarting, ConnectorStatus.Started, null, null, "stopped")]
    [Arguments(WorkloadState.Stopped, ConnectorStatus.Started, null, null, "stopped")]
    [Arguments(WorkloadState.Stopped, ConnectorStatus.Stopped, null, null, "")]
    // Reported already while the platform still shows the old status: not again every cycle.
    [Arguments(WorkloadState.Running, ConnectorStatus.Stopped, ConnectorStatus.Started, ConnectorStatus.Stopped, "")]
    // Reported, but the platform's record changed since (it lost it): report again.
    [Arguments(WorkloadState.Stopped, ConnectorStatus.Started, ConnectorStatus.Stopped, null, "stopped")]
    // What was reported earlier no longer holds.
    [Arguments(WorkloadState.Stopped, ConnectorStatus.Started, ConnectorStatus.Started, ConnectorStatus.Stopped, "stopped")]
    // Reported started (a restart) after the newest listing, which still shows the stopped of before: a crash since is
    // reported, the listing's "stopped" is not what the platform shows now.
    [Arguments(WorkloadState.Stopped, ConnectorStatus.Stopped, ConnectorStatus.Started, ConnectorStatus.Stopped, "stopped")]
    [Arguments(WorkloadState.Restarting, ConnectorStatus.Stopped, ConnectorStatus.Started, ConnectorStatus.Stopped, "stopped")]
    public async Task The_status_is_reported_when_it_differs(WorkloadState state, ConnectorStatus? recorded, ConnectorStatus? reported,
        ConnectorStatus? platformHad, string expected)
    {
        var requested = state == WorkloadState.Stopped ? RequestedStatus.Stopping : RequestedStatus.Starting;
        var listing = Listing(Connector("A", requested: requested, current: recorded));
        var workloads = new[] { Workload("A", state: state) };
        var store = Settled(listing, workloads);
        if (reported is { } r) store.GetOrAdd("A").LastStatusReport = (r, platformHad);
        var lines = Lines(Plan(listing, workloads, store));
        await Assert.That(string.Join(" ", lines.FindAll(l => l.StartsWith("report_status", StringComparison.Ordinal))))
            .IsEqualTo(expected.Length == 0 ? "" : "report_status connector-a " + expected);
    }

    [Test]
    public async Task A_changed_hash_refreshes_and_the_refresh_settles_the_status()
    {
        var listing = Listing(Connector("A", hash: "new", requested: RequestedStatus.Starting));
        var workloads = new[] { Workload("A", hash: "old") };
        var plan = Plan(listing, workloads, Settled(listing, workloads));
        await Assert.That(Joined(plan)).IsEqualTo("refresh connector-a");
        await Assert.That(plan.Connectors[0].Actions[0].Describe()).IsEqualTo(
            "refresh connector-a (exited) of connector connector-A (A): config hash old -> new");
    }

    [Test]
    public async Task The_logs_of_a_refreshed_workload_are_read_before_it_is_replaced()
    {
        var listing = Listing(Connector("A", hash: "new", requested: RequestedStatus.Starting));
        var workloads = new[] { Workload("A", hash: "old") };
        var plan = Plan(listing, workloads);
        await Assert.That(Joined(plan)).EndsWith("report_logs connector-a | refresh connector-a");
    }

    [Test]
    public async Task An_unknown_hash_is_not_refreshed_and_reported_once()
    {
        var listing = Listing(Connector("A", requested: RequestedStatus.Starting));
        var workloads = new[] { Workload("A", hash: null) };
        var store = Settled(listing, workloads);
        var plan = Plan(listing, workloads, store);
        await Assert.That(Joined(plan)).IsEqualTo("report_problem UnknownConfigHash A | start connector-a");

        store.GetOrAdd("A").ReportedProblems = plan.Connectors[0].CurrentProblems!;
        await Assert.That(Joined(Plan(listing, workloads, store))).IsEqualTo("start connector-a");
    }

    // ---- Health and logs ----------------------------------------------------------------------------------------

    [Test]
    // state of the workload now, state when its health was last reported (null: never), seconds since then, expected.
    // One connector: its phase is 0, its periodic reports fall on whole multiples of the 30 s interval (05:06:00 is the
    // last one before Now, 05:06:07): due at the first one after the last report.
    [Arguments(WorkloadState.Running, WorkloadState.Running, 5, false)]
    [Arguments(WorkloadState.Running, WorkloadState.Running, 7, false)] // reported at 05:06:00: next at 05:06:30
    [Arguments(WorkloadState.Running, WorkloadState.Running, 8, true)] // reported at 05:05:59: due at 05:06:00
    [Arguments(WorkloadState.Running, WorkloadState.Running, 30, true)]
    [Arguments(WorkloadState.Running, null, 0, true)]
    [Arguments(WorkloadState.Running, WorkloadState.Stopped, 5, true)] // just started
    [Arguments(WorkloadState.Running, WorkloadState.Restarting, 5, true)] // started again by the orchestrator
    [Arguments(WorkloadState.Restarting, WorkloadState.Running, 5, true)] // crashed
    [Arguments(WorkloadState.Restarting, WorkloadState.Restarting, 7, false)]
    [Arguments(WorkloadState.Restarting, WorkloadState.Restarting, 30, true)]
    [Arguments(WorkloadState.Stopped, WorkloadState.Running, 5, true)] // stopped
    [Arguments(WorkloadState.Stopped, WorkloadState.Stopped, 7, false)]
    [Arguments(WorkloadState.Stopped, WorkloadState.Stopped, 30, true)] // running or not: the platform forgets health after 5 minutes
    [Arguments(WorkloadState.Stopped, null, 0, true)] // deployed, never started
    public async Task Health_is_reported_at_once_when_the_state_changes_and_every_interval_running_or_not(WorkloadState now, WorkloadState? reported,
        int secondsAgo, bool expected)
    {
        var requested = now == WorkloadState.Stopped ? RequestedStatus.Stopping : RequestedStatus.Starting;
        var current = now == WorkloadState.Running ? ConnectorStatus.Started : ConnectorStatus.Stopped;
        var listing = Listing(Connector("A", requested: requested, current: current));
        var workloads = new[] { Workload("A", state: now) };
        var store = Settled(listing, workloads);
        if (reported is { } state) HealthReported(store, "A", state, TimeSpan.FromSeconds(secondsAgo));
        else store.GetOrAdd("A").LastHealth = null;
        await Assert.That(Lines(Plan(listing, workloads, store)).Contains("report_health connector-a")).IsEqualTo(expected);
    }

    [Test]
    public async Task Periodic_health_reports_of_connectors_reported_together_spread_over_the_interval()
    {
        // 100 connectors whose health was reported in the same cycle (deployed together): every 10 s cycle after
        // that sends at most 5 of them, and each one again within the interval plus a cycle.
        var options = Options() with { HealthInterval = TimeSpan.FromMinutes(4) };
        var connectors = Enumerable.Range(0, 100).Select(i => Connector($"C{i:000}", requested: RequestedStatus.Starting, current: ConnectorStatus.Started)).ToArray();
        var listing = Listing(connectors);
        var workloads = connectors.Select(c => Workload(c.Id, state: WorkloadState.Running)).ToArray();
        var store = Settled(listing, workloads);
        var last = connectors.ToDictionary(c => c.Id, _ => Now);
        var most = 0;
        for (var cycle = 1; cycle <= 60; cycle++)
        {
            var now = Now + TimeSpan.FromSeconds(10 * cycle);
            foreach (var c in connectors) store.GetOrAdd(c.Id).LastLogs = now;
            var reported = Lines(Reconciler.Plan(options, listing, workloads, store, now)).Where(l => l.StartsWith("report_health ", StringComparison.Ordinal)).ToList();
            most = Math.Max(most, reported.Count);
            foreach (var c in connectors.Where(c => reported.Contains($"report_health {WorkloadNames.ContainerName(c.Name)}")))
            {
                await Assert.That(now - last[c.Id]).IsLessThanOrEqualTo(TimeSpan.FromMinutes(4) + TimeSpan.FromSeconds(10));
                last[c.Id] = now;
                store.GetOrAdd(c.Id).LastHealth = new HealthReport(now, "wid-" + WorkloadNames.ContainerName(c.Name), WorkloadState.Running);
            }
        }
        await Assert.That(most).IsLessThanOrEqualTo(5);
        foreach (var c in connectors) await Assert.That(Now + TimeSpan.FromSeconds(600) - last[c.Id]).IsLessThanOrEqualTo(TimeSpan.FromMinutes(4) + TimeSpan.FromSeconds(10));
    }

    [Test]
    public async Task A_restart_seen_in_the_events_reports_health_at_once()
    {
        var listing = Listing(Connector("A", requested: RequestedStatus.Starting, current: ConnectorStatus.Started));
        var before = Workload("A", state: WorkloadState.Running) with { Health = new WorkloadHealth(2, Now - TimeSpan.FromMinutes(2)) };
        var store = Settled(listing, [before]);
        store.GetOrAdd("A").ReportedHealth = before.Health;
        await Assert.That(Joined(Plan(listing, [before], store))).IsEqualTo("");
        // Restarted by the engine between two listings: the same state, a new run.
        var after = before with { Health = new WorkloadHealth(3, Now - TimeSpan.FromSeconds(1)) };
        await Assert.That(Joined(Plan(listing, [after], store))).IsEqualTo("report_health connector-a");
    }

    [Test]
    public async Task A_replaced_workload_reports_its_health_at_once()
    {
        var listing = Listing(Connector("A", requested: RequestedStatus.Starting, current: ConnectorStatus.Started));
        var replaced = Workload("A", state: WorkloadState.Running) with { WorkloadId = "wid-new" };
        var store = Settled(listing, [Workload("A", state: WorkloadState.Running)]);
        await Assert.That(Joined(Plan(listing, [replaced], store))).IsEqualTo("report_health connector-a");
    }

    [Test]
    public async Task A_workload_that_stopped_reports_its_health_at_once()
    {
        // Before issue 14, health went only while the workload ran: a stopped or crashing connector showed none.
        var listing = Listing(Connector("A"));
        var workloads = new[] { Workload("A", state: WorkloadState.Stopped) };
        var store = Settled(listing, workloads);
        HealthReported(store, "A", WorkloadState.Running, TimeSpan.FromSeconds(5));
        await Assert.That(Joined(Plan(listing, workloads, store))).IsEqualTo("report_health connector-a");
    }

    [Test]
    public async Task Logs_timers_are_per_connector()
    {
        // Upstream shares one timer per platform, so only one connector uploads per window.
        var listing = Listing(Connector("A"), Connector("B"));
        var workloads = new[] { Workload("A"), Workload("B") };
        var store = Settled(listing, workloads);
        store.GetOrAdd("A").LastLogs = Now - TimeSpan.FromSeconds(10);
        store.GetOrAdd("B").LastLogs = Now - TimeSpan.FromSeconds(11);
        await Assert.That(Joined(Plan(listing, workloads, store))).IsEqualTo("report_logs connector-a | report_logs connector-b");
        store.GetOrAdd("A").LastLogs = Now - TimeSpan.FromSeconds(9);
        await Assert.That(Joined(Plan(listing, workloads, store))).IsEqualTo("report_logs connector-b");
    }

    [Test]
    public async Task Actions_run_problems_first_then_reports_then_changes_then_logs()
    {
        var listing = Listing(Connector("A", requested: RequestedStatus.Stopping, current: ConnectorStatus.Stopped));
        var workloads = new[] { Workload("A", state: WorkloadState.Running, hash: null), Workload("A", name: "connector-a-old") };
        var plan = Plan(listing, workloads);
        await Assert.That(Joined(plan)).IsEqualTo(
            "report_problem UnknownConfigHash A | report_status connector-a started | report_health connector-a | remove connector-a-old stale | stop connector-a | report_logs connector-a");
    }

    // ---- Blocked connectors and backoff -------------------------------------------------------------------------

    [Test]
    public async Task A_blocked_connector_is_not_deployed_and_says_why_once()
    {
        var listing = Listing(Connector("A", blocked: "OPENCTI_TOKEN could not be decrypted", requested: RequestedStatus.Starting));
        var store = new ConnectorStateStore();
        var plan = Plan(listing, [], store);
        await Assert.That(Joined(plan)).IsEqualTo("report_problem Blocked A");
        await Assert.That(((ReportProblemAction)plan.Connectors[0].Actions[0]).Message).IsEqualTo(
            "connector connector-A (A) is not deployed, started or refreshed: OPENCTI_TOKEN could not be decrypted");

        store.GetOrAdd("A").ReportedProblems = plan.Connectors[0].CurrentProblems!;
        await Assert.That(Plan(listing, [], store).ActionCount).IsEqualTo(0);
        // Another reason is another problem.
        var other = Listing(Connector("A", blocked: "OPENCTI_URL could not be decrypted"));
        await Assert.That(Joined(Plan(other, [], store))).IsEqualTo("report_problem Blocked A");
    }

    [Test]
    public async Task A_blocked_connectors_workload_is_kept_unchanged_but_still_reported_and_stoppable()
    {
        var blocked = Connector("A", blocked: "undecryptable", hash: "new", requested: RequestedStatus.Starting, current: ConnectorStatus.Started);
        var workloads = new[] { Workload("A", hash: "old"), Workload("A", name: "connector-a-old") };
        var store = Settled(Listing(blocked), workloads);
        store.GetOrAdd("A").ReportedProblems = [new ProblemKey(ProblemKind.Blocked, "undecryptable")];
        store.GetOrAdd("A").LastLogs = null;
        await Assert.That(Joined(Plan(Listing(blocked), workloads, store))).IsEqualTo("report_status connector-a stopped | report_logs connector-a");

        var stopping = blocked with { RequestedStatus = RequestedStatus.Stopping };
        var running = new[] { Workload("A", hash: "old", state: WorkloadState.Running) };
        HealthReported(store, "A", WorkloadState.Running, TimeSpan.Zero);
        store.GetOrAdd("A").LastLogs = Now;
        await Assert.That(Joined(Plan(Listing(stopping), running, store))).IsEqualTo("stop connector-a");
    }

    [Test]
    public async Task A_connector_waiting_for_its_image_check_is_kept_as_it_is_without_a_problem_told()
    {
        // Not deployed yet: nothing at all while its image is being checked.
        var waiting = Connector("A", requested: RequestedStatus.Starting) with { Waiting = "the image policy is still checking img:1" };
        await Assert.That(Plan(Listing(waiting), [], new ConnectorStateStore()).ActionCount).IsEqualTo(0);

        // Deployed: neither refreshed nor its old-named workload removed, still reported and stoppable.
        var changed = waiting with { ContractHash = "new", CurrentStatus = ConnectorStatus.Started };
        var workloads = new[] { Workload("A", hash: "old"), Workload("A", name: "connector-a-old") };
        var store = Settled(Listing(changed), workloads);
        store.GetOrAdd("A").LastLogs = null;
        await Assert.That(Joined(Plan(Listing(changed), workloads, store))).IsEqualTo("report_status connector-a stopped | report_logs connector-a");
        var stopping = changed with { RequestedStatus = RequestedStatus.Stopping };
        var running = new[] { Workload("A", hash: "old", state: WorkloadState.Running) };
        HealthReported(store, "A", WorkloadState.Running, TimeSpan.Zero);
        store.GetOrAdd("A").LastLogs = Now;
        await Assert.That(Joined(Plan(Listing(stopping), running, store))).IsEqualTo("stop connector-a");
    }

    [Test]
    public async Task Backoff_holds_back_changes_but_not_reports()
    {
        var listing = Listing(Connector("A", requested: RequestedStatus.Starting), Connector("B", requested: RequestedStatus.Starting));
        var workloads = new[] { Workload("A") };
        var store = Settled(listing, workloads);
        store.GetOrAdd("A").LastLogs = null;
        store.GetOrAdd("A").RetryAt = Now + TimeSpan.FromSeconds(20);
        store.GetOrAdd("B").RetryAt = Now + TimeSpan.FromSeconds(1);
        var plan = Plan(listing, workloads, store);
        await Assert.That(Joined(plan)).IsEqualTo("report_logs connector-a");
        await Assert.That(plan.Connectors[0].DeferredUntil).IsEqualTo(Now + TimeSpan.FromSeconds(20));
        await Assert.That(plan.Connectors[1].DeferredUntil).IsEqualTo(Now + TimeSpan.FromSeconds(1));

        var later = Plan(listing, workloads, store, now: Now + TimeSpan.FromSeconds(20));
        await Assert.That(Joined(later)).IsEqualTo("start connector-a | report_logs connector-a | deploy B");
    }

    [Test]
    public async Task Backoff_holds_back_orphan_removal()
    {
        var store = new ConnectorStateStore();
        store.GetOrAdd("D").RetryAt = Now + TimeSpan.FromSeconds(5);
        var plan = Plan(Listing(), [Workload("D")], store);
        await Assert.That(plan.ActionCount).IsEqualTo(0);
        await Assert.That(plan.Cleanup[0].DeferredUntil).IsEqualTo(Now + TimeSpan.FromSeconds(5));
    }

    // ---- Reboot-loop hold (manager.reboot_loop.stop) -------------------------------------------------------------------

    [Test]
    // requested status and contract now, workload state, expected
    [Arguments(RequestedStatus.Starting, "h1", WorkloadState.Restarting, "stop connector-a held")]
    [Arguments(RequestedStatus.Starting, "h1", WorkloadState.Running, "report_status connector-a started stop connector-a held")]
    [Arguments(RequestedStatus.Starting, "h1", WorkloadState.Stopped, "")] // held: not started
    [Arguments(RequestedStatus.Stopping, "h1", WorkloadState.Stopped, "release")] // requested again: the hold goes
    [Arguments(RequestedStatus.Starting, "h2", WorkloadState.Stopped, "refresh connector-a release")] // a new contract too
    public async Task A_held_connector_stays_stopped_until_its_requested_status_or_contract_changes(RequestedStatus requested, string hash, WorkloadState state,
        string expected)
    {
        var listing = Listing(Connector("A", requested: requested, hash: hash, current: ConnectorStatus.Stopped));
        var workloads = new[] { Workload("A", state: state) };
        var store = Settled(listing, workloads);
        store.GetOrAdd("A").RebootLoopHold = new RebootLoopHold(RequestedStatus.Starting, "h1");
        var plan = Plan(listing, workloads, store);
        var lines = Lines(plan).Select(l => l.StartsWith("stop", StringComparison.Ordinal) && plan.Connectors[0].Actions.OfType<StopAction>().Single().RebootLoopHold ? l + " held" : l);
        var release = plan.Connectors.FirstOrDefault()?.ReleaseHold == true ? ["release"] : Array.Empty<string>();
        await Assert.That(string.Join(" ", lines.Concat(release))).IsEqualTo(expected);
    }

    [Test]
    public async Task A_hold_without_a_workload_is_released_and_the_connector_deployed()
    {
        // Removed outside Composer while held: deployed again as requested (and held again if it still loops).
        var listing = Listing(Connector("A", requested: RequestedStatus.Starting));
        var store = new ConnectorStateStore();
        store.GetOrAdd("A").RebootLoopHold = new RebootLoopHold(RequestedStatus.Starting, "h1");
        var plan = Plan(listing, [], store);
        await Assert.That(Joined(plan)).IsEqualTo("deploy A");
        await Assert.That(plan.Connectors[0].ReleaseHold).IsTrue();
    }

    // ---- Purity, output -----------------------------------------------------------------------------------------

    [Test]
    public async Task Planning_changes_no_state_and_repeats_itself()
    {
        var listing = Listing(Connector("A", requested: RequestedStatus.Starting), Connector("B"));
        var workloads = new[] { Workload("A", state: WorkloadState.Running), Workload("D") };
        var store = new ConnectorStateStore();
        var first = Plan(listing, workloads, store).Describe();
        await Assert.That(store.Count).IsEqualTo(0);
        await Assert.That(Plan(listing, workloads, store).Describe()).IsEqualTo(first);
    }

    [Test]
    public async Task The_plan_reads_as_lines_and_as_json_without_configuration_values()
    {
        var listing = Listing(Connector("A", requested: RequestedStatus.Starting), Connector("B", hash: "h2"));
        var workloads = new[] { Workload("B"), Workload("D") };
        var plan = Plan(listing, workloads, Settled(listing, workloads));
        await Assert.That(plan.Describe()).IsEqualTo(
            "opencti: 3 actions\n" +
            "connector-A (A)\n" +
            "  deploy connector-a for connector connector-A (A) from image opencti/connector-a:6.0.0, started\n" +
            "connector-B (B)\n" +
            "  refresh connector-b (exited) of connector connector-B (B): config hash h1 -> h2\n" +
            "connector-d (D)\n" +
            "  remove connector-d (exited): orphan (connector D is no longer listed)");

        var json = plan.ToJson();
        await Assert.That(json).DoesNotContain("secret-token");
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        var root = doc.RootElement;
        await Assert.That(root.GetProperty("platform").GetString()).IsEqualTo("opencti");
        await Assert.That(root.GetProperty("planned").GetBoolean()).IsTrue();
        var deploy = root.GetProperty("connectors")[0].GetProperty("actions")[0];
        await Assert.That(deploy.GetProperty("action").GetString()).IsEqualTo("deploy");
        await Assert.That(deploy.GetProperty("connector_id").GetString()).IsEqualTo("A");
        await Assert.That(deploy.GetProperty("workload").GetString()).IsEqualTo("connector-a");
        await Assert.That(deploy.GetProperty("image").GetString()).IsEqualTo("opencti/connector-a:6.0.0");
        await Assert.That(deploy.GetProperty("start").GetBoolean()).IsTrue();
        var remove = root.GetProperty("cleanup")[0].GetProperty("actions")[0];
        await Assert.That(remove.GetProperty("reason").GetString()).IsEqualTo("orphan");
        await Assert.That(remove.GetProperty("workload_id").GetString()).IsEqualTo("wid-connector-d");
    }

    [Test]
    public async Task An_unplanned_plan_says_why_in_both_forms()
    {
        var plan = Plan(null, []);
        await Assert.That(plan.Describe()).IsEqualTo("opencti: nothing planned: the platform's connector listing failed");
        using var doc = System.Text.Json.JsonDocument.Parse(plan.ToJson());
        await Assert.That(doc.RootElement.GetProperty("planned").GetBoolean()).IsFalse();
        await Assert.That(doc.RootElement.GetProperty("reason").GetString()).IsEqualTo("the platform's connector listing failed");
    }
}

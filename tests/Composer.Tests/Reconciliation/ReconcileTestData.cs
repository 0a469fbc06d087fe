using Composer.Configuration;
using Composer.Images;
using Composer.Orchestration;
using Composer.Reconciliation;

namespace Composer.Tests.Reconciliation;

/// <summary>Connectors, workloads and plans as the reconciliation tests write them: ids A, B, …, names connector-&lt;id&gt;.</summary>
internal static class ReconcileTestData
{
    public const string ManagerId = "test-manager";

    public static readonly DateTimeOffset Now = new(2026, 3, 4, 5, 6, 7, TimeSpan.Zero);

    public const string PlatformUrl = "http://opencti:8080";

    /// <summary>This platform's composer.platform-instance value (the workloads Composer creates for it carry it).</summary>
    public static readonly string Instance = ConnectorLabels.PlatformInstanceValue(PlatformUrl);

    /// <summary>Another Composer's platform instance (same manager id, another platform URL).</summary>
    public static readonly string OtherInstance = ConnectorLabels.PlatformInstanceValue("https://other-opencti.example.com");

    public static ReconcileOptions Options(bool otherPlatformsEnabled = false, int maxParallel = 4) =>
        new(PlatformKind.OpenCti, ManagerId, Instance, otherPlatformsEnabled, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10), maxParallel)
        {
            HealthInterval = TimeSpan.FromSeconds(30),
        };

    public static WorkloadContext ManagerContext { get; } =
        new(ManagerId, PlatformUrl, null, ConnectorNetworkEnvironment.None, ConnectorNetworkEnvironment.None);

    public static DesiredConnector Connector(string id, string? name = null, string hash = "h1",
        RequestedStatus requested = RequestedStatus.Stopping, ConnectorStatus? current = ConnectorStatus.Stopped, string? blocked = null,
        PlatformKind platform = PlatformKind.OpenCti) =>
        new(id, platform, name ?? "connector-" + id, Image(id), hash, requested, current,
            [new ContractEntry("CONNECTOR_ID", id), new ContractEntry("OPENCTI_TOKEN", new Composer.Diagnostics.Secret("secret-token-" + id))], blocked,
            ImageResolver.NoRegistry.Resolve(Image(id)).Value);

    /// <summary>The image connector <paramref name="id"/> is listed with (as the cycle resolves it: no registry configured).</summary>
    private static string Image(string id) => "opencti/connector-" + id.ToLowerInvariant() + ":6.0.0";

    /// <summary>
    /// A workload as the Rust version (or Composer before the platform instance label) creates it: exactly the three
    /// labels, the hash in the environment; with <paramref name="instance"/>, Composer's fourth label.
    /// </summary>
    /// <param name="platform">The opencti-platform label; null for a workload created before the label existed.</param>
    /// <param name="connectorId">The opencti-connector-id label; null for none.</param>
    /// <param name="instance">The composer.platform-instance label; null for none.</param>
    public static ObservedWorkload Workload(string? connectorId, string? name = null, string? platform = "opencti",
        WorkloadState state = WorkloadState.Stopped, string? hash = "h1", string manager = ManagerId, string? instance = null)
    {
        var labels = new Dictionary<string, string> { [ConnectorLabels.Manager] = manager };
        if (connectorId is not null) labels[ConnectorLabels.ConnectorId] = connectorId;
        if (platform is not null) labels[ConnectorLabels.Platform] = platform;
        if (instance is not null) labels[ConnectorLabels.PlatformInstance] = instance;
        var workloadName = name ?? "connector-" + connectorId!.ToLowerInvariant();
        var raw = state switch { WorkloadState.Running => "running", WorkloadState.Restarting => "restarting", _ => "exited" };
        return new ObservedWorkload("wid-" + workloadName, workloadName, labels, state, raw, hash);
    }

    public static ConnectorListing Listing(params DesiredConnector[] connectors) => new(connectors, []);

    public static ReconcilePlan Plan(ConnectorListing? listing, IReadOnlyList<ObservedWorkload>? workloads, ConnectorStateStore? store = null,
        bool otherPlatformsEnabled = false, DateTimeOffset? now = null) =>
        Reconciler.Plan(Options(otherPlatformsEnabled), listing, workloads, store ?? new ConnectorStateStore(), now ?? Now);

    /// <summary>A store where every connector has just reported everything: only real changes are planned.</summary>
    public static ConnectorStateStore Settled(ConnectorListing listing, IReadOnlyList<ObservedWorkload> workloads)
    {
        var store = new ConnectorStateStore();
        foreach (var c in listing.Connectors)
        {
            var s = store.GetOrAdd(c.Id);
            s.LastLogs = Now;
            var name = WorkloadNames.ContainerName(c.Name);
            foreach (var w in workloads)
            {
                if (w.Name == name && w.ConnectorId == c.Id) s.LastHealth = new HealthReport(Now, w.WorkloadId, w.State);
            }
        }
        return store;
    }

    /// <summary>Records that the connector's health was reported <paramref name="ago"/> for its workload in <paramref name="state"/>.</summary>
    public static void HealthReported(ConnectorStateStore store, string connectorId, WorkloadState state, TimeSpan ago, string? workloadName = null) =>
        store.GetOrAdd(connectorId).LastHealth = new HealthReport(Now - ago, "wid-" + (workloadName ?? "connector-" + connectorId.ToLowerInvariant()), state);

    /// <summary>
    /// The plan as short lines, one per action, in execution order: "&lt;verb&gt; &lt;workload or connector id&gt;"
    /// ("report_problem &lt;kind&gt; &lt;connector id or workload id&gt;" for problems).
    /// </summary>
    public static List<string> Lines(ReconcilePlan plan)
    {
        var lines = new List<string>();
        foreach (var group in plan.Connectors) Add(group);
        foreach (var group in plan.Cleanup) Add(group);
        return lines;

        void Add(ConnectorPlan group)
        {
            foreach (var action in group.Actions)
            {
                lines.Add(action switch
                {
                    DeployAction d => $"deploy {d.Connector.Id}",
                    RemoveAction r => $"remove {r.Workload.Name} {(r.Reason == RemoveReason.Orphan ? "orphan" : "stale")}",
                    ReportStatusAction s => $"report_status {s.Workload.Name} {(s.Status == ConnectorStatus.Started ? "started" : "stopped")}",
                    ReportProblemAction p => $"report_problem {p.Key.Kind} {p.ConnectorId ?? p.Key.Detail}",
                    StartAction s => $"start {s.Workload.Name}",
                    StopAction s => $"stop {s.Workload.Name}",
                    RefreshAction r => $"refresh {r.Workload.Name}",
                    ReportHealthAction h => $"report_health {h.Workload.Name}",
                    ReportLogsAction l => $"report_logs {l.Workload.Name}",
                    _ => action.Verb,
                });
            }
        }
    }

    /// <summary>Only the removals of a plan ("remove &lt;name&gt; orphan|stale").</summary>
    public static List<string> Removals(ReconcilePlan plan) => Lines(plan).FindAll(l => l.StartsWith("remove ", StringComparison.Ordinal));
}

using BenchmarkDotNet.Attributes;
using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Orchestration;
using Composer.Reconciliation;

namespace Composer.Benchmarks;

/// <summary>
/// Planning one cycle when nothing is to be done: every connector running, aligned with the platform, and every
/// report sent just now. The steady state of a large install; the goal is well under 1 ms for 1,000 connectors with
/// allocations linear in n.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class PlanBenchmarks
{
    private const string ManagerId = "bench-manager";
    private static readonly DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private ReconcileOptions _options = null!;
    private ConnectorListing _listing = null!;
    private ObservedWorkload[] _workloads = null!;
    private ConnectorStateStore _store = null!;

    [Params(10, 100, 1000)]
    public int Connectors { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _options = new ReconcileOptions(PlatformKind.OpenCti, ManagerId, OtherPlatformsEnabled: true,
            LogsSchedule: TimeSpan.FromSeconds(10), ExecuteSchedule: TimeSpan.FromSeconds(10));
        var connectors = new DesiredConnector[Connectors];
        _workloads = new ObservedWorkload[Connectors];
        _store = new ConnectorStateStore();
        for (var i = 0; i < Connectors; i++)
        {
            var id = Guid.NewGuid().ToString();
            var hash = "hash-" + i;
            connectors[i] = new DesiredConnector(id, PlatformKind.OpenCti, $"Connector {i}: feed", "opencti/connector-feed:6.4.0", hash,
                RequestedStatus.Starting, ConnectorStatus.Started,
                [new ContractEntry("CONNECTOR_ID", id), new ContractEntry("OPENCTI_TOKEN", new Secret("token"))]);
            _workloads[i] = new ObservedWorkload("container-" + i, WorkloadNames.ContainerName(connectors[i].Name),
                ConnectorWorkload.LabelsFor(ManagerId, id, PlatformKind.OpenCti), WorkloadState.Running, "running", hash);
            var state = _store.GetOrAdd(id);
            state.WasRunning = true;
            state.LastHealthReport = Now;
            state.LastLogs = Now;
        }
        _listing = new ConnectorListing(connectors, []);
        var plan = Plan();
        if (plan.ActionCount != 0 || plan.Connectors.Count != 0) throw new InvalidOperationException("the benchmark must plan nothing:\n" + plan.Describe());
    }

    [Benchmark]
    public ReconcilePlan Plan() => Reconciler.Plan(_options, _listing, _workloads, _store, Now);
}

using Composer.Diagnostics;
using Composer.Reconciliation;

namespace Composer.Orchestration;

/// <summary>
/// The deploy, refresh and start of <see cref="IOrchestrator"/> for the orchestrators here: each builds the connector's
/// <see cref="ConnectorWorkload"/> with the one <see cref="WorkloadBuilder"/> and hands it to the orchestrator's own
/// implementation.
/// </summary>
public abstract class WorkloadOrchestrator(WorkloadBuilder workloads)
{
    public Task<Failure?> DeployAsync(DesiredConnector connector, CancellationToken cancellationToken) =>
        DeployAsync(workloads.Build(connector), cancellationToken);

    public Task<Failure?> RefreshAsync(ObservedWorkload current, DesiredConnector connector, CancellationToken cancellationToken) =>
        RefreshAsync(current, workloads.Build(connector), cancellationToken);

    public Task<Failure?> StartAsync(ObservedWorkload current, DesiredConnector connector, CancellationToken cancellationToken) =>
        StartAsync(current, workloads.Build(connector), cancellationToken);

    /// <summary>See <see cref="IOrchestrator.DeployAsync"/>; <paramref name="workload"/> says whether to start it.</summary>
    internal abstract Task<Failure?> DeployAsync(ConnectorWorkload workload, CancellationToken cancellationToken);

    /// <summary>See <see cref="IOrchestrator.RefreshAsync"/>.</summary>
    internal abstract Task<Failure?> RefreshAsync(ObservedWorkload current, ConnectorWorkload workload, CancellationToken cancellationToken);

    /// <summary>See <see cref="IOrchestrator.StartAsync"/>.</summary>
    internal abstract Task<Failure?> StartAsync(ObservedWorkload current, ConnectorWorkload workload, CancellationToken cancellationToken);
}

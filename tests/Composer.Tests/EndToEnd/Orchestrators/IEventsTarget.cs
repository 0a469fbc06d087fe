namespace Composer.Tests.EndToEnd.Orchestrators;

/// <summary>What the event scenarios (<see cref="OrchestratorEventTests"/>) do to an orchestrator whose changes Composer watches.</summary>
internal interface IEventsTarget
{
    /// <summary>The workload's process ends and the orchestrator starts it again by itself (a crash, a kill).</summary>
    Task CrashAsync(WorkloadView workload);

    /// <summary>The workload is removed by someone else than Composer.</summary>
    Task DeleteAsync(WorkloadView workload);

    /// <summary>The workload listings Composer made so far (what a polling cycle costs).</summary>
    int WorkloadListings { get; }

    /// <summary>The event stream is cut and cannot be opened again until <see cref="RestoreEvents"/>.</summary>
    void CutEvents();

    void RestoreEvents();
}

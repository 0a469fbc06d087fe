using Composer.Diagnostics;
using Composer.Orchestration.Docker;
using Composer.Reconciliation;
using Docker.DotNet.Models;

namespace Composer.Orchestration.Swarm;

/// <summary>
/// What the tasks of a service say about the connector. Swarm keeps a few ended tasks per slot (the task history
/// retention limit, 5 by default) besides the current one.
/// <list type="bullet">
/// <item>State: Running when a task runs and is meant to; otherwise Restarting while the service wants a replica and a
/// task is on its way (new to starting, desired ready or running: Swarm is pulling, scheduling or waiting out the
/// restart delay); otherwise Stopped (scaled to 0, or restarts given up).</item>
/// <item>Restarts: the tasks created since the service was last updated (Composer's refresh, start or stop) that
/// failed, completed or were rejected on their own (tasks Composer replaced or scaled away end as "shutdown"), at most
/// what the history keeps, which is enough for reboot-loop detection. Failures of an earlier spec do not count.</item>
/// <item>Start time: the running task's status timestamp (when it became running); without one, when the last of
/// those tasks ended (a crashing connector ends right after it starts).</item>
/// <item>Exit code: the container exit code of the last of those tasks. Restarting: the service wants a replica, none
/// runs and one of those tasks ended, so Swarm is starting another.</item>
/// </list>
/// </summary>
public static class SwarmTasks
{
    public static (WorkloadState State, string Raw) Reduce(SwarmService service, IReadOnlyList<TaskResponse> tasks)
    {
        if (tasks.Any(IsRunning)) return (WorkloadState.Running, "running");
        var replicas = Replicas(service);
        if (replicas > 0 && tasks.FirstOrDefault(IsUnderWay) is { } starting) return (WorkloadState.Restarting, Word(starting.Status?.State));
        if (replicas == 0) return (WorkloadState.Stopped, "replicas 0");
        var latest = tasks.OrderByDescending(t => t.UpdatedAt ?? t.CreatedAt ?? DateTime.MinValue).FirstOrDefault();
        if (latest is null) return (WorkloadState.Stopped, "no task");
        var error = latest.Status?.Err;
        return (WorkloadState.Stopped, string.IsNullOrEmpty(error) ? Word(latest.Status?.State) : $"{Word(latest.Status?.State)}: {OneLine(error)}");
    }

    public static WorkloadHealth Health(SwarmService service, IReadOnlyList<TaskResponse> tasks)
    {
        var since = DockerOrchestrator.Utc(service.UpdatedAt);
        var ended = tasks
            .Where(t => t.Status?.State is TaskState.Failed or TaskState.Complete or TaskState.Rejected)
            .Where(t => since is null || DockerOrchestrator.Utc(t.CreatedAt) is not { } created || created >= since)
            .OrderByDescending(t => DockerOrchestrator.Utc(t.Status?.Timestamp) ?? DateTimeOffset.MinValue)
            .ToList();
        var running = tasks.FirstOrDefault(IsRunning);
        var started = DockerOrchestrator.Utc((running ?? ended.FirstOrDefault())?.Status?.Timestamp);
        int? exitCode = ended.FirstOrDefault()?.Status?.ContainerStatus is { } container ? (int)container.ExitCode : null;
        var restarting = running is null && Replicas(service) > 0 && ended.Count > 0;
        return new WorkloadHealth(ended.Count, started, restarting, exitCode);
    }

    /// <summary>The replicas the service asks for; a service in another mode (global) counts as one.</summary>
    public static ulong Replicas(SwarmService service) =>
        service.Spec?.Mode is { } mode ? mode.Replicated is { } replicated ? replicated.Replicas ?? 0 : 1 : 0;

    private static bool IsRunning(TaskResponse task) => task.Status?.State == TaskState.Running && task.DesiredState == TaskState.Running;

    private static bool IsUnderWay(TaskResponse task) =>
        task.DesiredState is TaskState.Running or TaskState.Ready && task.Status?.State is { } state && state <= TaskState.Starting;

    private static string Word(TaskState? state) => state?.ToString().ToLowerInvariant() ?? "unknown";

    /// <summary>A task's error may quote what the engine refused (an environment value): secrets masked before the cut.</summary>
    private static string OneLine(string text)
    {
        var line = SecretScrubber.Shared.Scrub(text).ReplaceLineEndings(" ").Trim();
        return line.Length > 200 ? line[..200] + "..." : line;
    }
}

using Composer.Diagnostics;

namespace Composer.Reconciliation;

/// <summary>Why a workload is removed.</summary>
public enum RemoveReason
{
    /// <summary>Its connector id is neither listed nor skipped by the platform.</summary>
    Orphan,

    /// <summary>Its connector is listed under another name now (renamed): the workload with the new name replaces it.</summary>
    StaleName,
}

/// <summary>
/// One step of a plan, the closed set the executor knows. Actions carry what the executor needs (the connector and
/// the observed workload), not built workload specifications: building them for every idle connector each cycle
/// would allocate for nothing, so the orchestrator builds them when the executor acts.
/// </summary>
public abstract record ConnectorAction
{
    // Closed set: only the records below derive from it.
    private protected ConnectorAction()
    {
    }

    /// <summary>True for actions that change the orchestrator: held back by backoff, and their failure starts one.</summary>
    public abstract bool IsMutating { get; }

    /// <summary>deploy, start, stop, refresh, remove, report_status, report_health, report_logs or report_problem.</summary>
    public abstract string Verb { get; }

    /// <summary>One line for people (`composer plan`, logs). Never holds configuration values.</summary>
    public abstract string Describe();

    // The generated ToString would list the members; the description is what people need (and holds no secret).
    public sealed override string ToString() => Describe();

    internal abstract PlanActionJson ToJson();

    private protected PlanActionJson Json(DesiredConnector? connector, ObservedWorkload? workload) => new()
    {
        Action = Verb,
        Description = Describe(),
        ConnectorId = connector?.Id ?? workload?.ConnectorId,
        Connector = connector?.Name,
        Workload = workload?.Name,
        WorkloadId = workload?.WorkloadId,
    };
}

/// <summary>Creates the connector's missing workload, started when the platform asks for it.</summary>
public sealed record DeployAction(DesiredConnector Connector) : ConnectorAction
{
    public override bool IsMutating => true;
    public override string Verb => "deploy";

    private bool Starts => Connector.RequestedStatus == RequestedStatus.Starting;

    public override string Describe() =>
        $"deploy {WorkloadNames.ContainerName(Connector.Name)} for {Connector} from image {Connector.Image}{Pinned(Connector)}, {(Starts ? "started" : "not started (the platform asks for it stopped)")}";

    /// <summary>" (runs repository@digest)" when the image policy pinned the image to the digest it checked.</summary>
    internal static string Pinned(DesiredConnector connector) =>
        connector.PullImage is { Digest: not null } image && image.Reference != connector.Image ? $" (runs {image.Reference})" : "";

    internal override PlanActionJson ToJson() => Json(Connector, null) with
    {
        Workload = WorkloadNames.ContainerName(Connector.Name),
        Image = Connector.Image,
        Start = Starts,
    };
}

/// <summary>Starts a stopped workload the platform wants running.</summary>
public sealed record StartAction(DesiredConnector Connector, ObservedWorkload Workload) : ConnectorAction
{
    public override bool IsMutating => true;
    public override string Verb => "start";
    public override string Describe() => $"start {Workload} of {Connector}";
    internal override PlanActionJson ToJson() => Json(Connector, Workload);
}

/// <summary>Stops a running (or restarting) workload the platform wants stopped, or that a reboot loop holds stopped.</summary>
/// <param name="RebootLoopHold">True when the connector is held stopped after a reboot loop (manager.reboot_loop.stop).</param>
public sealed record StopAction(DesiredConnector Connector, ObservedWorkload Workload, bool RebootLoopHold = false) : ConnectorAction
{
    public override bool IsMutating => true;
    public override string Verb => "stop";

    public override string Describe() => $"stop {Workload} of {Connector} ({Reason})";

    /// <summary>Why it is stopped, for the plan and the log.</summary>
    public string Reason => RebootLoopHold
        ? "held stopped after a reboot loop until it is requested again or its configuration changes (manager.reboot_loop.stop)"
        : "requested stopping";

    internal override PlanActionJson ToJson() => Json(Connector, Workload) with { Reason = RebootLoopHold ? "reboot_loop" : "requested" };
}

/// <summary>
/// Replaces a workload whose configuration hash differs from the platform's. The new workload is created with the
/// requested status, so a refresh also settles start or stop.
/// </summary>
public sealed record RefreshAction(DesiredConnector Connector, ObservedWorkload Workload) : ConnectorAction
{
    public override bool IsMutating => true;
    public override string Verb => "refresh";
    public override string Describe() => $"refresh {Workload} of {Connector}: config hash {Workload.ConfigHash} -> {Connector.ContractHash}";
    internal override PlanActionJson ToJson() => Json(Connector, Workload) with { Image = Connector.Image, Start = Connector.RequestedStatus == RequestedStatus.Starting };
}

/// <summary>Removes a workload of this platform: an orphan, or a connector's workload under an old name.</summary>
/// <param name="Connector">For <see cref="RemoveReason.StaleName"/>: the listed connector the workload belonged to; null for orphans.</param>
public sealed record RemoveAction(ObservedWorkload Workload, RemoveReason Reason, DesiredConnector? Connector = null) : ConnectorAction
{
    public override bool IsMutating => true;
    public override string Verb => "remove";

    public override string Describe() => Reason == RemoveReason.Orphan
        ? $"remove {Workload}: orphan (connector {Workload.ConnectorId} is no longer listed)"
        : $"remove {Workload}: stale name of {Connector} (now {(Connector is null ? "renamed" : WorkloadNames.ContainerName(Connector.Name))})";

    internal override PlanActionJson ToJson() => Json(Connector, Workload) with { Reason = Reason == RemoveReason.Orphan ? "orphan" : "stale_name" };
}

/// <summary>Tells the platform the connector's observed status.</summary>
public sealed record ReportStatusAction(DesiredConnector Connector, ObservedWorkload Workload, ConnectorStatus Status) : ConnectorAction
{
    public override bool IsMutating => false;
    public override string Verb => "report_status";
    public override string Describe() => $"report {Connector} as {StatusWord(Status)} ({Workload})";
    internal override PlanActionJson ToJson() => Json(Connector, Workload) with { Status = StatusWord(Status) };

    internal static string StatusWord(ConnectorStatus status) => status == ConnectorStatus.Started ? "started" : "stopped";
}

/// <summary>Sends the workload's restart count, start time and reboot-loop flag (read by the executor), whether it runs or not.</summary>
public sealed record ReportHealthAction(DesiredConnector Connector, ObservedWorkload Workload) : ConnectorAction
{
    public override bool IsMutating => false;
    public override string Verb => "report_health";
    public override string Describe() => $"report the health of {Workload} of {Connector}";
    internal override PlanActionJson ToJson() => Json(Connector, Workload);
}

/// <summary>Uploads the workload's log lines written since the last upload (the executor keeps the cursor).</summary>
public sealed record ReportLogsAction(DesiredConnector Connector, ObservedWorkload Workload) : ConnectorAction
{
    public override bool IsMutating => false;
    public override string Verb => "report_logs";
    public override string Describe() => $"upload new log lines of {Workload} of {Connector}";
    internal override PlanActionJson ToJson() => Json(Connector, Workload);
}

/// <summary>
/// A problem for the log and, when it concerns a connector (<see cref="ConnectorId"/> set), for that connector's
/// platform log, where the user sees it. Reported once per <see cref="Key"/> while it lasts.
/// </summary>
public sealed record ReportProblemAction(ProblemKey Key, LogLevel Severity, string Message, string? ConnectorId = null, string? ConnectorName = null)
    : ConnectorAction
{
    public override bool IsMutating => false;
    public override string Verb => "report_problem";
    public override string Describe() => $"{Logger.LevelName(Severity)}: {Message}";

    internal override PlanActionJson ToJson() => Json(null, null) with
    {
        ConnectorId = ConnectorId,
        Connector = ConnectorName,
        Severity = Logger.LevelName(Severity),
        Message = Message,
    };
}

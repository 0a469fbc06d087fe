namespace Composer.Reconciliation;

/// <summary>What kind of problem a <see cref="ReportProblemAction"/> is about; with the detail, what makes it "the same problem".</summary>
public enum ProblemKind
{
    /// <summary>The platform's connector is blocked (for example a secret that could not be decrypted); detail: the reason.</summary>
    Blocked,

    /// <summary>The connector's workload name is taken by a workload of another connector or platform; detail: that workload's id.</summary>
    NameCollision,

    /// <summary>Two listed connectors have the same workload name; detail: the id of the connector that keeps the name.</summary>
    DuplicateName,

    /// <summary>The listing holds the connector id twice; the later entries are ignored.</summary>
    DuplicateId,

    /// <summary>The workload carries no OPENCTI_CONFIG_HASH, so whether it is current cannot be told; detail: the workload id.</summary>
    UnknownConfigHash,

    /// <summary>The listing entry could not be used; detail: the reason.</summary>
    Skipped,

    /// <summary>A workload without an opencti-platform label while several platforms are enabled: left alone; detail: the workload id.</summary>
    UnlabelledWorkload,

    /// <summary>A workload of this manager without an opencti-connector-id label: never removed; detail: the workload id.</summary>
    NoConnectorId,

    /// <summary>Workloads of another Composer with this manager id (another platform instance label, connectors not listed here): never touched; detail: that instance.</summary>
    OtherInstance,

    /// <summary>A workload labelled with another platform instance whose connector is listed here (the platform URL changed): adopted; detail: the workload id.</summary>
    AdoptedWorkload,
}

/// <summary>
/// Identifies a problem so that it is reported once, not every cycle: a problem whose key was reported is reported
/// again only after it went away and came back. A value type, so planning compares problems without allocating.
/// </summary>
public readonly record struct ProblemKey(ProblemKind Kind, string? Detail);

using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Images;

namespace Composer.Reconciliation;

/// <summary>What the platform asks for a connector (manager_requested_status / connector_instance_requested_status).</summary>
public enum RequestedStatus
{
    /// <summary>"starting": deployed and running.</summary>
    Starting,

    /// <summary>Any other word the platform stores ("stopping"; "stopped" for a connector added from the catalog): deployed, not running.</summary>
    Stopping,
}

/// <summary>A connector's status as Composer reports it (and as the platform last recorded it): started or stopped.</summary>
public enum ConnectorStatus
{
    Started,
    Stopped,
}

/// <summary>
/// One contract configuration entry: a plain value, or the decrypted value of an entry encrypted on the wire, held as a
/// <see cref="Diagnostics.Secret"/> (and then <see cref="Value"/> is only its mask).
/// </summary>
public sealed record ContractEntry
{
    public ContractEntry(string key, string value)
    {
        Key = key;
        Value = value;
    }

    public ContractEntry(string key, Secret secret)
    {
        Key = key;
        Secret = secret;
        Value = Secret.Mask;
    }

    public string Key { get; }

    /// <summary>The value; for a secret entry, the mask (its value is <see cref="Secret"/>).</summary>
    public string Value { get; }

    /// <summary>The decrypted value of an entry that was encrypted on the wire; null for a plain one.</summary>
    public Secret? Secret { get; }

    public bool Sensitive => Secret is not null;

    public override string ToString() => $"{Key}={Value}";
}

/// <summary>
/// A connector the platform wants managed, with its contract decrypted.
/// </summary>
/// <param name="Id">The platform's connector (instance) id: the opencti-connector-id label.</param>
/// <param name="Platform">Which platform listed it: the opencti-platform label.</param>
/// <param name="Name">The connector name; the workload name is derived from it (<see cref="WorkloadNames.ContainerName"/>).</param>
/// <param name="Image">The image as the platform gives it (before registry prefix resolution).</param>
/// <param name="ContractHash">manager_contract_hash: OPENCTI_CONFIG_HASH of the workload; a change means refresh.</param>
/// <param name="RequestedStatus">What the platform asks.</param>
/// <param name="CurrentStatus">What the platform last recorded (null: nothing recorded or a value Composer does not know).</param>
/// <param name="Configuration">Contract entries in platform order, decrypted.</param>
/// <param name="Blocked">
/// Why this connector must not be deployed, started or refreshed (for example a secret that could not be decrypted), or
/// null. A blocked connector's existing workload is kept as it is: never started with an empty secret, never removed.
/// </param>
/// <param name="Waiting">
/// Why this connector's work waits this time (the image policy is still checking its image), or null: planned like a
/// blocked connector (its workload kept as it is, still stoppable) but without a problem told; planned again when the
/// answer comes.
/// </param>
/// <param name="PullImage">
/// <see cref="Image"/> resolved with the registry prefix: the image every later step uses (plan, registry check, pull),
/// resolved once by <see cref="ReconcileCycle"/> where it builds its input. Null until then, and for a connector whose
/// image cannot be pulled (it is <see cref="Blocked"/> with the reason).
/// </param>
public sealed record DesiredConnector(
    string Id,
    PlatformKind Platform,
    string Name,
    string Image,
    string ContractHash,
    RequestedStatus RequestedStatus,
    ConnectorStatus? CurrentStatus,
    IReadOnlyList<ContractEntry> Configuration,
    string? Blocked = null,
    ResolvedImage? PullImage = null,
    string? Waiting = null)
{
    // The generated ToString would print the entries' values through the list; name and id are enough.
    public override string ToString() => $"connector {Name} ({Id})";
}

/// <summary>A listing entry that could not be used (null entry, missing or invalid field, unknown status), with the reason.</summary>
/// <param name="Id">The entry's id when it had one: its workload is protected from orphan removal.</param>
/// <param name="Name">The entry's name when it had one, for messages.</param>
public sealed record SkippedConnector(string? Id, string? Name, string Reason);

/// <summary>
/// One successful connector listing. A listing that failed is a <see cref="Failure"/>, never an empty listing.
/// </summary>
public sealed record ConnectorListing(IReadOnlyList<DesiredConnector> Connectors, IReadOnlyList<SkippedConnector> Skipped)
{
    /// <summary>
    /// True when every entry had an id, so a workload whose id is absent really is an orphan. When false (an entry
    /// without an id), nothing may be removed this cycle.
    /// </summary>
    public bool IsComplete
    {
        get
        {
            foreach (var s in Skipped)
            {
                if (s.Id is null) return false;
            }
            return true;
        }
    }
}

/// <summary>Health of a running connector, as reported to the platform.</summary>
/// <param name="StartedAt">When the current run of the workload started.</param>
/// <param name="IsInRebootLoop">More than 3 restarts and started less than 5 minutes ago.</param>
public sealed record ConnectorHealth(int RestartCount, DateTimeOffset StartedAt, bool IsInRebootLoop);

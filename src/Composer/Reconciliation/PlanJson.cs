using System.Text.Json.Serialization;

namespace Composer.Reconciliation;

/// <summary>The JSON form of a plan (`composer plan --format json`).</summary>
internal sealed record PlanJson
{
    public required string Platform { get; init; }

    /// <summary>False when a listing failed and nothing was planned (see <see cref="Reason"/>).</summary>
    public required bool Planned { get; init; }

    public string? Reason { get; init; }

    /// <summary>Why no workload is removed this cycle, when that is so.</summary>
    public string? CleanupSkipped { get; init; }

    public required List<PlanGroupJson> Connectors { get; init; }

    public required List<PlanGroupJson> Cleanup { get; init; }
}

/// <summary>One connector's actions in execution order.</summary>
internal sealed record PlanGroupJson
{
    public string? Id { get; init; }
    public required string Name { get; init; }

    /// <summary>When changes held back by backoff are retried (ISO 8601), if they are.</summary>
    public string? DeferredUntil { get; init; }

    public required List<PlanActionJson> Actions { get; init; }
}

/// <summary>One action: its verb and description, and the fields that apply to it. Never configuration values.</summary>
internal sealed record PlanActionJson
{
    public required string Action { get; init; }
    public required string Description { get; init; }
    public string? ConnectorId { get; init; }
    public string? Connector { get; init; }
    public string? Workload { get; init; }
    public string? WorkloadId { get; init; }
    public string? Image { get; init; }
    public bool? Start { get; init; }
    public string? Status { get; init; }
    public string? Reason { get; init; }
    public string? Severity { get; init; }
    public string? Message { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = true)]
[JsonSerializable(typeof(PlanJson))]
internal sealed partial class PlanJsonContext : JsonSerializerContext;

using System.Text.Json.Serialization;

namespace Composer.Platform.OpenAev;

internal sealed class RegisterBody
{
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("public_key")] public required string PublicKey { get; init; }
}

internal sealed class StatusBody
{
    [JsonPropertyName("connector_instance_current_status")] public required string Status { get; init; }
}

internal sealed class LogsBody
{
    [JsonPropertyName("connector_instance_logs")] public required IReadOnlyList<string> Logs { get; init; }
}

internal sealed class HealthBody
{
    [JsonPropertyName("connector_instance_restart_count")] public required int RestartCount { get; init; }
    [JsonPropertyName("connector_instance_started_at")] public required string StartedAt { get; init; }
    [JsonPropertyName("connector_instance_is_in_reboot_loop")] public required bool IsInRebootLoop { get; init; }
}

/// <summary>The ConnectorManager answer of register and refresh-connectivity.</summary>
internal sealed class ComposerManagerJson
{
    [JsonPropertyName("xtm_composer_id")] public string? Id { get; init; }
    [JsonPropertyName("xtm_composer_version")] public string? Version { get; init; }
}

/// <summary>One connector instance of the listing; every field nullable so the builder names what is missing.</summary>
internal sealed class ConnectorInstanceJson
{
    [JsonPropertyName("connector_instance_id")] public string? Id { get; init; }
    [JsonPropertyName("connector_instance_name")] public string? Name { get; init; }
    [JsonPropertyName("connector_instance_hash")] public string? Hash { get; init; }
    [JsonPropertyName("connector_image")] public string? Image { get; init; }
    [JsonPropertyName("connector_instance_current_status")] public string? CurrentStatus { get; init; }
    [JsonPropertyName("connector_instance_requested_status")] public string? RequestedStatus { get; init; }
    [JsonPropertyName("connector_instance_configurations")] public List<ConnectorInstanceConfigurationJson?>? Configurations { get; init; }
}

internal sealed class ConnectorInstanceConfigurationJson
{
    [JsonPropertyName("configuration_key")] public string? Key { get; init; }
    [JsonPropertyName("configuration_value")] public string? Value { get; init; }
    [JsonPropertyName("configuration_is_encrypted")] public bool? IsEncrypted { get; init; }
}

[JsonSerializable(typeof(RegisterBody))]
[JsonSerializable(typeof(StatusBody))]
[JsonSerializable(typeof(LogsBody))]
[JsonSerializable(typeof(HealthBody))]
[JsonSerializable(typeof(ComposerManagerJson))]
[JsonSerializable(typeof(ConnectorInstanceJson))]
internal sealed partial class OpenAevJsonContext : JsonSerializerContext;

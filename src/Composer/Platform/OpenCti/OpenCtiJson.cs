using System.Text.Json.Serialization;

namespace Composer.Platform.OpenCti;

/// <summary>A GraphQL request body; the properties are written in this order: query, variables, operationName.</summary>
internal sealed class GraphQlRequest<TVariables> where TVariables : class
{
    [JsonPropertyName("query")] public required string Query { get; init; }
    [JsonPropertyName("variables")] public TVariables? Variables { get; init; }
    [JsonPropertyName("operationName")] public required string OperationName { get; init; }
}

/// <summary>The variables of the queries, which have none: always written as null.</summary>
internal sealed class NoVariables;

/// <summary>{"input": ...}: every mutation takes one input object.</summary>
internal sealed class InputVariables<TInput> where TInput : class
{
    [JsonPropertyName("input")] public required TInput Input { get; init; }
}

internal sealed class ManagerIdInput
{
    [JsonPropertyName("id")] public required string Id { get; init; }
}

internal sealed class RegisterManagerInput
{
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("name")] public required string Name { get; init; }
    [JsonPropertyName("public_key")] public required string PublicKey { get; init; }
}

internal sealed class CurrentStatusInput
{
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("status")] public required string Status { get; init; }
}

internal sealed class LogsInput
{
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("logs")] public required IReadOnlyList<string> Logs { get; init; }
}

internal sealed class HealthInput
{
    [JsonPropertyName("id")] public required string Id { get; init; }
    [JsonPropertyName("restart_count")] public required int RestartCount { get; init; }
    [JsonPropertyName("started_at")] public required string StartedAt { get; init; }
    [JsonPropertyName("is_in_reboot_loop")] public required bool IsInRebootLoop { get; init; }
}

/// <summary>AppInfo as selected by GetVersion.</summary>
internal sealed class AboutJson
{
    [JsonPropertyName("version")] public string? Version { get; init; }
}

/// <summary>ConnectorManager as selected by the register and ping mutations.</summary>
internal sealed class ConnectorManagerJson
{
    [JsonPropertyName("id")] public string? Id { get; init; }
    [JsonPropertyName("about_version")] public string? AboutVersion { get; init; }
}

/// <summary>The ManagedConnector selection; every field nullable so the builder names what is missing.</summary>
internal sealed class ManagedConnectorJson
{
    [JsonPropertyName("id")] public string? Id { get; init; }
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("manager_contract_hash")] public string? ContractHash { get; init; }
    [JsonPropertyName("manager_contract_image")] public string? ContractImage { get; init; }
    [JsonPropertyName("manager_current_status")] public string? CurrentStatus { get; init; }
    [JsonPropertyName("manager_requested_status")] public string? RequestedStatus { get; init; }
    [JsonPropertyName("manager_contract_configuration")] public List<ContractConfigurationJson?>? Configuration { get; init; }
}

internal sealed class ContractConfigurationJson
{
    [JsonPropertyName("key")] public string? Key { get; init; }
    [JsonPropertyName("value")] public string? Value { get; init; }
    [JsonPropertyName("encrypted")] public bool? Encrypted { get; init; }
}

// No null-skipping: "variables": null is part of the wire format. Strict types: a number where a string belongs is an error.
[JsonSerializable(typeof(GraphQlRequest<NoVariables>), TypeInfoPropertyName = "QueryRequest")]
[JsonSerializable(typeof(GraphQlRequest<InputVariables<ManagerIdInput>>), TypeInfoPropertyName = "PingRequest")]
[JsonSerializable(typeof(GraphQlRequest<InputVariables<RegisterManagerInput>>), TypeInfoPropertyName = "RegisterRequest")]
[JsonSerializable(typeof(GraphQlRequest<InputVariables<CurrentStatusInput>>), TypeInfoPropertyName = "StatusRequest")]
[JsonSerializable(typeof(GraphQlRequest<InputVariables<LogsInput>>), TypeInfoPropertyName = "LogsRequest")]
[JsonSerializable(typeof(GraphQlRequest<InputVariables<HealthInput>>), TypeInfoPropertyName = "HealthRequest")]
[JsonSerializable(typeof(AboutJson))]
[JsonSerializable(typeof(ConnectorManagerJson))]
[JsonSerializable(typeof(ManagedConnectorJson))]
internal sealed partial class OpenCtiJsonContext : JsonSerializerContext;

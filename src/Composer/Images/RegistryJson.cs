using System.Text.Json.Serialization;

namespace Composer.Images;

/// <summary>Payload of the Docker Engine API X-Registry-Auth header (moby AuthConfig field names).</summary>
internal sealed class XRegistryAuthPayload
{
    [JsonPropertyName("username")] public string? Username { get; init; }
    [JsonPropertyName("password")] public string? Password { get; init; }
    [JsonPropertyName("email")] public string? Email { get; init; }
    [JsonPropertyName("serveraddress")] public string? ServerAddress { get; init; }
    [JsonPropertyName("identitytoken")] public string? IdentityToken { get; init; }
    [JsonPropertyName("registrytoken")] public string? RegistryToken { get; init; }
}

/// <summary>What a docker-credential-helpers helper prints for `get`: {"ServerURL","Username","Secret"}.</summary>
internal sealed class CredentialHelperAnswer
{
    [JsonPropertyName("ServerURL")] public string? ServerUrl { get; init; }
    [JsonPropertyName("Username")] public string? Username { get; init; }
    [JsonPropertyName("Secret")] public string? Secret { get; init; }
}

/// <summary>A Kubernetes kubernetes.io/dockerconfigjson document: {"auths":{"host":{...}}}.</summary>
internal sealed class DockerConfigJsonDocument
{
    [JsonPropertyName("auths")] public required Dictionary<string, DockerConfigAuthEntry> Auths { get; init; }
}

internal sealed class DockerConfigAuthEntry
{
    [JsonPropertyName("username")] public required string Username { get; init; }
    [JsonPropertyName("password")] public required string Password { get; init; }
    [JsonPropertyName("email")] public string? Email { get; init; }
    [JsonPropertyName("auth")] public required string Auth { get; init; }
}

/// <summary>Token endpoint answer (distribution token spec): token and/or access_token, expires_in, issued_at.</summary>
internal sealed class RegistryTokenResponse
{
    [JsonPropertyName("token")] public string? Token { get; init; }
    [JsonPropertyName("access_token")] public string? AccessToken { get; init; }
    [JsonPropertyName("expires_in")] public long? ExpiresIn { get; init; }
    [JsonPropertyName("issued_at")] public string? IssuedAt { get; init; }
}

/// <summary>Error body of the registry API: {"errors":[{"code","message"}]}.</summary>
internal sealed class RegistryErrorResponse
{
    [JsonPropertyName("errors")] public List<RegistryErrorEntry>? Errors { get; init; }
}

internal sealed class RegistryErrorEntry
{
    [JsonPropertyName("code")] public string? Code { get; init; }
    [JsonPropertyName("message")] public string? Message { get; init; }
}

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, WriteIndented = false,
    NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(XRegistryAuthPayload))]
[JsonSerializable(typeof(DockerConfigJsonDocument))]
[JsonSerializable(typeof(RegistryTokenResponse))]
[JsonSerializable(typeof(CredentialHelperAnswer))]
[JsonSerializable(typeof(RegistryErrorResponse))]
internal sealed partial class RegistryJsonContext : JsonSerializerContext;

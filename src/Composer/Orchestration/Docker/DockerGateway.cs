namespace Composer.Orchestration.Docker;

/// <summary>
/// An API in front of the engine that speaks the Engine API on its behalf: Portainer's Docker proxy
/// (<c>{api}/api/endpoints/{env_id}/docker/</c>). It decides the API version (no negotiation) and checks a credential
/// of its own; errors name the configuration keys a user fixes when it refuses Composer.
/// </summary>
/// <param name="Name">What it is, for messages: "Portainer environment 3".</param>
/// <param name="ApiKeyKey">The key of the credential it checks: "opencti.daemon.portainer.api_key".</param>
/// <param name="EnvironmentKey">The key that names the environment: "opencti.daemon.portainer.env_id".</param>
/// <param name="ApiVersion">The Engine API version every request names.</param>
/// <param name="ApiVersionKey">Where it comes from: "opencti.daemon.portainer.api_version".</param>
/// <param name="CaKey">The key of the CAs trusted for its HTTPS certificate: "opencti.daemon.portainer.ca".</param>
public sealed record DockerGateway(string Name, string ApiKeyKey, string EnvironmentKey, Version ApiVersion, string ApiVersionKey, string CaKey);

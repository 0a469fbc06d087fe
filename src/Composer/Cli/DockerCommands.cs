using System.CommandLine;
using Composer.Configuration;
using Composer.Network;
using Composer.Orchestration;
using Composer.Orchestration.Docker;

namespace Composer.Cli;

/// <summary>
/// `composer docker check`: connects to the Docker engine Composer would use (opencti.daemon.docker.host, else
/// DOCKER_HOST, else the local socket), through the configured proxy for TCP endpoints, and prints the endpoint,
/// the route, its TLS (CA and client certificate, with where they came from), the engine version and the API version. Exit 0 when it answers; 1 when it cannot be reached (the
/// reason names endpoint and cause); 2 for invalid configuration.
/// </summary>
public static class DockerCommands
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var docker = new Command("docker", "Docker Engine API commands");
        var check = new Command("check", "Connect to the configured Docker engine (proxy settings apply to TCP endpoints); print its endpoint and versions");
        check.SetAction(async (parse, cancellationToken) =>
        {
            var settings = CliSettings.Load(parse, stderr, requireManagerKey: false);
            if (settings is null) return ExitCodes.ConfigurationError;
            return await CheckAsync(settings, stdout, stderr, cancellationToken);
        });
        docker.Subcommands.Add(check);
        return docker;
    }

    /// <summary>The check, with the resolved configuration (its Docker endpoint came from the key, DOCKER_HOST or the default).</summary>
    public static async Task<int> CheckAsync(Composer.Resolution.ResolvedSettings settings, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        if (settings.Docker.Endpoint is not { } endpoint)
        {
            foreach (var error in settings.Docker.Errors) await stderr.WriteLineAsync($"composer: invalid configuration: {error}");
            return ExitCodes.ConfigurationError;
        }
        if (!settings.EnabledPlatforms.Any(p => p.Selector is OrchestratorKind.Docker or OrchestratorKind.Swarm))
        {
            // The load printed them only for a configuration that uses Docker.
            foreach (var warning in settings.Docker.Warnings) await stderr.WriteLineAsync($"warning: {warning}");
        }
        var handlers = new OutboundHandlerFactory(settings.Network);
        foreach (var warning in handlers.Warnings) await stderr.WriteLineAsync($"warning: {warning}");

        await stdout.WriteLineAsync($"endpoint: {endpoint.Display}");
        await stdout.WriteLineAsync($"source: {endpoint.Source}");
        var proxy = endpoint.Transport == DockerTransport.UnixSocket ? null
            : handlers.RouteFor(OutboundChannel.DockerTcp, PlatformKind.OpenCti, endpoint.Address);
        var route = endpoint.Transport == DockerTransport.UnixSocket ? "local socket (never proxied)"
            : proxy is not null ? $"proxy {proxy.Redacted}" : "direct";
        await stdout.WriteLineAsync($"route: {route}");
        await stdout.WriteLineAsync($"tls: {endpoint.TlsSummary}");

        using var client = new DockerClientFactory(handlers).Create(endpoint);
        var result = await DockerPreflight.CheckAsync(client, endpoint, proxy, cancellationToken);
        if (!result.IsSuccess)
        {
            await stderr.WriteLineAsync($"composer: {result.Failure.Message}");
            return ExitCodes.RuntimeFailure;
        }
        var version = result.Value;
        await stdout.WriteLineAsync($"engine_version: {version.Version}");
        await stdout.WriteLineAsync($"api_version: {version.APIVersion}");
        if (!string.IsNullOrEmpty(version.MinAPIVersion)) await stdout.WriteLineAsync($"min_api_version: {version.MinAPIVersion}");
        await stdout.WriteLineAsync($"os: {version.Os}/{version.Arch}");
        return ExitCodes.Success;
    }
}

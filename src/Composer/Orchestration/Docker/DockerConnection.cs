using Composer.Diagnostics;
using Composer.Network;
using Docker.DotNet;
using Version = System.Version;

namespace Composer.Orchestration.Docker;

/// <summary>
/// The client of one Engine API endpoint, connected on first use: GET /_ping and GET /version, then a client whose
/// every request names min(engine's API version, <see cref="DockerOrchestrator.NewestApiVersion"/>), so a 20.10
/// engine (1.41) and newer ones are spoken to in their own terms. Behind a <see cref="DockerGateway"/> the version is
/// the gateway's configured one, checked against the engine's range first so that a mismatch is one clear error
/// naming its key. <see cref="Verify"/> adds a check of its own (the Swarm orchestrator: a manager node). Until a
/// connection succeeds, every call tries again. The requests Composer sends itself go on the same client's handler
/// (<see cref="ConnectStreamsAsync"/>: the container log read).
/// </summary>
internal sealed class DockerConnection(DockerEndpoint endpoint, DockerClientFactory clients, ProxyEndpoint? proxy, Logger logger) : IDisposable
{
    private readonly SemaphoreSlim _connect = new(1, 1);
    private DockerEngineClient? _engine;

    /// <summary>Runs on the negotiated client before it is kept: null when it is usable, else why not.</summary>
    public Func<DockerClient, CancellationToken, Task<Failure?>>? Verify { get; init; }

    /// <summary>The client, pinned to its API version; or why the engine cannot be used.</summary>
    public async Task<Result<DockerClient>> ConnectAsync(CancellationToken cancellationToken)
    {
        var engine = await ConnectEngineAsync(cancellationToken).ConfigureAwait(false);
        return engine.IsSuccess ? Result<DockerClient>.Success(engine.Value.Client) : engine.Failure;
    }

    /// <summary>The stream requests on the connected client's handler (same version and headers); or why the engine cannot be used.</summary>
    public async Task<Result<DockerStreamRequests>> ConnectStreamsAsync(CancellationToken cancellationToken)
    {
        var engine = await ConnectEngineAsync(cancellationToken).ConfigureAwait(false);
        return engine.IsSuccess ? Result<DockerStreamRequests>.Success(engine.Value.Streams) : engine.Failure;
    }

    private async Task<Result<DockerEngineClient>> ConnectEngineAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _engine) is { } ready) return Result<DockerEngineClient>.Success(ready);
        await _connect.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_engine is { } raced) return Result<DockerEngineClient>.Success(raced);
            using var probe = clients.Create(endpoint);
            var check = await DockerPreflight.CheckAsync(probe, endpoint, proxy, cancellationToken).ConfigureAwait(false);
            if (!check.IsSuccess) return check.Failure;
            var engineVersion = Version.TryParse(check.Value.APIVersion, out var spoken) ? spoken : null;
            Version? version;
            if (endpoint.Gateway is { } gateway)
            {
                if (VersionProblem(gateway, engineVersion, check.Value.MinAPIVersion) is { } problem) return Failure.Orchestrator(problem);
                version = gateway.ApiVersion;
            }
            else
            {
                version = engineVersion is null ? null : engineVersion < DockerOrchestrator.NewestApiVersion ? engineVersion : DockerOrchestrator.NewestApiVersion;
            }
            var connected = clients.Connect(endpoint, version);
            if (Verify is not null && await Verify(connected.Client, cancellationToken).ConfigureAwait(false) is { } unusable)
            {
                connected.Client.Dispose();
                return unusable;
            }
            logger.Info("Connected to the Docker engine", ("endpoint", endpoint.Display), ("engine_version", check.Value.Version),
                ("api_version", version?.ToString() ?? "unversioned"));
            Volatile.Write(ref _engine, connected);
            return Result<DockerEngineClient>.Success(connected);
        }
        finally
        {
            _connect.Release();
        }
    }

    public void Dispose()
    {
        _engine?.Client.Dispose();
        _engine = null;
        _connect.Dispose();
    }

    /// <summary>Why the engine behind the gateway cannot speak the configured version, or null when it can.</summary>
    private string? VersionProblem(DockerGateway gateway, Version? newest, string? oldestText)
    {
        var oldest = Version.TryParse(oldestText, out var parsed) ? parsed : null;
        if ((newest is null || gateway.ApiVersion <= newest) && (oldest is null || gateway.ApiVersion >= oldest)) return null;
        var range = oldest is null ? $"up to {newest}" : $"{oldest} to {newest}";
        var advice = newest is not null && gateway.ApiVersion > newest ? $"v{newest}" : $"v{oldest}";
        return $"the Docker engine of {gateway.Name} at {endpoint.Display} speaks Engine API versions {range}, but {gateway.ApiVersionKey} is " +
               $"v{gateway.ApiVersion}: set {gateway.ApiVersionKey} to {advice}";
    }
}

using Composer.Diagnostics;
using Composer.Images;
using Docker.DotNet;
using Docker.DotNet.Models;
using Polly;
using Polly.Retry;

namespace Composer.Orchestration.Docker;

/// <summary>An image made available in the engine: the reference to run, and the credentials its pull used (null: anonymous).</summary>
/// <param name="Credentials">The snapshot this operation took: a Swarm service is created with the same ones, for its agents' pulls.</param>
internal sealed record PulledImage(string Reference, RegistryCredentials? Credentials)
{
    public override string ToString() => Reference;
}

/// <summary>
/// Makes a connector's image available in the engine before its container is created. The image was resolved once, by
/// the reconcile cycle (<see cref="ConnectorWorkload.Image"/>); one snapshot of the credentials serves the whole pull.
/// <list type="number">
/// <item>When the engine already holds exactly that reference, nothing is pulled and the registry is not asked (like
/// <c>docker run</c> and Kubernetes' IfNotPresent): deploys, restarts and refreshes of a config change cost no registry
/// traffic. A new image must come under a new tag or digest, as the platform gives them.</item>
/// <item>Pre-flight the image against its registry with its credentials. An answer that proves the pull cannot work
/// (401/403, unknown image or tag) fails at once with its message; a registry Composer could not reach (its network
/// path may differ from the engine's, which has its own proxy) is only a warning.</item>
/// <item>POST /images/create?fromImage=&lt;repository&gt;&amp;tag=&lt;tag or digest&gt; with X-Registry-Auth, reading the
/// progress stream to its end (an error message in it is a failure), retried opencti.daemon.registry.retry_attempts
/// times, retry_delay apart with ±25 % jitter.</item>
/// </list>
/// </summary>
internal sealed class DockerImagePuller
{
    private readonly RegistryAccess _registry;
    private readonly DockerErrors _errors;
    private readonly Logger _logger;
    private readonly ResiliencePipeline<Failure?> _retry;

    public DockerImagePuller(RegistryAccess registry, DockerErrors errors, Logger logger, TimeProvider time)
    {
        _registry = registry;
        _errors = errors;
        _logger = logger;
        var configuration = registry.Configuration;
        var builder = new ResiliencePipelineBuilder<Failure?> { TimeProvider = time };
        if (configuration.RetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<Failure?>
            {
                MaxRetryAttempts = configuration.RetryAttempts,
                // Polly accepts at most a day; a longer retry_delay would block a cycle for that long anyway.
                Delay = configuration.RetryDelay > TimeSpan.FromDays(1) ? TimeSpan.FromDays(1) : configuration.RetryDelay,
                BackoffType = DelayBackoffType.Constant,
                UseJitter = true,
                // An attempt returns its failure (the engine's reason), null on success; exceptions are only cancellation.
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Result is not null),
                OnRetry = args =>
                {
                    _logger.Warn("Image pull failed, retrying", ("attempt", args.AttemptNumber + 1), ("delay_seconds", args.RetryDelay.TotalSeconds),
                        ("error", args.Outcome.Result?.Message));
                    return default;
                },
            });
        }
        _retry = builder.Build();
    }

    /// <summary>The image to create the container from, or why it cannot be had (one line naming the connector and image).</summary>
    public async Task<Result<PulledImage>> EnsureAsync(DockerClient client, ConnectorWorkload workload, CancellationToken cancellationToken)
    {
        var image = workload.Image;
        var (repository, tag) = Split(image);
        var local = image.Digest is not null ? $"{repository}@{image.Digest}" : $"{repository}:{tag}";
        // The image's own registry's credentials, one snapshot for the check, the pull and (Swarm) the service create.
        var login = await _registry.CredentialsForAsync(image, cancellationToken).ConfigureAwait(false);
        if (!login.IsSuccess)
        {
            ComposerMetrics.RecordPull(success: false);
            return Failure.Orchestrator($"connector {workload.ConnectorId}: pull of {local} failed: no credentials for registry {image.RegistryHost}: {login.Failure.Message}");
        }
        var credentials = login.Value.Credentials;
        if (await IsPresentAsync(client, local, cancellationToken).ConfigureAwait(false))
        {
            _logger.Debug("Image present, not pulled", ("image", local), ("connector", workload.ConnectorId));
            return Result<PulledImage>.Success(new PulledImage(local, credentials));
        }

        var check = await _registry.CheckAsync(image, credentials, cancellationToken).ConfigureAwait(false);
        switch (check.Status)
        {
            case RegistryCheckStatus.NotFound or RegistryCheckStatus.BadCredentials or RegistryCheckStatus.AccessDenied
                or RegistryCheckStatus.AuthenticationRequired:
                ComposerMetrics.RecordPull(success: false);
                return Failure.Orchestrator($"connector {workload.ConnectorId}: pull failed: {check.Message}");
            case RegistryCheckStatus.Unreachable or RegistryCheckStatus.ProtocolError:
                _logger.Warn("Image pre-flight inconclusive, pulling anyway (the engine may reach the registry another way)",
                    ("image", local), ("connector", workload.ConnectorId), ("error", check.Message));
                break;
        }

        var headers = DockerRegistryAuth.PullHeaders(credentials);
        var parameters = new ImagesCreateParameters { FromImage = repository, Tag = tag };
        var attempts = 0;
        var failure = await _retry.ExecuteAsync(async ct =>
        {
            attempts++;
            return await PullOnceAsync(client, parameters, headers, ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
        ComposerMetrics.RecordPull(failure is null);
        if (failure is null)
        {
            _logger.Info("Image pulled", ("image", local), ("connector", workload.ConnectorId), ("attempts", attempts));
            return Result<PulledImage>.Success(new PulledImage(local, credentials));
        }
        // The engine's pull error is its own words; when Composer's pre-flight did not reach the registry either, the
        // registry is what the connector waits on (its backoff is cut short once that registry answers a check again).
        return failure with
        {
            Message = $"connector {workload.ConnectorId}: pull of {local} failed after {attempts} attempt{(attempts == 1 ? "" : "s")}: {failure.Message}",
            Outage = failure.Outage ?? check.Outage,
        };
    }

    /// <summary>fromImage and tag: the reference without its tag or digest, and the digest, else the tag, else latest
    /// (an empty tag would make the engine pull every tag of the repository).</summary>
    private static (string Repository, string Tag) Split(ResolvedImage image)
    {
        var name = image.Reference;
        if (image.Digest is { } digest && name.EndsWith("@" + digest, StringComparison.Ordinal)) name = name[..^(digest.Length + 1)];
        if (image.Tag is { } tag && name.EndsWith(":" + tag, StringComparison.Ordinal)) name = name[..^(tag.Length + 1)];
        return (name, image.Digest ?? image.Tag ?? "latest");
    }

    private static async Task<bool> IsPresentAsync(DockerClient client, string reference, CancellationToken cancellationToken)
    {
        try
        {
            await client.Images.InspectImageAsync(reference, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Absent (404) or the engine could not tell: the pull path decides, and reports a real failure.
            return false;
        }
    }

    /// <summary>One pull: null when it completed, else the engine's reason.</summary>
    private async Task<Failure?> PullOnceAsync(DockerClient client, ImagesCreateParameters parameters, Dictionary<string, string>? headers,
        CancellationToken cancellationToken)
    {
        var progress = new PullProgress();
        try
        {
            await client.Images.CreateImageAsync(parameters, null, headers, progress, cancellationToken).ConfigureAwait(false);
            return progress.Error is { } refused ? Failure.Orchestrator(Scrub(refused)) : null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return _errors.Failed(ex);
        }
    }

    /// <summary>Engine messages never carry the password, but make sure: every known secret and URL credentials masked.</summary>
    private static string Scrub(string message) => SecretRedaction.RedactUrl(SecretScrubber.Shared.Scrub(message));

    /// <summary>Reads the progress stream as it comes (synchronously, unlike Progress&lt;T&gt;), keeping the last error.</summary>
    private sealed class PullProgress : IProgress<JSONMessage>
    {
        public string? Error { get; private set; }

        public void Report(JSONMessage value)
        {
            if (value.Error?.Message is { Length: > 0 } message) Error = message;
        }
    }
}

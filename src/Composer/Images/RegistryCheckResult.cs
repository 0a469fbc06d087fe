using Composer.Diagnostics;

namespace Composer.Images;

public enum RegistryCheckStatus
{
    /// <summary>The manifest exists and the credentials (if any) work.</summary>
    Available,
    /// <summary>404: no such repository or tag/digest.</summary>
    NotFound,
    /// <summary>401 with credentials: the registry or its token server rejected username/password.</summary>
    BadCredentials,
    /// <summary>403, or a token without pull access (insufficient_scope): valid credentials, no access.</summary>
    AccessDenied,
    /// <summary>401 without credentials: the registry needs credentials and none are configured for its host.</summary>
    AuthenticationRequired,
    /// <summary>Connection errors, timeouts, 5xx or 429 after every retry.</summary>
    Unreachable,
    /// <summary>An answer that does not follow the registry API (bad challenge, bad token response ...).</summary>
    ProtocolError,
    /// <summary>The image's credentials could not be found out (a credential helper failed or hung, a Docker config file is unreadable): nothing was asked.</summary>
    CredentialsUnavailable,
}

/// <summary>Outcome of a registry pre-flight check. Message is safe to print: it never holds a secret.</summary>
public sealed record RegistryCheckResult
{
    public required RegistryCheckStatus Status { get; init; }

    /// <summary>The image's registry host as asked (docker.io, not registry-1.docker.io).</summary>
    public required string RegistryHost { get; init; }
    public required string Repository { get; init; }
    public required string Reference { get; init; }

    /// <summary>host/repository:tag or host/repository@digest.</summary>
    public required string Image { get; init; }

    /// <summary>sha256:… of the manifest (index or single-platform manifest) when Available.</summary>
    public string? Digest { get; init; }
    public string? MediaType { get; init; }

    /// <summary>One line saying what happened, naming image and registry.</summary>
    public required string Message { get; init; }

    /// <summary>Whether credentials were sent to the registry.</summary>
    public bool UsedCredentials { get; init; }

    public bool IsAvailable => Status == RegistryCheckStatus.Available;

    /// <summary>
    /// Whether the registry answered as a registry (the image is there or not, the credentials work or not): what a
    /// backoff on this registry's outage waits for. Unreachable, a protocol error (often a proxy's or a captive page)
    /// and credentials that could not be looked up prove nothing about the registry.
    /// </summary>
    public bool RegistryAnswered => Status is RegistryCheckStatus.Available or RegistryCheckStatus.NotFound or RegistryCheckStatus.BadCredentials
        or RegistryCheckStatus.AccessDenied or RegistryCheckStatus.AuthenticationRequired;

    /// <summary>The registry was not reached: a change that then failed waited on the registry, not on the connector.</summary>
    public Outage? Outage => Status == RegistryCheckStatus.Unreachable ? Outage.Registry(RegistryHost) : null;

    /// <summary>The check of an image whose credentials could not be looked up: <paramref name="why"/>, the lookup's failure.</summary>
    public static RegistryCheckResult CredentialsUnavailable(ResolvedImage image, string why) => new()
    {
        Status = RegistryCheckStatus.CredentialsUnavailable,
        RegistryHost = image.RegistryHost,
        Repository = image.Repository,
        Reference = image.ManifestReference,
        Image = image.Reference,
        Message = $"no credentials for {image.Reference}: {why}",
    };
}

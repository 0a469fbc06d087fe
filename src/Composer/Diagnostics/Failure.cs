using System.Diagnostics.CodeAnalysis;

namespace Composer.Diagnostics;

/// <summary>What kind of failure a runtime operation met: the platform's kinds, and one for orchestrators.</summary>
public enum FailureKind
{
    /// <summary>Connection refused, DNS, TLS, proxy: no HTTP answer.</summary>
    Unreachable,

    /// <summary>No complete answer within connect_timeout / request_timeout.</summary>
    Timeout,

    /// <summary>An HTTP error status (4xx/5xx) without a usable body.</summary>
    HttpStatus,

    /// <summary>The GraphQL response carried errors (even when data was also present).</summary>
    GraphQl,

    /// <summary>The body is not the JSON the operation expects.</summary>
    Malformed,

    /// <summary>The operation's result was null.</summary>
    NullResult,

    /// <summary>The platform refused the manager (for example "only one connector manager is supported"); retrying soon will not help.</summary>
    Refused,

    /// <summary>The platform did not accept the token (OpenCTI AUTH_REQUIRED, an HTTP 401): retrying will not help until the token is fixed.</summary>
    Unauthenticated,

    /// <summary>The token's user lacks what the operation needs (OpenCTI FORBIDDEN_ACCESS: a capability; OpenAEV HTTP 403).</summary>
    Forbidden,

    /// <summary>The platform does not know this manager (its data was reset, or the manager was deleted): register again.</summary>
    UnknownManager,

    /// <summary>The answer is larger than the bound set for it: it was not read further.</summary>
    TooLarge,

    /// <summary>An orchestrator call failed (engine, API server or registry on its behalf): the message says what and why.</summary>
    Orchestrator,

    /// <summary>What Composer was given cannot be used as it is (an invalid image name, an unreadable secret file): the same input fails again.</summary>
    Input,
}

/// <summary>
/// Something outside a connector that a failed change waited on and that Composer sees come back: the orchestrator
/// (the engine, the API server, Portainer's agent did not answer) or one registry host (neither Composer's pre-flight
/// nor the pull reached it). A connector's backoff after such a failure is cut short when Composer sees it answer
/// again. A failure without one is the connector's own (a bad image, a refusal, a container that will not start, a
/// config the engine rejects) and keeps its backoff. Set where the failure is made, by the one rule of its source
/// (DockerErrors, KubeReply, RegistryCheckResult).
/// </summary>
public sealed record Outage
{
    private Outage(string? registryHost) => RegistryHost = registryHost;

    /// <summary>The orchestrator did not answer.</summary>
    public static Outage Orchestrator { get; } = new((string?)null);

    /// <summary>The registry at <paramref name="host"/> (host[:port], as in the image reference) did not answer.</summary>
    public static Outage Registry(string host) => new(host);

    /// <summary>The registry host, or null for the orchestrator.</summary>
    public string? RegistryHost { get; }

    public override string ToString() => RegistryHost is null ? "orchestrator" : $"registry {RegistryHost}";
}

/// <summary>
/// A failed runtime operation, as a value: one line a user can act on. <see cref="Message"/> is safe to log and print:
/// it never holds a token, a decrypted value or credentials. What an engine, a registry or a platform said goes into
/// it, and may echo a secret Composer sent (an environment value the engine refused): every secret known to the
/// process is masked in it (<see cref="SecretScrubber"/>).
/// </summary>
/// <param name="Operation">The operation's name ("list connectors", "report status"), or null when the message already says
/// what failed (an orchestrator's "cannot list the containers of manager m: ...").</param>
/// <param name="HttpStatus">The HTTP status of the answer, when there was one.</param>
public sealed record Failure(FailureKind Kind, string? Operation, string Message, int? HttpStatus = null)
{
    public string Message { get; init => field = SecretScrubber.Shared.Scrub(value); } = SecretScrubber.Shared.Scrub(Message);

    /// <summary>What outside the connector did not answer, when that is why it failed (null: the connector's own failure).</summary>
    public Outage? Outage { get; init; }

    /// <summary>A failed orchestrator call.</summary>
    public static Failure Orchestrator(string message) => new(FailureKind.Orchestrator, null, message);

    /// <summary>The same failure (its kind and its outage kept) told as the cause of <paramref name="what"/>: "what: message".</summary>
    public Failure Within(string what) => this with { Message = $"{what}: {Message}" };

    /// <summary>An input that cannot be used: the message names it and says why.</summary>
    public static Failure Input(string message) => new(FailureKind.Input, null, message);

    public override string ToString() => Operation is null ? Message : $"{Operation}: {Message}";
}

/// <summary>
/// The value of a successful runtime operation, or its <see cref="Failure"/>; a failed listing is a failure, never an
/// empty list. Check <see cref="IsSuccess"/> first: the compiler then knows which of <see cref="Value"/> and
/// <see cref="Failure"/> is set.
/// </summary>
public sealed class Result<T>
{
    private Result(T? value, Failure? failure)
    {
        Value = value;
        Failure = failure;
        IsSuccess = failure is null;
    }

    [MemberNotNullWhen(true, nameof(Value))]
    [MemberNotNullWhen(false, nameof(Failure))]
    public bool IsSuccess { get; }

    /// <summary>The value when <see cref="IsSuccess"/>; default otherwise.</summary>
    public T? Value { get; }

    /// <summary>Why the operation failed, or null when it succeeded.</summary>
    public Failure? Failure { get; }

    public static Result<T> Success(T value) => new(value, null);

    public static Result<T> Failed(Failure failure) => new(default, failure);

    public static implicit operator Result<T>(Failure failure) => Failed(failure);
}

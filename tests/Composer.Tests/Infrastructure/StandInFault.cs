namespace Composer.Tests.Infrastructure;

/// <summary>The seven manager operations, the same on both platforms (control API names in lower case).</summary>
public enum StandInOperation { Version, Register, Ping, List, Status, Logs, Health }

public enum StandInFaultKind
{
    /// <summary>HTTP <see cref="StandInFault.StatusCode"/> with <see cref="StandInFault.Message"/> as a text/plain body.</summary>
    HttpStatus,

    /// <summary>OpenCTI: 200 with errors[] (and with the normal data too when <see cref="StandInFault.WithData"/>). OpenAEV: 400 with {"message"}.</summary>
    GraphQlErrors,

    /// <summary>No answer for <see cref="StandInFault.Delay"/> (beyond the client's timeout); the operation is not performed.</summary>
    Timeout,

    /// <summary>OpenCTI: {"data": null}. OpenAEV: the body null.</summary>
    NullData,

    /// <summary>OpenCTI: {"data": {"field": null}}. OpenAEV: the body null.</summary>
    NullRootField,

    /// <summary>200 with a truncated JSON body.</summary>
    MalformedJson,

    /// <summary>200 with an empty body.</summary>
    EmptyBody,

    /// <summary>The result has the wrong JSON type (a number where an object, list or string belongs).</summary>
    WrongType,
}

/// <summary>A fault injected into one operation, for <see cref="Times"/> requests (null: until cleared).</summary>
public sealed record StandInFault(StandInFaultKind Kind)
{
    public int StatusCode { get; init; } = 500;
    public string Message { get; init; } = "injected fault";
    public bool WithData { get; init; }

    /// <summary>OpenCTI <see cref="StandInFaultKind.GraphQlErrors"/>: the error's extensions.code (none when null).</summary>
    public string? Code { get; init; }
    public TimeSpan Delay { get; init; } = TimeSpan.FromSeconds(30);
    public int? Times { get; init; }
}

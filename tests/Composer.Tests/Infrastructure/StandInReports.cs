namespace Composer.Tests.Infrastructure;

/// <summary>One request that reached a stand-in's platform API, as it arrived (the body as text).</summary>
public sealed record StandInRequest(string Method, string Path, string? Authorization, string? ContentType, string Body);

/// <summary>A manager registration the stand-in accepted.</summary>
public sealed record StandInRegistration(string Id, string Name, string PublicKeyPem);

public sealed record StandInStatusReport(string ConnectorId, string Status);

public sealed record StandInLogReport(string ConnectorId, IReadOnlyList<string> Lines);

public sealed record StandInHealthReport(string ConnectorId, int RestartCount, string StartedAt, bool IsInRebootLoop);

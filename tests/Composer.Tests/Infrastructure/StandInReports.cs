namespace Composer.Tests.Infrastructure;

/// <summary>One request that reached a stand-in's platform API, as it arrived (the body as text).</summary>
public sealed record StandInRequest(string Method, string Path, string? Authorization, string? ContentType, string Body);

/// <summary>A manager registration the stand-in accepted.</summary>
public sealed record StandInRegistration(string Id, string Name, string PublicKeyPem);

public sealed record StandInStatusReport(string ConnectorId, string Status);

public sealed record StandInLogReport(string ConnectorId, IReadOnlyList<string> Lines);

public sealed record StandInHealthReport(string ConnectorId, int RestartCount, string StartedAt, bool IsInRebootLoop);

/// <summary>A health report with the stand-in clock's time of its arrival (the platform keeps it 300 s from then).</summary>
public sealed record StandInHealthArrival(StandInHealthReport Report, DateTimeOffset ReceivedAt);

/// <summary>
/// The platform's own proxy settings (OpenCTI http_proxy, https_proxy, no_proxy, https_proxy_ca,
/// https_proxy_reject_unauthorized), injected into every listed contract as five keys.
/// </summary>
/// <param name="OmitEmpty">
/// Leave out HTTP_PROXY, HTTPS_PROXY, NO_PROXY and HTTPS_CA_CERTIFICATES when empty, as the proxy-config.ts versions
/// read in December 2026 do; platform-facts.md says they are present even when empty (the default here).
/// </param>
public sealed record StandInPlatformProxy(string HttpProxy = "", string HttpsProxy = "", string NoProxy = "",
    IReadOnlyList<string>? CaCertificates = null, bool RejectUnauthorized = false, bool OmitEmpty = false);

/// <summary>
/// The catalog manager's auto-upgrade wait before every listing: upgrades settle at <see cref="ReadyAt"/> (null:
/// never); the listing polls every <see cref="Poll"/> and fails after <see cref="Timeout"/> with "Managed connector
/// auto-upgrade timed out" (OpenCTI: 90 s, polled every 5 s).
/// </summary>
public sealed record StandInAutoUpgrade(DateTimeOffset? ReadyAt, TimeSpan Timeout, TimeSpan Poll);

/// <summary>
/// How big and how slow the listing answer is. <see cref="PadBytes"/> adds that many bytes: as padding entries (one
/// per 64 MB) in the first connector's contract (<see cref="PadAsConnectors"/> false), or as synthetic connectors of about 1 KiB
/// each (image composer-test/padding:none, requested stopping). <see cref="DribbleBytes"/> &gt; 0 writes the body in
/// chunks of that size, <see cref="DribbleInterval"/> apart.
/// </summary>
public sealed record StandInListingShape(long PadBytes = 0, bool PadAsConnectors = false, int DribbleBytes = 0, TimeSpan DribbleInterval = default);

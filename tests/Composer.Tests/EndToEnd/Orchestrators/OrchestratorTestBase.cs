using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd.Orchestrators;

/// <summary>
/// The fixtures every end-to-end test on another orchestrator than Docker draws on (shared by the test session), and
/// the platform-side waits those tests share.
/// </summary>
public abstract class OrchestratorTestBase
{
    [ClassDataSource<SwarmFixture>(Shared = SharedType.PerTestSession)]
    public required SwarmFixture Swarm { get; init; }

    [ClassDataSource<HtpasswdRegistryFixture>(Shared = SharedType.PerTestSession)]
    public required HtpasswdRegistryFixture Htpasswd { get; init; }

    [ClassDataSource<AnonymousRegistryFixture>(Shared = SharedType.PerTestSession)]
    public required AnonymousRegistryFixture Anonymous { get; init; }

    [ClassDataSource<TokenRegistryFixture>(Shared = SharedType.PerTestSession)]
    public required TokenRegistryFixture TokenRegistry { get; init; }

    internal OrchestratorFixtures Fixtures => new(Swarm, Htpasswd, Anonymous);

    internal Task<OrchestratorTarget> StartAsync(Orchestrator orchestrator) => OrchestratorTarget.StartAsync(orchestrator, Fixtures);

    /// <summary>Waits until the platform shows the connector's current status as <paramref name="status"/> (started, stopped).</summary>
    internal static Task WaitForStatusAsync(PlatformStandIn standIn, string connectorId, string status) =>
        standIn.WaitUntilAsync(s => s.GetConnector(connectorId)?.CurrentStatus == status, EndToEndManager.Timeout, $"{status} reported for {connectorId}");

    /// <summary>The connector's uploaded log lines that hold <paramref name="fragment"/>.</summary>
    internal static List<string> LinesWith(PlatformStandIn standIn, string connectorId, string fragment) =>
        [.. standIn.LogReports.Where(r => r.ConnectorId == connectorId).SelectMany(r => r.Lines).Where(l => l.Contains(fragment, StringComparison.Ordinal))];

    /// <summary>Listing requests the platform received so far.</summary>
    internal static int Listings(PlatformStandIn standIn) =>
        standIn.Requests.Count(r => r.Body.Contains("\"operationName\":\"GetConnectors\"", StringComparison.Ordinal));

    internal static int Count(string text, string fragment)
    {
        var n = 0;
        for (var i = text.IndexOf(fragment, StringComparison.Ordinal); i >= 0; i = text.IndexOf(fragment, i + fragment.Length, StringComparison.Ordinal)) n++;
        return n;
    }
}

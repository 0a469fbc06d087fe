using Composer.Platform;
using Composer.Reconciliation;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Platform;

/// <summary>The stand-ins as separate processes (the demo's and the binary tests' way), driven through the control API.</summary>
public class StandInProcessTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static string ConnectorsFile()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("composer-standin-").FullName, "connectors.json");
        File.WriteAllText(path, """
            [{"id": "c-1", "name": "First connector", "image": "opencti/connector-first:6.9.4", "hash": "h1",
              "configuration": [{"key": "MODE", "value": "full"}, {"key": "API_KEY", "value": "file-secret", "encrypted": true, "version": 1}]}]
            """);
        return path;
    }

    [Test]
    public async Task The_opencti_stand_in_serves_connectors_from_a_file_and_obeys_the_control_api()
    {
        await using var standIn = await StandInProcess.StartAsync("opencti", ConnectorsFile());
        using var key = PlatformTestKeys.ManagerKey();
        using var client = new OpenCtiClient(new HttpClient(), new PlatformClientOptions(standIn.Url, new Composer.Diagnostics.Secret(PlatformStandIn.DefaultToken), "mgr-process", "Process test", key, Composer.Diagnostics.Logger.Null));

        await Assert.That(await client.RegisterAsync(None)).IsNull();
        var first = (await client.ListConnectorsAsync(None)).Value!.Connectors.Single();
        await Assert.That(first.Configuration.Single(e => e.Key == "API_KEY").Secret!.Reveal()).IsEqualTo("file-secret");
        await Assert.That(first.RequestedStatus).IsEqualTo(RequestedStatus.Starting);

        // Stop it from the platform side, add another, report a status.
        await standIn.SendAsync(HttpMethod.Patch, "connectors/c-1", """{"requested_status": "stopping", "hash": "h2"}""");
        await standIn.SendAsync(HttpMethod.Post, "connectors", """{"id": "c-2", "name": "Second", "image": "img:2", "hash": "x"}""");
        var listing = (await client.ListConnectorsAsync(None)).Value!.Connectors;
        await Assert.That(listing.Select(c => (c.Id, c.RequestedStatus, c.ContractHash))).IsEquivalentTo(new[]
        {
            ("c-1", RequestedStatus.Stopping, "h2"),
            ("c-2", RequestedStatus.Starting, "x"),
        });
        await Assert.That(await client.ReportStatusAsync("c-1", ConnectorStatus.Stopped, None)).IsNull();

        var state = await standIn.StateAsync();
        await Assert.That(state["manager"]!["id"]!.GetValue<string>()).IsEqualTo("mgr-process");
        var report = state["status_reports"]!.AsArray().Single()!;
        await Assert.That((report["connector_id"]!.GetValue<string>(), report["status"]!.GetValue<string>())).IsEqualTo(("c-1", "stopped"));
        // When it arrived, by the stand-in's clock (what benchmarks time a crash's report by).
        var receivedAt = DateTimeOffset.Parse(report["received_at"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture);
        await Assert.That(receivedAt).IsLessThanOrEqualTo(DateTimeOffset.Parse(state["now"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture));
        await Assert.That(state["rejections"]!.AsArray().Count).IsEqualTo(0);

        // Faults and removal.
        await standIn.SendAsync(HttpMethod.Post, "faults", """{"operation": "list", "kind": "http_status", "status": 502, "times": 1}""");
        await Assert.That((await client.ListConnectorsAsync(None)).Failure!.HttpStatus).IsEqualTo(502);
        await standIn.SendAsync(HttpMethod.Delete, "connectors/c-1");
        await Assert.That((await client.ListConnectorsAsync(None)).Value!.Connectors.Single().Id).IsEqualTo("c-2");
        await standIn.SendAsync(HttpMethod.Post, "raw-entries", """{"entry": null}""");
        await Assert.That((await client.ListConnectorsAsync(None)).Value!.Skipped.Single().Reason).Contains("the entry is null");
        await standIn.SendAsync(HttpMethod.Delete, "manager");
        await Assert.That((await client.ListConnectorsAsync(None)).IsSuccess).IsFalse();
    }

    [Test]
    public async Task The_openaev_stand_in_runs_as_a_process_too()
    {
        await using var standIn = await StandInProcess.StartAsync("openaev", ConnectorsFile(), token: "aev-process-token");
        using var key = PlatformTestKeys.ManagerKey(2048);
        using var client = new OpenAevClient(new HttpClient(), new PlatformClientOptions(standIn.Url, new Composer.Diagnostics.Secret("aev-process-token"), "mgr-aev", "Process test", key, Composer.Diagnostics.Logger.Null));

        await Assert.That(await client.RegisterAsync(None)).IsNull();
        var first = (await client.ListConnectorsAsync(None)).Value!.Connectors.Single();
        await Assert.That(first.Platform).IsEqualTo(Composer.Configuration.PlatformKind.OpenAev);
        await Assert.That(first.Configuration.Single(e => e.Key == "API_KEY").Secret!.Reveal()).IsEqualTo("file-secret");
        await Assert.That(await client.ReportLogsAsync("c-1", ["hello"], None)).IsNull();
        await Assert.That((await standIn.StateAsync())["log_reports"]!.ToJsonString()).IsEqualTo("""[{"connector_id":"c-1","lines":["hello"]}]""");
    }
}

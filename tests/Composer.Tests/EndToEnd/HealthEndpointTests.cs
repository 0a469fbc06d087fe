using System.Net;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd;

/// <summary>
/// The health listener of the running binary (manager.health.enable) over HTTP: /healthz answers while it runs;
/// /readyz is 503 before the manager registered and while the platform does not answer, 200 when platform and
/// orchestrator answered; /metrics shows cycle durations, API calls by channel and connectors by state.
/// </summary>
[ClassDataSource<TestConnectorImage>(Shared = SharedType.PerTestSession)]
public class HealthEndpointTests(TestConnectorImage image)
{
    [Test]
    public async Task Readyz_follows_registration_and_the_platform_and_metrics_show_the_cycles()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        var port = FreePort.Next();
        manager.Environment["MANAGER__HEALTH__ENABLE"] = "true";
        manager.Environment["MANAGER__HEALTH__LISTEN"] = $"127.0.0.1:{port}";
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(10) };
        var connector = manager.NewConnector("measured", TestConnectorImage.Reference, manager.NewSecret());
        manager.StandIn.AddConnector(connector);
        // The platform refuses the registration until the fault is cleared.
        manager.StandIn.InjectFault(StandInOperation.Register, new StandInFault(StandInFaultKind.HttpStatus) { StatusCode = 500 });

        var composer = manager.Start();
        await manager.EventuallyAsync(async () => await StatusAsync(http, "healthz") == HttpStatusCode.OK, "/healthz 200");
        await manager.StandIn.WaitUntilAsync(s => s.Requests.Any(r => r.Body.Contains("RegisterConnectorsManager", StringComparison.Ordinal)),
            EndToEndManager.Timeout, "a registration attempt");
        var (notReady, reasons) = await GetAsync(http, "readyz");
        await Assert.That(notReady).IsEqualTo(HttpStatusCode.ServiceUnavailable);
        await Assert.That(reasons).Contains("FAIL OpenCTI platform");
        await Assert.That(reasons).Contains("ok   manager key");
        await Assert.That(await manager.ContainersAsync()).IsEmpty();

        manager.StandIn.ClearFaults();
        await manager.WaitForRegistrationAsync();
        await manager.WaitForContainerAsync(connector.Id);
        await manager.EventuallyAsync(async () => await StatusAsync(http, "readyz") == HttpStatusCode.OK, "/readyz 200 once registered and listed",
            async () => (await GetAsync(http, "readyz")).Body);
        var (_, ready) = await GetAsync(http, "readyz");
        await Assert.That(ready).Contains("ok   OpenCTI platform");
        await Assert.That(ready).Contains("ok   OpenCTI orchestrator (docker)");

        // Metrics once a cycle saw the connector running.
        string metrics = "";
        await manager.EventuallyAsync(async () =>
        {
            metrics = (await GetAsync(http, "metrics")).Body;
            return metrics.Contains("composer_connectors{platform=\"opencti\",state=\"running\"} 1\n", StringComparison.Ordinal);
        }, "composer_connectors running 1", () => Task.FromResult(metrics));
        await Assert.That(metrics).Contains("# TYPE composer_cycle_duration_seconds histogram");
        await Assert.That(metrics).Contains("composer_cycle_duration_seconds_count{platform=\"opencti\"} ");
        await Assert.That(metrics).Contains("composer_api_calls_total{channel=\"opencti\"} ");
        await Assert.That(metrics).Contains("composer_api_calls_total{channel=\"docker\"} ");
        await Assert.That(metrics).Contains("composer_api_errors_total{channel=\"opencti\"} "); // the refused registrations
        await Assert.That(metrics).Contains("composer_connectors{platform=\"opencti\",state=\"missing\"} 0\n");
        using (var response = await http.GetAsync("metrics"))
        {
            await Assert.That(response.Content.Headers.ContentType?.ToString()).Contains("text/plain; version=0.0.4");
        }

        // The platform stops answering its pings: not ready again, with the reason.
        manager.StandIn.InjectFault(StandInOperation.Ping, new StandInFault(StandInFaultKind.HttpStatus) { StatusCode = 503, Message = "down for maintenance" });
        await manager.EventuallyAsync(async () => await StatusAsync(http, "readyz") == HttpStatusCode.ServiceUnavailable, "/readyz 503 with the platform down");
        var (_, down) = await GetAsync(http, "readyz");
        await Assert.That(down).Contains("FAIL OpenCTI platform");
        await Assert.That(await StatusAsync(http, "healthz")).IsEqualTo(HttpStatusCode.OK);
        await Assert.That(down + metrics).DoesNotContain(manager.StandIn.Token);

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    private static async Task<HttpStatusCode?> StatusAsync(HttpClient http, string path)
    {
        try
        {
            using var response = await http.GetAsync(path);
            return response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return null; // not listening yet
        }
    }

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }
}

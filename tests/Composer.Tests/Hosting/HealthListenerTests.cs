using System.Net;
using Composer.Diagnostics;
using Composer.Hosting;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Hosting;

public class HealthListenerTests
{
    [Test]
    public async Task Healthz_readyz_and_metrics_answer_over_http()
    {
        using var metrics = new PrometheusExporter();
        var readiness = new ReadinessState();
        readiness.Expect("OpenCTI platform", "not registered yet");
        var port = FreePort.Next();
        await using var listener = new HealthListener("127.0.0.1", port, readiness, metrics, Logger.Null);
        listener.Start();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };

        using var healthz = await http.GetAsync("healthz");
        await Assert.That(healthz.StatusCode).IsEqualTo(HttpStatusCode.OK);

        using var notReady = await http.GetAsync("readyz");
        await Assert.That(notReady.StatusCode).IsEqualTo(HttpStatusCode.ServiceUnavailable);
        await Assert.That(await notReady.Content.ReadAsStringAsync()).Contains("FAIL OpenCTI platform: not registered yet");

        readiness.Ready("OpenCTI platform");
        using var ready = await http.GetAsync("readyz");
        await Assert.That(ready.StatusCode).IsEqualTo(HttpStatusCode.OK);

        ComposerMetrics.RecordApiCall("health-test-channel", failed: true);
        using var scrape = await http.GetAsync("metrics");
        await Assert.That(scrape.Content.Headers.ContentType!.ToString()).Contains("version=0.0.4");
        var text = await scrape.Content.ReadAsStringAsync();
        await Assert.That(text).Contains("# TYPE composer_api_calls_total counter");
        await Assert.That(text).Contains("composer_api_calls_total{channel=\"health-test-channel\"} 1");
        await Assert.That(text).Contains("composer_api_errors_total{channel=\"health-test-channel\"} 1");

        using var missing = await http.GetAsync("nothing-here");
        await Assert.That(missing.StatusCode).IsEqualTo(HttpStatusCode.NotFound);
    }

    [Test]
    public async Task Histograms_and_gauges_render_in_the_text_format()
    {
        using var metrics = new PrometheusExporter();
        ComposerMetrics.CycleDuration.Record(0.02, new KeyValuePair<string, object?>("platform", "histogram-test"));
        ComposerMetrics.CycleDuration.Record(3, new KeyValuePair<string, object?>("platform", "histogram-test"));
        ComposerMetrics.SetConnectorStates("gauge-test", new Dictionary<string, long> { ["running"] = 2, ["stopped"] = 1 });
        var text = metrics.Render();
        await Assert.That(text).Contains("# TYPE composer_cycle_duration_seconds histogram");
        await Assert.That(text).Contains("composer_cycle_duration_seconds_bucket{platform=\"histogram-test\",le=\"0.025\"} 1");
        await Assert.That(text).Contains("composer_cycle_duration_seconds_bucket{platform=\"histogram-test\",le=\"5\"} 2");
        await Assert.That(text).Contains("composer_cycle_duration_seconds_bucket{platform=\"histogram-test\",le=\"+Inf\"} 2");
        await Assert.That(text).Contains("composer_cycle_duration_seconds_count{platform=\"histogram-test\"} 2");
        await Assert.That(text).Contains("composer_connectors{platform=\"gauge-test\",state=\"running\"} 2");
    }

    [Test]
    public async Task An_address_in_use_fails_to_start()
    {
        using var metrics = new PrometheusExporter();
        var port = FreePort.Next();
        await using var first = new HealthListener("127.0.0.1", port, new ReadinessState(), metrics, Logger.Null);
        first.Start();
        await using var second = new HealthListener("127.0.0.1", port, new ReadinessState(), metrics, Logger.Null);
        await Assert.That(second.Start).Throws<HttpListenerException>();
    }
}

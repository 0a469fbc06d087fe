using System.Diagnostics.Metrics;

namespace Composer.Diagnostics;

/// <summary>
/// The instruments behind /metrics (System.Diagnostics.Metrics; the health listener renders them in Prometheus text
/// format). Tags are low-cardinality words (channel, platform, result), never ids or names of users' things.
/// </summary>
public static class ComposerMetrics
{
    public const string MeterName = "Composer";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Outbound API calls (HTTP requests) by channel: opencti, openaev, docker, kubernetes, portainer, registry.</summary>
    public static readonly Counter<long> ApiCalls = Meter.CreateCounter<long>("composer_api_calls", description: "Outbound API calls by channel");

    /// <summary>Outbound API calls that failed (no answer, or an error status) by channel.</summary>
    public static readonly Counter<long> ApiErrors = Meter.CreateCounter<long>("composer_api_errors", description: "Outbound API call failures by channel");

    /// <summary>Image pulls by result (success, failure).</summary>
    public static readonly Counter<long> ImagePulls = Meter.CreateCounter<long>("composer_image_pulls", description: "Image pulls by result");

    /// <summary>Duration of one reconcile cycle by platform.</summary>
    public static readonly Histogram<double> CycleDuration = Meter.CreateHistogram<double>("composer_cycle_duration", unit: "s", description: "Reconcile cycle duration by platform");

    /// <summary>Reconcile cycles that could not run (platform or orchestrator listing failed) by platform and reason.</summary>
    public static readonly Counter<long> CycleErrors = Meter.CreateCounter<long>("composer_cycle_errors", description: "Reconcile cycles that failed by platform and reason");

    /// <summary>Connector actions that failed (deploy, start, stop, refresh, remove) by action.</summary>
    public static readonly Counter<long> ActionFailures = Meter.CreateCounter<long>("composer_action_failures", description: "Failed connector actions by action");

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, IReadOnlyDictionary<string, long>> ConnectorStates = new(StringComparer.Ordinal);

    /// <summary>Managed connectors by platform and state (running, stopped, restarting, missing), as of each platform's last cycle.</summary>
    private static readonly ObservableGauge<long> Connectors = Meter.CreateObservableGauge("composer_connectors", ObserveConnectors,
        description: "Managed connectors by platform and state, as of the last reconcile cycle");

    /// <summary>Replaces the connector counts of one platform (called after each cycle).</summary>
    public static void SetConnectorStates(string platform, IReadOnlyDictionary<string, long> countsByState) => ConnectorStates[platform] = countsByState;

    private static IEnumerable<Measurement<long>> ObserveConnectors()
    {
        foreach (var (platform, counts) in ConnectorStates)
        {
            foreach (var (state, count) in counts)
            {
                yield return new Measurement<long>(count, new KeyValuePair<string, object?>("platform", platform), new KeyValuePair<string, object?>("state", state));
            }
        }
    }

    public static void RecordPull(bool success) => ImagePulls.Add(1, new KeyValuePair<string, object?>("result", success ? "success" : "failure"));

    /// <summary>An answered call that still failed (a GraphQL error, a refused request): the channel's own layer counts it.</summary>
    public static void RecordApiError(string channel) => ApiErrors.Add(1, new KeyValuePair<string, object?>("channel", channel));

    public static void RecordApiCall(string channel, bool failed)
    {
        var tag = new KeyValuePair<string, object?>("channel", channel);
        ApiCalls.Add(1, tag);
        if (failed) ApiErrors.Add(1, tag);
    }
}

using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using Composer.Diagnostics;

namespace Composer.Hosting;

/// <summary>
/// Listens to Composer's meter (<see cref="ComposerMetrics"/>) and renders what it measured in the Prometheus text
/// exposition format (version 0.0.4): counters as <c>name_total</c>, histograms as buckets/sum/count, gauges as
/// their last observation. Aggregation is per instrument and tag set, in memory, from process start.
/// </summary>
public sealed class PrometheusExporter : IDisposable
{
    /// <summary>Upper bounds (seconds) of histogram buckets: cycles take milliseconds when idle, minutes when pulling.</summary>
    private static readonly double[] Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

    private readonly MeterListener _listener = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Series> _series = new(StringComparer.Ordinal);

    public PrometheusExporter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == ComposerMetrics.MeterName) listener.EnableMeasurementEvents(instrument);
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    /// <summary>The exposition text of everything measured so far (observable gauges are observed now).</summary>
    public string Render()
    {
        _listener.RecordObservableInstruments();
        var text = new StringBuilder(4096);
        lock (_gate)
        {
            foreach (var group in _series.Values.GroupBy(s => s.Instrument.Name).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                var instrument = group.First().Instrument;
                var kind = KindOf(instrument);
                var name = ExportedName(instrument, kind);
                if (!string.IsNullOrEmpty(instrument.Description)) text.Append("# HELP ").Append(name).Append(' ').Append(instrument.Description).Append('\n');
                text.Append("# TYPE ").Append(name).Append(' ').Append(kind).Append('\n');
                foreach (var series in group.OrderBy(s => s.Labels, StringComparer.Ordinal))
                {
                    if (kind == "histogram")
                    {
                        long cumulative = 0;
                        for (var i = 0; i < Buckets.Length; i++)
                        {
                            cumulative += series.BucketCounts[i];
                            AppendSample(text, name + "_bucket", Join(series.Labels, $"le=\"{Format(Buckets[i])}\""), cumulative);
                        }
                        AppendSample(text, name + "_bucket", Join(series.Labels, "le=\"+Inf\""), series.Count);
                        AppendSample(text, name + "_sum", series.Labels, series.Sum);
                        AppendSample(text, name + "_count", series.Labels, series.Count);
                    }
                    else
                    {
                        AppendSample(text, name, series.Labels, series.Sum);
                    }
                }
            }
        }
        return text.ToString();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var labels = Labels(tags);
        var key = instrument.Name + "{" + labels + "}";
        lock (_gate)
        {
            if (!_series.TryGetValue(key, out var series))
            {
                series = new Series(instrument, labels, KindOf(instrument) == "histogram" ? new long[Buckets.Length] : []);
                _series[key] = series;
            }
            switch (KindOf(instrument))
            {
                case "gauge":
                    series.Sum = value;
                    break;
                case "histogram":
                    series.Sum += value;
                    series.Count++;
                    var bucket = Array.FindIndex(Buckets, b => value <= b);
                    if (bucket >= 0) series.BucketCounts[bucket]++;
                    break;
                default:
                    series.Sum += value;
                    break;
            }
        }
    }

    private static string KindOf(Instrument instrument) => instrument switch
    {
        Histogram<double> => "histogram",
        ObservableGauge<long> or ObservableGauge<double> => "gauge",
        _ => "counter",
    };

    private static string ExportedName(Instrument instrument, string kind)
    {
        var name = instrument.Name;
        if (instrument.Unit == "s" && !name.EndsWith("_seconds", StringComparison.Ordinal)) name += "_seconds";
        return kind == "counter" ? name + "_total" : name;
    }

    /// <summary>label="value" pairs sorted by name, values escaped as the format requires.</summary>
    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0) return "";
        var pairs = new List<string>(tags.Length);
        foreach (var (k, v) in tags)
        {
            var value = Convert.ToString(v, CultureInfo.InvariantCulture) ?? "";
            pairs.Add($"{k}=\"{value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)}\"");
        }
        pairs.Sort(StringComparer.Ordinal);
        return string.Join(',', pairs);
    }

    private static string Join(string labels, string extra) => labels.Length == 0 ? extra : labels + "," + extra;

    private static void AppendSample(StringBuilder text, string name, string labels, double value)
    {
        text.Append(name);
        if (labels.Length > 0) text.Append('{').Append(labels).Append('}');
        text.Append(' ').Append(Format(value)).Append('\n');
    }

    private static string Format(double value) => value.ToString("G17", CultureInfo.InvariantCulture) switch
    {
        var s when s.Contains('E') || s.Contains('.') => value.ToString("R", CultureInfo.InvariantCulture),
        var s => s,
    };

    public void Dispose() => _listener.Dispose();

    private sealed class Series(Instrument instrument, string labels, long[] bucketCounts)
    {
        public Instrument Instrument { get; } = instrument;
        public string Labels { get; } = labels;
        public long[] BucketCounts { get; } = bucketCounts;
        public double Sum { get; set; }
        public long Count { get; set; }
    }
}

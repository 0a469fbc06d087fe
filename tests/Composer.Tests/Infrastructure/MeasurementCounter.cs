using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Composer.Diagnostics;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// Records what one of Composer's counters receives while it lives. The instruments are process-wide: tests that
/// count the same instrument must not run in parallel with others that add to it ([NotInParallel]).
/// </summary>
public sealed class MeasurementCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(long Value, KeyValuePair<string, object?>[] Tags)> _measurements = new();

    public MeasurementCounter(string instrument)
    {
        _listener.InstrumentPublished = (i, listener) =>
        {
            if (i.Meter.Name == ComposerMetrics.MeterName && i.Name == instrument) listener.EnableMeasurementEvents(i);
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) => _measurements.Enqueue((value, tags.ToArray())));
        _listener.Start();
    }

    /// <summary>The sum of the measurements carrying the tag <paramref name="key"/>=<paramref name="value"/>.</summary>
    public long Count(string key, string value)
    {
        long sum = 0;
        foreach (var (v, tags) in _measurements)
        {
            foreach (var tag in tags)
            {
                if (tag.Key == key && Equals(tag.Value, value)) sum += v;
            }
        }
        return sum;
    }

    public void Dispose() => _listener.Dispose();
}

using System.Globalization;
using System.Threading.Channels;
using Composer.Diagnostics;
using Docker.DotNet.Models;

namespace Composer.Orchestration.Docker;

/// <summary>What the engine's event watches (Docker containers; Swarm services and task containers) share.</summary>
internal static class EngineEvents
{
    /// <summary>
    /// The engine's clock now (GET /info SystemTime) as since= reads it, so that it means the same on both sides: Unix
    /// seconds and nanoseconds (the engine reads a value with a '.' as that, never as RFC 3339 with a fraction).
    /// </summary>
    public static Result<string> Since(SystemInfoResponse info)
    {
        if (!LogCollector.TryParseTimestamp((info.SystemTime ?? "").AsSpan(), out var now))
        {
            return Failure.Orchestrator($"the engine's SystemTime '{info.SystemTime}' is not an RFC 3339 time");
        }
        var ticks = (now - DateTimeOffset.UnixEpoch).Ticks;
        var seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out var rest);
        return Result<string>.Success(string.Create(CultureInfo.InvariantCulture, $"{seconds}.{rest * 100:D9}"));
    }
}

/// <summary>Set when an event was dropped because the channel's capacity was waiting to be read.</summary>
internal sealed class EventOverflow
{
    private int _dropped;

    public void Set() => Interlocked.Exchange(ref _dropped, 1);

    public bool Take() => Interlocked.Exchange(ref _dropped, 0) == 1;
}

/// <summary>Hands each event to the channel on the reading thread, in order (Progress&lt;T&gt; would post them to the thread pool, unordered).</summary>
internal sealed class EventChannelProgress(ChannelWriter<Message> writer, EventOverflow overflow) : IProgress<Message>
{
    public void Report(Message value)
    {
        if (!writer.TryWrite(value)) overflow.Set();
    }
}

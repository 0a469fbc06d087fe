using System.Buffers;
using Composer.Reconciliation;
using Docker.DotNet;

namespace Composer.Orchestration.Docker;

/// <summary>
/// Turns a GET /containers/{id}/logs?timestamps=1 (or /services/{id}/logs) answer into the newest lines within
/// <see cref="LogLimits"/>, as it streams: Docker.DotNet demultiplexes it (8-byte frame headers for stdout and stderr;
/// raw bytes for TTY containers, as the container's Tty tells); each stream is split on '\n' separately so interleaved
/// frames never mix their halves (<see cref="LogCollector"/>). Each line starts with the engine's RFC 3339 nanosecond
/// timestamp and a space: stripped from the text, used to drop lines at or before the cursor (the since parameter only
/// has 1-second granularity) and returned as the next cursor. A line the engine split (over 16 KiB) keeps the
/// timestamp of its continuation inside it, past the cut of <see cref="LogLimits.MaxLineBytes"/>.
/// </summary>
public static class ContainerLogReader
{
    public static async Task<LogBatch> ReadAsync(MultiplexedStream stream, DateTimeOffset? after, LogLimits limits, CancellationToken cancellationToken)
    {
        var collector = new LogCollector(limits, after);
        var stdout = collector.NewStream();
        var stderr = collector.NewStream();
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (true)
            {
                var read = await stream.ReadOutputAsync(buffer, 0, buffer.Length, cancellationToken).ConfigureAwait(false);
                if (read.EOF) break;
                (read.Target == MultiplexedStream.TargetStream.StandardError ? stderr : stdout).Write(buffer.AsSpan(0, read.Count));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        stdout.Complete();
        stderr.Complete();
        return collector.ToBatch();
    }
}

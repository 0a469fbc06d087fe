using System.Buffers;
using System.Globalization;
using System.Text;
using Composer.Reconciliation;
using Docker.DotNet;

namespace Composer.Orchestration.Docker;

/// <summary>
/// Turns a GET /containers/{id}/logs?timestamps=1 answer into lines. The stream is demultiplexed by Docker.DotNet
/// (8-byte frame headers for stdout and stderr; raw bytes for TTY containers, as the container's Tty tells); each
/// stream is split on '\n' separately so interleaved frames never mix their halves. Each line starts with the
/// engine's RFC 3339 nanosecond timestamp and a space: stripped from the text, used to drop lines at or before the
/// cursor (the since parameter only has 1-second granularity) and returned as the next cursor. Invalid UTF-8 becomes
/// U+FFFD. A line the engine split (over 16 KiB) keeps the timestamp of its continuation inside it.
/// </summary>
public static class ContainerLogReader
{
    public static async Task<LogBatch> ReadAsync(MultiplexedStream stream, DateTimeOffset? after, CancellationToken cancellationToken)
    {
        var lines = new List<string>();
        DateTimeOffset? last = null;
        var stdout = new ArrayBufferWriter<byte>();
        var stderr = new ArrayBufferWriter<byte>();
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (true)
            {
                var read = await stream.ReadOutputAsync(buffer, 0, buffer.Length, cancellationToken).ConfigureAwait(false);
                if (read.EOF) break;
                var pending = read.Target == MultiplexedStream.TargetStream.StandardError ? stderr : stdout;
                var chunk = buffer.AsSpan(0, read.Count);
                while (true)
                {
                    var newline = chunk.IndexOf((byte)'\n');
                    if (newline < 0)
                    {
                        pending.Write(chunk);
                        break;
                    }
                    ReadOnlySpan<byte> line;
                    if (pending.WrittenCount == 0)
                    {
                        line = chunk[..newline];
                    }
                    else
                    {
                        pending.Write(chunk[..newline]);
                        line = pending.WrittenSpan;
                    }
                    Add(line, after, lines, ref last);
                    pending.ResetWrittenCount();
                    chunk = chunk[(newline + 1)..];
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        if (stdout.WrittenCount > 0) Add(stdout.WrittenSpan, after, lines, ref last);
        if (stderr.WrittenCount > 0) Add(stderr.WrittenSpan, after, lines, ref last);
        return new LogBatch(lines, last ?? after);
    }

    private static void Add(ReadOnlySpan<byte> line, DateTimeOffset? after, List<string> lines, ref DateTimeOffset? last)
    {
        if (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1]; // TTY output ends lines with \r\n
        var space = line.IndexOf((byte)' ');
        if (space > 0 && TryParseTimestamp(line[..space], out var timestamp))
        {
            if (timestamp <= after) return;
            if (last is null || timestamp > last) last = timestamp;
            line = line[(space + 1)..];
        }
        lines.Add(Encoding.UTF8.GetString(line));
    }

    /// <summary>
    /// RFC 3339 with up to 9 fractional digits (Docker's timestamps and State.StartedAt): the fraction is cut to the
    /// 7 digits DateTimeOffset holds.
    /// </summary>
    public static bool TryParseTimestamp(ReadOnlySpan<byte> text, out DateTimeOffset timestamp)
    {
        timestamp = default;
        if (text.Length is < 20 or > 40) return false;
        Span<char> chars = stackalloc char[text.Length];
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] > 0x7f) return false;
            chars[i] = (char)text[i];
        }
        return TryParseTimestamp(chars, out timestamp);
    }

    /// <inheritdoc cref="TryParseTimestamp(ReadOnlySpan{byte}, out DateTimeOffset)"/>
    public static bool TryParseTimestamp(ReadOnlySpan<char> text, out DateTimeOffset timestamp)
    {
        timestamp = default;
        if (text.Length is < 20 or > 40) return false;
        Span<char> normalized = stackalloc char[text.Length];
        var dot = text.IndexOf('.');
        int length;
        if (dot < 0)
        {
            text.CopyTo(normalized);
            length = text.Length;
        }
        else
        {
            var digits = dot + 1;
            while (digits < text.Length && char.IsAsciiDigit(text[digits])) digits++;
            var kept = Math.Min(digits - dot - 1, 7);
            text[..(dot + 1 + kept)].CopyTo(normalized);
            text[digits..].CopyTo(normalized[(dot + 1 + kept)..]);
            length = dot + 1 + kept + (text.Length - digits);
        }
        return DateTimeOffset.TryParse(normalized[..length], CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out timestamp);
    }
}

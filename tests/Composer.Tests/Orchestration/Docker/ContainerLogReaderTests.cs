using System.Buffers.Binary;
using System.Text;
using Composer.Diagnostics;
using Composer.Orchestration;
using Composer.Orchestration.Docker;
using Composer.Reconciliation;
using Docker.DotNet;
using TUnit.Assertions.Enums;

namespace Composer.Tests.Orchestration.Docker;

/// <summary>
/// Log streams as the engine frames them (stdout/stderr frames, TTY output, timestamps, the cursor) read within
/// bounds: whatever the connector wrote, the result holds the newest lines within the limits, control characters
/// stripped, and the reader keeps no more than one bounded raw line per stream.
/// </summary>
public class ContainerLogReaderTests
{
    private const string T1 = "2024-05-06T07:08:09.123456789Z";
    private const string T2 = "2024-05-06T07:08:10.000000001Z";
    private const string T3 = "2024-05-06T07:08:11.500000000Z";

    private static readonly LogLimits Limits = LogLimits.Default;

    private static MultiplexedStream Frames(params (int Stream, string Text)[] frames) =>
        FrameBytes([.. frames.Select(f => (f.Stream, Encoding.UTF8.GetBytes(f.Text)))]);

    private static MultiplexedStream FrameBytes(params (int Stream, byte[] Payload)[] frames)
    {
        var bytes = new MemoryStream();
        foreach (var (stream, payload) in frames) WriteFrame(bytes, stream, payload);
        bytes.Position = 0;
        return new MultiplexedStream(bytes, multiplexed: true);
    }

    private static void WriteFrame(Stream destination, int stream, byte[] payload)
    {
        Span<byte> header = stackalloc byte[8];
        header[0] = (byte)stream;
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], (uint)payload.Length);
        destination.Write(header);
        destination.Write(payload);
    }

    private static Task<LogBatch> Read(MultiplexedStream stream, DateTimeOffset? after = null, LogLimits? limits = null) =>
        ContainerLogReader.ReadAsync(stream, after, limits ?? Limits, CancellationToken.None);

    [Test]
    public async Task Stdout_and_stderr_frames_become_lines_without_timestamps()
    {
        using var stream = Frames((1, $"{T1} started\n"), (2, $"{T2} warning: x=1\n"), (1, $"{T3} tick 1\n"));
        var batch = await Read(stream);
        await Assert.That(batch.Lines).IsEquivalentTo(new[] { "started", "warning: x=1", "tick 1" }, CollectionOrdering.Matching);
        await Assert.That(batch.LastTimestamp).IsEqualTo(DateTimeOffset.Parse("2024-05-06T07:08:11.5Z", System.Globalization.CultureInfo.InvariantCulture));
    }

    [Test]
    public async Task A_line_split_across_frames_is_joined_per_stream_even_when_the_other_stream_interleaves()
    {
        using var stream = Frames((1, $"{T1} first half "), (2, $"{T2} err "), (1, "second half\n"), (2, "line\n"));
        var batch = await Read(stream);
        await Assert.That(batch.Lines).IsEquivalentTo(new[] { "first half second half", "err line" }, CollectionOrdering.Matching);
    }

    [Test]
    public async Task Lines_at_or_before_the_cursor_are_dropped()
    {
        var cursor = ParseDocker(T2);
        using var stream = Frames((1, $"{T1} old\n"), (1, $"{T2} the cursor itself\n"), (2, $"{T3} new\n"));
        var batch = await Read(stream, cursor);
        await Assert.That(batch.Lines).IsEquivalentTo(new[] { "new" }, CollectionOrdering.Matching);
        await Assert.That(batch.LastTimestamp > cursor).IsTrue();
    }

    [Test]
    public async Task No_new_line_keeps_the_cursor()
    {
        var cursor = ParseDocker(T3);
        using var stream = Frames((1, $"{T1} old\n"));
        var batch = await Read(stream, cursor);
        await Assert.That(batch.Lines).IsEmpty();
        await Assert.That(batch.LastTimestamp).IsEqualTo(cursor);
    }

    [Test]
    public async Task A_tty_stream_is_read_raw_and_crlf_is_one_line_end()
    {
        var raw = new MemoryStream(Encoding.UTF8.GetBytes($"{T1} tty line\r\n{T2} last without newline"));
        using var stream = new MultiplexedStream(raw, multiplexed: false);
        var batch = await Read(stream);
        await Assert.That(batch.Lines).IsEquivalentTo(new[] { "tty line", "last without newline" }, CollectionOrdering.Matching);
    }

    [Test]
    public async Task Invalid_utf8_is_replaced_not_fatal()
    {
        using var stream = FrameBytes((1, [.. Encoding.ASCII.GetBytes($"{T1} bad "), 0xff, 0xfe, (byte)'\n']));
        var batch = await Read(stream);
        await Assert.That(batch.Lines.Single()).IsEqualTo("bad \uFFFD\uFFFD");
    }

    [Test]
    public async Task Control_characters_are_stripped_escape_sequences_whole_and_tab_kept()
    {
        // What the flood image prints with FLOOD_CONTROL=1, plus an OSC title and a tab.
        var line = $"{T1} flood \u001b[31mred\u001b[0m \u0007bell \r\u0001\u0002 \u001b]0;title\u0007done\tend\u007f\u0085\n";
        using var stream = Frames((1, line));
        var batch = await Read(stream);
        await Assert.That(batch.Lines.Single()).IsEqualTo("flood red bell  done\tend");
    }

    [Test]
    public async Task A_huge_line_is_cut_to_max_line_bytes_and_the_next_line_is_intact()
    {
        var limits = new LogLimits(100, 64 * 1024, 1000);
        var huge = new string('x', 5 * 1024 * 1024);
        using var stream = Frames((1, $"{T1} {huge}"), (1, huge), (1, $"\n{T2} after\n"));
        var batch = await Read(stream, limits: limits);
        await Assert.That(batch.Lines.Count).IsEqualTo(2);
        await Assert.That(Encoding.UTF8.GetByteCount(batch.Lines[0])).IsLessThanOrEqualTo(1000);
        await Assert.That(batch.Lines[0]).EndsWith(LogLineText.CutMark);
        await Assert.That(batch.Lines[0]).StartsWith("xxxx");
        await Assert.That(batch.Lines[1]).IsEqualTo("after");
        await Assert.That(batch.LastTimestamp).IsEqualTo(ParseDocker(T2));
    }

    [Test]
    public async Task A_stream_without_any_newline_is_one_cut_line()
    {
        var limits = new LogLimits(100, 64 * 1024, 512);
        var chunk = Encoding.UTF8.GetBytes(new string('y', 64 * 1024));
        using var stream = FrameBytes([(1, Encoding.UTF8.GetBytes(T1 + " ")), .. Enumerable.Repeat((1, chunk), 64)]);
        var batch = await Read(stream, limits: limits);
        await Assert.That(batch.Lines.Count).IsEqualTo(1);
        await Assert.That(Encoding.UTF8.GetByteCount(batch.Lines[0])).IsLessThanOrEqualTo(512);
        await Assert.That(batch.Lines[0]).EndsWith(LogLineText.CutMark);
        await Assert.That(batch.LastTimestamp).IsEqualTo(ParseDocker(T1));
    }

    [Test]
    public async Task The_newest_lines_win_within_max_lines_and_max_bytes()
    {
        var start = ParseDocker(T1);
        var frames = Enumerable.Range(1, 5000).Select(i => (i % 3 == 0 ? 2 : 1, $"{Stamp(start.AddMilliseconds(i))} line {i:D5} {new string('z', 90)}\n")).ToArray();

        using (var stream = Frames(frames))
        {
            var byCount = await Read(stream, limits: new LogLimits(100, 1024 * 1024, 4096));
            await Assert.That(byCount.Lines.Count).IsEqualTo(100);
            await Assert.That(byCount.Lines[0]).StartsWith("line 04901 ");
            await Assert.That(byCount.Lines[^1]).StartsWith("line 05000 ");
            await Assert.That(byCount.LastTimestamp).IsEqualTo(start.AddMilliseconds(5000));
        }
        using (var stream = Frames(frames))
        {
            var byBytes = await Read(stream, limits: new LogLimits(1000, 4096, 4096));
            var bytes = byBytes.Lines.Sum(l => Encoding.UTF8.GetByteCount(l));
            await Assert.That(bytes).IsLessThanOrEqualTo(4096);
            await Assert.That(bytes).IsGreaterThan(4096 - 110);
            await Assert.That(byBytes.Lines[^1]).StartsWith("line 05000 ");
        }
    }

    [Test]
    public async Task A_secret_the_connector_prints_is_masked_before_control_characters_go()
    {
        var secret = new Secret($"nul\u0000{Guid.NewGuid():N}");
        using var stream = Frames((1, $"{T1} my secret is {secret.Reveal()}, keep it\n"));
        var batch = await Read(stream);
        await Assert.That(batch.Lines.Single()).IsEqualTo("my secret is ***, keep it");
        GC.KeepAlive(secret);
    }

    [Test]
    [Arguments("2024-05-06T07:08:09.123456789Z", "2024-05-06T07:08:09.1234567+00:00")]
    [Arguments("2024-05-06T07:08:09Z", "2024-05-06T07:08:09.0000000+00:00")]
    [Arguments("2024-05-06T09:08:09.5+02:00", "2024-05-06T07:08:09.5000000+00:00")]
    [Arguments("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.0000000+00:00")]
    public async Task Docker_timestamps_parse_to_100_ns(string text, string expected)
    {
        await Assert.That(LogCollector.TryParseTimestamp(text.AsSpan(), out var parsed)).IsTrue();
        await Assert.That(parsed.ToUniversalTime().ToString("o", System.Globalization.CultureInfo.InvariantCulture)).IsEqualTo(expected);
    }

    [Test]
    [Arguments("tick")]
    [Arguments("not-a-timestamp-at-all-but-long")]
    public async Task Other_words_are_not_timestamps(string text) =>
        await Assert.That(LogCollector.TryParseTimestamp(text.AsSpan(), out _)).IsFalse();

    private static string Stamp(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'00Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static DateTimeOffset ParseDocker(string text) =>
        LogCollector.TryParseTimestamp(text.AsSpan(), out var t) ? t : throw new FormatException(text);
}

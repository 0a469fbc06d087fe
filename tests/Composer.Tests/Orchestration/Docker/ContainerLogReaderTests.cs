using System.Buffers.Binary;
using System.Text;
using Composer.Orchestration.Docker;
using Docker.DotNet;
using TUnit.Assertions.Enums;

namespace Composer.Tests.Orchestration.Docker;

/// <summary>Log streams as the engine frames them: stdout/stderr frames, TTY output, timestamps and the cursor.</summary>
public class ContainerLogReaderTests
{
    private const string T1 = "2024-05-06T07:08:09.123456789Z";
    private const string T2 = "2024-05-06T07:08:10.000000001Z";
    private const string T3 = "2024-05-06T07:08:11.500000000Z";

    private static MultiplexedStream Frames(params (int Stream, string Text)[] frames)
    {
        var bytes = new MemoryStream();
        foreach (var (stream, text) in frames) WriteFrame(bytes, stream, Encoding.UTF8.GetBytes(text));
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

    [Test]
    public async Task Stdout_and_stderr_frames_become_lines_without_timestamps()
    {
        using var stream = Frames((1, $"{T1} started\n"), (2, $"{T2} warning: x=1\n"), (1, $"{T3} tick 1\n"));
        var batch = await ContainerLogReader.ReadAsync(stream, null, CancellationToken.None);
        await Assert.That(batch.Lines).IsEquivalentTo(new[] { "started", "warning: x=1", "tick 1" }, CollectionOrdering.Matching);
        await Assert.That(batch.LastTimestamp).IsEqualTo(DateTimeOffset.Parse("2024-05-06T07:08:11.5Z", System.Globalization.CultureInfo.InvariantCulture));
    }

    [Test]
    public async Task A_line_split_across_frames_is_joined_per_stream_even_when_the_other_stream_interleaves()
    {
        using var stream = Frames((1, $"{T1} first half "), (2, $"{T2} err line\n"), (1, "second half\n"));
        var batch = await ContainerLogReader.ReadAsync(stream, null, CancellationToken.None);
        await Assert.That(batch.Lines).IsEquivalentTo(new[] { "err line", "first half second half" }, CollectionOrdering.Matching);
    }

    [Test]
    public async Task Lines_at_or_before_the_cursor_are_dropped()
    {
        var cursor = ParseDocker(T2);
        using var stream = Frames((1, $"{T1} old\n"), (1, $"{T2} the cursor itself\n"), (2, $"{T3} new\n"));
        var batch = await ContainerLogReader.ReadAsync(stream, cursor, CancellationToken.None);
        await Assert.That(batch.Lines).IsEquivalentTo(new[] { "new" }, CollectionOrdering.Matching);
        await Assert.That(batch.LastTimestamp > cursor).IsTrue();
    }

    [Test]
    public async Task No_new_line_keeps_the_cursor()
    {
        var cursor = ParseDocker(T3);
        using var stream = Frames((1, $"{T1} old\n"));
        var batch = await ContainerLogReader.ReadAsync(stream, cursor, CancellationToken.None);
        await Assert.That(batch.Lines).IsEmpty();
        await Assert.That(batch.LastTimestamp).IsEqualTo(cursor);
    }

    [Test]
    public async Task A_tty_stream_is_read_raw_and_crlf_is_one_line_end()
    {
        var raw = new MemoryStream(Encoding.UTF8.GetBytes($"{T1} tty line\r\n{T2} last without newline"));
        using var stream = new MultiplexedStream(raw, multiplexed: false);
        var batch = await ContainerLogReader.ReadAsync(stream, null, CancellationToken.None);
        await Assert.That(batch.Lines).IsEquivalentTo(new[] { "tty line", "last without newline" }, CollectionOrdering.Matching);
    }

    [Test]
    public async Task Invalid_utf8_is_replaced_not_fatal()
    {
        var bytes = new MemoryStream();
        WriteFrame(bytes, 1, [.. Encoding.ASCII.GetBytes($"{T1} bad "), 0xff, 0xfe, (byte)'\n']);
        bytes.Position = 0;
        using var stream = new MultiplexedStream(bytes, multiplexed: true);
        var batch = await ContainerLogReader.ReadAsync(stream, null, CancellationToken.None);
        await Assert.That(batch.Lines.Single()).StartsWith("bad \uFFFD");
    }

    [Test]
    [Arguments("2024-05-06T07:08:09.123456789Z", "2024-05-06T07:08:09.1234567+00:00")]
    [Arguments("2024-05-06T07:08:09Z", "2024-05-06T07:08:09.0000000+00:00")]
    [Arguments("2024-05-06T09:08:09.5+02:00", "2024-05-06T07:08:09.5000000+00:00")]
    [Arguments("0001-01-01T00:00:00Z", "0001-01-01T00:00:00.0000000+00:00")]
    public async Task Docker_timestamps_parse_to_100_ns(string text, string expected)
    {
        await Assert.That(ContainerLogReader.TryParseTimestamp(text.AsSpan(), out var parsed)).IsTrue();
        await Assert.That(parsed.ToUniversalTime().ToString("o", System.Globalization.CultureInfo.InvariantCulture)).IsEqualTo(expected);
    }

    [Test]
    [Arguments("tick")]
    [Arguments("not-a-timestamp-at-all-but-long")]
    public async Task Other_words_are_not_timestamps(string text) =>
        await Assert.That(ContainerLogReader.TryParseTimestamp(text.AsSpan(), out _)).IsFalse();

    private static DateTimeOffset ParseDocker(string text) =>
        ContainerLogReader.TryParseTimestamp(text.AsSpan(), out var t) ? t : throw new FormatException(text);
}

using System.Buffers.Binary;
using System.Text;
using Composer.Diagnostics;
using Composer.Orchestration;
using Composer.Orchestration.Docker;
using Composer.Reconciliation;
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

    private static MemoryStream Frames(params (int Stream, string Text)[] frames) =>
        FrameBytes([.. frames.Select(f => (f.Stream, Encoding.UTF8.GetBytes(f.Text)))]);

    private static MemoryStream FrameBytes(params (int Stream, byte[] Payload)[] frames)
    {
        var bytes = new MemoryStream();
        foreach (var (stream, payload) in frames) WriteFrame(bytes, stream, payload);
        bytes.Position = 0;
        return bytes;
    }

    private static void WriteFrame(Stream destination, int stream, byte[] payload)
    {
        Span<byte> header = stackalloc byte[8];
        header[0] = (byte)stream;
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], (uint)payload.Length);
        destination.Write(header);
        destination.Write(payload);
    }

    private static async Task<LogBatch> Read(Stream stream, DateTimeOffset? after = null, LogLimits? limits = null)
    {
        var read = await ContainerLogReader.ReadAsync(stream, after, limits ?? Limits, CancellationToken.None);
        return read.Value ?? throw new InvalidOperationException(read.Failure!.Message);
    }

    private static Task<Result<LogBatch>> ReadResult(Stream stream, LogLimits? limits = null) =>
        ContainerLogReader.ReadAsync(stream, null, limits ?? Limits, CancellationToken.None);

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
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes($"{T1} tty line\r\n{T2} last without newline"));
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
    public async Task A_tty_answer_is_told_by_its_timestamp_and_bytes_like_a_header_inside_it_stay_text()
    {
        // A TTY container's answer is raw; a line holding what looks like a frame header is text (its controls stripped).
        using var stream = new MemoryStream([.. Encoding.ASCII.GetBytes($"{T1} a\u0001\0\0\0\0\0\0\u0005b\r\n"), .. Encoding.ASCII.GetBytes($"{T2} next\r\n")]);
        var batch = await Read(stream);
        await Assert.That(batch.Lines).IsEquivalentTo(new[] { "ab", "next" }, CollectionOrdering.Matching);
        await Assert.That(batch.LastTimestamp).IsEqualTo(ParseDocker(T2));
    }

    [Test]
    [Arguments(new byte[] { 7, 0, 0, 0, 0, 0, 0, 4 }, "0700000000000004")]
    [Arguments(new byte[] { 1, 0, 9, 0, 0, 0, 0, 4 }, "0100090000000004")]
    public async Task A_malformed_frame_header_is_a_failure_not_lines(byte[] header, string shown)
    {
        var good = new MemoryStream();
        WriteFrame(good, 1, Encoding.UTF8.GetBytes($"{T1} fine\n"));
        var at = good.Length;
        using var stream = new MemoryStream([.. good.ToArray(), .. header, .. "junk"u8]);

        var read = await ReadResult(stream);

        await Assert.That(read.IsSuccess).IsFalse();
        await Assert.That(read.Failure!.Message).IsEqualTo($"the engine's answer has a malformed frame header at byte {at} ({shown}): " +
                                                           "expected a stream byte of 0 to 3, three zero bytes and a length");
    }

    [Test]
    public async Task An_answer_cut_inside_a_frame_or_its_header_is_a_failure()
    {
        var frame = new MemoryStream();
        WriteFrame(frame, 1, Encoding.UTF8.GetBytes($"{T1} a line of forty-odd bytes\n"));
        var whole = frame.ToArray();

        var insidePayload = await ReadResult(new MemoryStream(whole[..20]));
        var insideHeader = await ReadResult(new MemoryStream([.. whole, .. whole[..3]]));

        await Assert.That(insidePayload.Failure!.Message).IsEqualTo($"the engine's answer ended inside a frame (12 of {whole.Length - 8} bytes, at byte 0)");
        await Assert.That(insideHeader.Failure!.Message).IsEqualTo($"the engine's answer ended inside a frame header (3 of 8 bytes, at byte {whole.Length})");
    }

    [Test]
    public async Task The_engines_own_error_frame_is_a_failure_in_its_words_secrets_masked()
    {
        var secret = new Secret($"s3cret-{Guid.NewGuid():N}");
        using var stream = FrameBytes((1, Encoding.UTF8.GetBytes($"{T1} before\n")),
            (3, Encoding.UTF8.GetBytes($"Error grabbing logs: invalid character '\u0000' near {secret.Reveal()}\n")));

        var read = await ReadResult(stream);

        await Assert.That(read.Failure!.Message).IsEqualTo("the engine reported: Error grabbing logs: invalid character '' near ***");
        GC.KeepAlive(secret);
    }

    [Test]
    public async Task A_frame_announcing_more_than_the_budget_is_read_up_to_the_budget_and_the_whole_lines_before_it_kept()
    {
        var limits = new LogLimits(10, 64 * 1024, 1000);
        var head = new MemoryStream();
        WriteFrame(head, 2, Encoding.UTF8.GetBytes($"{T1} before\n"));
        Span<byte> header = stackalloc byte[8];
        header[0] = 1;
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], uint.MaxValue);
        head.Write(header);
        head.Write(Encoding.UTF8.GetBytes($"{T2} endless "));
        using var stream = new EndlessStream(head.ToArray(), (byte)'x');

        var batch = await Read(stream, limits: limits);

        // The cut line is left for the next read (its timestamp is after the cursor, T1): it is not half uploaded.
        await Assert.That(batch.Lines).IsEquivalentTo(new[] { "before" }, CollectionOrdering.Matching);
        await Assert.That(batch.LastTimestamp).IsEqualTo(ParseDocker(T1));
        await Assert.That(stream.Served).IsEqualTo(ContainerLogReader.AnswerBudget(limits));
    }

    [Test]
    public async Task A_raw_answer_without_end_is_read_up_to_the_budget()
    {
        var limits = new LogLimits(10, 64 * 1024, 1000);
        using var stream = new EndlessStream(Encoding.UTF8.GetBytes($"{T1} first\r\n{T2} "), (byte)'y');

        var batch = await Read(stream, limits: limits);

        await Assert.That(batch.Lines).IsEquivalentTo(new[] { "first" }, CollectionOrdering.Matching);
        await Assert.That(stream.Served).IsEqualTo(ContainerLogReader.AnswerBudget(limits));
    }

    [Test]
    public async Task An_answer_that_stalls_fails_at_the_request_timeout()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var stalled = new StalledStream(FrameBytes((1, Encoding.UTF8.GetBytes($"{T1} before the stall\n"))).ToArray());
        var reading = ContainerLogReader.ReadWithinAsync(_ => Task.FromResult<Stream>(stalled), TimeSpan.FromSeconds(30), time, null, Limits,
            CancellationToken.None);
        await stalled.Stalled.WaitAsync(TimeSpan.FromSeconds(10));
        await Assert.That(reading.IsCompleted).IsFalse();

        time.Advance(TimeSpan.FromSeconds(30));
        var read = await reading.WaitAsync(TimeSpan.FromSeconds(10));

        await Assert.That(read.Failure!.Message).IsEqualTo("the engine's answer did not end within 30 s (request_timeout)");
        await Assert.That(stalled.Disposed).IsTrue();
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

    /// <summary>An answer that never ends: <paramref name="head"/>, then <paramref name="fill"/> for ever; counts what it served.</summary>
    private sealed class EndlessStream(byte[] head, byte fill) : Stream
    {
        public long Served { get; private set; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            for (var i = 0; i < count; i++) buffer[offset + i] = Served + i < head.Length ? head[Served + i] : fill;
            Served += count;
            return count;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => Served; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>An answer that sends <paramref name="head"/>, then nothing more until the read is cancelled.</summary>
    private sealed class StalledStream(byte[] head) : Stream
    {
        private int _served;
        private readonly TaskCompletionSource _stalled = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Stalled => _stalled.Task;
        public bool Disposed { get; private set; }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_served < head.Length)
            {
                var count = Math.Min(buffer.Length, head.Length - _served);
                head.AsMemory(_served, count).CopyTo(buffer);
                _served += count;
                return count;
            }
            _stalled.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return 0;
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("read asynchronously");
        protected override void Dispose(bool disposing)
        {
            Disposed = true;
            base.Dispose(disposing);
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _served; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

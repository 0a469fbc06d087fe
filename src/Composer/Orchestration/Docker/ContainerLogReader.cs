using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Composer.Diagnostics;
using Composer.Reconciliation;

namespace Composer.Orchestration.Docker;

/// <summary>
/// Turns the answer body of a GET /containers/{id}/logs?timestamps=1 (or /services/{id}/logs) into the newest lines
/// within <see cref="LogLimits"/>, as it streams. Each stream is split on '\n' separately so interleaved frames never
/// mix their halves (<see cref="LogCollector"/>). Each line starts with the engine's RFC 3339 nanosecond timestamp and
/// a space: stripped from the text, used to drop lines at or before the cursor (the since parameter only has 1-second
/// granularity) and returned as the next cursor. A line the engine split (over 16 KiB) keeps the timestamp of its
/// continuation inside it, past the cut of <see cref="LogLimits.MaxLineBytes"/>.
/// <para>
/// Framing. A container without a TTY answers in frames (an 8-byte header: stream 0 stdin, 1 stdout, 2 stderr, 3 the
/// engine's own error, three zero bytes, the payload length big-endian); a TTY container answers raw bytes. The
/// answer's first byte tells which, because timestamps are asked for: a raw answer starts with a timestamp's digit (or
/// the engine's "Error grabbing logs"), a framed one with a stream byte of 0 to 3. Neither the container's inspect (a
/// second engine call per read, which Docker.DotNet makes) nor the Content-Type is needed; the latter only names the
/// framing from API 1.42 on, and a 20.10 engine sends none at all.
/// </para>
/// <para>
/// Bounds. Memory: one 64 KiB buffer, the collector's ring and one raw line per stream; a frame of any announced length
/// is streamed through, never held. Bytes: at most <see cref="AnswerBudget"/> are read; past it the read stops and
/// the lines read whole so far are the batch (the cursor moves to the last of them, so the next read goes on from
/// there). Time: the caller's token (the orchestrator bounds the read by the client's request timeout). A malformed
/// header, an answer cut inside a frame or the engine's own error frame is a failure, never lines made of header bytes.
/// </para>
/// </summary>
public static class ContainerLogReader
{
    private const int HeaderBytes = 8;
    private const byte ErrorStream = 3;

    /// <summary>
    /// Bytes read per line of the tail asked for: an entry is at most 16 KiB (the engine splits longer output) plus its
    /// timestamp and frame header, and a service's tail is per task (Swarm keeps five ended tasks beside the running
    /// one by default): 6 × 16 KiB and room to spare.
    /// </summary>
    private const int AnswerBytesPerLine = 128 * 1024;

    /// <summary>The most of an engine's error frame kept for the failure's message.</summary>
    private const int MaxErrorBytes = 1024;

    /// <summary>The most bytes of one answer read, for a tail of <see cref="LogLimits.MaxLines"/> lines (12.6 MiB for the default 100 lines).</summary>
    public static long AnswerBudget(LogLimits limits) => (long)Math.Max(1, limits.MaxLines) * AnswerBytesPerLine + AnswerBytesPerLine;

    /// <summary>
    /// Opens the answer and reads it, the whole of it (request, headers and body) within <paramref name="timeout"/>:
    /// the client's request timeout, which Docker.DotNet applies to no streamed answer.
    /// </summary>
    public static async Task<Result<LogBatch>> ReadWithinAsync(Func<CancellationToken, Task<Stream>> open, TimeSpan timeout, TimeProvider time,
        DateTimeOffset? after, LogLimits limits, CancellationToken cancellationToken)
    {
        using var timer = timeout > TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan ? new CancellationTokenSource(timeout, time) : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        try
        {
            await using var answer = await open(linked.Token).ConfigureAwait(false);
            return await ReadAsync(answer, after, limits, linked.Token).ConfigureAwait(false);
        }
        catch (Exception) when (timer.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // Cancelled by the timer, whatever the transport made of it (a cancelled read may surface as an IOException).
            return Failure.Orchestrator($"the engine's answer did not end within {timeout.TotalSeconds:0.#} s (request_timeout)");
        }
    }

    public static async Task<Result<LogBatch>> ReadAsync(Stream answer, DateTimeOffset? after, LogLimits limits, CancellationToken cancellationToken)
    {
        var collector = new LogCollector(limits, after);
        var stdout = collector.NewStream();
        var stderr = collector.NewStream();
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            var input = new AnswerBuffer(answer, buffer, AnswerBudget(limits));
            if (!await input.FillAsync(1, cancellationToken).ConfigureAwait(false)) return Result<LogBatch>.Success(collector.ToBatch());
            if (input.Span[0] > ErrorStream)
            {
                do
                {
                    stdout.Write(input.Span);
                    input.Consume(input.Available);
                } while (await input.FillAsync(1, cancellationToken).ConfigureAwait(false));
            }
            else if (await ReadFramesAsync(input, stdout, stderr, cancellationToken).ConfigureAwait(false) is { } malformed)
            {
                return malformed;
            }
            // Over the budget, a line the read stopped inside is left for the next read (it is after the cursor).
            if (input.OverBudget) return Result<LogBatch>.Success(collector.ToBatch());
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
        stdout.Complete();
        stderr.Complete();
        return Result<LogBatch>.Success(collector.ToBatch());
    }

    /// <summary>The frames into their streams until the end of the answer or the budget; a failure for a malformed or cut one.</summary>
    private static async Task<Failure?> ReadFramesAsync(AnswerBuffer input, LogCollector.LineSplitter stdout, LogCollector.LineSplitter stderr,
        CancellationToken cancellationToken)
    {
        while (await input.FillAsync(1, cancellationToken).ConfigureAwait(false))
        {
            var at = input.Offset;
            if (!await input.FillAsync(HeaderBytes, cancellationToken).ConfigureAwait(false))
            {
                return input.OverBudget ? null : Failure.Orchestrator($"the engine's answer ended inside a frame header ({input.Available} of {HeaderBytes} bytes, at byte {at})");
            }
            var header = input.Span[..HeaderBytes];
            if (header[0] > ErrorStream || header[1] != 0 || header[2] != 0 || header[3] != 0)
            {
                return Failure.Orchestrator($"the engine's answer has a malformed frame header at byte {at} ({Convert.ToHexString(header)}): " +
                                            "expected a stream byte of 0 to 3, three zero bytes and a length");
            }
            var stream = header[0];
            var length = BinaryPrimitives.ReadUInt32BigEndian(header[4..]);
            input.Consume(HeaderBytes);
            if (stream == ErrorStream)
            {
                // The engine stopped reading the log (a corrupt log file...): what it said, as the docker CLI shows it.
                await input.FillAsync((int)Math.Min(length, MaxErrorBytes), cancellationToken).ConfigureAwait(false);
                var said = input.Span[..(int)Math.Min(Math.Min(length, MaxErrorBytes), (uint)input.Available)];
                var text = LogLineText.Clean(SecretScrubber.Shared.Scrub(Encoding.UTF8.GetString(said)), MaxErrorBytes, alreadyCut: length > MaxErrorBytes);
                return Failure.Orchestrator($"the engine reported: {text.Trim()}");
            }
            var target = stream == 2 ? stderr : stdout; // stdin (never sent for logs) goes with stdout, as the docker CLI's stdcopy does
            var left = length;
            while (left > 0)
            {
                if (!await input.FillAsync(1, cancellationToken).ConfigureAwait(false))
                {
                    return input.OverBudget ? null : Failure.Orchestrator($"the engine's answer ended inside a frame ({length - left} of {length} bytes, at byte {at})");
                }
                var take = (int)Math.Min(left, (uint)input.Available);
                target.Write(input.Span[..take]);
                input.Consume(take);
                left -= (uint)take;
            }
        }
        return null;
    }

    /// <summary>The answer read through one buffer, never past the budget.</summary>
    private sealed class AnswerBuffer(Stream answer, byte[] buffer, long budget)
    {
        private int _start;
        private int _end;
        private long _read;

        /// <summary>The budget was reached: the read stopped there.</summary>
        public bool OverBudget { get; private set; }

        public int Available => _end - _start;

        /// <summary>How far into the answer the buffered bytes start.</summary>
        public long Offset => _read - Available;

        public ReadOnlySpan<byte> Span => buffer.AsSpan(_start, Available);

        public void Consume(int count) => _start += count;

        /// <summary>Reads until <paramref name="need"/> bytes are buffered (at most the buffer's size); false at the end of the answer or at the budget.</summary>
        public async ValueTask<bool> FillAsync(int need, CancellationToken cancellationToken)
        {
            if (Available >= need) return true;
            if (_start > 0)
            {
                Buffer.BlockCopy(buffer, _start, buffer, 0, Available);
                _end -= _start;
                _start = 0;
            }
            while (_end < need)
            {
                var room = (int)Math.Min(buffer.Length - _end, budget - _read);
                if (room <= 0)
                {
                    OverBudget = true;
                    return false;
                }
                var read = await answer.ReadAsync(buffer.AsMemory(_end, room), cancellationToken).ConfigureAwait(false);
                if (read == 0) return false;
                _end += read;
                _read += read;
            }
            return true;
        }
    }
}

using System.Buffers;

namespace Composer.Platform;

/// <summary>
/// Reads an answer body up to a limit, in chunks that grow from 16 KiB to 1 MiB: memory follows what really arrives
/// (never a doubling buffer, never the pool of a larger one), and reading stops at the first byte past the limit, so
/// the rest of an oversized answer is never received into memory.
/// </summary>
internal static class BoundedBody
{
    private const int FirstChunk = 16 * 1024;
    private const int LargestChunk = 1024 * 1024;

    /// <summary>The body, or null when it is longer than <paramref name="limit"/> bytes (announced or counted).</summary>
    public static async Task<ReadOnlySequence<byte>?> ReadAsync(HttpContent content, long limit, CancellationToken cancellationToken)
    {
        var announced = content.Headers.ContentLength;
        if (announced > limit) return null;
        await using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        if (announced is { } exact)
        {
            // The length is known: one buffer of exactly that size (the stream ends there).
            var buffer = new byte[exact];
            var filled = 0;
            while (filled < buffer.Length)
            {
                var read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                if (read == 0) break;
                filled += read;
            }
            return new ReadOnlySequence<byte>(buffer, 0, filled);
        }

        var chunks = new List<(byte[] Chunk, int Length)>();
        long total = 0;
        var size = FirstChunk;
        while (true)
        {
            // Never more than one byte past the limit in all: that byte is how an oversized body is told.
            var chunk = new byte[(int)Math.Min(size, limit + 1 - total)];
            var filled = 0;
            while (filled < chunk.Length)
            {
                var read = await stream.ReadAsync(chunk.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                if (read == 0) break;
                filled += read;
            }
            total += filled;
            if (total > limit) return null;
            if (filled > 0) chunks.Add((chunk, filled));
            if (filled < chunk.Length) break; // the end of the body
            size = Math.Min(size * 2, LargestChunk);
        }
        return Sequence(chunks);
    }

    private static ReadOnlySequence<byte> Sequence(List<(byte[] Chunk, int Length)> chunks)
    {
        if (chunks.Count == 0) return ReadOnlySequence<byte>.Empty;
        if (chunks.Count == 1) return new ReadOnlySequence<byte>(chunks[0].Chunk, 0, chunks[0].Length);
        var first = new Segment(chunks[0].Chunk.AsMemory(0, chunks[0].Length), 0);
        var last = first;
        for (var i = 1; i < chunks.Count; i++) last = last.Append(chunks[i].Chunk.AsMemory(0, chunks[i].Length));
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}

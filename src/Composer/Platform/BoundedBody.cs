using System.Buffers;

namespace Composer.Platform;

/// <summary>
/// Reads an answer body up to a limit and stops at the first byte past it, so the rest of an oversized answer is never
/// received into memory. A body of unknown length is read into chunks rented from the shared pool (16 KiB growing to
/// 1 MiB) and copied once into an array of its exact size: an oversized body leaves nothing behind but rented chunks
/// given back, reused by the next read. Allocated instead, each refused listing would leave up to the limit of garbage
/// in the large-object heap, which only a full collection frees (measured: 30 MB grew to 73 MB under 50 MB listings).
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
            // The length is known and within the limit: one buffer of exactly that size (the stream ends there).
            var buffer = new byte[exact];
            var filled = await FillAsync(stream, buffer.AsMemory(), cancellationToken).ConfigureAwait(false);
            return new ReadOnlySequence<byte>(buffer, 0, filled);
        }

        var chunks = new List<(byte[] Chunk, int Length)>();
        try
        {
            long total = 0;
            var size = FirstChunk;
            while (true)
            {
                // Never more than one byte past the limit in all: that byte is how an oversized body is told.
                var wanted = (int)Math.Min(size, limit + 1 - total);
                var chunk = ArrayPool<byte>.Shared.Rent(wanted);
                chunks.Add((chunk, 0));
                var filled = await FillAsync(stream, chunk.AsMemory(0, wanted), cancellationToken).ConfigureAwait(false);
                chunks[^1] = (chunk, filled);
                total += filled;
                if (total > limit) return null;
                if (filled < wanted) break; // the end of the body
                size = Math.Min(size * 2, LargestChunk);
            }
            var body = new byte[total];
            var offset = 0;
            foreach (var (chunk, length) in chunks)
            {
                chunk.AsSpan(0, length).CopyTo(body.AsSpan(offset));
                offset += length;
            }
            return new ReadOnlySequence<byte>(body);
        }
        finally
        {
            foreach (var (chunk, _) in chunks) ArrayPool<byte>.Shared.Return(chunk);
        }
    }

    private static async Task<int> FillAsync(Stream stream, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer[filled..], cancellationToken).ConfigureAwait(false);
            if (read == 0) break;
            filled += read;
        }
        return filled;
    }
}

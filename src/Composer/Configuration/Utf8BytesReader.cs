using System.Text;
using System.Text.Unicode;

namespace Composer.Configuration;

/// <summary>
/// A <see cref="TextReader"/> that decodes UTF-8 bytes already in memory straight into the caller's buffer. YamlDotNet's
/// scanner reads in blocks into its own buffer, so a <see cref="StreamReader"/> over a <see cref="MemoryStream"/> only
/// adds a byte buffer, a char buffer and a copy per block. Invalid sequences become U+FFFD, as with StreamReader.
/// </summary>
internal sealed class Utf8BytesReader : TextReader
{
    private readonly byte[] _bytes;
    private int _position;
    // A surrogate pair split by a one-char destination: its low half waits here.
    private char _pendingLowSurrogate;

    private Utf8BytesReader(byte[] bytes, int start)
    {
        _bytes = bytes;
        _position = start;
    }

    /// <summary>
    /// A reader for configuration file bytes: UTF-8, with or without a byte order mark. Other byte order marks
    /// (UTF-16, UTF-32) keep StreamReader's detection.
    /// </summary>
    public static TextReader Create(byte[] bytes)
    {
        ReadOnlySpan<byte> span = bytes;
        if (span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) return new Utf8BytesReader(bytes, 3);
        if (span.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF]) || span.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]) || span.StartsWith((ReadOnlySpan<byte>)[0x00, 0x00, 0xFE, 0xFF]))
        {
            return new StreamReader(new MemoryStream(bytes), Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        }
        return new Utf8BytesReader(bytes, 0);
    }

    /// <summary>
    /// The offset of the first byte of <paramref name="bytes"/> that is not part of a well-formed UTF-8 character
    /// (a UTF-8 byte order mark is fine), or null when the whole text is UTF-8. Text starting with a UTF-16 or UTF-32
    /// byte order mark is not UTF-8 by declaration and is left to the reader's own detection.
    /// </summary>
    public static int? FirstInvalidUtf8Byte(ReadOnlySpan<byte> bytes)
    {
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF]) || bytes.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE])
            || bytes.StartsWith((ReadOnlySpan<byte>)[0x00, 0x00, 0xFE, 0xFF]))
        {
            return null;
        }
        if (Utf8.IsValid(bytes)) return null;
        var offset = 0;
        while (offset < bytes.Length)
        {
            if (Rune.DecodeFromUtf8(bytes[offset..], out _, out var consumed) != System.Buffers.OperationStatus.Done) return offset;
            offset += consumed;
        }
        return null;
    }

    public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

    public override int Read(Span<char> buffer)
    {
        if (buffer.IsEmpty) return 0;
        var written = 0;
        if (_pendingLowSurrogate != '\0')
        {
            buffer[0] = _pendingLowSurrogate;
            _pendingLowSurrogate = '\0';
            written = 1;
        }
        if (_position >= _bytes.Length) return written;
        Utf8.ToUtf16(_bytes.AsSpan(_position), buffer[written..], out var read, out var decoded, replaceInvalidSequences: true, isFinalBlock: true);
        _position += read;
        written += decoded;
        if (written == 0)
        {
            // One free char but the next code point needs two: hand out the high surrogate now, the low one next call.
            Span<char> pair = stackalloc char[2];
            Utf8.ToUtf16(_bytes.AsSpan(_position), pair, out read, out decoded, replaceInvalidSequences: true, isFinalBlock: true);
            _position += read;
            buffer[0] = pair[0];
            if (decoded == 2) _pendingLowSurrogate = pair[1];
            written = 1;
        }
        return written;
    }

    public override int Read()
    {
        Span<char> one = stackalloc char[1];
        return Read(one) == 0 ? -1 : one[0];
    }

    public override int Peek()
    {
        if (_pendingLowSurrogate != '\0') return _pendingLowSurrogate;
        if (_position >= _bytes.Length) return -1;
        Span<char> pair = stackalloc char[2];
        Utf8.ToUtf16(_bytes.AsSpan(_position), pair, out _, out var decoded, replaceInvalidSequences: true, isFinalBlock: true);
        return decoded == 0 ? -1 : pair[0];
    }
}

using System.Buffers;
using System.Globalization;
using System.Text;
using Composer.Diagnostics;
using Composer.Reconciliation;

namespace Composer.Orchestration;

/// <summary>
/// The newest lines of a log answer read as a stream, within <see cref="LogLimits"/>: each stream's bytes are split on
/// '\n' into lines of at most <see cref="LogLimits.RawLineBytes"/> (the rest of a longer line is dropped as it arrives,
/// so a line without end costs nothing), each line's RFC 3339 timestamp (Docker's and the kubelet's timestamps=true)
/// is taken off and compared with the cursor, invalid UTF-8 becomes U+FFFD, known secrets are masked, control
/// characters other than tab are stripped (<see cref="LogLineText.Clean"/>), and the lines go into a ring that keeps the newest
/// <see cref="LogLimits.MaxLines"/> within <see cref="LogLimits.MaxBytes"/>. Memory: the ring, plus one raw line per stream.
/// </summary>
public sealed class LogCollector
{
    private readonly LogLimits _limits;
    private readonly DateTimeOffset? _after;
    private readonly Queue<(string Line, int Bytes)> _ring = new();
    private int _ringBytes;
    private DateTimeOffset? _last;

    /// <param name="after">The cursor: lines stamped at or before it were uploaded already (the APIs' since is in whole seconds).</param>
    public LogCollector(LogLimits limits, DateTimeOffset? after)
    {
        _limits = limits;
        _after = after;
        _last = after;
    }

    /// <summary>A line splitter for one stream of the answer (stdout and stderr each have their own).</summary>
    public LineSplitter NewStream() => new(this);

    /// <summary>The lines kept, oldest first, and the newest timestamp read (even of a line dropped for room).</summary>
    public LogBatch ToBatch() => new([.. _ring.Select(e => e.Line)], _last);

    private void Add(ReadOnlySpan<byte> line, bool cut)
    {
        if (!cut && line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1]; // TTY output ends lines with \r\n
        var space = line.IndexOf((byte)' ');
        if (space > 0 && TryParseTimestamp(line[..space], out var timestamp))
        {
            if (timestamp <= _after) return;
            if (_last is null || timestamp > _last) _last = timestamp;
            line = line[(space + 1)..];
        }
        // Secrets first, while the text is still what the connector wrote (a cut after them never leaves part of one).
        var text = LogLineText.Clean(SecretScrubber.Shared.Scrub(Encoding.UTF8.GetString(line)), _limits.MaxLineBytes, cut);
        var bytes = Encoding.UTF8.GetByteCount(text);
        _ring.Enqueue((text, bytes));
        _ringBytes += bytes;
        while (_ring.Count > _limits.MaxLines || (_ringBytes > _limits.MaxBytes && _ring.Count > 0))
        {
            _ringBytes -= _ring.Dequeue().Bytes;
        }
    }

    /// <summary>
    /// RFC 3339 with up to 9 fractional digits (Docker's and the kubelet's timestamps, Docker's State.StartedAt): the
    /// fraction is cut to the 7 digits DateTimeOffset holds.
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

    /// <summary>Splits one stream's bytes into lines as they arrive, keeping at most one raw line of bounded size.</summary>
    public sealed class LineSplitter
    {
        private readonly LogCollector _owner;
        private readonly ArrayBufferWriter<byte> _pending = new(256);
        private bool _cut;

        internal LineSplitter(LogCollector owner) => _owner = owner;

        public void Write(ReadOnlySpan<byte> chunk)
        {
            var limit = _owner._limits.RawLineBytes;
            while (chunk.Length > 0)
            {
                var newline = chunk.IndexOf((byte)'\n');
                var part = newline < 0 ? chunk : chunk[..newline];
                var room = limit - _pending.WrittenCount;
                if (part.Length > room)
                {
                    _cut = true;
                    part = part[..Math.Max(0, room)];
                }
                if (newline < 0)
                {
                    _pending.Write(part);
                    return;
                }
                if (_pending.WrittenCount == 0)
                {
                    _owner.Add(part, _cut);
                }
                else
                {
                    _pending.Write(part);
                    _owner.Add(_pending.WrittenSpan, _cut);
                    _pending.ResetWrittenCount();
                }
                _cut = false;
                chunk = chunk[(newline + 1)..];
            }
        }

        /// <summary>The end of the answer: a last line without '\n' (or cut where the API stopped) is a line too.</summary>
        public void Complete()
        {
            if (_pending.WrittenCount > 0 || _cut) _owner.Add(_pending.WrittenSpan, _cut);
            _pending.ResetWrittenCount();
            _cut = false;
        }
    }
}

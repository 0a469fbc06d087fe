using System.Text;

namespace Composer.Reconciliation;

/// <summary>
/// How much of a workload's log one read keeps and one upload carries (manager.logs.*), whatever the connector writes:
/// the newest lines win. Orchestrators read with the tail and since bounds their API supports, stream the answer and
/// keep a bounded ring of lines, never the whole answer.
/// </summary>
/// <param name="MaxLines">At most this many lines per upload.</param>
/// <param name="MaxBytes">At most this many bytes (UTF-8 of the lines' text) per upload.</param>
/// <param name="MaxLineBytes">A longer line is cut to this many bytes, ending with '…'.</param>
public sealed record LogLimits(int MaxLines, int MaxBytes, int MaxLineBytes)
{
    /// <summary>manager.logs defaults: upstream's tail of 100 lines, 64 KiB, 4 KiB per line.</summary>
    public static LogLimits Default { get; } = new(100, 64 * 1024, 4096);

    /// <summary>
    /// Bytes of one raw line kept while reading (before control sequences are stripped and the line is cut): enough
    /// for a timestamp and a line heavy with escape sequences, small enough that a line without end costs nothing.
    /// </summary>
    public int RawLineBytes => 4 * MaxLineBytes + 64;
}

/// <summary>Text hygiene of every line uploaded to the platform (connector lines and Composer's own).</summary>
public static class LogLineText
{
    /// <summary>What ends a line cut at <see cref="LogLimits.MaxLineBytes"/>.</summary>
    public const string CutMark = "…";

    /// <summary>
    /// <paramref name="line"/> without control characters other than tab: ANSI escape sequences (ESC [ ... final byte,
    /// ESC ] ... BEL or ESC \) are removed whole, every other C0, DEL and C1 character dropped; then cut to
    /// <paramref name="maxBytes"/> bytes of UTF-8 (at a character boundary), ending with <see cref="CutMark"/> when
    /// cut here or <paramref name="alreadyCut"/>. The same instance when nothing changes.
    /// </summary>
    public static string Clean(string line, int maxBytes, bool alreadyCut = false)
    {
        var clean = NeedsCleaning(line) ? StripControls(line) : line;
        if (!alreadyCut && Encoding.UTF8.GetMaxByteCount(clean.Length) <= maxBytes) return clean;
        if (!alreadyCut && Encoding.UTF8.GetByteCount(clean) <= maxBytes) return clean;
        var budget = Math.Max(0, maxBytes - Encoding.UTF8.GetByteCount(CutMark));
        var bytes = 0;
        var end = 0;
        while (end < clean.Length)
        {
            var length = char.IsHighSurrogate(clean[end]) && end + 1 < clean.Length && char.IsLowSurrogate(clean[end + 1]) ? 2 : 1;
            var size = Encoding.UTF8.GetByteCount(clean.AsSpan(end, length));
            if (bytes + size > budget) break;
            bytes += size;
            end += length;
        }
        return string.Concat(clean.AsSpan(0, end), CutMark);
    }

    private static bool NeedsCleaning(string line)
    {
        foreach (var c in line)
        {
            if (IsStripped(c)) return true;
        }
        return false;
    }

    private static bool IsStripped(char c) => c != '\t' && char.IsControl(c);

    private static string StripControls(string line)
    {
        var sb = new StringBuilder(line.Length);
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c == '\u001b' && i + 1 < line.Length)
            {
                var end = EscapeSequenceEnd(line, i);
                if (end > i)
                {
                    i = end;
                    continue;
                }
            }
            if (!IsStripped(c)) sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>The index of the last character of the escape sequence starting at <paramref name="start"/> (ESC), or -1.</summary>
    private static int EscapeSequenceEnd(string line, int start)
    {
        switch (line[start + 1])
        {
            case '[':
                // CSI: parameter and intermediate bytes (0x20-0x3F), then one final byte (0x40-0x7E).
                for (var i = start + 2; i < line.Length; i++)
                {
                    var c = line[i];
                    if (c is >= '@' and <= '~') return i;
                    if (c is < ' ' or > '?') return -1;
                }
                return -1;
            case ']':
                // OSC (terminal titles, hyperlinks): up to BEL or ESC \.
                for (var i = start + 2; i < line.Length; i++)
                {
                    if (line[i] == '\u0007') return i;
                    if (line[i] == '\u001b' && i + 1 < line.Length && line[i + 1] == '\\') return i + 1;
                }
                return -1;
            default:
                return -1;
        }
    }
}

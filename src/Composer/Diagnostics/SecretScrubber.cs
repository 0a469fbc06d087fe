using System.Buffers;
using System.Globalization;
using System.Text;

namespace Composer.Diagnostics;

/// <summary>
/// Masks every secret value known to the process inside text that came from outside (an engine's, a registry's, a
/// platform's or a connector's words) before it enters an error, a report or a log line: the one scrubber behind
/// <see cref="Failure"/> messages, the platform clients, the orchestrators' errors, uploaded connector log lines and
/// the logger (the last net).
/// <list type="bullet">
/// <item>Every live <see cref="Secret"/> is known (weakly: a value is forgotten once no secret holds it any more).</item>
/// <item>A value is also found in the forms engines really write it back in: Go's <c>%q</c> quoting
/// (<c>\x00</c>, <c>\"</c>), JSON string escaping as Go, Node, Jackson and .NET write it (<c>\u0000</c> in either hex
/// case, <c>\n</c>, Go's <c>\u003c</c> for &lt; &gt; &amp;), JSON of the <c>%q</c> form (an engine's error inside a
/// JSON body), and percent-encoding (a URL).</item>
/// <item>Each match, and every run of overlapping or touching matches, becomes one <see cref="Secret.Mask"/>; nothing
/// else in the text changes.</item>
/// <item>Values shorter than <see cref="MinimumLength"/> characters are not searched for: such a value occurs by chance
/// in ordinary words and numbers (a one-letter token would turn every such letter of every message into ***), and a
/// secret that short is guessed in a few thousand tries anyway, so masking it would mangle messages and protect nothing.</item>
/// </list>
/// </summary>
public sealed class SecretScrubber
{
    /// <summary>Secrets shorter than this are not searched for in text (see the remarks on the class).</summary>
    public const int MinimumLength = 4;

    /// <summary>The process's scrubber: every <see cref="Secret"/> joins it when it is created.</summary>
    public static SecretScrubber Shared { get; } = new();

    private readonly Lock _gate = new();
    private readonly Dictionary<string, List<WeakReference<Secret>>> _holders = new(StringComparer.Ordinal);
    private int _holderCount;
    private int _sweepAt = 64;
    private volatile Patterns? _patterns = Patterns.None;

    /// <summary>Makes <paramref name="secret"/>'s value (and its escaped forms) masked in text for as long as it lives.</summary>
    internal void Add(Secret secret)
    {
        var value = secret.Reveal();
        if (value.Length < MinimumLength) return;
        lock (_gate)
        {
            if (!_holders.TryGetValue(value, out var holders))
            {
                _holders[value] = holders = [];
                _patterns = null;
            }
            holders.Add(new WeakReference<Secret>(secret));
            // Each listing decrypts its secrets anew: the holders of values seen before are swept, so the table
            // stays the size of what is alive.
            if (++_holderCount >= _sweepAt) Sweep();
        }
    }

    /// <summary><paramref name="text"/> with every known secret masked; the same instance when it holds none.</summary>
    public string Scrub(string text)
    {
        if (text.Length < MinimumLength) return text;
        var patterns = _patterns ?? Build();
        if (patterns.Forms.Length == 0) return text;
        var span = text.AsSpan();
        var first = span.IndexOfAny(patterns.Any);
        if (first < 0) return text;

        var sb = new StringBuilder(text.Length);
        var copied = 0;
        var start = first;
        var end = first + patterns.LongestAt(span, first);
        var next = first + 1;
        while (true)
        {
            var found = next < span.Length ? span[next..].IndexOfAny(patterns.Any) : -1;
            if (found >= 0 && next + found <= end)
            {
                // Overlapping or touching: one mask for the whole run.
                var at = next + found;
                end = Math.Max(end, at + patterns.LongestAt(span, at));
                next = at + 1;
                continue;
            }
            sb.Append(span[copied..start]).Append(Secret.Mask);
            copied = end;
            if (found < 0) break;
            start = next + found;
            end = start + patterns.LongestAt(span, start);
            next = start + 1;
        }
        return sb.Append(span[copied..]).ToString();
    }

    /// <summary>Every form <paramref name="value"/> may come back in (itself first), distinct.</summary>
    internal static IEnumerable<string> Forms(string value)
    {
        var quoted = GoQuoteInner(value);
        string[] forms =
        [
            value,
            quoted,
            JsonEscape(value, upperHex: false, html: false, lineSeparators: false), // Node
            JsonEscape(value, upperHex: false, html: true, lineSeparators: true),   // Go's encoding/json
            JsonEscape(value, upperHex: false, html: false, lineSeparators: true),  // Go without HTML escaping
            JsonEscape(value, upperHex: true, html: false, lineSeparators: false),  // Jackson (OpenAEV)
            JsonEscape(value, upperHex: true, html: false, lineSeparators: true),   // .NET (Composer's own log lines)
            JsonEscape(quoted, upperHex: false, html: false, lineSeparators: false), // a %q error inside a JSON body
            JsonEscape(quoted, upperHex: false, html: true, lineSeparators: false),
            Uri.EscapeDataString(value),
        ];
        return forms.Distinct(StringComparer.Ordinal);
    }

    /// <summary>
    /// The inside of Go's strconv.Quote: \" and \\, \a \b \f \n \r \t \v, other control characters as \xHH (C1 ones as
    /// \u00HH), characters Go does not print (separators, format characters) as \uHHHH or \UHHHHHHHH, the rest as is.
    /// </summary>
    internal static string GoQuoteInner(string value)
    {
        var sb = new StringBuilder(value.Length + 8);
        foreach (var rune in value.EnumerateRunes())
        {
            var v = rune.Value;
            switch (v)
            {
                case '"': sb.Append("\\\""); continue;
                case '\\': sb.Append("\\\\"); continue;
                case '\a': sb.Append("\\a"); continue;
                case '\b': sb.Append("\\b"); continue;
                case '\f': sb.Append("\\f"); continue;
                case '\n': sb.Append("\\n"); continue;
                case '\r': sb.Append("\\r"); continue;
                case '\t': sb.Append("\\t"); continue;
                case '\v': sb.Append("\\v"); continue;
            }
            if (v < 0x20 || v == 0x7f) sb.Append("\\x").Append(v.ToString("x2", CultureInfo.InvariantCulture));
            else if (IsGoPrintable(rune)) sb.Append(rune.ToString());
            else if (v < 0x10000) sb.Append("\\u").Append(v.ToString("x4", CultureInfo.InvariantCulture));
            else sb.Append("\\U").Append(v.ToString("x8", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary>unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.</summary>
    private static bool IsGoPrintable(Rune rune)
    {
        if (rune.Value == ' ') return true;
        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator
                or UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
                or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned => false,
            _ => true,
        };
    }

    /// <summary>
    /// The inside of a JSON string: \" \\ \b \f \n \r \t, other control characters as \u00hh (hex case as asked), with
    /// <paramref name="html"/> &lt; &gt; &amp; as \u00hh too (Go's default), with <paramref name="lineSeparators"/> U+2028
    /// and U+2029 as well (Go, .NET).
    /// </summary>
    internal static string JsonEscape(string value, bool upperHex, bool html, bool lineSeparators)
    {
        var sb = new StringBuilder(value.Length + 8);
        var format = upperHex ? "X4" : "x4";
        foreach (var c in value)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (c < 0x20 || (html && c is '<' or '>' or '&') || (lineSeparators && c is '\u2028' or '\u2029'))
                    {
                        sb.Append("\\u").Append(((int)c).ToString(format, CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        sb.Append(c);
                    }
                    break;
            }
        }
        return sb.ToString();
    }

    private Patterns Build()
    {
        lock (_gate)
        {
            if (_patterns is { } built) return built;
            var forms = new HashSet<string>(StringComparer.Ordinal);
            foreach (var value in _holders.Keys) forms.UnionWith(Forms(value));
            var patterns = new Patterns(forms);
            _patterns = patterns;
            return patterns;
        }
    }

    private void Sweep()
    {
        var count = 0;
        List<string>? gone = null;
        foreach (var (value, holders) in _holders)
        {
            holders.RemoveAll(h => !h.TryGetTarget(out _));
            if (holders.Count == 0) (gone ??= []).Add(value);
            count += holders.Count;
        }
        if (gone is not null)
        {
            foreach (var value in gone) _holders.Remove(value);
            _patterns = null;
        }
        _holderCount = count;
        _sweepAt = Math.Max(64, count * 2);
    }

    /// <summary>One snapshot of what to search for: every form, and a vectorised search for any of them.</summary>
    private sealed class Patterns
    {
        public static readonly Patterns None = new([]);

        public Patterns(IEnumerable<string> forms)
        {
            // Longest first, so the first form that matches at a position is the longest one there.
            Forms = [.. forms.OrderByDescending(f => f.Length)];
            Any = SearchValues.Create(Forms, StringComparison.Ordinal);
        }

        public string[] Forms { get; }

        public SearchValues<string> Any { get; }

        public int LongestAt(ReadOnlySpan<char> text, int index)
        {
            var rest = text[index..];
            foreach (var form in Forms)
            {
                if (rest.StartsWith(form, StringComparison.Ordinal)) return form.Length;
            }
            return 1; // not reached: the search found a form here
        }
    }
}

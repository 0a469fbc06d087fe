using System.Globalization;
using System.Text;

namespace Composer.Diagnostics;

/// <summary>How <see cref="QuotedText.Quote"/> writes characters beyond quote, backslash, \n, \r and \t.</summary>
public enum QuoteStyle : byte
{
    /// <summary>Control characters as \uXXXX (valid in YAML and JSON double-quoted scalars); all else as is.</summary>
    Yaml,

    /// <summary>
    /// For messages about user input: control, surrogate and invisible characters (zero-width space, BOM, no-break
    /// space) as \xNN or \uXXXX, so what was mistyped shows.
    /// </summary>
    Message,
}

/// <summary>Double-quoted, escaped text: the one implementation behind YAML output and quoted values in messages.</summary>
public static class QuotedText
{
    public static string Quote(ReadOnlySpan<char> text, QuoteStyle style)
    {
        var sb = new StringBuilder(text.Length + 2);
        sb.Append('"');
        foreach (var c in text)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (style == QuoteStyle.Yaml)
                    {
                        if (char.IsControl(c)) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        else sb.Append(c);
                    }
                    else if (char.IsControl(c) || char.IsSurrogate(c) || c is '\u200B' or '\uFEFF' or '\u00A0')
                    {
                        sb.Append(c <= 0xFF ? $"\\x{(int)c:x2}" : $"\\u{(int)c:x4}");
                    }
                    else
                    {
                        sb.Append(c);
                    }
                    break;
            }
        }
        return sb.Append('"').ToString();
    }
}

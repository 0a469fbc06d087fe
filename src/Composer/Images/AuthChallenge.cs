namespace Composer.Images;

/// <summary>One challenge of a WWW-Authenticate header (RFC 7235 §4.1): a scheme and its auth-params.</summary>
public sealed class AuthChallenge
{
    public AuthChallenge(string scheme, IReadOnlyDictionary<string, string> parameters)
    {
        Scheme = scheme;
        Parameters = parameters;
    }

    public string Scheme { get; }

    /// <summary>Parameter names are case-insensitive; values are unquoted and unescaped.</summary>
    public IReadOnlyDictionary<string, string> Parameters { get; }

    public bool IsBearer => Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase);
    public bool IsBasic => Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase);

    public string? this[string name] => Parameters.TryGetValue(name, out var v) ? v : null;

    public override string ToString() =>
        Scheme + (Parameters.Count == 0 ? "" : " " + string.Join(",", Parameters.Select(p => $"{p.Key}=\"{p.Value}\"")));

    /// <summary>
    /// Parses a WWW-Authenticate header value holding one or more challenges, e.g.
    /// <c>Bearer realm="https://auth",service="reg",scope="repository:a/b:pull,push", Basic realm="x"</c>.
    /// Quoted values may hold commas and backslash-escaped quotes; unquoted values run to the next ',' or space.
    /// A token68 credential (<c>Negotiate abc==</c>) is kept under the empty parameter name.
    /// </summary>
    public static IReadOnlyList<AuthChallenge> Parse(string header)
    {
        var result = new List<AuthChallenge>();
        var s = header.AsSpan();
        var pos = 0;
        while (true)
        {
            SkipSeparators(s, ref pos, commas: true);
            if (pos >= s.Length) break;
            var scheme = ReadToken(s, ref pos);
            if (scheme.Length == 0)
            {
                pos++; // not a token character: skip it rather than loop forever
                continue;
            }
            var parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            while (true)
            {
                var save = pos;
                SkipSeparators(s, ref pos, commas: true);
                if (pos >= s.Length) break;
                var nameStart = pos;
                var name = ReadToken(s, ref pos);
                if (name.Length == 0)
                {
                    pos = save;
                    break;
                }
                SkipSeparators(s, ref pos, commas: false);
                if (pos >= s.Length || s[pos] != '=')
                {
                    // A token not followed by '=': the scheme of the next challenge.
                    pos = nameStart;
                    break;
                }
                if (parameters.Count == 0 && LooksLikeToken68(s, nameStart))
                {
                    pos = nameStart;
                    parameters[""] = ReadBareValue(s, ref pos);
                    continue;
                }
                pos++;
                SkipSeparators(s, ref pos, commas: false);
                parameters[name] = pos < s.Length && s[pos] == '"' ? ReadQuoted(s, ref pos) : ReadBareValue(s, ref pos);
            }
            result.Add(new AuthChallenge(scheme, parameters));
        }
        return result;
    }

    private static bool LooksLikeToken68(ReadOnlySpan<char> s, int start)
    {
        // token68 = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" and then end or ','.
        var i = start;
        while (i < s.Length && (char.IsAsciiLetterOrDigit(s[i]) || s[i] is '-' or '.' or '_' or '~' or '+' or '/')) i++;
        if (i == start) return false;
        var eq = i;
        while (i < s.Length && s[i] == '=') i++;
        if (i == eq) return false;
        while (i < s.Length && s[i] is ' ' or '\t') i++;
        return i >= s.Length || s[i] == ',';
    }

    private static void SkipSeparators(ReadOnlySpan<char> s, ref int pos, bool commas)
    {
        while (pos < s.Length && (s[pos] is ' ' or '\t' || (commas && s[pos] == ','))) pos++;
    }

    private static bool IsTokenChar(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';

    private static string ReadToken(ReadOnlySpan<char> s, ref int pos)
    {
        var start = pos;
        while (pos < s.Length && IsTokenChar(s[pos])) pos++;
        return s[start..pos].ToString();
    }

    private static string ReadBareValue(ReadOnlySpan<char> s, ref int pos)
    {
        var start = pos;
        while (pos < s.Length && s[pos] is not (',' or ' ' or '\t')) pos++;
        return s[start..pos].ToString();
    }

    private static string ReadQuoted(ReadOnlySpan<char> s, ref int pos)
    {
        pos++; // opening quote
        var sb = new System.Text.StringBuilder();
        while (pos < s.Length)
        {
            var c = s[pos++];
            if (c == '"') return sb.ToString();
            if (c == '\\' && pos < s.Length) c = s[pos++];
            sb.Append(c);
        }
        return sb.ToString(); // unterminated: take what there is
    }
}

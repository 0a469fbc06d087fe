namespace Composer.Diagnostics;

/// <summary>Hides credentials before a value reaches a log line, an error message or a printout.</summary>
public static class SecretRedaction
{
    /// <summary>
    /// <c>http://user:pass@proxy:3128</c> becomes <c>http://user:***@proxy:3128</c>; user-info without a password
    /// (often a token) is masked entirely (<c>http://***@proxy:3128</c>). Also handles URLs without a scheme and
    /// text that does not parse as a URL; a value without user-info is returned unchanged.
    /// </summary>
    public static string RedactUrl(string? url)
    {
        if (string.IsNullOrEmpty(url)) return url ?? "";
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        var authorityStart = schemeEnd >= 0 ? schemeEnd + 3 : 0;
        var authorityEnd = url.IndexOfAny(['/', '?', '#'], authorityStart);
        if (authorityEnd < 0) authorityEnd = url.Length;
        if (authorityEnd == authorityStart) return url; // no authority at all ("/path", "http:///x")
        // The last '@' of the authority ends the user-info (a password may itself contain '@' when not escaped).
        var at = url.LastIndexOf('@', authorityEnd - 1, authorityEnd - authorityStart);
        if (at < 0) at = UnescapedUserInfoEnd(url, authorityStart, authorityEnd);
        if (at < 0) return url;
        var userInfo = url.AsSpan(authorityStart, at - authorityStart);
        var colon = userInfo.IndexOf(':');
        var visible = colon > 0 ? string.Concat(userInfo[..colon], ":", Secret.Mask) : Secret.Mask;
        return string.Concat(url.AsSpan(0, authorityStart), visible, url.AsSpan(at));
    }

    /// <summary>
    /// The last '@' of a URL whose user-info holds an unescaped '/', '?' or '#' ("http://u:pa/ss@proxy:3128"), or -1.
    /// Such a URL is invalid, and the error that says so shows it: its password must be masked all the same. Told
    /// apart from a path holding an '@' ("http://proxy:3128/a@b"): either what follows the '@' is host:port, or what
    /// precedes the '/' is user:password rather than host:port. Only the URL's own word counts (up to a blank or a
    /// quote), so that the rest of a message is left alone.
    /// </summary>
    private static int UnescapedUserInfoEnd(string url, int authorityStart, int authorityEnd)
    {
        var wordEnd = url.IndexOfAny([' ', '\t', '\r', '\n', '"', '\''], authorityStart);
        if (wordEnd < 0) wordEnd = url.Length;
        if (authorityEnd >= wordEnd) return -1;
        var at = url.LastIndexOf('@', wordEnd - 1, wordEnd - authorityEnd);
        if (at < 0) return -1;
        var hostEnd = url.IndexOfAny(['/', '?', '#'], at + 1, wordEnd - at - 1);
        var host = url.AsSpan(at + 1, (hostEnd < 0 ? wordEnd : hostEnd) - at - 1);
        var hostColon = host.LastIndexOf(':');
        if (hostColon > 0 && IsPort(host[(hostColon + 1)..])) return at;
        var before = url.AsSpan(authorityStart, authorityEnd - authorityStart);
        var colon = before.IndexOf(':');
        return colon > 0 && !IsPort(before[(colon + 1)..]) ? at : -1;
    }

    private static bool IsPort(ReadOnlySpan<char> text) => text.Length is > 0 and <= 5 && !text.ContainsAnyExceptInRange('0', '9');
}

namespace Composer.Network;

/// <summary>Hides credentials before a value reaches a log line, an error message or a printout.</summary>
public static class SecretRedaction
{
    public const string Mask = "***";

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
        if (at < 0) return url;
        var userInfo = url.AsSpan(authorityStart, at - authorityStart);
        var colon = userInfo.IndexOf(':');
        var visible = colon > 0 ? string.Concat(userInfo[..colon], ":", Mask) : Mask;
        return string.Concat(url.AsSpan(0, authorityStart), visible, url.AsSpan(at));
    }
}

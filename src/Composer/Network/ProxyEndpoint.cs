using System.Net;
using Composer.Diagnostics;

namespace Composer.Network;

/// <summary>A proxy: its address without credentials, and the credentials from its URL's user-info (if any).</summary>
public sealed class ProxyEndpoint
{
    /// <summary>scheme://host:port/ with no user-info (safe to log).</summary>
    public Uri Address { get; }

    /// <summary>From the URL's user-info (percent-decoded), answered to a 407 challenge as Proxy-Authorization.</summary>
    public NetworkCredential? Credentials => _user is null ? null : new NetworkCredential(_user, _password?.Reveal() ?? "");

    /// <summary>The URL as configured with the password masked, for logs and messages.</summary>
    public string Redacted { get; }

    /// <summary>
    /// The URL as configured, credentials included, when it carries any: for connectors' HTTP(S)_PROXY. Null without
    /// user-info (then the URL is no secret: it is named in messages as is).
    /// </summary>
    public Secret? OriginalWithCredentials { get; }

    private readonly string? _user;

    // Percent-decoded; the scrubber also knows its percent-encoded form.
    private readonly Secret? _password;

    private ProxyEndpoint(Uri address, string? user, string? password, string original)
    {
        Address = address;
        _user = user;
        _password = password is null ? null : new Secret(password);
        OriginalWithCredentials = user is null ? null : new Secret(original);
        Redacted = SecretRedaction.RedactUrl(original);
    }

    /// <summary>Parses a proxy URL. Without a scheme, http:// is assumed (as Go and curl do). Accepted schemes: http, https (TLS to the proxy), socks5.</summary>
    public static bool TryParse(string value, out ProxyEndpoint? endpoint, out string problem)
    {
        endpoint = null;
        var text = value.Trim();
        var withScheme = text.Contains("://", StringComparison.Ordinal) ? text : "http://" + text;
        if (!Uri.TryCreate(withScheme, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
        {
            problem = "expected http://[user:password@]host[:port]";
            return false;
        }
        if (uri.Scheme is not ("http" or "https" or "socks5"))
        {
            problem = $"unsupported scheme '{uri.Scheme}'; expected http, https or socks5";
            return false;
        }
        if (uri.AbsolutePath is not ("/" or "") || uri.Query.Length > 0)
        {
            problem = "a proxy URL names only scheme, host and port (no path or query)";
            return false;
        }
        string? user = null, password = null;
        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':');
            user = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            password = colon < 0 ? null : Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
        }
        var address = new UriBuilder(uri.Scheme, uri.Host, uri.Port).Uri;
        endpoint = new ProxyEndpoint(address, user, password, text);
        problem = "";
        return true;
    }

    public override string ToString() => Redacted;
}

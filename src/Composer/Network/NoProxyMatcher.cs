using System.Globalization;
using System.Net;

namespace Composer.Network;

/// <summary>
/// Decides whether a target host bypasses the proxy, with the semantics of Go's golang.org/x/net/http/httpproxy
/// (what the Docker daemon, containerd and the kubelet use), so one NO_PROXY value means the same thing to
/// Composer and to the daemons it drives:
/// <list type="bullet">
/// <item><c>example.com</c> matches the apex and every subdomain; <c>.example.com</c> and <c>*.example.com</c> only subdomains.</item>
/// <item>A lone <c>*</c> bypasses everything.</item>
/// <item>IPv4/IPv6 literals match the same address; CIDR ranges match IP-literal targets only (no DNS lookup).</item>
/// <item><c>host:port</c>, <c>1.2.3.4:80</c> and <c>[::1]:443</c> entries match only that port (the scheme's default port when the URL names none).</item>
/// <item>Case-insensitive, whitespace around entries ignored, empty entries skipped.</item>
/// <item>Loopback (<c>localhost</c>, 127.0.0.0/8, ::1) is never proxied, whatever the list says.</item>
/// </list>
/// Entries are expected in ASCII (punycode for internationalised names), as Go's IDNA step would produce.
/// </summary>
public sealed class NoProxyMatcher
{
    private readonly bool _matchAll;
    private readonly DomainEntry[] _domains;
    private readonly AddressEntry[] _addresses;
    private readonly NetworkEntry[] _networks;

    /// <summary>The list as given (for display; contains no secrets).</summary>
    public string Source { get; }

    /// <summary>An empty list: only loopback bypasses the proxy.</summary>
    public static NoProxyMatcher Empty { get; } = new(null);

    private readonly record struct DomainEntry(string Suffix, bool MatchesApex, int Port);
    private readonly record struct AddressEntry(IPAddress Address, int Port);
    private readonly record struct NetworkEntry(IPNetwork Network);

    public NoProxyMatcher(string? noProxy) : this(noProxy, []) { }

    /// <param name="noProxy">The comma-separated NO_PROXY value.</param>
    /// <param name="extraEntries">Entries added by Composer itself (for example the in-cluster Kubernetes API server).</param>
    public NoProxyMatcher(string? noProxy, IEnumerable<string> extraEntries)
    {
        Source = noProxy ?? "";
        var domains = new List<DomainEntry>();
        var addresses = new List<AddressEntry>();
        var networks = new List<NetworkEntry>();
        foreach (var raw in Source.Split(',').Concat(extraEntries))
        {
            var entry = raw.Trim().ToLowerInvariant();
            if (entry.Length == 0) continue;
            if (entry == "*")
            {
                _matchAll = true;
                continue;
            }
            if (entry.Contains('/'))
            {
                // CIDR; a malformed one is ignored like Go ignores it (it can never match a host name).
                if (TryParseCidr(entry, out var network)) networks.Add(new NetworkEntry(network));
                continue;
            }
            var (host, port) = SplitEntry(entry);
            if (host.Length == 0) continue;
            if (IPAddress.TryParse(host, out var ip) && IsIpLiteral(host))
            {
                addresses.Add(new AddressEntry(Normalize(ip), port));
                continue;
            }
            if (host.StartsWith("*.", StringComparison.Ordinal)) host = host[1..];
            var matchesApex = host[0] != '.';
            domains.Add(new DomainEntry(matchesApex ? "." + host : host, matchesApex, port));
        }
        _domains = [.. domains];
        _addresses = [.. addresses];
        _networks = [.. networks];
    }

    /// <summary>True when a request to <paramref name="uri"/> must go direct (not through the proxy).</summary>
    public bool Bypasses(Uri uri)
    {
        var port = uri.IsDefaultPort ? DefaultPort(uri.Scheme) : uri.Port;
        return Bypasses(uri.Host, port);
    }

    /// <summary>True when a connection to host:port must go direct. <paramref name="host"/> may carry IPv6 brackets.</summary>
    public bool Bypasses(ReadOnlySpan<char> host, int port)
    {
        host = host.Trim();
        if (host.Length > 1 && host[0] == '[' && host[^1] == ']') host = host[1..^1];
        if (host.Length > 0 && host[^1] == '.') host = host[..^1]; // fully-qualified form names the same host
        if (host.Length == 0) return false;
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return true;
        if (IsIpLiteral(host) && IPAddress.TryParse(host, out var parsed))
        {
            var ip = Normalize(parsed);
            if (IPAddress.IsLoopback(ip)) return true;
            if (_matchAll) return true;
            foreach (var a in _addresses)
            {
                if (a.Address.Equals(ip) && (a.Port == 0 || a.Port == port)) return true;
            }
            foreach (var n in _networks)
            {
                if (n.Network.Contains(ip)) return true;
            }
            return MatchesDomain(host, port);
        }
        return _matchAll || MatchesDomain(host, port);
    }

    private bool MatchesDomain(ReadOnlySpan<char> host, int port)
    {
        foreach (var d in _domains)
        {
            if (d.Port != 0 && d.Port != port) continue;
            if (host.EndsWith(d.Suffix, StringComparison.OrdinalIgnoreCase)) return true;
            if (d.MatchesApex && host.Equals(d.Suffix.AsSpan(1), StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }

    public static int DefaultPort(string scheme) => scheme switch
    {
        "https" or "wss" => 443,
        "http" or "ws" => 80,
        _ => 0,
    };

    /// <summary>Splits "host:port", "[v6]:port", "[v6]" or a bare IPv6 literal; port 0 means any port.</summary>
    private static (string Host, int Port) SplitEntry(string entry)
    {
        if (entry.StartsWith('['))
        {
            var close = entry.IndexOf(']');
            if (close < 0) return (entry, 0);
            var host = entry[1..close];
            var rest = entry[(close + 1)..];
            return rest.StartsWith(':') && TryParsePort(rest[1..], out var p) ? (host, p) : (host, 0);
        }
        var colon = entry.LastIndexOf(':');
        if (colon > 0 && entry.IndexOf(':') == colon && TryParsePort(entry[(colon + 1)..], out var port))
        {
            return (entry[..colon], port);
        }
        return (entry, 0);
    }

    private static bool TryParsePort(string text, out int port) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port is > 0 and <= 65535;

    // IPAddress.TryParse accepts forms like "10" or "1.2" that Go (and users) read as host names.
    private static bool IsIpLiteral(ReadOnlySpan<char> host) =>
        host.Contains(':') || (host.Count('.') == 3 && !host.ContainsAnyExcept("0123456789."));

    private static IPAddress Normalize(IPAddress ip) => ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip;

    /// <summary>Like Go's ParseCIDR: host bits after the prefix are allowed and masked off ("10.1.2.3/8" is 10.0.0.0/8).</summary>
    private static bool TryParseCidr(string entry, out IPNetwork network)
    {
        network = default;
        var slash = entry.IndexOf('/');
        if (!IPAddress.TryParse(entry.AsSpan(0, slash), out var address)
            || !int.TryParse(entry.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var prefix))
        {
            return false;
        }
        address = Normalize(address);
        var bytes = address.GetAddressBytes();
        if (prefix > bytes.Length * 8) return false;
        for (var bit = prefix; bit < bytes.Length * 8; bit++) bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        network = new IPNetwork(new IPAddress(bytes), prefix);
        return true;
    }
}

using Composer.Network;

namespace Composer.Tests.Network;

/// <summary>Go httpproxy semantics (peers-and-conventions §3.2 and its test vectors), one row per case.</summary>
public class NoProxyMatcherTests
{
    public static IEnumerable<Func<(string NoProxy, string Url, bool Bypass, string Why)>> Vectors() =>
    new (string, string, bool, string)[]
    {
        // example.com: apex and subdomains
        ("example.com", "https://example.com/", true, "bare domain matches the apex"),
        ("example.com", "https://www.example.com/", true, "bare domain matches subdomains"),
        ("example.com", "https://a.b.example.com:8443/", true, "bare domain matches deep subdomains on any port"),
        ("example.com", "https://notexample.com/", false, "suffix match is on a label boundary"),
        ("example.com", "https://example.com.evil.org/", false, "a longer name that only starts with it"),
        // .example.com: subdomains only (Go)
        (".example.com", "https://example.com/", false, "leading dot: not the apex (Go)"),
        (".example.com", "https://www.example.com/", true, "leading dot: subdomains"),
        // *.example.com: like the leading dot
        ("*.example.com", "https://example.com/", false, "*. prefix: not the apex"),
        ("*.example.com", "https://api.example.com/", true, "*. prefix: subdomains"),
        // lone *
        ("*", "https://anything.example.org/", true, "lone * bypasses everything"),
        ("*", "http://10.1.2.3/", true, "lone * bypasses IP literals"),
        ("foo.org, *", "https://registry.example.com/", true, "* anywhere in the list"),
        // CIDR: IP literal targets only
        ("10.0.0.0/8", "http://10.1.2.3/", true, "CIDR contains the IP literal"),
        ("10.0.0.0/8", "http://11.0.0.1/", false, "CIDR does not contain it"),
        ("10.0.0.0/8", "http://ten.composer.test/", false, "CIDR never matches a host name (no DNS lookup, Go)"),
        ("10.1.2.3/8", "http://10.200.0.1/", true, "host bits after the prefix are masked, like Go's ParseCIDR"),
        ("2001:db8::/32", "http://[2001:db8:1::5]:8080/", true, "IPv6 CIDR"),
        ("2001:db8::/32", "http://[2001:db9::5]/", false, "IPv6 CIDR miss"),
        // IP literals
        ("192.168.1.10", "http://192.168.1.10:9000/", true, "IPv4 literal on any port"),
        ("192.168.1.10", "http://192.168.1.11/", false, "another IPv4"),
        ("2001:db8::1", "https://[2001:db8::1]/", true, "IPv6 literal"),
        ("2001:db8::1", "https://[2001:db8:0:0:0:0:0:1]/", true, "IPv6 literal in another spelling"),
        ("10", "http://10.0.0.1/", false, "'10' is a name, not a range or prefix"),
        // host:port entries
        ("host.example:8443", "https://host.example:8443/", true, "host:port matches that port"),
        ("host.example:8443", "https://host.example/", false, "host:port: the default port 443 is another port"),
        ("host.example:8443", "https://sub.host.example:8443/", true, "host:port matches subdomains on that port"),
        ("registry.local:443", "https://registry.local/v2/", true, "host:443 matches an https URL without a port"),
        ("1.2.3.4:80", "http://1.2.3.4/", true, "IPv4:port with the scheme's default port"),
        ("1.2.3.4:80", "https://1.2.3.4/", false, "IPv4:port on another port"),
        ("[::1]:443", "https://[::1]/", true, "[::1]:443 (loopback anyway)"),
        ("[2001:db8::7]:443", "https://[2001:db8::7]/", true, "[v6]:port"),
        ("[2001:db8::7]:443", "https://[2001:db8::7]:8443/", false, "[v6]:port on another port"),
        // case, whitespace, empties, FQDN dot
        ("EXAMPLE.com", "https://WWW.Example.COM/", true, "case-insensitive"),
        ("  foo.org ,, example.com  ", "https://example.com/", true, "whitespace and empty entries"),
        ("", "https://example.com/", false, "empty list proxies everything but loopback"),
        ("example.com", "https://www.example.com./", true, "a fully-qualified name with a trailing dot"),
        // loopback: never proxied, whatever the list
        ("", "http://localhost:8080/", true, "localhost is never proxied"),
        ("", "http://LOCALHOST/", true, "localhost in any case"),
        ("", "http://127.0.0.1/", true, "127.0.0.1"),
        ("", "http://127.8.9.10/", true, "all of 127.0.0.0/8"),
        ("", "http://[::1]:5000/", true, "::1"),
        ("", "http://[::ffff:127.0.0.1]/", true, "IPv4-mapped loopback"),
        ("", "http://target.composer.test/", false, "a name that resolves to loopback IS proxied (no DNS lookup)"),
        ("", "http://localhost.example.com/", false, "only the name localhost itself"),
    }.Select(v => (Func<(string, string, bool, string)>)(() => v));

    [Test]
    [MethodDataSource(nameof(Vectors))]
    public async Task Matches_like_go_httpproxy((string NoProxy, string Url, bool Bypass, string Why) v)
    {
        var matcher = new NoProxyMatcher(v.NoProxy);
        await Assert.That(matcher.Bypasses(new Uri(v.Url))).IsEqualTo(v.Bypass).Because(v.Why);
    }

    [Test]
    public async Task Extra_entries_add_to_the_list()
    {
        var matcher = new NoProxyMatcher("example.com", ["svc", "cluster.local", "10.96.0.1"]);
        await Assert.That(matcher.Bypasses(new Uri("https://kubernetes.default.svc/api"))).IsTrue();
        await Assert.That(matcher.Bypasses(new Uri("https://kubernetes.default.svc.cluster.local/"))).IsTrue();
        await Assert.That(matcher.Bypasses(new Uri("https://10.96.0.1:443/"))).IsTrue();
        await Assert.That(matcher.Bypasses(new Uri("https://www.example.com/"))).IsTrue();
        await Assert.That(matcher.Bypasses(new Uri("https://registry.io/"))).IsFalse();
    }

    [Test]
    public async Task Host_and_port_overload_accepts_brackets()
    {
        var matcher = new NoProxyMatcher("2001:db8::1");
        await Assert.That(matcher.Bypasses("[2001:db8::1]", 443)).IsTrue();
        await Assert.That(matcher.Bypasses("2001:db8::1", 443)).IsTrue();
    }
}

public class NoProxyMatcherAllocationTests
{
    [Test]
    public async Task Matching_a_host_name_does_not_allocate()
    {
        var matcher = new NoProxyMatcher("localhost, .corp.example, opencti.internal, 10.0.0.0/8, registry.local:5000, *.svc");
        const string proxied = "registry-1.docker.io";
        const string bypassed = "api.corp.example";
        matcher.Bypasses(proxied, 443); // warm up
        var before = GC.GetAllocatedBytesForCurrentThread();
        var results = 0;
        for (var i = 0; i < 1000; i++)
        {
            if (matcher.Bypasses(proxied, 443)) results++;
            if (matcher.Bypasses(bypassed, 443)) results++;
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        await Assert.That(results).IsEqualTo(1000);
        await Assert.That(allocated).IsEqualTo(0L);
    }
}

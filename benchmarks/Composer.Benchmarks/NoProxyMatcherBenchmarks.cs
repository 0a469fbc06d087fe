using System.Net;
using BenchmarkDotNet.Attributes;
using Composer.Network;

namespace Composer.Benchmarks;

/// <summary>
/// Per-request routing decision: Composer's Go-semantics NoProxyMatcher side by side with .NET's WebProxy bypass
/// list (regular expressions, different semantics), on a typical corporate NO_PROXY.
/// </summary>
[MemoryDiagnoser]
[ShortRunJob]
public class NoProxyMatcherBenchmarks
{
    private const string NoProxy = "localhost,127.0.0.1,.corp.example,opencti.internal,10.0.0.0/8,registry.local:5000,*.svc";
    private NoProxyMatcher _matcher = null!;
    private WebProxy _webProxy = null!;
    private readonly Uri _proxied = new("https://registry-1.docker.io/v2/library/alpine/manifests/3.20");
    private readonly Uri _bypassed = new("https://api.corp.example/graphql");
    private readonly Uri _ipLiteral = new("http://10.1.2.3:8080/");

    [GlobalSetup]
    public void Setup()
    {
        _matcher = new NoProxyMatcher(NoProxy);
        // WebProxy wants regular expressions; this is the usual hand translation of the same list.
        _webProxy = new WebProxy(new Uri("http://proxy:3128"), true,
            [@"^localhost$", @"^127\.0\.0\.1$", @"\.corp\.example$", @"^opencti\.internal$", @"^10\.", @"^registry\.local:5000$", @"\.svc$"]);
    }

    [Benchmark(Baseline = true)] public bool Matcher_proxied_name() => _matcher.Bypasses(_proxied);
    [Benchmark] public bool Matcher_bypassed_name() => _matcher.Bypasses(_bypassed);
    [Benchmark] public bool Matcher_ip_literal_cidr() => _matcher.Bypasses(_ipLiteral);
    [Benchmark] public bool WebProxy_proxied_name() => _webProxy.IsBypassed(_proxied);
    [Benchmark] public bool WebProxy_bypassed_name() => _webProxy.IsBypassed(_bypassed);
    [Benchmark] public bool WebProxy_ip_literal() => _webProxy.IsBypassed(_ipLiteral);
}

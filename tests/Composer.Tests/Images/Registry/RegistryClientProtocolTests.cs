using System.Net;
using System.Security.Cryptography;
using System.Text;
using Composer.Images;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Images.Registry;

/// <summary>Retries, timeouts and protocol corners (scripted stand-in for 5xx/429/odd answers; closed or silent ports).</summary>
public class RegistryClientProtocolTests
{
    private const string Repository = "team/app";
    private const string Digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    private static readonly ScriptedResponse Ok = new(200);
    private static readonly ScriptedResponse Manifest = new(200, new Dictionary<string, string>
    {
        ["Docker-Content-Digest"] = Digest,
        ["Content-Type"] = "application/vnd.oci.image.index.v1+json",
    });

    [Test]
    public async Task Service_unavailable_then_ok_is_retried_after_the_configured_delay()
    {
        await using var stand = new ScriptedRegistry()
            .On("/v2/", new ScriptedResponse(503), Ok)
            .On($"/v2/{Repository}/manifests/1.0", new ScriptedResponse(502), new ScriptedResponse(500), Manifest);
        var delays = new List<TimeSpan>();
        using var client = RegistryTestSupport.Client(RegistryTestSupport.Configuration(null, retryAttempts: 3, retryDelay: 5), delays: delays);

        var result = await client.CheckAsync(stand.Host, Repository, "1.0");

        await Assert.That(result.Status).IsEqualTo(RegistryCheckStatus.Available).Because(result.Message);
        await Assert.That(result.Digest).IsEqualTo(Digest);
        await Assert.That(stand.Count("GET /v2/")).IsEqualTo(2);
        await Assert.That(stand.Count($"HEAD /v2/{Repository}/manifests/1.0")).IsEqualTo(3);
        await Assert.That(delays.Count).IsEqualTo(3);
        // retry_delay 5 s, jittered by ±25 %.
        await Assert.That(delays.All(d => d >= TimeSpan.FromSeconds(3.75) && d <= TimeSpan.FromSeconds(6.25))).IsTrue();
    }

    [Test]
    public async Task Too_many_requests_honours_retry_after_within_reason()
    {
        await using var stand = new ScriptedRegistry()
            .On("/v2/", new ScriptedResponse(429, new Dictionary<string, string> { ["Retry-After"] = "2" }),
                new ScriptedResponse(429, new Dictionary<string, string> { ["Retry-After"] = "86400" }), Ok)
            .On($"/v2/{Repository}/manifests/1.0", Manifest);
        var delays = new List<TimeSpan>();
        using var client = RegistryTestSupport.Client(RegistryTestSupport.Configuration(null, retryAttempts: 3, retryDelay: 5), delays: delays);

        var result = await client.CheckAsync(stand.Host, Repository, "1.0");

        await Assert.That(result.IsAvailable).IsTrue().Because(result.Message);
        await Assert.That(delays).IsEquivalentTo(new[] { TimeSpan.FromSeconds(2), RegistryClient.MaxRetryAfter });
    }

    [Test]
    public async Task Persistent_server_errors_give_up_after_retry_attempts_and_say_so()
    {
        await using var stand = new ScriptedRegistry().On("/v2/", new ScriptedResponse(503));
        var delays = new List<TimeSpan>();
        using var client = RegistryTestSupport.Client(RegistryTestSupport.Configuration(null, retryAttempts: 2, retryDelay: 1), delays: delays);

        var result = await client.CheckAsync(stand.Host, Repository, "1.0");

        await Assert.That(result.Status).IsEqualTo(RegistryCheckStatus.Unreachable);
        await Assert.That(result.Message).Contains("503");
        await Assert.That(result.Message).Contains("after 3 attempts");
        await Assert.That(result.Message).Contains($"{stand.Host}/{Repository}:1.0");
        await Assert.That(stand.Count("GET /v2/")).IsEqualTo(3);
        await Assert.That(delays.Count).IsEqualTo(2);
    }

    [Test]
    [Arguments(404, RegistryCheckStatus.NotFound)]
    [Arguments(403, RegistryCheckStatus.AuthenticationRequired)]
    public async Task Client_errors_are_not_retried(int status, RegistryCheckStatus expected)
    {
        await using var stand = new ScriptedRegistry().On("/v2/", Ok).On($"/v2/{Repository}/manifests/1.0", new ScriptedResponse(status));
        var delays = new List<TimeSpan>();
        using var client = RegistryTestSupport.Client(RegistryTestSupport.Configuration(null, retryAttempts: 3, retryDelay: 1), delays: delays);

        var result = await client.CheckAsync(stand.Host, Repository, "1.0");

        await Assert.That(result.Status).IsEqualTo(expected).Because(result.Message);
        await Assert.That(stand.Count($"HEAD /v2/{Repository}/manifests/1.0")).IsEqualTo(1);
        await Assert.That(delays).IsEmpty();
    }

    [Test]
    public async Task Forbidden_with_credentials_is_no_access()
    {
        await using var stand = new ScriptedRegistry().On("/v2/", Ok).On($"/v2/{Repository}/manifests/1.0", new ScriptedResponse(403));
        using var client = RegistryTestSupport.Client(RegistryTestSupport.Configuration($"127.0.0.1:{stand.Port}", "bob", "Secret-Password-1"));
        var result = await client.CheckAsync(stand.Host, Repository, "1.0");
        await Assert.That(result.Status).IsEqualTo(RegistryCheckStatus.AccessDenied);
        await Assert.That(result.Message).Contains("no access");
        await Assert.That(result.Message).DoesNotContain("Secret-Password-1");
    }

    [Test]
    public async Task Connection_refused_is_retried_then_reported_as_unreachable()
    {
        var closedPort = FreePort.Next();
        var delays = new List<TimeSpan>();
        using var client = RegistryTestSupport.Client(RegistryTestSupport.Configuration(null, retryAttempts: 2, retryDelay: 3), delays: delays);

        var result = await client.CheckAsync($"127.0.0.1:{closedPort}", Repository, "1.0");

        await Assert.That(result.Status).IsEqualTo(RegistryCheckStatus.Unreachable);
        await Assert.That(result.Message).Contains("after 3 attempts");
        await Assert.That(result.Message).Contains($"127.0.0.1:{closedPort}");
        await Assert.That(delays.Count).IsEqualTo(2);
    }

    [Test]
    public async Task A_missing_digest_header_falls_back_to_the_sha256_of_the_manifest()
    {
        const string body = """{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]}""";
        var expected = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body)));
        await using var stand = new ScriptedRegistry().On("/v2/", Ok)
            .On($"/v2/{Repository}/manifests/1.0", new ScriptedResponse(200, new Dictionary<string, string> { ["Content-Type"] = "application/vnd.oci.image.manifest.v1+json" }, body));
        using var client = RegistryTestSupport.Client(RegistryTestSupport.Configuration(null));

        var result = await client.CheckAsync(stand.Host, Repository, "1.0");

        await Assert.That(result.Digest).IsEqualTo(expected);
        await Assert.That(stand.Count($"GET /v2/{Repository}/manifests/1.0")).IsEqualTo(1);
    }

    [Test]
    public async Task Manifest_requests_accept_oci_and_docker_indexes_and_manifests()
    {
        await using var stand = new ScriptedRegistry().On("/v2/", Ok).On($"/v2/{Repository}/manifests/1.0", Manifest);
        using var client = RegistryTestSupport.Client(RegistryTestSupport.Configuration(null));
        await client.CheckAsync(stand.Host, Repository, "1.0");

        var accept = stand.AcceptHeaders.Last();
        await Assert.That(accept).Contains("application/vnd.oci.image.index.v1+json");
        await Assert.That(accept).Contains("application/vnd.oci.image.manifest.v1+json");
        await Assert.That(accept).Contains("application/vnd.docker.distribution.manifest.list.v2+json");
        await Assert.That(accept).Contains("application/vnd.docker.distribution.manifest.v2+json");
    }

    [Test]
    public async Task Retry_delay_without_retry_after_is_jittered_around_the_setting()
    {
        await using var stand = new ScriptedRegistry().On("/v2/", new ScriptedResponse(502));
        var delays = new List<TimeSpan>();
        using var client = RegistryTestSupport.Client(RegistryTestSupport.Configuration(null, retryAttempts: 50, retryDelay: 4), delays: delays);

        await client.CheckAsync(stand.Host, Repository, "1.0");

        await Assert.That(delays.Count).IsEqualTo(50);
        await Assert.That(delays.All(d => d >= TimeSpan.FromSeconds(3) && d <= TimeSpan.FromSeconds(5))).IsTrue();
        await Assert.That(delays.Distinct().Count()).IsGreaterThan(1);
    }

    [Test]
    public async Task An_image_host_with_an_impossible_port_is_an_error_not_a_crash()
    {
        using var client = RegistryTestSupport.Client(RegistryTestSupport.Configuration(null));
        var result = await client.CheckAsync("registry.example.com:99999", Repository, "1.0");
        await Assert.That(result.Status).IsEqualTo(RegistryCheckStatus.ProtocolError);
        await Assert.That(result.Message).Contains("registry.example.com:99999");
    }

    [Test]
    public async Task A_registry_that_never_answers_times_out_and_is_retried()
    {
        using var silent = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        silent.Start(); // accepts connections (kernel backlog) but never answers
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var delays = new List<TimeSpan>();
        using var client = new RegistryClient(new TestOutboundHandlerFactory(), RegistryTestSupport.Configuration(null, retryAttempts: 1, retryDelay: 1),
            new RegistryClientOptions { RequestTimeout = TimeSpan.FromMilliseconds(300), Clock = new ImmediateDelays(delays) });

        var result = await client.CheckAsync($"127.0.0.1:{port}", Repository, "1.0");

        await Assert.That(result.Status).IsEqualTo(RegistryCheckStatus.Unreachable);
        await Assert.That(result.Message).Contains("after 2 attempts");
        await Assert.That(result.Message).Contains("no answer within 0.3 s");
        await Assert.That(delays.Count).IsEqualTo(1);
    }

    [Test]
    public async Task A_token_answer_broken_off_is_an_unreachable_result_not_an_exception()
    {
        await using var stand = new ScriptedRegistry();
        var challenge = new Dictionary<string, string> { ["WWW-Authenticate"] = $"Bearer realm=\"http://{stand.Host}/token\",service=\"stand\"" };
        stand.On("/v2/", new ScriptedResponse(401, challenge))
            .On("/token", new ScriptedResponse(200, new Dictionary<string, string> { ["Content-Type"] = "application/json" }, """{"token":"opa""", CutShort: true));
        using var client = RegistryTestSupport.Client(RegistryTestSupport.Configuration(null));

        var result = await client.CheckAsync(stand.Host, Repository, "1.0");

        await Assert.That(result.Status).IsEqualTo(RegistryCheckStatus.Unreachable);
        await Assert.That(result.Message).Contains($"token server {stand.Host} of registry {stand.Host} did not finish its answer");
    }

    [Test]
    public async Task The_token_server_is_retried_and_access_token_with_issued_at_is_used()
    {
        await using var stand = new ScriptedRegistry();
        var challenge = new Dictionary<string, string> { ["WWW-Authenticate"] = $"Bearer realm=\"http://{stand.Host}/token\",service=\"stand\",scope=\"repository:{Repository}:pull\"" };
        var issuedAt = DateTimeOffset.UtcNow.AddSeconds(-10).ToString("yyyy-MM-ddTHH:mm:ssZ");
        stand.On("/v2/", new ScriptedResponse(401, challenge))
            .On("/token", new ScriptedResponse(503), new ScriptedResponse(200, new Dictionary<string, string> { ["Content-Type"] = "application/json" },
                $$"""{"access_token":"opaque-token","expires_in":120,"issued_at":"{{issuedAt}}"}"""))
            .On($"/v2/{Repository}/manifests/1.0", Manifest);
        var delays = new List<TimeSpan>();
        using var client = RegistryTestSupport.Client(RegistryTestSupport.Configuration(null, retryAttempts: 2, retryDelay: 1), delays: delays);

        var result = await client.CheckAsync(stand.Host, Repository, "1.0");

        await Assert.That(result.Status).IsEqualTo(RegistryCheckStatus.Available).Because(result.Message);
        await Assert.That(stand.Count("GET /token")).IsEqualTo(2);
        await Assert.That(delays.Count).IsEqualTo(1);
        await Assert.That(client.Tokens.TryGet(new TokenScope($"http://{stand.Host}/token", "stand", $"repository:{Repository}:pull"), out var cached)).IsTrue();
        await Assert.That(cached?.Reveal()).IsEqualTo("opaque-token");
    }

    [Test]
    public async Task A_token_response_without_a_token_is_a_protocol_error()
    {
        await using var stand = new ScriptedRegistry();
        var challenge = new Dictionary<string, string> { ["WWW-Authenticate"] = $"Bearer realm=\"http://{stand.Host}/token\",service=\"stand\"" };
        stand.On("/v2/", new ScriptedResponse(401, challenge)).On("/token", new ScriptedResponse(200, Body: "{\"expires_in\":60}"));
        using var client = RegistryTestSupport.Client(RegistryTestSupport.Configuration(null));
        var result = await client.CheckAsync(stand.Host, Repository, "1.0");
        await Assert.That(result.Status).IsEqualTo(RegistryCheckStatus.ProtocolError);
        await Assert.That(result.Message).Contains("returned no token");
    }

    [Test]
    [Arguments("docker.io", "https://registry-1.docker.io/v2/")]
    [Arguments("index.docker.io", "https://registry-1.docker.io/v2/")]
    [Arguments("ghcr.io", "https://ghcr.io/v2/")]
    [Arguments("localhost:5000", "http://localhost:5000/v2/")]
    public async Task The_api_host_and_scheme_follow_docker(string host, string expectedPing)
    {
        var handlers = new CannedFactory();
        using var client = new RegistryClient(handlers, RegistryTestSupport.Configuration(null), new RegistryClientOptions { Clock = new ImmediateDelays([]) });
        await client.CheckAsync(host, "library/nginx", "latest");
        await Assert.That(handlers.First?.ToString()).IsEqualTo(expectedPing);
    }

    [Test]
    public async Task A_registry_that_only_challenges_on_the_repository_gets_credentials_on_the_second_round()
    {
        await using var stand = new ScriptedRegistry()
            .On("/v2/", Ok)
            .On($"/v2/{Repository}/manifests/1.0", new ScriptedResponse(401, new Dictionary<string, string> { ["WWW-Authenticate"] = "Basic realm=\"repo\"" }), Manifest);
        var handlers = new TestOutboundHandlerFactory();
        using var client = RegistryTestSupport.Client(RegistryTestSupport.Configuration(stand.Host, "bob", "pw"), handlers);

        var result = await client.CheckAsync(stand.Host, Repository, "1.0");

        await Assert.That(result.IsAvailable).IsTrue().Because(result.Message);
        var heads = handlers.Requests.Where(r => r.Method == "HEAD").Select(r => r.AuthorizationScheme).ToList();
        await Assert.That(heads).IsEquivalentTo(new string?[] { null, "Basic" });
    }

    /// <summary>Answers 404 to everything without any network: only the URL the client chose matters.</summary>
    private sealed class CannedFactory : Composer.Network.IOutboundHandlerFactory
    {
        public Uri? First { get; private set; }
        public HttpMessageHandler CreateHandler(Composer.Network.OutboundChannel channel) => new Canned(this);
        public HttpMessageHandler CreateHandler(Composer.Network.OutboundChannel channel, Composer.Configuration.PlatformKind platform) => new Canned(this);
        public HttpMessageHandler CreateHandler(Composer.Network.OutboundChannel channel, Composer.Configuration.PlatformKind platform, Composer.Network.EndpointTls tls) => new Canned(this);
        public TimeSpan RequestTimeout(Composer.Configuration.PlatformKind platform) => TimeSpan.FromSeconds(5);

        private sealed class Canned(CannedFactory owner) : HttpMessageHandler
        {
            protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                owner.First ??= request.RequestUri;
                return Task.FromResult(new HttpResponseMessage(HttpStatusCode.NotFound));
            }
        }
    }
}

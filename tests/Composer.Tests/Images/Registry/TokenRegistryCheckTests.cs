using Composer.Images;
using Composer.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Composer.Tests.Images.Registry;

/// <summary>The registry client against a real registry with token authentication and a real token server.</summary>
[ClassDataSource<TokenRegistryFixture>(Shared = SharedType.PerTestSession)]
public class TokenRegistryCheckTests(TokenRegistryFixture registry)
{
    private const string Repository = TokenRegistryFixture.KnownRepository;
    private const string Tag = TokenRegistryFixture.KnownTag;

    private RegistryClient ClientFor(string user, string password, TimeProvider? clock = null, int tokenTtl = 1800, TestOutboundHandlerFactory? handlers = null) =>
        RegistryTestSupport.Client(RegistryTestSupport.Configuration(registry.Host, user, password, tokenTtl), handlers, clock);

    private Task<RegistryCheckResult> CheckKnownAsync(RegistryClient client) => client.CheckAsync(registry.Host, Repository, Tag);

    [Test]
    public async Task Existing_image_is_available_with_the_pushed_digest_through_a_bearer_token()
    {
        var (user, password) = registry.NewUser(TokenPolicy.Pull);
        var handlers = new TestOutboundHandlerFactory();
        using var client = ClientFor(user, password, handlers: handlers);
        var result = await CheckKnownAsync(client);

        await Assert.That(result.Status).IsEqualTo(RegistryCheckStatus.Available).Because(result.Message);
        await Assert.That(result.Digest).IsEqualTo(registry.KnownDigest);
        await Assert.That(registry.Tokens.RequestCount(user)).IsEqualTo(1);
        var head = handlers.Requests.Single(r => r.Method == "HEAD");
        await Assert.That(head.AuthorizationScheme).IsEqualTo("Bearer");
        // The token request asked for exactly the pull scope of the repository, for the registry's service.
        var tokenRequest = handlers.Requests.Single(r => r.Uri.AbsolutePath == "/token");
        await Assert.That(tokenRequest.Uri.Query).Contains("scope=" + Uri.EscapeDataString($"repository:{Repository}:pull"));
        await Assert.That(tokenRequest.Uri.Query).Contains("service=" + Uri.EscapeDataString(registry.Tokens.Service));
        await Assert.That(tokenRequest.AuthorizationScheme).IsEqualTo("Basic");
    }

    [Test]
    public async Task A_token_is_reused_within_expires_in_and_fetched_again_after_it()
    {
        var (user, password) = registry.NewUser(TokenPolicy.Pull with { ExpiresIn = 60 });
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var client = ClientFor(user, password, clock);

        await Assert.That((await CheckKnownAsync(client)).IsAvailable).IsTrue();
        clock.Advance(TimeSpan.FromSeconds(30));
        await Assert.That((await CheckKnownAsync(client)).IsAvailable).IsTrue();
        await Assert.That(registry.Tokens.RequestCount(user)).IsEqualTo(1);

        clock.Advance(TimeSpan.FromSeconds(31)); // 61 s after the first token
        await Assert.That((await CheckKnownAsync(client)).IsAvailable).IsTrue();
        await Assert.That(registry.Tokens.RequestCount(user)).IsEqualTo(2);
    }

    [Test]
    public async Task Without_expires_in_a_token_lives_60_seconds_minus_the_skew()
    {
        var (user, password) = registry.NewUser(TokenPolicy.Pull with { ExpiresIn = null });
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var client = ClientFor(user, password, clock);

        await CheckKnownAsync(client);
        clock.Advance(TimeSpan.FromSeconds(50));
        await CheckKnownAsync(client);
        await Assert.That(registry.Tokens.RequestCount(user)).IsEqualTo(1);
        clock.Advance(TimeSpan.FromSeconds(6)); // 56 s: past 60 s minus the 5 s skew
        await Assert.That((await CheckKnownAsync(client)).IsAvailable).IsTrue();
        await Assert.That(registry.Tokens.RequestCount(user)).IsEqualTo(2);
    }

    [Test]
    public async Task Token_ttl_caps_a_long_expires_in()
    {
        var (user, password) = registry.NewUser(TokenPolicy.Pull with { ExpiresIn = 3600 });
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var client = ClientFor(user, password, clock, tokenTtl: 20);

        await CheckKnownAsync(client);
        clock.Advance(TimeSpan.FromSeconds(10));
        await CheckKnownAsync(client);
        await Assert.That(registry.Tokens.RequestCount(user)).IsEqualTo(1);
        clock.Advance(TimeSpan.FromSeconds(6)); // 16 s: past token_ttl 20 s minus the skew
        await CheckKnownAsync(client);
        await Assert.That(registry.Tokens.RequestCount(user)).IsEqualTo(2);
    }

    [Test]
    public async Task Issued_at_in_the_past_shortens_the_reuse_time()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var (user, password) = registry.NewUser(TokenPolicy.Pull with { ExpiresIn = 300, IssuedAt = clock.GetUtcNow().AddSeconds(-270) });
        using var client = ClientFor(user, password, clock);

        await CheckKnownAsync(client);
        clock.Advance(TimeSpan.FromSeconds(20));
        await CheckKnownAsync(client);
        await Assert.That(registry.Tokens.RequestCount(user)).IsEqualTo(1);
        clock.Advance(TimeSpan.FromSeconds(6)); // 26 s after receipt = 296 s after issued_at: past 300 − 5
        await CheckKnownAsync(client);
        await Assert.That(registry.Tokens.RequestCount(user)).IsEqualTo(2);
    }

    [Test]
    [Arguments(TokenField.AccessToken)]
    [Arguments(TokenField.Both)]
    public async Task Access_token_field_is_accepted(TokenField field)
    {
        var (user, password) = registry.NewUser(TokenPolicy.Pull with { Field = field });
        using var client = ClientFor(user, password);
        var result = await CheckKnownAsync(client);
        await Assert.That(result.Status).IsEqualTo(RegistryCheckStatus.Available).Because(result.Message);
        await Assert.That(result.Digest).IsEqualTo(registry.KnownDigest);
    }

    [Test]
    public async Task A_token_rejected_by_the_registry_is_dropped_and_fetched_again()
    {
        // Tokens whose JWT expires (for the registry) long before the expires_in the client was told: distribution
        // 2.8 allows 60 s of leeway after exp, so exp = now − 57 s leaves the token valid for about 3 s.
        var (user, password) = registry.NewUser(TokenPolicy.Pull with { ExpiresIn = 3600, JwtLifetime = TimeSpan.FromSeconds(-57) });
        using var client = ClientFor(user, password);
        await Assert.That((await CheckKnownAsync(client)).IsAvailable).IsTrue();
        await Assert.That(registry.Tokens.RequestCount(user)).IsEqualTo(1);

        await Task.Delay(TimeSpan.FromSeconds(4.5)); // the cached token is now expired for the registry
        var result = await CheckKnownAsync(client);
        await Assert.That(result.Status).IsEqualTo(RegistryCheckStatus.Available).Because(result.Message + "\n" + string.Join("\n", registry.Tokens.Log));
        await Assert.That(registry.Tokens.RequestCount(user)).IsEqualTo(2);
    }

    [Test]
    public async Task Wrong_password_is_bad_credentials_from_the_token_server()
    {
        var (user, _) = registry.NewUser(TokenPolicy.Pull);
        const string wrong = "not-the-Password-42";
        using var client = ClientFor(user, wrong);
        var result = await CheckKnownAsync(client);

        await Assert.That(result.Status).IsEqualTo(RegistryCheckStatus.BadCredentials).Because(result.Message);
        await Assert.That(result.Message).StartsWith("bad credentials");
        await Assert.That(result.Message).Contains($"{registry.Host}/{Repository}:{Tag}");
        await Assert.That(result.Message).Contains($"registry {registry.Host}");
        await Assert.That(result.Message).Contains(user);
        await Assert.That(result.Message).DoesNotContain(wrong);
        await Assert.That(client.Tokens.Count).IsEqualTo(0);
    }

    [Test]
    public async Task Unknown_image_is_not_found()
    {
        var (user, password) = registry.NewUser(TokenPolicy.Pull);
        using var client = ClientFor(user, password);
        var result = await client.CheckAsync(registry.Host, "composer-tests/never-pushed", "1.0");
        await Assert.That(result.Status).IsEqualTo(RegistryCheckStatus.NotFound).Because(result.Message);
        await Assert.That(result.Message).Contains($"{registry.Host}/composer-tests/never-pushed:1.0");
    }

    [Test]
    public async Task Anonymous_access_gets_a_token_without_pull_and_fails_clearly()
    {
        var before = registry.Tokens.RequestCount(TokenServer.AnonymousUser);
        using var client = RegistryTestSupport.Client(RegistryTestSupport.Configuration(registry.Host));
        var result = await CheckKnownAsync(client);

        await Assert.That(result.Status).IsEqualTo(RegistryCheckStatus.AuthenticationRequired).Because(result.Message);
        await Assert.That(result.Message).Contains($"registry {registry.Host} requires credentials");
        await Assert.That(registry.Tokens.RequestCount(TokenServer.AnonymousUser)).IsGreaterThan(before);
    }

    [Test]
    public async Task Valid_user_without_pull_access_is_no_access()
    {
        var (user, password) = registry.NewUser(TokenPolicy.Pull with { Actions = [] });
        using var client = ClientFor(user, password);
        var result = await CheckKnownAsync(client);
        await Assert.That(result.Status).IsEqualTo(RegistryCheckStatus.AccessDenied).Because(result.Message);
        await Assert.That(client.Tokens.Count).IsEqualTo(0); // the refused token is not kept
        await Assert.That(result.Message).StartsWith("no access");
        await Assert.That(result.Message).Contains(user);
        await Assert.That(result.Message).Contains($"{registry.Host}/{Repository}:{Tag}");
    }

    [Test]
    public async Task Credentials_configured_for_another_registry_never_reach_the_token_server()
    {
        var (user, password) = registry.NewUser(TokenPolicy.Pull);
        var handlers = new TestOutboundHandlerFactory();
        using var client = RegistryTestSupport.Client(RegistryTestSupport.Configuration("harbor.corp/dockerhub-cache", user, password), handlers);
        var result = await CheckKnownAsync(client);

        await Assert.That(result.Status).IsEqualTo(RegistryCheckStatus.AuthenticationRequired).Because(result.Message);
        await Assert.That(registry.Tokens.RequestCount(user)).IsEqualTo(0);
        await Assert.That(handlers.Requests.All(r => r.AuthorizationScheme != "Basic")).IsTrue();
    }
}

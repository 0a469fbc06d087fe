using Composer.Images;
using Microsoft.Extensions.Time.Testing;

namespace Composer.Tests.Images.Registry;

public class RegistryTokenCacheTests
{
    private static readonly TokenScope Scope = new("https://auth/token", "reg", "repository:a:pull");

    [Test]
    public async Task Token_only_response_lives_60_seconds_minus_skew()
    {
        var clock = new FakeTimeProvider();
        var cache = new RegistryTokenCache(clock, TimeSpan.FromSeconds(1800));
        var lifetime = cache.Store(Scope, new Composer.Diagnostics.Secret("t-token"), null, null, clock.GetUtcNow());
        await Assert.That(lifetime).IsEqualTo(TimeSpan.FromSeconds(55));
        clock.Advance(TimeSpan.FromSeconds(54));
        await Assert.That(cache.TryGet(Scope, out _)).IsTrue();
        clock.Advance(TimeSpan.FromSeconds(2));
        await Assert.That(cache.TryGet(Scope, out _)).IsFalse();
    }

    [Test]
    public async Task Issued_at_in_the_past_gives_a_shorter_remaining_time()
    {
        var clock = new FakeTimeProvider();
        var cache = new RegistryTokenCache(clock, TimeSpan.FromSeconds(1800));
        var now = clock.GetUtcNow();
        await Assert.That(cache.Lifetime(300, now.AddSeconds(-100), now)).IsEqualTo(TimeSpan.FromSeconds(195));
        // An issued_at ahead of our clock never lengthens the lifetime.
        await Assert.That(cache.Lifetime(300, now.AddSeconds(100), now)).IsEqualTo(TimeSpan.FromSeconds(295));
        // Already expired: not cached at all.
        await Assert.That(cache.Store(Scope, new Composer.Diagnostics.Secret("t-token"), 300, now.AddSeconds(-400), now)).IsEqualTo(TimeSpan.Zero);
        await Assert.That(cache.TryGet(Scope, out _)).IsFalse();
    }

    [Test]
    public async Task Token_ttl_is_an_upper_bound_never_a_lower_one()
    {
        var clock = new FakeTimeProvider();
        var cache = new RegistryTokenCache(clock, TimeSpan.FromSeconds(1800));
        var now = clock.GetUtcNow();
        await Assert.That(cache.Lifetime(7200, null, now)).IsEqualTo(TimeSpan.FromSeconds(1795));
        await Assert.That(cache.Lifetime(300, null, now)).IsEqualTo(TimeSpan.FromSeconds(295));
    }

    [Test]
    public async Task Tokens_are_kept_per_realm_service_and_scope_and_can_be_dropped()
    {
        var clock = new FakeTimeProvider();
        var cache = new RegistryTokenCache(clock, TimeSpan.FromSeconds(1800));
        cache.Store(Scope, new Composer.Diagnostics.Secret("a-token"), 300, null, clock.GetUtcNow());
        cache.Store(Scope with { Scope = "repository:b:pull" }, new Composer.Diagnostics.Secret("b-token"), 300, null, clock.GetUtcNow());
        await Assert.That(cache.TryGet(Scope, out var a) && a.Reveal() == "a-token").IsTrue();
        await Assert.That(cache.TryGet(Scope with { Service = "other" }, out _)).IsFalse();
        cache.Invalidate(Scope);
        await Assert.That(cache.TryGet(Scope, out _)).IsFalse();
        await Assert.That(cache.TryGet(Scope with { Scope = "repository:b:pull" }, out var b) && b.Reveal() == "b-token").IsTrue();
    }
}

using System.Collections.Concurrent;
using Composer.Diagnostics;

namespace Composer.Images;

/// <summary>What a bearer token is good for: the challenge's realm and service, and the requested scope.</summary>
public readonly record struct TokenScope(string Realm, string Service, string Scope);

/// <summary>
/// Bearer tokens per (realm, service, scope). A token lives for its expires_in (60 s when absent, per the
/// distribution token spec), counted from issued_at when given (from the end of the exchange otherwise),
/// never longer than token_ttl, minus a small skew so a token is not presented at the moment it expires.
/// Kept in memory only.
/// </summary>
public sealed class RegistryTokenCache
{
    public static readonly TimeSpan DefaultExpiresIn = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan DefaultSkew = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<TokenScope, Entry> _entries = new();
    private readonly TimeProvider _clock;

    public RegistryTokenCache(TimeProvider clock, TimeSpan tokenTtl, TimeSpan? skew = null)
    {
        _clock = clock;
        TokenTtl = tokenTtl;
        Skew = skew ?? DefaultSkew;
    }

    public TimeSpan TokenTtl { get; }
    public TimeSpan Skew { get; }
    public int Count => _entries.Count;

    public bool TryGet(TokenScope key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Secret? token)
    {
        if (_entries.TryGetValue(key, out var entry))
        {
            if (_clock.GetUtcNow() < entry.ExpiresAt)
            {
                token = entry.Token;
                return true;
            }
            _entries.TryRemove(new KeyValuePair<TokenScope, Entry>(key, entry));
        }
        token = null;
        return false;
    }

    /// <summary>Stores a token received at receivedAt; returns how long it will be reused (zero: not cached).</summary>
    public TimeSpan Store(TokenScope key, Secret token, long? expiresInSeconds, DateTimeOffset? issuedAt, DateTimeOffset receivedAt)
    {
        var lifetime = Lifetime(expiresInSeconds, issuedAt, receivedAt);
        if (lifetime <= TimeSpan.Zero)
        {
            _entries.TryRemove(key, out _);
            return TimeSpan.Zero;
        }
        _entries[key] = new Entry(token, receivedAt + lifetime);
        return lifetime;
    }

    /// <summary>Remaining reuse time, counted from receivedAt, for a token response.</summary>
    public TimeSpan Lifetime(long? expiresInSeconds, DateTimeOffset? issuedAt, DateTimeOffset receivedAt)
    {
        var expiresIn = expiresInSeconds is > 0 ? TimeSpan.FromSeconds(expiresInSeconds.Value) : DefaultExpiresIn;
        // issued_at later than our clock (server clock ahead) must not lengthen the lifetime.
        var start = issuedAt is { } issued && issued < receivedAt ? issued : receivedAt;
        var serverExpiry = start + expiresIn;
        var capExpiry = receivedAt + TokenTtl;
        var expiry = serverExpiry < capExpiry ? serverExpiry : capExpiry;
        return expiry - Skew - receivedAt;
    }

    public void Invalidate(TokenScope key) => _entries.TryRemove(key, out _);

    private sealed record Entry(Secret Token, DateTimeOffset ExpiresAt);
}

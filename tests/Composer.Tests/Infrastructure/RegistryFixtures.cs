using TUnit.Core.Interfaces;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// A real registry with htpasswd (Basic) auth on 127.0.0.1, shared by the test session, holding one pushed
/// image (KnownRepository:KnownTag, digest KnownDigest). Users: User/Password (a password whose base64 holds
/// '+' and '/'), and OtherUser/OtherPassword.
/// </summary>
public sealed class HtpasswdRegistryFixture : IAsyncInitializer, IAsyncDisposable
{
    public const string User = "composer-user";
    public const string Password = "p>?>s~w0rd:with/colon";
    public const string OtherUser = "other-user";
    public const string OtherPassword = "another-Secret-123";
    public const string KnownRepository = "composer-tests/connector-basic";
    public const string KnownTag = "1.0.0";

    public RegistryServer Registry { get; private set; } = null!;
    public string Host => Registry.Host;
    public string KnownDigest { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Registry = await RegistryServer.StartAsync(new RegistryServerOptions
        {
            Auth = RegistryAuthMode.Htpasswd,
            HtpasswdUsers = new Dictionary<string, string> { [User] = Password, [OtherUser] = OtherPassword },
        });
        KnownDigest = await RegistryPusher.PushImageAsync(Registry.BaseUri, KnownRepository, KnownTag, User, Password);
    }

    public async ValueTask DisposeAsync()
    {
        if (Registry is not null) await Registry.DisposeAsync();
    }
}

/// <summary>
/// A real registry with token auth (auth: token) and its token server, shared by the test session. Tests add
/// their own users to Tokens (AddUser with a TokenPolicy: expires_in, issued_at, token field, granted actions)
/// so counts and policies never interfere between parallel tests. Holds KnownRepository:KnownTag (KnownDigest),
/// pushed by Pusher.
/// </summary>
public sealed class TokenRegistryFixture : IAsyncInitializer, IAsyncDisposable
{
    public const string Pusher = "pusher";
    public const string PusherPassword = "push+/=secret";
    public const string KnownRepository = "composer-tests/connector-token";
    public const string KnownTag = "2.1";

    public TokenServer Tokens { get; private set; } = null!;
    public RegistryServer Registry { get; private set; } = null!;
    public string Host => Registry.Host;
    public string KnownDigest { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Tokens = new TokenServer().Start();
        Tokens.AddUser(Pusher, PusherPassword, TokenPolicy.PullPush);
        Registry = await RegistryServer.StartAsync(new RegistryServerOptions { Auth = RegistryAuthMode.Token, TokenServer = Tokens });
        KnownDigest = await RegistryPusher.PushImageAsync(Registry.BaseUri, KnownRepository, KnownTag, Pusher, PusherPassword);
    }

    /// <summary>A fresh user (unique name) with this policy; returns (username, password).</summary>
    public (string User, string Password) NewUser(TokenPolicy policy)
    {
        var user = "u-" + Guid.NewGuid().ToString("N")[..12];
        var password = "pw+/" + Guid.NewGuid().ToString("N");
        Tokens.AddUser(user, password, policy);
        return (user, password);
    }

    public async ValueTask DisposeAsync()
    {
        if (Registry is not null) await Registry.DisposeAsync();
        if (Tokens is not null) await Tokens.DisposeAsync();
    }
}

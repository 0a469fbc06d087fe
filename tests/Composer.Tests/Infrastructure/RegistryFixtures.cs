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
    /// <summary>A user whose password holds '+' and '/' (characters that break naive URL or form encoding).</summary>
    public const string SymbolUser = "symbol-user";
    public const string SymbolPassword = "pa+ss/wo+rd/e2e=";
    public const string OtherUser = "other-user";
    public const string OtherPassword = "another-Secret-123";
    public const string KnownRepository = "composer-tests/connector-basic";
    public const string KnownTag = "1.0.0";

    public const string EngineUser = "engine-user";

    public RegistryFixture Registry { get; private set; } = null!;
    public string Host => Registry.Host;
    public string KnownDigest { get; private set; } = "";

    /// <summary>
    /// EngineUser's password, chosen for this registry's host so that the standard base64 of its X-Registry-Auth
    /// JSON holds both '+' and '/' (where base64url differs): the vector for Docker Engine header tests.
    /// </summary>
    public string EnginePassword { get; private set; } = "";

    /// <summary>opencti.daemon.registry for this registry as the engine user (no retries): the prefix and the credentials deploys use.</summary>
    public Composer.Configuration.RegistrySettings EngineRegistrySettings(string? password = null) => new()
    {
        Server = Host,
        Username = EngineUser,
        Password = new Composer.Diagnostics.Secret(password ?? EnginePassword),
        RetryAttempts = 0,
        RetryDelay = 0,
    };

    public async Task InitializeAsync()
    {
        var port = FreePort.Next();
        EnginePassword = Enumerable.Range(0, 300).Select(i => new string('a', i % 3) + "~~~???~?~?" + i)
            .First(p => new Composer.Images.RegistryCredentials(EngineUser, new Composer.Diagnostics.Secret(p), null, $"127.0.0.1:{port}").ToXRegistryAuth() is var h && h.Contains('-') && h.Contains('_'));
        Registry = await RegistryFixture.StartAsync(new RegistryFixtureOptions
        {
            Port = port,
            Auth = RegistryAuthMode.Htpasswd,
            HtpasswdUsers = new Dictionary<string, string>
            {
                [User] = Password, [OtherUser] = OtherPassword, [EngineUser] = EnginePassword, [SymbolUser] = SymbolPassword,
            },
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
    public RegistryFixture Registry { get; private set; } = null!;
    public string Host => Registry.Host;
    public string KnownDigest { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Tokens = new TokenServer().Start();
        Tokens.AddUser(Pusher, PusherPassword, TokenPolicy.PullPush);
        Registry = await RegistryFixture.StartAsync(new RegistryFixtureOptions { Auth = RegistryAuthMode.Token, TokenServer = Tokens });
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

/// <summary>
/// A real registry without authentication on 127.0.0.1, shared by the test session, holding one pushed image
/// (<see cref="Reference"/>): what a connector image anyone may pull looks like to Composer's pre-flight (the
/// Kubernetes end-to-end tests, where no engine has the image locally).
/// </summary>
public sealed class AnonymousRegistryFixture : IAsyncInitializer, IAsyncDisposable
{
    public const string KnownRepository = "composer-tests/connector-open";
    public const string KnownTag = "3.0";

    public RegistryFixture Registry { get; private set; } = null!;
    public string Host => Registry.Host;

    /// <summary>host:port/composer-tests/connector-open:3.0</summary>
    public string Reference => $"{Host}/{KnownRepository}:{KnownTag}";

    public async Task InitializeAsync()
    {
        Registry = await RegistryFixture.StartAsync(new RegistryFixtureOptions { Auth = RegistryAuthMode.None });
        await RegistryPusher.PushImageAsync(Registry.BaseUri, KnownRepository, KnownTag, null, null);
    }

    public async ValueTask DisposeAsync()
    {
        if (Registry is not null) await Registry.DisposeAsync();
    }
}

using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace Composer.Tests.Infrastructure;

/// <summary>Which field(s) of the token response carry the token.</summary>
public enum TokenField { Token, AccessToken, Both }

/// <summary>What the token server grants one user, and how it words the response.</summary>
public sealed record TokenPolicy
{
    /// <summary>Actions granted on every requested repository (intersected with the requested actions).</summary>
    public IReadOnlyList<string> Actions { get; init; } = ["pull"];

    /// <summary>expires_in in the response; null leaves it out (clients must assume 60 s).</summary>
    public int? ExpiresIn { get; init; } = 300;

    /// <summary>issued_at in the response (RFC 3339); null leaves it out.</summary>
    public DateTimeOffset? IssuedAt { get; init; }

    public TokenField Field { get; init; } = TokenField.Token;

    /// <summary>The first N tokens grant nothing (the registry answers 401 insufficient_scope to them).</summary>
    public int FirstTokensWithoutAccess { get; init; }

    /// <summary>Real-time validity of the JWT itself (exp claim), independent of expires_in.</summary>
    public TimeSpan JwtLifetime { get; init; } = TimeSpan.FromMinutes(10);

    public static TokenPolicy Pull { get; } = new();
    public static TokenPolicy PullPush { get; } = new() { Actions = ["pull", "push"] };
}

/// <summary>
/// A distribution token server (docs/spec/auth/token.md) for tests (HttpListener, 127.0.0.1 by default): checks Basic credentials,
/// issues RS256 JWTs whose header carries the signing certificate (x5c), trusted by the registry through
/// rootcertbundle. Anonymous requests get a token without access, like Docker Hub. Counts requests per user.
/// </summary>
public sealed class TokenServer : IAsyncDisposable
{
    public const string AnonymousUser = "<anonymous>";

    private readonly HttpListener _listener = new();
    private readonly RSA _key = RSA.Create(2048);
    private readonly X509Certificate2 _certificate;
    private readonly ConcurrentDictionary<string, (string Password, TokenPolicy Policy)> _users = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _requests = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _log = new();
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    /// <param name="bindAddress">IPv4 address to listen on (the realm URL uses it).</param>
    public TokenServer(string service = "composer-test-registry", string issuer = "composer-test-token-issuer", string bindAddress = "127.0.0.1")
    {
        Service = service;
        Issuer = issuer;
        BindAddress = bindAddress;
        Port = FreePort.Next();
        Realm = $"http://{bindAddress}:{Port}/token";
        Directory = System.IO.Directory.CreateTempSubdirectory("composer-token-server-").FullName;
        var request = new CertificateRequest($"CN={issuer}", _key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign, true));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        _certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));
        RootCertBundlePath = Path.Combine(Directory, "token-issuer.pem");
        File.WriteAllText(RootCertBundlePath, _certificate.ExportCertificatePem());
    }

    public string BindAddress { get; }
    public string Service { get; }
    public string Issuer { get; }
    public int Port { get; }
    public string Realm { get; }
    public string Directory { get; }
    public string RootCertBundlePath { get; }

    /// <summary>Policy for requests without credentials.</summary>
    public TokenPolicy AnonymousPolicy { get; set; } = new() { Actions = [] };

    /// <summary>Every request, one line each: "user scope → status".</summary>
    public IReadOnlyCollection<string> Log => _log;

    public void AddUser(string username, string password, TokenPolicy policy) => _users[username] = (password, policy);

    /// <summary>Token requests made with this username (right or wrong password); AnonymousUser for none.</summary>
    public int RequestCount(string username) => _requests.TryGetValue(username, out var n) ? n : 0;

    public TokenServer Start()
    {
        _listener.Prefixes.Add($"http://{BindAddress}:{Port}/");
        _listener.Start();
        _loop = Task.Run(() => ServeAsync(_stop.Token));
        return this;
    }

    private async Task ServeAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().WaitAsync(stop);
            }
            catch (Exception) when (stop.IsCancellationRequested || !_listener.IsListening)
            {
                return;
            }
            _ = Task.Run(() => Handle(context));
        }
    }

    private void Handle(HttpListenerContext context)
    {
        var response = context.Response;
        try
        {
            var query = context.Request.QueryString;
            var user = AnonymousUser;
            TokenPolicy policy = AnonymousPolicy;
            var header = context.Request.Headers["Authorization"];
            if (header is not null && header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
            {
                var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[6..].Trim()));
                var colon = decoded.IndexOf(':');
                user = colon < 0 ? decoded : decoded[..colon];
                var password = colon < 0 ? "" : decoded[(colon + 1)..];
                _requests.AddOrUpdate(user, 1, (_, n) => n + 1);
                if (!_users.TryGetValue(user, out var entry) || entry.Password != password)
                {
                    _log.Enqueue($"{user} {query["scope"]} → 401");
                    Reply(response, 401, """{"errors":[{"code":"UNAUTHORIZED","message":"authentication failed"}]}""");
                    return;
                }
                policy = entry.Policy;
            }
            else
            {
                _requests.AddOrUpdate(AnonymousUser, 1, (_, n) => n + 1);
            }
            if (query["service"] != Service)
            {
                _log.Enqueue($"{user} {query["scope"]} → 400 (service '{query["service"]}')");
                Reply(response, 400, """{"errors":[{"code":"DENIED","message":"unknown service"}]}""");
                return;
            }
            var withoutAccess = policy.FirstTokensWithoutAccess > 0 && RequestCount(user) <= policy.FirstTokensWithoutAccess;
            var token = IssueJwt(user, context.Request.QueryString.GetValues("scope") ?? [], withoutAccess ? [] : policy.Actions, policy.JwtLifetime);
            var json = new StringBuilder("{");
            if (policy.Field is TokenField.Token or TokenField.Both) json.Append($"\"token\":\"{token}\",");
            if (policy.Field is TokenField.AccessToken or TokenField.Both) json.Append($"\"access_token\":\"{token}\",");
            if (policy.ExpiresIn is { } expiresIn) json.Append($"\"expires_in\":{expiresIn},");
            if (policy.IssuedAt is { } issuedAt) json.Append($"\"issued_at\":\"{issuedAt.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}\",");
            json.Length--;
            json.Append('}');
            _log.Enqueue($"{user} {query["scope"]} → 200");
            Reply(response, 200, json.ToString());
        }
        catch (Exception ex)
        {
            _log.Enqueue($"error: {ex.Message}");
            try { Reply(response, 500, "{}"); } catch (Exception) { }
        }
    }

    private static void Reply(HttpListenerResponse response, int status, string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.ContentLength64 = bytes.Length;
        response.OutputStream.Write(bytes);
        response.Close();
    }

    /// <summary>A JWT the registry accepts: RS256, x5c = [signing certificate], iss/aud/exp/nbf/iat/jti/access.</summary>
    private string IssueJwt(string subject, string[] scopes, IReadOnlyList<string> grantedActions, TimeSpan lifetime)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var headerJson = Json(w =>
        {
            w.WriteString("typ", "JWT");
            w.WriteString("alg", "RS256");
            w.WriteStartArray("x5c");
            w.WriteStringValue(Convert.ToBase64String(_certificate.RawData));
            w.WriteEndArray();
        });
        var claimsJson = Json(w =>
        {
            w.WriteString("iss", Issuer);
            w.WriteString("sub", subject == AnonymousUser ? "" : subject);
            w.WriteString("aud", Service);
            // The JWT's own validity is independent of expires_in, so that tests moving a fake clock on the
            // client side never present a token the registry considers expired (unless a test wants that).
            w.WriteNumber("exp", now + (long)lifetime.TotalSeconds);
            w.WriteNumber("nbf", now - 10);
            w.WriteNumber("iat", now);
            w.WriteString("jti", Guid.NewGuid().ToString("N"));
            w.WriteStartArray("access");
            foreach (var scope in scopes.SelectMany(s => s.Split(' ', StringSplitOptions.RemoveEmptyEntries)))
            {
                var first = scope.IndexOf(':');
                var last = scope.LastIndexOf(':');
                if (first < 0 || last <= first) continue;
                var requested = scope[(last + 1)..].Split(',');
                var actions = requested.Where(grantedActions.Contains).ToArray();
                w.WriteStartObject();
                w.WriteString("type", scope[..first]);
                w.WriteString("name", scope[(first + 1)..last]);
                w.WriteStartArray("actions");
                foreach (var a in actions) w.WriteStringValue(a);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });
        var signingInput = B64(headerJson) + "." + B64(claimsJson);
        var signature = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + B64(signature);
    }

    private static byte[] Json(Action<Utf8JsonWriter> body)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return stream.ToArray();
    }

    private static string B64(byte[] data) => Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try { _listener.Close(); } catch (ObjectDisposedException) { } // Close alone: see ScriptedRegistry.DisposeAsync
        if (_loop is not null) await _loop.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { });
        _certificate.Dispose();
        _key.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}

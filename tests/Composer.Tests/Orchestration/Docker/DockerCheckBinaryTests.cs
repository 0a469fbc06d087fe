using Composer.Tests.Infrastructure;

namespace Composer.Tests.Orchestration.Docker;

/// <summary>
/// `composer docker check` through the published native binary against the real Docker engine: over its Unix
/// socket, and over TCP (socat) directly or through a real tinyproxy, as the product page's proxy settings say.
/// </summary>
[ClassDataSource<DockerTcpFixture>(Shared = SharedType.PerTestSession)]
public class DockerCheckBinaryTests(DockerTcpFixture docker)
{
    internal static Task<ProcessResult> CheckAsync(Dictionary<string, string> env) =>
        ComposerBinary.RunAsync(["docker", "check"], env, workingDirectory: Path.GetTempPath(), timeout: TimeSpan.FromSeconds(60));

    internal static async Task AssertEngineAnsweredAsync(ProcessResult result, DockerEngineFixture engine)
    {
        await Assert.That(result.ExitCode).IsEqualTo(0).Because(result.ToString());
        await Assert.That(result.Stdout).Contains($"engine_version: {engine.ServerVersion}");
        await Assert.That(result.Stdout).Contains($"api_version: {engine.ApiVersion}");
    }

    private Task AssertEngineAnsweredAsync(ProcessResult result) => AssertEngineAnsweredAsync(result, docker.Engine);

    private string TcpTarget => $"{TestHosts.Target}:{docker.Port}";

    [Test]
    public async Task Check_over_the_unix_socket_from_the_configuration_key()
    {
        docker.Engine.Require();
        var result = await CheckAsync(new() { ["OPENCTI__DAEMON__DOCKER__HOST"] = docker.Engine.DockerHost });
        await AssertEngineAnsweredAsync(result);
        await Assert.That(result.Stdout).Contains($"endpoint: unix://{docker.Engine.SocketPath}");
        await Assert.That(result.Stdout).Contains("route: local socket");
    }

    [Test]
    public async Task Check_over_the_unix_socket_from_DOCKER_HOST_ignores_the_proxy()
    {
        docker.Engine.Require();
        var result = await CheckAsync(new()
        {
            ["DOCKER_HOST"] = docker.Engine.DockerHost,
            ["OPENCTI__WITH_PROXY"] = "true",
            ["HTTP_PROXY"] = $"http://127.0.0.1:{FreePort.Next()}", // nothing listens: a proxied request would fail
        });
        await AssertEngineAnsweredAsync(result);
        await Assert.That(result.Stdout).Contains("source: environment DOCKER_HOST");
        await Assert.That(result.Stdout).Contains("route: local socket");
    }

    [Test]
    public async Task Check_over_tcp_directly()
    {
        docker.Require();
        var result = await CheckAsync(new() { ["OPENCTI__DAEMON__DOCKER__HOST"] = docker.DockerHost });
        await AssertEngineAnsweredAsync(result);
        await Assert.That(result.Stdout).Contains($"endpoint: http://{TcpTarget}");
        await Assert.That(result.Stdout).Contains("route: direct");
    }

    [Test]
    public async Task An_https_engine_with_an_untrusted_certificate_exits_1_with_a_tls_reason()
    {
        docker.RequireTls();
        // Direct connections trust the system roots only; the proxy CA does not vouch for them.
        var result = await CheckAsync(new()
        {
            ["OPENCTI__DAEMON__DOCKER__HOST"] = docker.TlsDockerHost,
            ["HTTPS_PROXY_CA"] = docker.TlsCaPath,
        });
        await Assert.That(result.ExitCode).IsEqualTo(1).Because(result.ToString());
        await Assert.That(result.Stderr).Contains($"cannot reach the Docker engine at https://{TestHosts.Target}:{docker.TlsPort}");
        await Assert.That(result.Stderr).Contains("TLS handshake failed");
    }

    [Test]
    public async Task An_unreachable_tcp_engine_exits_1_with_the_reason()
    {
        TestHosts.EnsureInstalled();
        var closedPort = FreePort.Next();
        var result = await CheckAsync(new() { ["OPENCTI__DAEMON__DOCKER__HOST"] = $"tcp://{TestHosts.Target}:{closedPort}" });
        await Assert.That(result.ExitCode).IsEqualTo(1).Because(result.ToString());
        await Assert.That(result.Stderr).Contains($"cannot reach the Docker engine at http://{TestHosts.Target}:{closedPort}");
        await Assert.That(result.Stderr).Contains("refused");
        await Assert.That(result.Stderr).DoesNotContain("   at ");
    }

    [Test]
    public async Task A_missing_unix_socket_exits_1_with_the_reason()
    {
        var socket = Path.Combine(Path.GetTempPath(), $"composer-no-such-{Guid.NewGuid():N}.sock");
        var result = await CheckAsync(new() { ["DOCKER_HOST"] = "unix://" + socket });
        await Assert.That(result.ExitCode).IsEqualTo(1).Because(result.ToString());
        await Assert.That(result.Stderr).Contains($"cannot reach the Docker engine at unix://{socket} (environment DOCKER_HOST)");
        await Assert.That(result.Stderr).Contains("does not exist");
        await Assert.That(result.Stderr).DoesNotContain("   at ");
    }

    [Test]
    public async Task An_invalid_host_key_exits_2_naming_the_key()
    {
        var result = await CheckAsync(new() { ["OPENCTI__DAEMON__DOCKER__HOST"] = "ssh://me@docker.example.com" });
        await Assert.That(result.ExitCode).IsEqualTo(2).Because(result.ToString());
        await Assert.That(result.Stderr).Contains("opencti.daemon.docker.host");
        await Assert.That(result.Stderr).Contains("OPENCTI__DAEMON__DOCKER__HOST");
    }

    [Test]
    public async Task An_invalid_DOCKER_HOST_exits_2_naming_the_variable()
    {
        var result = await CheckAsync(new() { ["DOCKER_HOST"] = "docker.example.com:2375" });
        await Assert.That(result.ExitCode).IsEqualTo(2).Because(result.ToString());
        await Assert.That(result.Stderr).Contains("DOCKER_HOST");
        await Assert.That(result.Stderr).Contains("expected unix:///");
    }
}

/// <summary>
/// `composer docker check` over TCP with proxy settings, against a real tinyproxy. Each test has a proxy of its own
/// (Shared = None) so that its log shows only that test's requests.
/// </summary>
[ClassDataSource<DockerTcpFixture>(Shared = SharedType.PerTestSession)]
public class DockerCheckProxyBinaryTests(DockerTcpFixture docker)
{
    [ClassDataSource<TinyproxyFixture>(Shared = SharedType.None)]
    public required TinyproxyFixture Proxy { get; init; }

    [ClassDataSource<AuthenticatedTinyproxyFixture>(Shared = SharedType.PerTestSession)]
    public required AuthenticatedTinyproxyFixture AuthProxy { get; init; }

    private string TcpTarget => $"{TestHosts.Target}:{docker.Port}";

    [Test]
    public async Task Check_over_tcp_goes_through_the_proxy_when_with_proxy_is_true()
    {
        docker.Require();
        var result = await DockerCheckBinaryTests.CheckAsync(new()
        {
            ["DOCKER_HOST"] = docker.DockerHost,
            ["OPENCTI__WITH_PROXY"] = "true",
            ["HTTP_PROXY"] = Proxy.Url,
            ["HTTPS_PROXY"] = Proxy.Url,
        });
        await DockerCheckBinaryTests.AssertEngineAnsweredAsync(result, docker.Engine);
        await Assert.That(result.Stdout).Contains($"route: proxy {Proxy.Url}");
        await Assert.That(Proxy.Saw($"GET http://{TcpTarget}/_ping")).IsTrue().Because(Proxy.Log);
        await Assert.That(Proxy.Saw($"GET http://{TcpTarget}/version")).IsTrue().Because(Proxy.Log);
    }

    [Test]
    public async Task Check_over_tcp_bypasses_the_proxy_for_NO_PROXY_hosts()
    {
        docker.Require();
        var port = docker.Port;
        var result = await DockerCheckBinaryTests.CheckAsync(new()
        {
            ["DOCKER_HOST"] = docker.DockerHost,
            ["OPENCTI__WITH_PROXY"] = "true",
            ["HTTP_PROXY"] = Proxy.Url,
            ["NO_PROXY"] = $"example.com,{TestHosts.Target}:{port}",
        });
        await DockerCheckBinaryTests.AssertEngineAnsweredAsync(result, docker.Engine);
        await Assert.That(result.Stdout).Contains("route: direct");
        await Assert.That(Proxy.Saw(TcpTarget)).IsFalse();
    }

    [Test]
    public async Task Check_over_tcp_ignores_the_proxy_when_with_proxy_is_false()
    {
        docker.Require();
        var result = await DockerCheckBinaryTests.CheckAsync(new()
        {
            ["DOCKER_HOST"] = docker.DockerHost,
            ["OPENCTI__WITH_PROXY"] = "false",
            ["HTTP_PROXY"] = Proxy.Url,
            ["HTTPS_PROXY"] = Proxy.Url,
        });
        await DockerCheckBinaryTests.AssertEngineAnsweredAsync(result, docker.Engine);
        await Assert.That(result.Stdout).Contains("route: direct");
        await Assert.That(Proxy.Saw(TcpTarget)).IsFalse();
    }

    [Test]
    public async Task An_engine_the_proxy_cannot_reach_exits_1_naming_the_proxy()
    {
        TestHosts.EnsureInstalled();
        var closedPort = FreePort.Next();
        var result = await DockerCheckBinaryTests.CheckAsync(new()
        {
            ["DOCKER_HOST"] = $"tcp://{TestHosts.Target}:{closedPort}",
            ["OPENCTI__WITH_PROXY"] = "true",
            ["HTTP_PROXY"] = Proxy.Url,
        });
        await Assert.That(result.ExitCode).IsEqualTo(1).Because(result.ToString());
        await Assert.That(result.Stderr).Contains($"through proxy {Proxy.Url}");
        await Assert.That(result.Stderr).Contains("the engine or the proxy answered HTTP");
        await Assert.That(Proxy.Saw($"GET http://{TestHosts.Target}:{closedPort}/_ping")).IsTrue().Because(Proxy.Log);
    }

    [Test]
    public async Task Check_over_https_goes_through_the_proxy_tunnel_trusting_the_proxy_ca()
    {
        docker.RequireTls();
        var result = await DockerCheckBinaryTests.CheckAsync(new()
        {
            ["OPENCTI__DAEMON__DOCKER__HOST"] = docker.TlsDockerHost,
            ["OPENCTI__WITH_PROXY"] = "true",
            ["HTTPS_PROXY"] = Proxy.Url,
            // A TLS-intercepting proxy's CA; here it is the engine's own CA, trusted only for proxied connections.
            ["HTTPS_PROXY_CA"] = docker.TlsCaPath,
        });
        await DockerCheckBinaryTests.AssertEngineAnsweredAsync(result, docker.Engine);
        await Assert.That(result.Stdout).Contains($"endpoint: https://{TestHosts.Target}:{docker.TlsPort}");
        await Assert.That(Proxy.Saw($"CONNECT {TestHosts.Target}:{docker.TlsPort}")).IsTrue().Because(Proxy.Log);
    }

    [Test]
    public async Task Wrong_proxy_credentials_exit_1_without_printing_them()
    {
        docker.Require();
        const string wrongPassword = "not-the-password-42";
        var result = await DockerCheckBinaryTests.CheckAsync(new()
        {
            ["DOCKER_HOST"] = docker.DockerHost,
            ["OPENCTI__WITH_PROXY"] = "true",
            ["HTTP_PROXY"] = $"http://{AuthenticatedTinyproxyFixture.User}:{wrongPassword}@127.0.0.1:{AuthProxy.Port}",
        });
        await Assert.That(result.ExitCode).IsEqualTo(1).Because(result.ToString());
        await Assert.That(result.Stderr).Contains("authentication (HTTP 40");
        await Assert.That(result.Stderr).Contains("check the credentials in the proxy URL");
        await Assert.That(result.Stdout).Contains($"route: proxy http://{AuthenticatedTinyproxyFixture.User}:***@127.0.0.1:{AuthProxy.Port}");
        await Assert.That(result.Stdout + result.Stderr).DoesNotContain(wrongPassword);
    }

    [Test]
    public async Task Right_proxy_credentials_reach_the_engine()
    {
        docker.Require();
        var result = await DockerCheckBinaryTests.CheckAsync(new()
        {
            ["DOCKER_HOST"] = docker.DockerHost,
            ["OPENCTI__WITH_PROXY"] = "true",
            ["HTTP_PROXY"] = AuthProxy.UrlWithCredentials,
        });
        await DockerCheckBinaryTests.AssertEngineAnsweredAsync(result, docker.Engine);
        await Assert.That(result.Stdout + result.Stderr).DoesNotContain(AuthenticatedTinyproxyFixture.Password);
    }
}

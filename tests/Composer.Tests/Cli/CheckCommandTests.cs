using System.Net;
using System.Text.RegularExpressions;
using Composer.Cli;
using Composer.Tests.Infrastructure;
using Composer.Tests.Platform;

namespace Composer.Tests.Cli;

/// <summary>
/// `composer check` through the published binary, against real parts: the OpenCTI stand-in over HTTP, the Docker
/// engine, an htpasswd registry, tinyproxy and the TLS-intercepting squid. Each broken part fails with its own line.
/// </summary>
[ClassDataSource<DockerEngineFixture, HtpasswdRegistryFixture, TinyproxyFixture, SquidFixture>(
    Shared = [SharedType.PerTestSession, SharedType.PerTestSession, SharedType.PerTestSession, SharedType.PerTestSession])]
public class CheckCommandTests(DockerEngineFixture docker, HtpasswdRegistryFixture registry, TinyproxyFixture tinyproxy, SquidFixture squid)
{
    private const string Token = "check-token-5b1f0e";

    private static readonly Lazy<string> KeyFile = new(() =>
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("composer-check-key-").FullName, "manager-key.pem");
        File.WriteAllText(path, PlatformTestKeys.Rsa(4096).ExportPkcs8PrivateKeyPem());
        return path;
    });

    /// <summary>A working Docker setup for <paramref name="platformUrl"/>: only environment variables, an empty config directory.</summary>
    private Dictionary<string, string> Environment(string platformUrl, params (string Key, string Value)[] more)
    {
        var environment = new Dictionary<string, string>
        {
            ["COMPOSER_CONFIG_DIR"] = Directory.CreateTempSubdirectory("composer-check-config-").FullName,
            ["MANAGER__CREDENTIALS_KEY_FILEPATH"] = KeyFile.Value,
            ["OPENCTI__URL"] = platformUrl,
            ["OPENCTI__TOKEN"] = Token,
            ["OPENCTI__DAEMON__SELECTOR"] = "docker",
            ["OPENCTI__DAEMON__DOCKER__HOST"] = docker.DockerHost,
            ["OPENCTI__DAEMON__REGISTRY__RETRY_ATTEMPTS"] = "0",
        };
        foreach (var (k, v) in more) environment[k] = v;
        return environment;
    }

    private static Task<ProcessResult> CheckAsync(Dictionary<string, string> environment, params string[] more) =>
        ComposerBinary.RunAsync(["check", .. more], environment, timeout: TimeSpan.FromSeconds(90));

    /// <summary>The report line of a check: mark, name, time, detail.</summary>
    private static string Line(ProcessResult result, string name)
    {
        var match = Regex.Match(result.Stdout, $"^(ok  |FAIL|skip)  {Regex.Escape(name)} +[^\n]*$", RegexOptions.Multiline);
        return match.Success ? match.Value : throw new InvalidOperationException($"no '{name}' line in:\n{result}");
    }

    /// <summary>The hint printed under the line of <paramref name="name"/>.</summary>
    private static string Hint(ProcessResult result, string name)
    {
        var lines = result.Stdout.Split('\n');
        var at = Array.IndexOf(lines, Line(result, name));
        return at + 1 < lines.Length && lines[at + 1].StartsWith("      hint: ", StringComparison.Ordinal) ? lines[at + 1] : "";
    }

    private string KnownImage => $"{registry.Host}/{HtpasswdRegistryFixture.KnownRepository}:{HtpasswdRegistryFixture.KnownTag}";

    [Test]
    public async Task Everything_in_order_passes_with_a_line_per_part_and_no_secret()
    {
        docker.Require();
        await using var standIn = await OpenCtiStandIn.StartAsync(Token);
        var result = await CheckAsync(Environment(standIn.Url,
            ("OPENCTI__DAEMON__REGISTRY__SERVER", registry.Host),
            ("OPENCTI__DAEMON__REGISTRY__USERNAME", HtpasswdRegistryFixture.User),
            ("OPENCTI__DAEMON__REGISTRY__PASSWORD", HtpasswdRegistryFixture.Password)),
            "--image", $"{HtpasswdRegistryFixture.KnownRepository}:{HtpasswdRegistryFixture.KnownTag}");

        await Assert.That(result.ExitCode).IsEqualTo(ExitCodes.Success).Because(result.ToString());
        await Assert.That(Line(result, "configuration")).StartsWith("ok  ");
        await Assert.That(Line(result, "manager key")).Contains("RSA-4096");
        await Assert.That(Line(result, "opencti platform")).Contains($"OpenCTI {standIn.Version} at {standIn.Url} (direct)");
        await Assert.That(Line(result, "opencti orchestrator")).Contains($"docker at {docker.DockerHost} answers");
        await Assert.That(Line(result, "registry")).Contains($"{KnownImage} (logged in as {HtpasswdRegistryFixture.User}): digest {registry.KnownDigest}");
        await Assert.That(Line(result, "registry")).Matches(@"^ok    registry +\d+ ms  ");
        await Assert.That(Line(result, "opencti listing")).Contains("0 connectors listed (0 to run)");
        await Assert.That(result.Stdout).Contains("all 6 checks passed");
        await Assert.That(result.Stdout + result.Stderr).DoesNotContain(HtpasswdRegistryFixture.Password);
        await Assert.That(result.Stdout + result.Stderr).DoesNotContain(Token);
        // A version query only: the manager is not registered by a check.
        await Assert.That(standIn.Registrations.Count).IsEqualTo(0);
    }

    [Test]
    public async Task A_wrong_registry_password_fails_the_registry_line()
    {
        docker.Require();
        await using var standIn = await OpenCtiStandIn.StartAsync(Token);
        const string wrong = "Wrong-Registry-Password-9d1";
        var result = await CheckAsync(Environment(standIn.Url,
            ("OPENCTI__DAEMON__REGISTRY__SERVER", registry.Host),
            ("OPENCTI__DAEMON__REGISTRY__USERNAME", HtpasswdRegistryFixture.User),
            ("OPENCTI__DAEMON__REGISTRY__PASSWORD", wrong)),
            "--image", KnownImage);

        await Assert.That(result.ExitCode).IsEqualTo(ExitCodes.RuntimeFailure).Because(result.ToString());
        await Assert.That(Line(result, "registry")).StartsWith("FAIL  registry");
        await Assert.That(Line(result, "registry")).Contains($"bad credentials: registry {registry.Host} rejected user '{HtpasswdRegistryFixture.User}'");
        await Assert.That(Hint(result, "registry")).Contains("opencti.daemon.registry.username and password");
        await Assert.That(Line(result, "opencti platform")).StartsWith("ok  ");
        await Assert.That(result.Stdout).Contains("1 of 6 checks failed");
        await Assert.That(result.Stdout + result.Stderr).DoesNotContain(wrong);
    }

    [Test]
    public async Task A_proxy_that_is_down_fails_the_proxy_line_and_skips_the_platform()
    {
        docker.Require();
        TestHosts.EnsureInstalled();
        var closed = FreePort.Next();
        var result = await CheckAsync(Environment($"http://{TestHosts.Target}:{FreePort.Next()}",
            ("OPENCTI__WITH_PROXY", "true"),
            ("HTTP_PROXY", $"http://proxyuser:Proxy-Secret-77@127.0.0.1:{closed}")));

        await Assert.That(result.ExitCode).IsEqualTo(ExitCodes.RuntimeFailure).Because(result.ToString());
        await Assert.That(Line(result, "opencti proxy")).StartsWith("FAIL  opencti proxy");
        await Assert.That(Line(result, "opencti proxy")).Contains($"cannot connect to the proxy http://proxyuser:***@127.0.0.1:{closed}");
        await Assert.That(Hint(result, "opencti proxy")).Contains("is the proxy running");
        await Assert.That(Line(result, "opencti platform")).StartsWith("skip  opencti platform");
        // The engine is local (its socket is never proxied): still checked.
        await Assert.That(Line(result, "opencti orchestrator")).StartsWith("ok  ");
        await Assert.That(result.Stdout + result.Stderr).DoesNotContain("Proxy-Secret-77");
    }

    [Test]
    public async Task A_working_proxy_is_named_on_its_line_and_on_the_platform_line()
    {
        docker.Require();
        TestHosts.EnsureInstalled();
        await using var standIn = await OpenCtiStandIn.StartAsync(Token, host: TestHosts.TargetAddress);
        var url = $"http://{TestHosts.Target}:{standIn.Port}";
        var result = await CheckAsync(Environment(url, ("OPENCTI__WITH_PROXY", "true"), ("HTTP_PROXY", tinyproxy.Url)));

        await Assert.That(result.ExitCode).IsEqualTo(ExitCodes.Success).Because(result.ToString());
        await Assert.That(Line(result, "opencti proxy")).Contains($"{url} via {tinyproxy.Url}: answered HTTP 404");
        await Assert.That(Line(result, "opencti platform")).Contains($"at {url} (via proxy {tinyproxy.Url})");
        await Assert.That(tinyproxy.Saw($"POST {url}/graphql")).IsTrue();
    }

    [Test]
    public async Task A_tls_intercepting_proxy_without_its_ca_fails_the_proxy_line_and_passes_with_it()
    {
        docker.Require();
        using var certificate = squid.IssueOriginCertificate(TestHosts.Target);
        await using var origin = new TestHttpServer("check-origin", IPAddress.Parse(TestHosts.TargetAddress), certificate);
        var url = origin.UrlFor(TestHosts.Target).ToString().TrimEnd('/');

        var missing = await CheckAsync(Environment(url, ("OPENCTI__WITH_PROXY", "true"), ("HTTPS_PROXY", squid.Url)));
        await Assert.That(missing.ExitCode).IsEqualTo(ExitCodes.RuntimeFailure).Because(missing.ToString());
        await Assert.That(Line(missing, "opencti proxy")).StartsWith("FAIL  opencti proxy");
        await Assert.That(Line(missing, "opencti proxy")).Contains($"the TLS certificate presented for {TestHosts.Target} is not trusted");
        await Assert.That(Hint(missing, "opencti proxy")).Contains("no proxy CA is configured");
        await Assert.That(Hint(missing, "opencti proxy")).Contains("https_proxy_ca");
        await Assert.That(Line(missing, "opencti platform")).StartsWith("skip");
        await Assert.That(origin.RequestCount).IsEqualTo(0);

        var trusted = await CheckAsync(Environment(url, ("OPENCTI__WITH_PROXY", "true"), ("HTTPS_PROXY", squid.Url),
            ("HTTPS_PROXY_CA", $"[\"{squid.InterceptionCaPath}\"]")));
        await Assert.That(Line(trusted, "opencti proxy")).Contains($"{url} via {squid.Url}: answered HTTP 200, TLS certificate validated");
        await Assert.That(origin.RequestCount).IsGreaterThan(0);
    }

    [Test]
    public async Task An_unreachable_platform_fails_the_platform_line()
    {
        docker.Require();
        var url = $"http://127.0.0.1:{FreePort.Next()}";
        var result = await CheckAsync(Environment(url));

        await Assert.That(result.ExitCode).IsEqualTo(ExitCodes.RuntimeFailure).Because(result.ToString());
        await Assert.That(Line(result, "opencti platform")).StartsWith("FAIL  opencti platform");
        await Assert.That(Line(result, "opencti platform")).Contains($"cannot reach OpenCTI at {url}");
        await Assert.That(Hint(result, "opencti platform")).Contains("is opencti.url right");
        await Assert.That(Line(result, "opencti orchestrator")).StartsWith("ok  ");
    }

    [Test]
    public async Task A_token_the_platform_refuses_fails_the_platform_line()
    {
        docker.Require();
        await using var standIn = await OpenCtiStandIn.StartAsync("the-real-token-c3d4");
        var result = await CheckAsync(Environment(standIn.Url));

        await Assert.That(result.ExitCode).IsEqualTo(ExitCodes.RuntimeFailure).Because(result.ToString());
        await Assert.That(Line(result, "opencti platform")).StartsWith("FAIL  opencti platform");
        // OpenCTI answers an unknown token with AUTH_REQUIRED at HTTP 200; a proxy or ingress may answer 401 itself.
        await Assert.That(Line(result, "opencti platform")).Contains("OpenCTI did not accept the token (AUTH_REQUIRED: You must be logged in to do this.)");
        await Assert.That(Hint(result, "opencti platform")).Contains("set opencti.token (OPENCTI__TOKEN)");
        await Assert.That(Line(result, "opencti listing")).StartsWith("skip  opencti listing");
        // An ingress in front of OpenCTI with its own authentication: a plain 401.
        standIn.InjectFault(StandInOperation.Version, new StandInFault(StandInFaultKind.HttpStatus) { StatusCode = 401, Message = "Authorization Required" });
        var ingress = await CheckAsync(Environment(standIn.Url));
        await Assert.That(Line(ingress, "opencti platform")).Contains("HTTP 401");
        await Assert.That(Hint(ingress, "opencti platform")).Contains("set opencti.token (OPENCTI__TOKEN)");
        await Assert.That(result.Stdout + result.Stderr).DoesNotContain(Token);
    }

    [Test]
    public async Task An_unreachable_engine_fails_the_orchestrator_line()
    {
        await using var standIn = await OpenCtiStandIn.StartAsync(Token);
        var socket = Path.Combine(Directory.CreateTempSubdirectory("composer-check-nosock-").FullName, "docker.sock");
        var result = await CheckAsync(Environment(standIn.Url, ("OPENCTI__DAEMON__DOCKER__HOST", $"unix://{socket}")));

        await Assert.That(result.ExitCode).IsEqualTo(ExitCodes.RuntimeFailure).Because(result.ToString());
        await Assert.That(Line(result, "opencti orchestrator")).StartsWith("FAIL  opencti orchestrator");
        await Assert.That(Line(result, "opencti orchestrator")).Contains($"the socket {socket} does not exist");
        await Assert.That(Hint(result, "opencti orchestrator")).Contains("is the engine running");
        await Assert.That(Line(result, "opencti platform")).StartsWith("ok  ");
    }

    [Test]
    public async Task The_kubernetes_orchestrator_is_checked_with_the_kubeconfig_and_a_refused_token_fails_its_line()
    {
        await using var standIn = await OpenCtiStandIn.StartAsync(Token);
        await using var kubernetes = await KubernetesStandIn.StartAsync();
        var directory = Directory.CreateTempSubdirectory("composer-check-kube-").FullName;
        var good = kubernetes.WriteKubeconfig(Path.Combine(directory, "good"), ns: "connectors");
        var bad = kubernetes.WriteKubeconfig(Path.Combine(directory, "bad"), ns: "connectors", token: "not-a-token-of-this-cluster");

        var ok = await CheckAsync(Environment(standIn.Url, ("OPENCTI__DAEMON__SELECTOR", "kubernetes"), ("KUBECONFIG", good)));
        await Assert.That(ok.ExitCode).IsEqualTo(ExitCodes.Success).Because(ok.ToString());
        await Assert.That(Line(ok, "opencti orchestrator")).Contains($"kubernetes at {kubernetes.Server.GetLeftPart(UriPartial.Authority)} (namespace connectors) answers");

        var refused = await CheckAsync(Environment(standIn.Url, ("OPENCTI__DAEMON__SELECTOR", "kubernetes"), ("KUBECONFIG", bad)));
        await Assert.That(refused.ExitCode).IsEqualTo(ExitCodes.RuntimeFailure).Because(refused.ToString());
        await Assert.That(Line(refused, "opencti orchestrator")).StartsWith("FAIL  opencti orchestrator");
        await Assert.That(Line(refused, "opencti orchestrator")).Contains("401");
        await Assert.That(Hint(refused, "opencti orchestrator")).Contains("check the kubeconfig");
        await Assert.That(refused.Stdout + refused.Stderr).DoesNotContain("not-a-token-of-this-cluster");
    }

    [Test]
    public async Task A_configuration_error_fails_the_configuration_line_with_exit_code_2()
    {
        var result = await CheckAsync(Environment("http://127.0.0.1:1", ("OPENCTI__DAEMON__SELECTOR", "dockr")));
        await Assert.That(result.ExitCode).IsEqualTo(ExitCodes.ConfigurationError).Because(result.ToString());
        await Assert.That(Line(result, "configuration")).StartsWith("FAIL  configuration");
        await Assert.That(result.Stdout).Contains("opencti.daemon.selector");
        await Assert.That(result.Stdout).DoesNotContain("opencti platform");
    }

    [Test]
    public async Task An_invalid_image_is_a_usage_error_with_exit_code_2()
    {
        var result = await CheckAsync(Environment("http://127.0.0.1:1"), "--image", "Not A/Valid::Image");
        await Assert.That(result.ExitCode).IsEqualTo(ExitCodes.ConfigurationError).Because(result.ToString());
        await Assert.That(Line(result, "registry")).Contains("--image: invalid image name");
        await Assert.That(result.Stdout).DoesNotContain("opencti platform");
    }

    [Test]
    public async Task A_missing_key_fails_the_key_line_with_exit_code_2()
    {
        var environment = Environment("http://127.0.0.1:1");
        environment.Remove("MANAGER__CREDENTIALS_KEY_FILEPATH");
        var result = await CheckAsync(environment);
        await Assert.That(result.ExitCode).IsEqualTo(ExitCodes.ConfigurationError).Because(result.ToString());
        await Assert.That(Line(result, "configuration")).StartsWith("ok  ");
        await Assert.That(Line(result, "manager key")).StartsWith("FAIL  manager key");
        await Assert.That(Hint(result, "manager key")).Contains("openssl genpkey");
    }
}

using System.Text.RegularExpressions;
using Composer.Tests.Infrastructure;
using Docker.DotNet.Models;

namespace Composer.Tests.EndToEnd;

/// <summary>
/// The published binary against a second, real dockerd that listens with --tlsverify (<see cref="TlsDockerEngineFixture"/>):
/// the docker CLI's conventions (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH with ca.pem, cert.pem, key.pem) and the
/// opencti.daemon.docker.tls keys reach it for `docker check`, `composer check` and `composer run` on the docker and
/// swarm selectors, through a proxy too; a client certificate of another CA, a missing one, and an engine certificate the
/// configured CA did not sign are refused with an error naming where the certificate or the CA came from.
/// </summary>
[ClassDataSource<TlsDockerEngineFixture>(Shared = SharedType.PerTestSession)]
public class DockerTlsTests(TlsDockerEngineFixture tls)
{
    [ClassDataSource<TinyproxyFixture>(Shared = SharedType.None)]
    public required TinyproxyFixture Proxy { get; init; }

    private static async Task<ProcessResult> DockerCheckAsync(Dictionary<string, string> environment, string? defaultYaml = null)
    {
        var config = Directory.CreateTempSubdirectory("composer-docker-tls-config-").FullName;
        if (defaultYaml is not null) await File.WriteAllTextAsync(Path.Combine(config, "default.yaml"), defaultYaml);
        // A home without ~/.docker: nothing but what the test names is read.
        environment.TryAdd("HOME", Directory.CreateTempSubdirectory("composer-docker-tls-home-").FullName);
        return await ComposerBinary.RunAsync(["docker", "check", "--config-dir", config], environment);
    }

    private Dictionary<string, string> CliEnvironment(string certPath) => new()
    {
        ["DOCKER_HOST"] = tls.TcpHost,
        ["DOCKER_TLS_VERIFY"] = "1",
        ["DOCKER_CERT_PATH"] = certPath,
    };

    private string KeysYaml(string ca, string cert, string key) => $"""
        opencti:
          daemon:
            docker:
              host: {tls.TcpHost}
              tls:
                ca: {ca}
                cert: {cert}
                key: {key}
        """;

    private async Task AssertAnsweredAsync(ProcessResult result)
    {
        await Assert.That(result.ExitCode).IsEqualTo(0).Because(result.ToString());
        await Assert.That(result.Stdout).Contains($"endpoint: https://127.0.0.1:{tls.Port}");
        await Assert.That(result.Stdout).Contains($"engine_version: {tls.Engine.ServerVersion}");
    }

    [Test]
    public async Task Docker_check_reaches_the_engine_with_DOCKER_TLS_VERIFY_and_DOCKER_CERT_PATH()
    {
        tls.Require();
        var result = await DockerCheckAsync(CliEnvironment(tls.CertPath));
        await AssertAnsweredAsync(result);
        await Assert.That(result.Stdout).Contains(
            $"tls: TLS, engine certificate verified against {tls.CertPath}/ca.pem (environment DOCKER_CERT_PATH); " +
            $"client certificate {tls.CertPath}/cert.pem (environment DOCKER_CERT_PATH) (CN=composer-client, O=Composer tests)");
    }

    [Test]
    [Arguments("1")]
    [Arguments("0")]
    [Arguments("false")]
    public async Task Any_non_empty_DOCKER_TLS_VERIFY_means_verify_as_the_docker_CLI_reads_it(string value)
    {
        tls.Require();
        var environment = CliEnvironment(tls.WrongCaCertPath);
        environment["DOCKER_TLS_VERIFY"] = value;
        var result = await DockerCheckAsync(environment);
        await Assert.That(result.ExitCode).IsEqualTo(1).Because(result.ToString());
        await Assert.That(result.Stderr).Contains($"not signed by the CA of {tls.WrongCaCertPath}/ca.pem (environment DOCKER_CERT_PATH)");
    }

    [Test]
    public async Task Without_a_host_TLS_means_tcp_localhost_2376_as_with_the_docker_CLI()
    {
        tls.Require();
        var environment = CliEnvironment(tls.CertPath);
        environment.Remove("DOCKER_HOST");
        var result = await DockerCheckAsync(environment);
        await Assert.That(result.Stdout).Contains("endpoint: https://localhost:2376");
        await Assert.That(result.Stdout).Contains("source: default with TLS, asked for by environment DOCKER_TLS_VERIFY");
    }

    [Test]
    public async Task Docker_check_reaches_the_engine_with_the_tls_keys_of_a_configuration_file()
    {
        tls.Require();
        var result = await DockerCheckAsync([], KeysYaml(tls.EngineCaFile, tls.KeysClientCertFile, tls.KeysClientKeyFile));
        await AssertAnsweredAsync(result);
        await Assert.That(result.Stdout).Contains("tls: TLS, engine certificate verified against opencti.daemon.docker.tls.ca (");
        await Assert.That(result.Stdout).Contains($"client certificate file {tls.KeysClientCertFile} (opencti.daemon.docker.tls.cert, ");
        await Assert.That(result.Stdout).Contains("(CN=composer-keys, O=Composer tests)");
    }

    [Test]
    public async Task The_tls_keys_win_over_the_docker_CLI_variables_and_take_inline_PEM_and_a_key_file()
    {
        tls.Require();
        // The variables name a CA that did not sign the engine: the keys must be what is used.
        var environment = CliEnvironment(tls.WrongCaCertPath);
        environment["OPENCTI__DAEMON__DOCKER__TLS__CA"] = await File.ReadAllTextAsync(tls.EngineCaFile);
        environment["OPENCTI__DAEMON__DOCKER__TLS__CERT"] = await File.ReadAllTextAsync(tls.KeysClientCertFile);
        environment["OPENCTI__DAEMON__DOCKER__TLS__KEY_FILE"] = tls.KeysClientKeyFile;
        var result = await DockerCheckAsync(environment);
        await AssertAnsweredAsync(result);
        await Assert.That(result.Stdout).Contains("verified against opencti.daemon.docker.tls.ca (environment OPENCTI__DAEMON__DOCKER__TLS__CA)");
        await Assert.That(result.Stdout).Contains("client certificate inline PEM (opencti.daemon.docker.tls.cert, environment OPENCTI__DAEMON__DOCKER__TLS__CERT)");
        var keyBody = (await File.ReadAllLinesAsync(tls.KeysClientKeyFile))[1];
        await Assert.That(result.Stdout + result.Stderr).DoesNotContain(keyBody);
    }

    [Test]
    public async Task A_client_certificate_of_another_CA_is_refused_naming_where_it_came_from()
    {
        tls.Require();
        var fromVariables = await DockerCheckAsync(CliEnvironment(tls.WrongClientCertPath));
        await Assert.That(fromVariables.ExitCode).IsEqualTo(1).Because(fromVariables.ToString());
        await Assert.That(fromVariables.Stderr).Contains(
            $"the engine refused the client certificate {tls.WrongClientCertPath}/cert.pem (environment DOCKER_CERT_PATH) (CN=composer-other-client");
        await Assert.That(fromVariables.Stderr).Contains("it accepts only certificates signed by its own CA");

        var fromKeys = await DockerCheckAsync([], KeysYaml(tls.EngineCaFile, tls.OtherClientCertFile, tls.OtherClientKeyFile));
        await Assert.That(fromKeys.ExitCode).IsEqualTo(1).Because(fromKeys.ToString());
        await Assert.That(fromKeys.Stderr).Contains($"the engine refused the client certificate file {tls.OtherClientCertFile} (opencti.daemon.docker.tls.cert, ");
    }

    [Test]
    public async Task A_missing_client_certificate_is_refused_saying_where_to_put_one()
    {
        tls.Require();
        var result = await DockerCheckAsync(CliEnvironment(tls.NoClientCertPath));
        await Assert.That(result.ExitCode).IsEqualTo(1).Because(result.ToString());
        await Assert.That(result.Stdout).Contains("; no client certificate");
        await Assert.That(result.Stderr).Contains("the engine requires a client certificate and none is configured");
        await Assert.That(result.Stderr).Contains(
            $"put cert.pem and key.pem in {tls.NoClientCertPath} (environment DOCKER_CERT_PATH), or opencti.daemon.docker.tls.cert and opencti.daemon.docker.tls.key");
    }

    [Test]
    public async Task An_engine_certificate_the_configured_CA_did_not_sign_is_refused_naming_the_CA()
    {
        tls.Require();
        var fromVariables = await DockerCheckAsync(CliEnvironment(tls.WrongCaCertPath));
        await Assert.That(fromVariables.ExitCode).IsEqualTo(1).Because(fromVariables.ToString());
        await Assert.That(fromVariables.Stderr).Contains(
            $"the TLS handshake failed: the engine's certificate is not signed by the CA of {tls.WrongCaCertPath}/ca.pem (environment DOCKER_CERT_PATH)");

        var fromKeys = await DockerCheckAsync([], KeysYaml(tls.OtherCaFile, tls.KeysClientCertFile, tls.KeysClientKeyFile));
        await Assert.That(fromKeys.ExitCode).IsEqualTo(1).Because(fromKeys.ToString());
        await Assert.That(fromKeys.Stderr).Contains("the engine's certificate is not signed by the CA of opencti.daemon.docker.tls.ca (");
        await Assert.That(fromKeys.Stderr).Contains("default.yaml:6:");
    }

    [Test]
    public async Task Plain_HTTP_to_the_TLS_engine_says_it_speaks_TLS_and_a_lone_DOCKER_CERT_PATH_is_reported_ignored()
    {
        tls.Require();
        var result = await DockerCheckAsync(new() { ["DOCKER_HOST"] = tls.TcpHost, ["DOCKER_CERT_PATH"] = tls.CertPath });
        await Assert.That(result.ExitCode).IsEqualTo(1).Because(result.ToString());
        await Assert.That(result.Stdout).Contains("tls: none (plain HTTP)");
        await Assert.That(result.Stderr).Contains("warning: DOCKER_CERT_PATH: ignored: neither DOCKER_TLS_VERIFY nor DOCKER_TLS is set");
        await Assert.That(result.Stderr).Contains("the engine speaks TLS (it answered: Client sent an HTTP request to an HTTPS server)");
    }

    [Test]
    public async Task DOCKER_TLS_alone_is_TLS_without_verification_with_a_warning()
    {
        tls.Require();
        // A CA that did not sign the engine: not verifying, it does not matter. The client certificate is still presented.
        var result = await DockerCheckAsync(new() { ["DOCKER_HOST"] = tls.TcpHost, ["DOCKER_TLS"] = "1", ["DOCKER_CERT_PATH"] = tls.WrongCaCertPath });
        await AssertAnsweredAsync(result);
        await Assert.That(result.Stdout).Contains("tls: TLS, engine certificate NOT verified (environment DOCKER_TLS without DOCKER_TLS_VERIFY)");
        await Assert.That(result.Stderr).Contains("warning: DOCKER_TLS: the Docker engine's TLS certificate is NOT verified");
    }

    [Test]
    public async Task Through_a_proxy_the_TLS_engine_is_reached_in_a_tunnel_with_the_client_certificate()
    {
        tls.Require();
        var environment = CliEnvironment(tls.CertPath);
        environment["DOCKER_HOST"] = tls.TargetTcpHost;
        environment["OPENCTI__WITH_PROXY"] = "true";
        environment["HTTPS_PROXY"] = Proxy.Url;
        var result = await DockerCheckAsync(environment);
        await Assert.That(result.ExitCode).IsEqualTo(0).Because(result.ToString());
        await Assert.That(result.Stdout).Contains($"route: proxy {Proxy.Url}");
        await Assert.That(Proxy.Saw($"CONNECT {TestHosts.Target}:{tls.TargetPort}")).IsTrue().Because(Proxy.Log);
    }

    [Test]
    public async Task Composer_check_probes_the_TLS_engine_through_the_proxy_with_its_CA_and_client_certificate()
    {
        tls.Require();
        await using var manager = await EndToEndManager.CreateAsync(tls.Engine, daemon: $"selector: docker\ndocker:\n  host: {tls.TargetTcpHost}");
        manager.Environment["DOCKER_TLS_VERIFY"] = "1";
        manager.Environment["DOCKER_CERT_PATH"] = tls.CertPath;
        manager.Environment["OPENCTI__WITH_PROXY"] = "true";
        manager.Environment["HTTPS_PROXY"] = Proxy.Url;
        manager.Environment["NO_PROXY"] = "127.0.0.1"; // the platform stand-in
        var check = await manager.RunAsync("check");
        await Assert.That(check.ExitCode).IsEqualTo(0).Because(check.ToString());
        var probe = Regex.Match(check.Stdout, "^ok  +opencti docker proxy +[^\n]*$", RegexOptions.Multiline).Value;
        await Assert.That(probe).Contains($"https://{TestHosts.Target}:{tls.TargetPort} via {Proxy.Url}: answered HTTP 200, TLS certificate validated");
        var line = Regex.Match(check.Stdout, "^ok  +opencti orchestrator +[^\n]*$", RegexOptions.Multiline).Value;
        await Assert.That(line).Contains($"(via proxy {Proxy.Url}); TLS, engine certificate verified against {tls.CertPath}/ca.pem");
        await Assert.That(Proxy.Saw($"CONNECT {TestHosts.Target}:{tls.TargetPort}")).IsTrue().Because(Proxy.Log);
    }

    [Test]
    [Arguments("environment")]
    [Arguments("keys")]
    public async Task Composer_run_deploys_and_starts_a_connector_on_the_TLS_engine(string configuredBy)
    {
        tls.Require();
        var daemon = $"selector: docker\ndocker:\n  host: {tls.TcpHost}\n  network_mode: none";
        if (configuredBy == "keys") daemon += $"\n  tls:\n    verify: true\n    ca: {tls.EngineCaFile}\n    cert: {tls.KeysClientCertFile}\n    key: {tls.KeysClientKeyFile}";
        await using var manager = await EndToEndManager.CreateAsync(tls.Engine, daemon: daemon);
        if (configuredBy == "environment")
        {
            manager.Environment["DOCKER_TLS_VERIFY"] = "1";
            manager.Environment["DOCKER_CERT_PATH"] = tls.CertPath;
        }
        var connector = manager.NewConnector("tls", TestConnectorImage.Reference, secret: manager.NewSecret());
        manager.StandIn.AddConnector(connector);

        var composer = manager.Start();
        await manager.WaitForContainerAsync(connector.Id);
        await manager.StandIn.WaitUntilAsync(s => s.GetConnector(connector.Id)?.CurrentStatus == "started", EndToEndManager.Timeout, "started");
        // The shared engine knows nothing of it: the connector went to the engine behind TLS.
        var onShared = await tls.Image.Docker.Client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"opencti-manager={manager.ManagerId}"] = true } },
        });
        await Assert.That(onShared).IsEmpty();

        var check = await manager.RunAsync("check");
        await Assert.That(check.ExitCode).IsEqualTo(0).Because(check.ToString());
        var line = Regex.Match(check.Stdout, "^ok  +opencti orchestrator +[^\n]*$", RegexOptions.Multiline).Value;
        await Assert.That(line).Contains($"docker at https://127.0.0.1:{tls.Port} answers; TLS, engine certificate verified against ");
        await Assert.That(line).Contains(configuredBy == "keys" ? $"client certificate file {tls.KeysClientCertFile}" : $"client certificate {tls.CertPath}/cert.pem");

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task Composer_run_deploys_a_connector_as_a_swarm_service_on_the_TLS_engine()
    {
        tls.Require();
        await using var manager = await EndToEndManager.CreateAsync(tls.Engine, daemon: $"selector: swarm\nswarm: {{}}\ndocker:\n  host: {tls.TcpHost}");
        manager.Environment["DOCKER_TLS_VERIFY"] = "1";
        manager.Environment["DOCKER_CERT_PATH"] = tls.CertPath;
        manager.CleanUpOnDispose(async () =>
        {
            foreach (var service in await ServicesAsync(manager.ManagerId)) await tls.Engine.Client.Swarm.RemoveServiceAsync(service.ID);
        });
        var connector = manager.NewConnector("tls-swarm", TestConnectorImage.Reference);
        manager.StandIn.AddConnector(connector);

        var composer = manager.Start();
        await manager.EventuallyAsync(async () =>
        {
            var service = (await ServicesAsync(manager.ManagerId)).SingleOrDefault();
            if (service is null) return false;
            var tasks = await tls.Engine.Client.Tasks.ListAsync(new TasksListParameters
            {
                Filters = new Dictionary<string, IDictionary<string, bool>> { ["service"] = new Dictionary<string, bool> { [service.ID] = true } },
            });
            return tasks.Any(t => t.Status?.State == TaskState.Running);
        }, "a running task of the connector's service on the TLS engine's swarm", () => Task.FromResult(composer.Output));

        var check = await manager.RunAsync("check");
        var line = Regex.Match(check.Stdout, "^(ok  |FAIL)  opencti orchestrator +[^\n]*$", RegexOptions.Multiline).Value;
        await Assert.That(line).StartsWith("ok").Because(check.ToString());
        await Assert.That(line).Contains($"client certificate {tls.CertPath}/cert.pem");

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    private async Task<IList<SwarmService>> ServicesAsync(string managerId) =>
        await tls.Engine.Client.Swarm.ListServicesAsync(new ServiceListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"opencti-manager={managerId}"] = true } },
        });
}

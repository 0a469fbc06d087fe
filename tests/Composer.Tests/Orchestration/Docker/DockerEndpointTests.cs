using Composer.Configuration;
using Composer.Network;
using Composer.Orchestration.Docker;
using Composer.Resolution;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Orchestration.Docker;

public class DockerEndpointTests
{
    private static readonly Dictionary<string, string> NoEnvironment = new();

    private static ComposerSettings WithHost(string? host)
    {
        var settings = new ComposerSettings();
        if (host is not null) settings.OpenCti.Daemon.Docker = new DockerSettings { Host = host };
        return settings;
    }

    [Test]
    public async Task Without_key_or_variable_the_local_socket_is_used()
    {
        var endpoint = DockerEndpoint.Resolve(WithHost(null), ConfigProvenance.None, NoEnvironment).Endpoint!;
        await Assert.That(endpoint.Transport).IsEqualTo(DockerTransport.UnixSocket);
        await Assert.That(endpoint.SocketPath).IsEqualTo("/var/run/docker.sock");
        await Assert.That(endpoint.Display).IsEqualTo("unix:///var/run/docker.sock");
        await Assert.That(endpoint.Source).IsEqualTo("default");
    }

    [Test]
    public async Task DOCKER_HOST_is_used_when_the_key_is_absent()
    {
        var env = new Dictionary<string, string> { ["DOCKER_HOST"] = "tcp://docker.example.com:2375" };
        var endpoint = DockerEndpoint.Resolve(WithHost(null), ConfigProvenance.None, env).Endpoint!;
        await Assert.That(endpoint.Transport).IsEqualTo(DockerTransport.Tcp);
        await Assert.That(endpoint.Address).IsEqualTo(new Uri("http://docker.example.com:2375/"));
        await Assert.That(endpoint.Source).IsEqualTo("environment DOCKER_HOST");
    }

    [Test]
    public async Task The_configuration_key_wins_over_DOCKER_HOST()
    {
        var env = new Dictionary<string, string> { ["DOCKER_HOST"] = "tcp://from-env:2375" };
        var endpoint = DockerEndpoint.Resolve(WithHost("https://from-config:2376"), ConfigProvenance.None, env).Endpoint!;
        await Assert.That(endpoint.Address).IsEqualTo(new Uri("https://from-config:2376/"));
        await Assert.That(endpoint.UsesTls).IsTrue();
        await Assert.That(endpoint.Source).IsEqualTo("configuration opencti.daemon.docker.host");
    }

    [Test]
    public async Task An_empty_DOCKER_HOST_means_the_default()
    {
        var env = new Dictionary<string, string> { ["DOCKER_HOST"] = "  " };
        await Assert.That(DockerEndpoint.Resolve(WithHost(""), ConfigProvenance.None, env).Endpoint!.Source).IsEqualTo("default");
    }

    [Test]
    [Arguments("unix:///run/user/1000/docker.sock", "unix", "", -1)]
    [Arguments("tcp://10.0.0.5:2375", "http", "10.0.0.5", 2375)]
    [Arguments("tcp://docker.internal", "http", "docker.internal", 2375)]
    [Arguments("http://docker.internal:8080", "http", "docker.internal", 8080)]
    [Arguments("https://docker.internal", "https", "docker.internal", 2376)]
    [Arguments("https://docker.internal:443", "https", "docker.internal", 443)]
    [Arguments("tcp://[2001:db8::1]:2375", "http", "[2001:db8::1]", 2375)]
    [Arguments("TCP://Docker.Internal:2375/", "http", "docker.internal", 2375)]
    public async Task Valid_hosts_parse(string value, string scheme, string host, int port)
    {
        var parsed = DockerEndpoint.Parse(value, "test");
        await Assert.That(parsed.Failure).IsNull();
        var endpoint = parsed.Value;
        await Assert.That(endpoint!.Address.Scheme).IsEqualTo(scheme);
        await Assert.That(endpoint.Address.Host).IsEqualTo(host);
        await Assert.That(endpoint.Address.Port).IsEqualTo(port);
    }

    [Test]
    [Arguments("ssh://user@host", "not supported")]
    [Arguments("npipe:////./pipe/docker_engine", "not supported")]
    [Arguments("ftp://host:21", "expected unix:///")]
    [Arguments("unix://var/run/docker.sock", "absolute path")]
    [Arguments("unix:///", "absolute path")]
    [Arguments("tcp://host:2375/v1.44", "path")]
    [Arguments("tcp://host:99999", "expected")]
    [Arguments("docker.internal:2375", "expected")]
    [Arguments("/var/run/docker.sock", "expected")]
    public async Task Invalid_hosts_are_explained(string value, string fragment)
    {
        var parsed = DockerEndpoint.Parse(value, "test");
        await Assert.That(parsed.Value).IsNull();
        await Assert.That(parsed.Failure!.Message).Contains(fragment);
    }

    [Test]
    public async Task Credentials_in_the_host_are_refused_and_not_echoed()
    {
        var parsed = DockerEndpoint.Parse("tcp://admin:hunter2@docker:2375", "test");
        await Assert.That(parsed.Value).IsNull();
        await Assert.That(parsed.Failure!.Message).DoesNotContain("hunter2");
    }

    [Test]
    public async Task An_invalid_DOCKER_HOST_names_the_variable()
    {
        var env = new Dictionary<string, string> { ["DOCKER_HOST"] = "ssh://me@remote" };
        var resolution = DockerEndpoint.Resolve(WithHost(null), ConfigProvenance.None, env);
        await Assert.That(resolution.Endpoint).IsNull();
        await Assert.That(resolution.Error!.Key).IsEqualTo("DOCKER_HOST");
        await Assert.That(resolution.Error.ToString()).Contains("environment DOCKER_HOST");
    }

    [Test]
    public async Task The_configuration_loader_rejects_an_invalid_key_with_its_source()
    {
        var result = SettingsLoader.Load(new ConfigLoadRequest
        {
            ConfigDirectory = Directory.CreateTempSubdirectory("composer-docker-").FullName,
            Environment = new Dictionary<string, string> { ["OPENCTI__DAEMON__DOCKER__HOST"] = "docker:2375" },
            RequireManagerKey = false,
        });
        var error = result.Errors.Single(e => e.Key == "opencti.daemon.docker.host");
        await Assert.That(error.Source).Contains("OPENCTI__DAEMON__DOCKER__HOST");
    }

    [Test]
    public async Task Tcp_clients_take_their_handler_from_the_outbound_factory()
    {
        var handlers = new TestOutboundHandlerFactory();
        var endpoint = DockerEndpoint.Parse("tcp://127.0.0.1:1", "test").Value!;
        using var client = new DockerClientFactory(handlers).Create(endpoint);
        await Assert.That(handlers.Channels.ToArray()).IsEquivalentTo(new[] { OutboundChannel.DockerTcp });
    }

    [Test]
    public async Task Unix_clients_never_use_the_outbound_factory()
    {
        var handlers = new TestOutboundHandlerFactory();
        using var client = new DockerClientFactory(handlers).Create(DockerEndpoint.Resolve(WithHost(null), ConfigProvenance.None, NoEnvironment).Endpoint!);
        await Assert.That(handlers.Channels.Count).IsEqualTo(0);
    }
}

using Composer.Orchestration;
using Composer.Orchestration.Docker;
using static Composer.Tests.Configuration.ConfigTestSupport;

namespace Composer.Tests.Resolution;

/// <summary>The resolve step: one immutable result of a load, with the rules that need files or outside inputs.</summary>
public class ResolvedSettingsTests
{
    [Test]
    public async Task A_valid_load_ends_in_one_resolved_configuration()
    {
        var r = Load(NewConfigDir(), BaseEnvironment(("OPENCTI__URL", "https://cti.example.com"), ("MANAGER__ID", "m-1")));
        await Assert.That(r.Errors).IsEmpty();
        var resolved = r.Resolved!;
        await Assert.That(resolved.Manager.Id).IsEqualTo("m-1");
        await Assert.That(resolved.Manager.ExecuteSchedule).IsEqualTo(TimeSpan.FromSeconds(10));
        await Assert.That(resolved.Manager.MaxParallel).IsEqualTo(4);
        await Assert.That(resolved.EnabledPlatforms.Select(p => p.Section)).IsEquivalentTo(new[] { "opencti" });
        await Assert.That(resolved.Workloads.OpenCtiUrl).IsEqualTo("https://cti.example.com");
        await Assert.That(resolved.Workloads.OpenAevUrl).IsNull();
        await Assert.That(resolved.Health.Enabled).IsFalse();
    }

    [Test]
    public async Task An_invalid_load_has_no_resolved_configuration()
    {
        var r = Load(NewConfigDir(), BaseEnvironment(("MANAGER__EXECUTE_SCHEDULE", "0")));
        await Assert.That(r.Errors).IsNotEmpty();
        await Assert.That(r.Resolved).IsNull();
    }

    [Test]
    public async Task Credentials_without_a_server_are_docker_hubs_with_a_warning_naming_the_source()
    {
        var r = Load(NewConfigDir(), BaseEnvironment(("OPENCTI__DAEMON__REGISTRY__USERNAME", "u"), ("OPENCTI__DAEMON__REGISTRY__PASSWORD", "p4ss-word-value")));
        await Assert.That(r.Errors).IsEmpty();
        var warning = r.Warnings.Single(w => w.Key == "opencti.daemon.registry.username");
        await Assert.That(warning.Message).Contains("Docker Hub");
        await Assert.That(warning.Source).IsEqualTo("environment OPENCTI__DAEMON__REGISTRY__USERNAME");
        await Assert.That(warning.ToString()).DoesNotContain("p4ss-word-value");
        await Assert.That(r.Resolved!.Registry.Credentials!.IsFor("docker.io")).IsTrue();
    }

    [Test]
    public async Task The_openaev_registry_block_is_reported_as_ignored()
    {
        var r = Load(NewConfigDir(), BaseEnvironment(("OPENAEV__DAEMON__REGISTRY__SERVER", "registry.example.com")));
        await Assert.That(r.Errors).IsEmpty();
        await Assert.That(r.Warnings.Single(w => w.Key == "openaev.daemon.registry").Message).Contains("opencti.daemon.registry");
        await Assert.That(r.Resolved!.Registry.ImagePrefix).IsNull();
    }

    [Test]
    public async Task Docker_host_from_the_environment_carries_its_provenance()
    {
        var r = Load(NewConfigDir(), BaseEnvironment(("DOCKER_HOST", "tcp://docker.example.com:2375"), ("OPENCTI__DAEMON__SELECTOR", "docker")));
        await Assert.That(r.Errors).IsEmpty();
        var endpoint = r.Resolved!.Docker.Endpoint!;
        await Assert.That(endpoint.Transport).IsEqualTo(DockerTransport.Tcp);
        await Assert.That(endpoint.Source).IsEqualTo("environment DOCKER_HOST");
    }

    [Test]
    public async Task An_invalid_docker_host_is_an_error_only_where_docker_is_used()
    {
        var unused = Load(NewConfigDir(), BaseEnvironment(("DOCKER_HOST", "ssh://user@host")));
        await Assert.That(unused.Errors).IsEmpty();
        await Assert.That(unused.Resolved!.Docker.Error).IsNotNull();

        var used = Load(NewConfigDir(), BaseEnvironment(("DOCKER_HOST", "ssh://user@host"), ("OPENCTI__DAEMON__SELECTOR", "docker")));
        var error = used.Errors.Single();
        await Assert.That(error.Key).IsEqualTo("DOCKER_HOST");
        await Assert.That(error.Source).IsEqualTo("environment DOCKER_HOST");
        await Assert.That(error.Message).Contains("not supported");
    }

    [Test]
    public async Task Health_listener_address_is_validated_when_enabled()
    {
        var ok = Load(NewConfigDir(), BaseEnvironment(("MANAGER__HEALTH__ENABLE", "true"), ("MANAGER__HEALTH__LISTEN", "0.0.0.0:9090")));
        await Assert.That(ok.Errors).IsEmpty();
        await Assert.That(ok.Resolved!.Health).IsEqualTo(new Composer.Resolution.HealthListenerOptions(true, "0.0.0.0", 9090));

        var bad = Load(NewConfigDir(), BaseEnvironment(("MANAGER__HEALTH__ENABLE", "true"), ("MANAGER__HEALTH__LISTEN", "example.com:99999")));
        var error = bad.Errors.Single();
        await Assert.That(error.Key).IsEqualTo("manager.health.listen");
        await Assert.That(error.Source).IsEqualTo("environment MANAGER__HEALTH__LISTEN");
    }

    [Test]
    public async Task Connector_network_environment_is_computed_once_per_enabled_platform()
    {
        var r = Load(NewConfigDir(), BaseEnvironment(("OPENCTI__WITH_PROXY", "true"), ("HTTPS_PROXY", "http://proxy.example.com:3128"),
            ("HTTPS_PROXY_CA", CaCertificateFile)));
        await Assert.That(r.Errors).IsEmpty();
        var resolved = r.Resolved!;
        await Assert.That(resolved.OpenCti.ConnectorNetwork.CaBundle).IsNotNull();
        await Assert.That(resolved.Workloads.OpenCtiNetwork).IsSameReferenceAs(resolved.OpenCti.ConnectorNetwork);
        await Assert.That(resolved.OpenAev.ConnectorNetwork).IsSameReferenceAs(ConnectorNetworkEnvironment.None);
        await Assert.That(resolved.OpenCti.Network.HttpsProxy!.Address.Host).IsEqualTo("proxy.example.com");
        await Assert.That(resolved.OpenCti.Network.ProxyCa.Certificates.Count).IsEqualTo(1);
    }

    [Test]
    public async Task Every_broken_ca_list_is_reported_at_load_even_when_unused()
    {
        var r = Load(NewConfigDir(), BaseEnvironment(("OPENAEV__HTTPS_PROXY_CA", "/nonexistent/aev-ca.pem")));
        var error = r.Errors.Single();
        await Assert.That(error.Key).IsEqualTo("openaev.https_proxy_ca");
        await Assert.That(error.Message).StartsWith("entry 0 (file /nonexistent/aev-ca.pem): cannot read the CA certificate file");
        await Assert.That(error.Source).IsEqualTo("environment OPENAEV__HTTPS_PROXY_CA");
    }
}

using Composer.Configuration;
using Composer.Images;
using Composer.Tests.Infrastructure;
using Composer.Tests.Orchestration.Docker;

namespace Composer.Tests.Orchestration.Portainer;

/// <summary>
/// Deploys through Portainer whose image comes from the real htpasswd registry: the prefix, the credentials as
/// X-Registry-Auth (base64url) on the pull Portainer forwards, the pre-flight's refusal of a wrong password; and
/// Portainer reached through a real proxy when with_proxy says so.
/// </summary>
[ClassDataSource<HtpasswdRegistryFixture>(Shared = SharedType.PerTestSession)]
public class PortainerOrchestratorRegistryTests(HtpasswdRegistryFixture basic)
{
    [ClassDataSource<TestConnectorImage>(Shared = SharedType.PerTestSession)]
    public required TestConnectorImage Image { get; init; }

    [ClassDataSource<TinyproxyFixture>(Shared = SharedType.PerTestSession)]
    public required TinyproxyFixture Proxy { get; init; }

    private DockerEngineFixture Docker => Image.Docker;

    private RegistrySettings Basic(string? password = null) => basic.EngineRegistrySettings(password);

    private Task<string> PushedAsync(DockerTestManager manager) =>
        Image.PushToRegistryOnlyAsync(basic, $"composer-tests/{manager.Prefix}-connector", manager.RemoveImageOnDispose);

    [Test]
    public async Task An_unprefixed_image_is_pulled_through_portainer_with_the_credentials_in_base64url()
    {
        Image.Require();
        await using var h = await PortainerHarness.StartAsync(Docker, registry: Basic());
        var unprefixed = await PushedAsync(h.Manager);
        var workload = h.Manager.Workload("pulled", image: unprefixed);

        await h.Manager.DeployAsync(workload);

        await Assert.That((await h.Manager.InspectAsync(workload.Name)).Config!.Image).IsEqualTo($"{basic.Host}/{unprefixed}");
        await h.Manager.WaitForLogAsync(workload.Name, TestConnectorImage.StartLine);
        var pull = h.StandIn.Requests.Single(r => r.Method == "POST" && r.DockerPath.EndsWith("/images/create", StringComparison.Ordinal));
        var expected = new RegistryCredentials(HtpasswdRegistryFixture.EngineUser, new Composer.Diagnostics.Secret(basic.EnginePassword), null, basic.Host).ToXRegistryAuth();
        await Assert.That(pull.RegistryAuth).IsEqualTo(expected);
        await Assert.That(expected.IndexOfAny(['-', '_'])).IsGreaterThanOrEqualTo(0); // where base64url differs from the standard alphabet
        await Assert.That(pull.Query).Contains(Uri.EscapeDataString($"{basic.Host}/{unprefixed.Split(':')[0]}"));
    }

    [Test]
    public async Task An_image_that_names_the_registry_is_not_prefixed_twice()
    {
        Image.Require();
        await using var h = await PortainerHarness.StartAsync(Docker, registry: Basic());
        var full = $"{basic.Host}/{await PushedAsync(h.Manager)}";
        var workload = h.Manager.Workload("named", image: full, start: false);

        await h.Manager.DeployAsync(workload);

        await Assert.That((await h.Manager.InspectAsync(workload.Name)).Config!.Image).IsEqualTo(full);
    }

    [Test]
    public async Task A_wrong_password_is_a_clear_error_and_creates_nothing()
    {
        Image.Require();
        const string wrong = "wrong-Pa55+/word";
        await using var h = await PortainerHarness.StartAsync(Docker, registry: Basic(password: wrong));
        var workload = h.Manager.Workload("bad-pw-login", image: await PushedAsync(h.Manager));

        var error = await h.Orchestrator.DeployAsync(workload, CancellationToken.None);

        await Assert.That(error!.Message).Contains($"connector {workload.ConnectorId}: pull failed: bad credentials");
        await Assert.That(error.Message).DoesNotContain(wrong);
        await Assert.That(await h.Manager.ListAsync()).IsEmpty();
        await Assert.That(h.StandIn.Requests.Any(r => r.DockerPath.EndsWith("/containers/create", StringComparison.Ordinal))).IsFalse();
    }

    [Test]
    public async Task With_proxy_portainer_is_reached_through_the_proxy()
    {
        Image.Require();
        TestHosts.EnsureInstalled();
        await using var standIn = await PortainerStandIn.StartAsync(Docker.SocketPath, hostName: TestHosts.Target);
        await using var h = await PortainerHarness.StartAsync(Docker, standIn: standIn, configure: s =>
        {
            s.OpenCti.WithProxy = true;
            s.OpenCti.HttpProxy = Proxy.Url;
        });

        var list = await h.Orchestrator.ListAsync(CancellationToken.None);

        await Assert.That(list.Failure?.Message).IsNull();
        await Assert.That(Proxy.Saw($"GET http://{TestHosts.Target}:{standIn.Api.Port}/api/endpoints/3/docker/_ping")).IsTrue().Because(Proxy.Log);
    }
}

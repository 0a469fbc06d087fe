using Composer.Configuration;
using Composer.Images;
using Composer.Network;
using Composer.Orchestration.Kubernetes;
using Composer.Tests.Infrastructure;
using Composer.Tests.Orchestration.Docker;
using Microsoft.Extensions.Time.Testing;

namespace Composer.Tests.Orchestration.Kubernetes;

/// <summary>
/// The Kubernetes API client on the factory's Kubernetes channel through a real tinyproxy: with_proxy routes it
/// through the proxy (a CONNECT tunnel, the cluster CA validating the API server inside), and the in-cluster API
/// server (KUBERNETES_SERVICE_HOST) is reached directly whatever the proxy settings.
/// </summary>
[ClassDataSource<TinyproxyFixture>(Shared = SharedType.PerTestSession)]
public class KubernetesThroughProxyTests(TinyproxyFixture proxy)
{
    private async Task<Composer.Diagnostics.Failure?> CheckAsync(KubernetesStandIn api, Dictionary<string, string> environment, string? kubernetesServiceHost,
        string serviceAccountDirectory)
    {
        var settings = new ComposerSettings();
        settings.OpenCti.WithProxy = true;
        settings.OpenCti.HttpsProxy = proxy.Url;
        var resolved = TestSettings.Resolve(settings, kubernetesServiceHost is null
            ? null : new Dictionary<string, string> { ["KUBERNETES_SERVICE_HOST"] = kubernetesServiceHost });
        return await KubernetesHarness.CheckAsync(resolved, environment, serviceAccountDirectory, "proxy-test");
    }

    [Test]
    public async Task With_proxy_the_api_goes_through_the_proxy_and_the_cluster_ca_validates_it()
    {
        TestHosts.EnsureInstalled();
        await using var api = await KubernetesStandIn.StartAsync(hostName: TestHosts.Target);
        var directory = Directory.CreateTempSubdirectory("composer-k8s-proxy-").FullName;
        try
        {
            var kubeconfig = api.WriteKubeconfig(Path.Combine(directory, "config"), "ns");
            var error = await CheckAsync(api, new() { ["KUBECONFIG"] = kubeconfig }, null, Path.Combine(directory, "none"));
            await Assert.That(error?.Message).IsNull();
            await Assert.That(proxy.Saw($"CONNECT {TestHosts.Target}:{api.Server.Port}")).IsTrue().Because(proxy.Log);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public async Task The_in_cluster_api_server_is_reached_directly_despite_the_proxy()
    {
        TestHosts.EnsureInstalled();
        await using var api = await KubernetesStandIn.StartAsync(hostName: TestHosts.Target);
        var directory = Directory.CreateTempSubdirectory("composer-k8s-proxy-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(directory, "token"), api.Token);
            File.WriteAllText(Path.Combine(directory, "ca.crt"), api.Ca.CertificatePem);
            var environment = new Dictionary<string, string>
            {
                ["HOME"] = directory,
                ["KUBERNETES_SERVICE_HOST"] = TestHosts.Target,
                ["KUBERNETES_SERVICE_PORT"] = api.Server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
            // As the run loop builds the factory: with the KUBERNETES_SERVICE_HOST it read.
            var error = await CheckAsync(api, environment, TestHosts.Target, directory);
            await Assert.That(error?.Message).IsNull();
            await Assert.That(proxy.Saw($"{TestHosts.Target}:{api.Server.Port}")).IsFalse().Because(proxy.Log);
            await Assert.That(api.ComposerRequests.Count).IsEqualTo(1);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}

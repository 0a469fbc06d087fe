using Composer.Orchestration.Kubernetes;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Orchestration.Kubernetes;

/// <summary>In a pod: the service account token, CA and namespace files and KUBERNETES_SERVICE_HOST/PORT, the token read again when the kubelet rotates it.</summary>
[ClassDataSource<HtpasswdRegistryFixture>(Shared = SharedType.PerTestSession)]
public class InClusterTests(HtpasswdRegistryFixture registry)
{
    private static readonly CancellationToken None = CancellationToken.None;

    [Test]
    public async Task The_service_account_is_used_with_the_namespace_of_its_namespace_file()
    {
        await using var h = await KubernetesHarness.StartAsync(registry, inCluster: true);
        await Assert.That(h.Orchestrator.Endpoint.Source).IsEqualTo("in-cluster service account");
        await Assert.That(h.Orchestrator.Namespace).IsEqualTo(h.Namespace);
        await Assert.That(h.Orchestrator.Endpoint.Server.ToString()).IsEqualTo($"https://127.0.0.1:{h.Api.Server.Port}/");
        await Assert.That((await h.Orchestrator.DeployAsync(h.Workload("connector-pod"), None))?.Message).IsNull();
        await Assert.That(h.Api.DeploymentNames(h.Namespace)).IsEquivalentTo(new[] { "connector-pod" });
    }

    [Test]
    public async Task A_rotated_token_is_read_again_after_a_minute_and_at_once_after_a_401()
    {
        await using var h = await KubernetesHarness.StartAsync(registry, inCluster: true);
        var tokenFile = Path.Combine(h.ServiceAccountDirectory, "token");
        await Assert.That((await h.Orchestrator.CheckAsync(None))?.Message).IsNull();

        // The kubelet writes a new token while the old one is still valid: used once the minute is over.
        var second = h.Api.AddToken("second");
        await File.WriteAllTextAsync(tokenFile, second);
        await Assert.That((await h.Orchestrator.CheckAsync(None))?.Message).IsNull();
        await Assert.That(h.Api.ComposerRequests[^1].User).IsEqualTo("composer");
        h.Time.Advance(KubernetesToken.FileRefreshInterval);
        await Assert.That((await h.Orchestrator.CheckAsync(None))?.Message).IsNull();
        await Assert.That(h.Api.ComposerRequests[^1].User).IsEqualTo("second");

        // The old token is revoked before the minute is over: the 401 makes Composer read the file again and retry.
        h.Api.RotateTokens("third-token", "third");
        await File.WriteAllTextAsync(tokenFile, "third-token\n");
        await Assert.That((await h.Orchestrator.CheckAsync(None))?.Message).IsNull();
        var last = h.Api.ComposerRequests.TakeLast(2).Select(r => (r.Status, r.User)).ToList();
        await Assert.That(last).IsEquivalentTo(new[] { (401, (string?)null), (200, (string?)"third") }, TUnit.Assertions.Enums.CollectionOrdering.Matching);
    }
}

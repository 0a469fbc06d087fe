using Composer.Reconciliation;
using Composer.Tests.Infrastructure;
using Docker.DotNet.Models;

namespace Composer.Tests.EndToEnd;

/// <summary>
/// Issue 14 point 8: two Composers with one manager id on one engine, each serving its own platform (two stand-ins),
/// as containers (Docker) and as swarm services. Each workload carries composer.platform-instance (a hash of its
/// platform's URL); for several cycles neither Composer removes or changes the other's workload, each says once that
/// another instance shares its manager id, and a connector deleted on one platform removes only that platform's
/// workload. Drop-in adoption of workloads without the label is LifecycleTests'.
/// </summary>
[ClassDataSource<SwarmFixture>(Shared = SharedType.PerTestSession)]
public class TwoInstanceTests(SwarmFixture swarm)
{
    private const string SharedIdWarning = "another Composer shares manager id";

    private sealed record Seen(string Id, string ConnectorId, string? Instance, bool Running);

    [Test]
    [Arguments("docker")]
    [Arguments("swarm")]
    public async Task Two_composers_with_one_manager_id_keep_to_their_own_workloads(string selector)
    {
        if (selector == "swarm") swarm.Require();
        else swarm.Image.Require();
        var docker = swarm.Docker;
        var daemon = selector == "swarm" ? $"selector: swarm\nswarm: {{}}\ndocker:\n  host: {docker.DockerHost}" : null;
        await using var first = await EndToEndManager.CreateAsync(docker, daemon: daemon);
        await using var second = await EndToEndManager.CreateAsync(docker, daemon: daemon, managerId: first.ManagerId);
        if (selector == "swarm") first.CleanUpOnDispose(() => RemoveServicesAsync(docker, first.ManagerId));
        var a = first.NewConnector("a", TestConnectorImage.Reference);
        var b = second.NewConnector("b", TestConnectorImage.Reference);
        first.StandIn.AddConnector(a);
        second.StandIn.AddConnector(b);
        var one = first.Start();
        var two = second.Start();

        List<Seen> seen = [];
        await first.EventuallyAsync(async () =>
        {
            seen = await WorkloadsAsync(selector, docker, first.ManagerId);
            return seen.Count == 2 && seen.All(w => w.Running);
        }, "both connectors running, one workload each", async () => string.Join(", ", await WorkloadsAsync(selector, docker, first.ManagerId)));
        var ofA = seen.Single(w => w.ConnectorId == a.Id);
        var ofB = seen.Single(w => w.ConnectorId == b.Id);
        await Assert.That(ofA.Instance).IsEqualTo(ConnectorLabels.PlatformInstanceValue(first.StandIn.Url));
        await Assert.That(ofB.Instance).IsEqualTo(ConnectorLabels.PlatformInstanceValue(second.StandIn.Url));
        await Assert.That(ofA.Instance).IsNotEqualTo(ofB.Instance);

        // Several cycles of both, side by side: the same two workloads, untouched.
        var (firstListings, secondListings) = (Listings(first.StandIn), Listings(second.StandIn));
        await first.StandIn.WaitUntilAsync(s => Listings(s) >= firstListings + 4, EndToEndManager.Timeout, "four more cycles of the first");
        await second.StandIn.WaitUntilAsync(s => Listings(s) >= secondListings + 4, EndToEndManager.Timeout, "four more cycles of the second");
        var later = await WorkloadsAsync(selector, docker, first.ManagerId);
        await Assert.That(later.OrderBy(w => w.Id, StringComparer.Ordinal)).IsEquivalentTo(seen.OrderBy(w => w.Id, StringComparer.Ordinal),
            TUnit.Assertions.Enums.CollectionOrdering.Matching);
        foreach (var composer in new[] { one, two })
        {
            await Assert.That(Count(composer.Output, SharedIdWarning)).IsEqualTo(1).Because(composer.Output);
            await Assert.That(composer.Output).DoesNotContain("Removing orphan");
            await Assert.That(composer.Output).DoesNotContain("\"Stopping connector\"");
        }
        await Assert.That(Count(one.Output, "\"Deploying connector\"")).IsEqualTo(1);
        await Assert.That(Count(two.Output, "\"Deploying connector\"")).IsEqualTo(1);

        // Deleted on the first platform: only its workload goes.
        first.StandIn.RemoveConnector(a.Id);
        await first.EventuallyAsync(async () => (await WorkloadsAsync(selector, docker, first.ManagerId)).All(w => w.ConnectorId != a.Id), "a's workload removed");
        secondListings = Listings(second.StandIn);
        await second.StandIn.WaitUntilAsync(s => Listings(s) >= secondListings + 2, EndToEndManager.Timeout, "two more cycles of the second");
        await Assert.That(await WorkloadsAsync(selector, docker, first.ManagerId)).IsEquivalentTo(new[] { ofB });

        await EndToEndManager.AssertStopsCleanlyAsync(one);
        await EndToEndManager.AssertStopsCleanlyAsync(two);
        await first.AssertNoSecretInOutputAsync();
        await second.AssertNoSecretInOutputAsync();
    }

    /// <summary>The manager's containers, or its swarm services (running: a running task), read from the engine.</summary>
    private static async Task<List<Seen>> WorkloadsAsync(string selector, DockerEngineFixture docker, string managerId)
    {
        var byManager = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"{ConnectorLabels.Manager}={managerId}"] = true } };
        if (selector == "docker")
        {
            var containers = await docker.Client.Containers.ListContainersAsync(new ContainersListParameters { All = true, Filters = byManager });
            return [.. containers.Select(c => new Seen(c.ID, Label(c.Labels, ConnectorLabels.ConnectorId) ?? "", Label(c.Labels, ConnectorLabels.PlatformInstance),
                c.State == "running"))];
        }
        var seen = new List<Seen>();
        foreach (var service in await docker.Client.Swarm.ListServicesAsync(new ServiceListParameters { Filters = byManager }))
        {
            IList<TaskResponse> tasks;
            try
            {
                tasks = await docker.Client.Tasks.ListAsync(new TasksListParameters
                {
                    Filters = new Dictionary<string, IDictionary<string, bool>> { ["service"] = new Dictionary<string, bool> { [service.ID] = true } },
                });
            }
            catch (global::Docker.DotNet.DockerApiException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                continue; // removed between the two lists
            }
            var labels = service.Spec?.Labels;
            seen.Add(new Seen(service.ID, Label(labels, ConnectorLabels.ConnectorId) ?? "", Label(labels, ConnectorLabels.PlatformInstance),
                tasks.Any(t => t.Status?.State == TaskState.Running && t.DesiredState == TaskState.Running)));
        }
        return seen;
    }

    private static async Task RemoveServicesAsync(DockerEngineFixture docker, string managerId)
    {
        var byManager = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"{ConnectorLabels.Manager}={managerId}"] = true } };
        foreach (var service in await docker.Client.Swarm.ListServicesAsync(new ServiceListParameters { Filters = byManager }))
        {
            try { await docker.Client.Swarm.RemoveServiceAsync(service.ID); }
            catch (global::Docker.DotNet.DockerApiException) { }
        }
    }

    private static string? Label(IDictionary<string, string>? labels, string key) => labels is not null && labels.TryGetValue(key, out var value) ? value : null;

    private static int Listings(PlatformStandIn standIn) =>
        standIn.Requests.Count(r => r.Body.Contains("\"operationName\":\"GetConnectors\"", StringComparison.Ordinal));

    private static int Count(string text, string fragment) => text.Split(fragment).Length - 1;
}

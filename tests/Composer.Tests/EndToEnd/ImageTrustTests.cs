using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd;

/// <summary>The image-trust scenario (<see cref="ImageTrustScenario"/>) on Docker: images really pulled by the engine, by digest.</summary>
[ClassDataSource<TestConnectorImage>(Shared = SharedType.PerTestSession)]
public class ImageTrustTests(TestConnectorImage image)
{
    [ClassDataSource<HtpasswdRegistryFixture>(Shared = SharedType.PerTestSession)]
    public required HtpasswdRegistryFixture Htpasswd { get; init; }

    [Test]
    public async Task Only_signed_images_in_the_policy_run_pinned_to_their_digest_and_refusals_are_reported()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        var pushed = new List<string>();
        await new ImageTrustScenario(manager, Htpasswd.Registry)
        {
            Push = async repository =>
            {
                var reference = await manager.PushForPullAsync(image, Htpasswd.Host, ImageTrustScenario.User, ImageTrustScenario.Password, repository);
                pushed.Add(reference);
                return reference;
            },
            WaitForRunning = async connectorId =>
            {
                var container = await manager.WaitForContainerAsync(connectorId);
                return (container.ID, container.Config!.Image);
            },
            Workloads = async connectorId =>
            {
                var views = new List<(string, string, bool)>();
                foreach (var c in await manager.ContainersOfAsync(connectorId))
                {
                    var inspect = await manager.Docker.Client.Containers.InspectContainerAsync(c.ID);
                    views.Add((c.ID, inspect.Config!.Image, inspect.State?.Running == true));
                }
                return views;
            },
        }.RunAsync();
        // The engine pulled the approved images by digest only: the refused ones never reached it, under any name.
        foreach (var refused in pushed.Where(p => !p.Contains("/signed:") && !p.Contains("/kept:")))
        {
            await Assert.That(await manager.ImageExistsAsync(refused)).IsFalse();
        }
    }
}

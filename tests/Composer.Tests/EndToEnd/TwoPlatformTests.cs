using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd;

/// <summary>
/// One manager serving OpenCTI and OpenAEV at once on one Docker engine: each platform's loop deploys its own
/// connectors (labelled opencti-platform=opencti or openaev), every connector gets both platform URLs, and a
/// connector deleted on one platform removes only its container, never the other platform's.
/// </summary>
[ClassDataSource<TestConnectorImage>(Shared = SharedType.PerTestSession)]
public class TwoPlatformTests(TestConnectorImage image)
{
    [Test]
    public async Task Each_platform_keeps_to_its_own_containers()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        await using var openAev = await OpenAevStandIn.StartAsync(manager.Secret($"aev+/{Guid.NewGuid():N}"));
        manager.Environment["OPENAEV__ENABLE"] = "true";
        manager.Environment["OPENAEV__URL"] = openAev.Url;
        manager.Environment["OPENAEV__TOKEN"] = openAev.Token;
        manager.Environment["OPENAEV__DAEMON__SELECTOR"] = "docker";
        manager.Environment["OPENAEV__LOGS_SCHEDULE"] = "1";
        var cti = manager.NewConnector("cti", TestConnectorImage.Reference, manager.NewSecret());
        var aevSecret = manager.NewSecret();
        var aev = manager.NewConnector("aev", TestConnectorImage.Reference, aevSecret);
        manager.StandIn.AddConnector(cti);
        openAev.AddConnector(aev);
        var composer = manager.Start();

        var ctiContainer = await manager.WaitForContainerAsync(cti.Id);
        var aevContainer = await manager.WaitForContainerAsync(aev.Id);
        await Assert.That(ctiContainer.Config!.Labels["opencti-platform"]).IsEqualTo("opencti");
        await Assert.That(aevContainer.Config!.Labels["opencti-platform"]).IsEqualTo("openaev");
        await Assert.That(EndToEndManager.EnvironmentValue(aevContainer, "CONNECTOR_SECRET")).IsEqualTo(aevSecret);
        foreach (var container in new[] { ctiContainer, aevContainer })
        {
            await Assert.That(EndToEndManager.EnvironmentValue(container, "OPENCTI_URL")).IsEqualTo(manager.StandIn.Url);
            await Assert.That(EndToEndManager.EnvironmentValue(container, "OPENAEV_URL")).IsEqualTo(openAev.Url);
        }
        await manager.StandIn.WaitUntilAsync(s => s.GetConnector(cti.Id)?.CurrentStatus == "started", EndToEndManager.Timeout, "cti started");
        await openAev.WaitUntilAsync(s => s.GetConnector(aev.Id)?.CurrentStatus == "started", EndToEndManager.Timeout, "aev started");
        // Each platform hears only about its own connector.
        await Assert.That(manager.StandIn.Rejections).IsEmpty();
        await Assert.That(openAev.Rejections).IsEmpty();

        manager.StandIn.RemoveConnector(cti.Id);
        await manager.EventuallyAsync(async () => (await manager.ContainersOfAsync(cti.Id)).Count == 0, "the OpenCTI connector's container removed");
        var listings = openAev.Requests.Count(r => r.Path.EndsWith("/connector-instances", StringComparison.Ordinal));
        await openAev.WaitUntilAsync(s => s.Requests.Count(r => r.Path.EndsWith("/connector-instances", StringComparison.Ordinal)) >= listings + 2,
            EndToEndManager.Timeout, "two more OpenAEV cycles");
        var kept = (await manager.ContainersOfAsync(aev.Id)).Single();
        await Assert.That(kept.ID).IsEqualTo(aevContainer.ID);
        await Assert.That(kept.State).IsEqualTo("running");

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }
}

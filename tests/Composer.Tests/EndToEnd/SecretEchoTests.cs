using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd;

/// <summary>
/// Secrets never echoed (issue 14 point 7), end to end with the published binary on Docker: a decrypted secret the
/// engine refuses comes back inside the engine's error (runc quotes it with Go's %q), and neither that error in the
/// log (console and file) nor the failure reported to the platform holds it in any form; a token too short to mask
/// safely mangles no message.
/// </summary>
[ClassDataSource<TestConnectorImage>(Shared = SharedType.PerTestSession)]
public class SecretEchoTests(TestConnectorImage image)
{
    [Test]
    public async Task A_decrypted_secret_with_a_nul_the_engine_refuses_is_never_echoed()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        // The engine creates the container, then runc refuses to start it and quotes the variable back: \x00 and all.
        var secret = manager.Secret($"nul\u0000{Guid.NewGuid():N}");
        var connector = manager.NewConnector("nul", TestConnectorImage.Reference, secret);
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start(new Dictionary<string, string>
        {
            ["MANAGER__LOGGER__LEVEL"] = "trace",
            ["MANAGER__LOGGER__DIRECTORY"] = Path.Combine(manager.Directory, "logs"),
        });

        await manager.StandIn.WaitUntilAsync(s => Failures(s, connector.Id).Count > 0, EndToEndManager.Timeout, "the failure reported");
        var reported = Failures(manager.StandIn, connector.Id)[0];
        // What the engine said is still there, with the secret masked: the user sees why.
        await Assert.That(reported).Contains("can't contain null");
        await Assert.That(reported).Contains("CONNECTOR_SECRET=***");
        await composer.WaitForOutputAsync("CONNECTOR_SECRET=***", EndToEndManager.Timeout);

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await Assert.That(Directory.EnumerateFiles(Path.Combine(manager.Directory, "logs"), "composer-*.log").Any()).IsTrue();
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task A_one_letter_token_masks_nothing_and_mangles_no_message()
    {
        image.Require();
        await using var standIn = await OpenCtiStandIn.StartAsync("e");
        await using var manager = await EndToEndManager.CreateAsync(image.Docker, sharedStandIn: standIn);
        const string said = "Something went wrong here, see the engine's message";
        standIn.InjectFault(StandInOperation.List, new StandInFault(StandInFaultKind.GraphQlErrors) { Message = said });
        var composer = manager.Start();

        await composer.WaitForOutputAsync(said, EndToEndManager.Timeout);
        await Assert.That(composer.Output).DoesNotContain("***");

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
    }

    private static List<string> Failures(PlatformStandIn standIn, string connectorId) =>
        [.. standIn.LogReports.Where(r => r.ConnectorId == connectorId).SelectMany(r => r.Lines).Where(l => l.Contains(" composer: ", StringComparison.Ordinal) && l.Contains(" failed", StringComparison.Ordinal))];
}

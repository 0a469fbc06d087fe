using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd;

/// <summary>
/// The alive loop of the running binary against the platform: plain `composer` (no command) runs the manager as the
/// Rust binary does; a new platform version makes it register again; a platform that already has another manager
/// refuses the registration, which is one clear error line saying how to fix it and quiet retries with backoff, never a
/// hot loop.
/// </summary>
[ClassDataSource<TestConnectorImage>(Shared = SharedType.PerTestSession)]
public class RegistrationTests(TestConnectorImage image)
{
    [Test]
    public async Task Plain_composer_runs_and_registers_again_when_the_platform_version_changes()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        var composer = manager.Start(plain: true);
        await manager.WaitForRegistrationAsync();
        await manager.StandIn.WaitUntilAsync(s => s.Pings.Count >= 2, EndToEndManager.Timeout, "pings every ping_alive_schedule");
        var registration = manager.StandIn.Registrations.Single();
        await Assert.That(registration.Name).IsEqualTo($"Composer end-to-end {manager.ManagerId}");
        await Assert.That(registration.PublicKeyPem).StartsWith("-----BEGIN RSA PUBLIC KEY-----");

        manager.StandIn.Version = "6.10.0";
        await manager.StandIn.WaitUntilAsync(s => s.Registrations.Count == 2, EndToEndManager.Timeout, "registered again");
        await composer.WaitForOutputAsync("version changed; registering again", EndToEndManager.Timeout);
        await Assert.That(manager.StandIn.Rejections).IsEmpty();

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    [Arguments(false)]
    [Arguments(true)]
    public async Task A_second_manager_is_refused_with_one_clear_error_and_backs_off(bool openAev)
    {
        image.Require();
        await using var first = await EndToEndManager.CreateAsync(image.Docker, openAev);
        await using var second = await EndToEndManager.CreateAsync(image.Docker, openAev, sharedStandIn: first.StandIn);
        var connector = first.NewConnector("owned", TestConnectorImage.Reference);
        first.StandIn.AddConnector(connector);
        var owner = first.Start();
        await first.WaitForRegistrationAsync();
        await first.WaitForContainerAsync(connector.Id);

        var refused = second.Start();
        var platform = openAev ? "OpenAEV" : "OpenCTI";
        await refused.WaitForOutputAsync($"{platform} refused the manager registration", EndToEndManager.Timeout);
        var attempts = RegisterRequests(first.StandIn, second.ManagerId, openAev);
        // Backing off (5 s, then longer): over 4 s at most one more attempt, and the error is logged once.
        await Task.Delay(TimeSpan.FromSeconds(4));
        await Assert.That(RegisterRequests(first.StandIn, second.ManagerId, openAev)).IsLessThanOrEqualTo(attempts + 1);
        await Assert.That(Count(refused.Output, "refused the manager registration")).IsEqualTo(1).Because(refused.Output);
        await Assert.That(refused.Output).Contains("\"level\":\"error\"");
        // The line says how to fix it: take the other manager's id, or remove that manager on the platform.
        await Assert.That(refused.Output).Contains($"Either set manager.id to that manager's id (this Composer then takes its place), or remove that manager in {platform}'s settings; "
            + $"manager.id is now \\\"{second.ManagerId}\\\"");
        await Assert.That(first.StandIn.Manager?.Id).IsEqualTo(first.ManagerId);
        // The refused manager touched nothing.
        await Assert.That(await second.ContainersAsync()).IsEmpty();
        await Assert.That((await first.ContainersOfAsync(connector.Id)).Single().State).IsEqualTo("running");

        await EndToEndManager.AssertStopsCleanlyAsync(refused);
        await EndToEndManager.AssertStopsCleanlyAsync(owner);
        await first.AssertNoSecretInOutputAsync();
        await second.AssertNoSecretInOutputAsync();
    }

    private static int RegisterRequests(PlatformStandIn standIn, string managerId, bool openAev) =>
        standIn.Requests.Count(r => (openAev ? r.Path.EndsWith("/register", StringComparison.Ordinal) : r.Body.Contains("RegisterConnectorsManager", StringComparison.Ordinal))
                                    && r.Body.Contains(managerId, StringComparison.Ordinal));

    private static int Count(string text, string fragment) => text.Split(fragment).Length - 1;
}

using Composer.Tests.Images.Registry;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd;

/// <summary>
/// The image-trust scenario every orchestrator runs with the published binary, against the real htpasswd registry with
/// images pushed and signed in the test (cosign's format, keys made here): opencti.daemon.image_policy allows the
/// manager's own repositories and requires a signature by the trusted key. A signed image deploys pinned to its digest;
/// an unsigned one, one signed by another key, one whose signature names another digest and one outside the allow list
/// are refused (no workload, never pulled), each reason on the platform as that connector's log line and in Composer's
/// log; a connector running an approved version keeps it when the platform moves it to a refused one.
/// </summary>
internal sealed class ImageTrustScenario(EndToEndManager manager, RegistryFixture registry)
{
    public const string User = HtpasswdRegistryFixture.SymbolUser;
    public const string Password = HtpasswdRegistryFixture.SymbolPassword;

    /// <summary>How an image reaches the registry for this orchestrator: host/repository:1.</summary>
    public required Func<string, Task<string>> Push { get; init; }

    /// <summary>The image of the connector's single workload once it is running, and that workload's id.</summary>
    public required Func<string, Task<(string Id, string Image)>> WaitForRunning { get; init; }

    /// <summary>The ids and images of the connector's workloads, as the orchestrator shows them.</summary>
    public required Func<string, Task<IReadOnlyList<(string Id, string Image, bool Running)>>> Workloads { get; init; }

    public async Task RunAsync()
    {
        using var trusted = new CosignSigner();
        using var stranger = new CosignSigner();
        var id = manager.ManagerId;
        var host = registry.Host;

        async Task<(string Reference, string Digest)> PushAsync(string repository)
        {
            var reference = await Push(repository);
            var check = await RegistryTestSupport.Client(RegistryTestSupport.Configuration(host, User, Password)).CheckAsync(host, repository, "1");
            return (reference, check.Digest ?? throw new InvalidOperationException(check.Message));
        }

        var signed = await PushAsync($"{id}/signed");
        await trusted.SignAsync(registry, $"{id}/signed", signed.Digest, User, Password);
        var kept = await PushAsync($"{id}/kept");
        await trusted.SignAsync(registry, $"{id}/kept", kept.Digest, User, Password);
        var unsigned = await PushAsync($"{id}/unsigned");
        var otherKey = await PushAsync($"{id}/other-key");
        await stranger.SignAsync(registry, $"{id}/other-key", otherKey.Digest, User, Password);
        var otherDigest = await PushAsync($"{id}/other-digest");
        // A digest of no image here (the orchestrators that push one test image give its repositories one digest).
        var elsewhere = "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        await trusted.SignAsync(registry, $"{id}/other-digest", otherDigest.Digest, User, Password, signedDigest: elsewhere);
        var outside = await PushAsync($"{id}-outside/connector");
        await trusted.SignAsync(registry, $"{id}-outside/connector", outside.Digest, User, Password);

        manager.UseRegistry(host, User, Password);
        manager.Environment["OPENCTI__DAEMON__REGISTRY__RETRY_ATTEMPTS"] = "1";
        manager.Environment["OPENCTI__DAEMON__REGISTRY__RETRY_DELAY"] = "1";
        manager.Environment["OPENCTI__DAEMON__IMAGE_POLICY__ALLOW"] = $"[\"{host}/{id}/*\"]";
        manager.Environment["OPENCTI__DAEMON__IMAGE_POLICY__COSIGN_PUBLIC_KEYS"] = trusted.WritePublicKey(manager.Directory, "cosign");

        // Registered first (the platform lists connectors to a registered manager only), then stopped for the plan.
        var first = manager.Start();
        await manager.WaitForRegistrationAsync();
        await EndToEndManager.AssertStopsCleanlyAsync(first);

        var connectors = new Dictionary<string, StandInConnector>();
        foreach (var (name, image) in new[] { ("signed", signed), ("kept", kept), ("unsigned", unsigned), ("other-key", otherKey),
                     ("other-digest", otherDigest), ("outside", outside) })
        {
            connectors[name] = manager.NewConnector(name, image.Reference);
            manager.StandIn.AddConnector(connectors[name]);
        }

        // composer plan shows the pinned digest and each refusal before anything runs.
        var plan = await manager.RunAsync("plan");
        await Assert.That(plan.ExitCode).IsEqualTo(0).Because(plan.ToString());
        await Assert.That(plan.Stdout).Contains($"from image {signed.Reference} (runs {host}/{id}/signed@{signed.Digest})");
        await Assert.That(plan.Stdout).Contains($"image {unsigned.Reference} refused: unsigned");

        var composer = manager.Start();

        var (signedId, signedImage) = await WaitForRunning(connectors["signed"].Id);
        await Assert.That(signedImage).IsEqualTo($"{host}/{id}/signed@{signed.Digest}");
        var (keptId, keptImage) = await WaitForRunning(connectors["kept"].Id);
        await Assert.That(keptImage).IsEqualTo($"{host}/{id}/kept@{kept.Digest}");

        var reasons = new Dictionary<string, string>
        {
            ["unsigned"] = $"refused: unsigned: no cosign signature for {unsigned.Digest}",
            ["other-key"] = "refused: bad signature: no valid signature",
            ["other-digest"] = $"it signs {elsewhere}, another digest",
            ["outside"] = $"refused: outside the image policy: {host}/{id}-outside/connector matches no pattern of opencti.daemon.image_policy.allow",
        };
        foreach (var (name, reason) in reasons)
        {
            var connectorId = connectors[name].Id;
            await manager.StandIn.WaitUntilAsync(s => LinesWith(s, connectorId, reason).Count > 0, EndToEndManager.Timeout, $"the refusal of {name} on the platform");
            await Assert.That(composer.Output).Contains(reason);
        }
        await Assert.That(LinesWith(manager.StandIn, connectors["other-key"].Id, "made by none of the configured keys")).IsNotEmpty();
        // A refused image is never pulled or started; each reason is reported once while it lasts.
        await Task.Delay(TimeSpan.FromSeconds(3));
        foreach (var name in reasons.Keys)
        {
            await Assert.That(await Workloads(connectors[name].Id)).IsEmpty();
            await Assert.That(LinesWith(manager.StandIn, connectors[name].Id, "refused").Count).IsEqualTo(1);
        }

        // The platform moves a running connector to an unsigned version: refused, and the approved one keeps running.
        manager.StandIn.UpdateConnector(connectors["kept"].Id, c => c with { Image = unsigned.Reference, Hash = "hash-2" });
        await manager.StandIn.WaitUntilAsync(s => LinesWith(s, connectors["kept"].Id, $"image {unsigned.Reference} refused: unsigned").Count > 0,
            EndToEndManager.Timeout, "the refusal of the new version on the platform");
        await Task.Delay(TimeSpan.FromSeconds(3));
        var still = await Workloads(connectors["kept"].Id);
        await Assert.That(still.Count).IsEqualTo(1);
        await Assert.That(still[0].Id).IsEqualTo(keptId);
        await Assert.That(still[0].Image).IsEqualTo(keptImage);
        await Assert.That(still[0].Running).IsTrue();
        var signedNow = await Workloads(connectors["signed"].Id);
        await Assert.That(signedNow.Single().Id).IsEqualTo(signedId);

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    private static List<string> LinesWith(PlatformStandIn standIn, string connectorId, string fragment) =>
        [.. standIn.LogReports.Where(r => r.ConnectorId == connectorId).SelectMany(r => r.Lines).Where(l => l.Contains(fragment, StringComparison.Ordinal))];
}

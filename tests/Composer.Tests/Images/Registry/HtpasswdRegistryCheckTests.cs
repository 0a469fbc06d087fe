using Composer.Images;
using Composer.Network;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Images.Registry;

/// <summary>The registry client against a real registry with htpasswd (Basic) authentication.</summary>
[ClassDataSource<HtpasswdRegistryFixture>(Shared = SharedType.PerTestSession)]
public class HtpasswdRegistryCheckTests(HtpasswdRegistryFixture registry)
{
    private RegistryConfiguration WithCredentials(string password = HtpasswdRegistryFixture.Password) =>
        RegistryTestSupport.Configuration(registry.Host, HtpasswdRegistryFixture.User, password);

    [Test]
    public async Task Existing_image_with_credentials_is_available_with_the_pushed_digest()
    {
        var handlers = new TestOutboundHandlerFactory();
        using var client = RegistryTestSupport.Client(WithCredentials(), handlers);
        var result = await client.CheckAsync(registry.Host, HtpasswdRegistryFixture.KnownRepository, HtpasswdRegistryFixture.KnownTag);

        await Assert.That(result.Status).IsEqualTo(RegistryCheckStatus.Available).Because(result.Message);
        await Assert.That(result.Digest).IsEqualTo(registry.KnownDigest);
        await Assert.That(result.MediaType).IsEqualTo(RegistryPusher.ManifestMediaType);
        await Assert.That(result.UsedCredentials).IsTrue();
        // Every connection came from the Registry outbound channel, and the manifest request carried Basic credentials.
        await Assert.That(handlers.Channels.All(c => c == OutboundChannel.Registry)).IsTrue();
        var head = handlers.Requests.Single(r => r.Method == "HEAD");
        await Assert.That(head.Uri.AbsolutePath).IsEqualTo($"/v2/{HtpasswdRegistryFixture.KnownRepository}/manifests/{HtpasswdRegistryFixture.KnownTag}");
        await Assert.That(head.AuthorizationScheme).IsEqualTo("Basic");
    }

    [Test]
    public async Task A_digest_reference_resolves_to_itself()
    {
        using var client = RegistryTestSupport.Client(WithCredentials());
        var result = await client.CheckAsync(registry.Host, HtpasswdRegistryFixture.KnownRepository, registry.KnownDigest);
        await Assert.That(result.Status).IsEqualTo(RegistryCheckStatus.Available).Because(result.Message);
        await Assert.That(result.Digest).IsEqualTo(registry.KnownDigest);
        await Assert.That(result.Image).IsEqualTo($"{registry.Host}/{HtpasswdRegistryFixture.KnownRepository}@{registry.KnownDigest}");
    }

    [Test]
    public async Task Wrong_password_is_bad_credentials_naming_image_and_registry_but_not_the_password()
    {
        const string wrong = "Wrong-Pa55word-Never-Printed";
        using var client = RegistryTestSupport.Client(WithCredentials(wrong));
        var result = await client.CheckAsync(registry.Host, HtpasswdRegistryFixture.KnownRepository, HtpasswdRegistryFixture.KnownTag);

        await Assert.That(result.Status).IsEqualTo(RegistryCheckStatus.BadCredentials).Because(result.Message);
        await Assert.That(result.Message).StartsWith("bad credentials");
        await Assert.That(result.Message).Contains($"{registry.Host}/{HtpasswdRegistryFixture.KnownRepository}:{HtpasswdRegistryFixture.KnownTag}");
        await Assert.That(result.Message).Contains($"registry {registry.Host}");
        await Assert.That(result.Message).Contains(HtpasswdRegistryFixture.User);
        await Assert.That(result.Message).DoesNotContain(wrong);
        await Assert.That(result.ToString()).DoesNotContain(wrong);
    }

    [Test]
    public async Task Unknown_image_is_not_found()
    {
        using var client = RegistryTestSupport.Client(WithCredentials());
        var missingTag = await client.CheckAsync(registry.Host, HtpasswdRegistryFixture.KnownRepository, "9.9.9-missing");
        var missingRepository = await client.CheckAsync(registry.Host, "composer-tests/no-such-connector", "1.0");

        await Assert.That(missingTag.Status).IsEqualTo(RegistryCheckStatus.NotFound).Because(missingTag.Message);
        await Assert.That(missingTag.Message).StartsWith("image not found");
        await Assert.That(missingTag.Message).Contains($"{registry.Host}/{HtpasswdRegistryFixture.KnownRepository}:9.9.9-missing");
        await Assert.That(missingRepository.Status).IsEqualTo(RegistryCheckStatus.NotFound).Because(missingRepository.Message);
    }

    [Test]
    public async Task Anonymous_access_to_the_protected_registry_fails_clearly()
    {
        var handlers = new TestOutboundHandlerFactory();
        using var client = RegistryTestSupport.Client(RegistryTestSupport.Configuration(registry.Host), handlers);
        var result = await client.CheckAsync(registry.Host, HtpasswdRegistryFixture.KnownRepository, HtpasswdRegistryFixture.KnownTag);

        await Assert.That(result.Status).IsEqualTo(RegistryCheckStatus.AuthenticationRequired).Because(result.Message);
        await Assert.That(result.Message).StartsWith("authentication required");
        await Assert.That(result.Message).Contains(registry.Host);
        await Assert.That(result.Message).Contains("no credentials are configured");
        await Assert.That(handlers.Requests.All(r => r.AuthorizationScheme is null)).IsTrue();
    }

    [Test]
    public async Task Credentials_for_another_registry_are_never_sent_here()
    {
        var handlers = new TestOutboundHandlerFactory();
        // The credentials are right for this registry, but configured for registry.example.com: they must not leave.
        var configuration = RegistryTestSupport.Configuration("registry.example.com", HtpasswdRegistryFixture.User, HtpasswdRegistryFixture.Password);
        using var client = RegistryTestSupport.Client(configuration, handlers);
        var result = await client.CheckAsync(registry.Host, HtpasswdRegistryFixture.KnownRepository, HtpasswdRegistryFixture.KnownTag);

        await Assert.That(result.Status).IsEqualTo(RegistryCheckStatus.AuthenticationRequired).Because(result.Message);
        await Assert.That(result.UsedCredentials).IsFalse();
        await Assert.That(result.Message).Contains("belong to registry.example.com");
        await Assert.That(handlers.Requests.Count).IsGreaterThan(0);
        await Assert.That(handlers.Requests.All(r => r.AuthorizationScheme is null)).IsTrue();
    }

    [Test]
    public async Task Another_valid_user_works_and_the_server_path_does_not_matter_for_matching()
    {
        // A server written with a path (a Harbor-style project prefix) still matches its host.
        var configuration = RegistryTestSupport.Configuration($"{registry.Host}/some/project", HtpasswdRegistryFixture.OtherUser, HtpasswdRegistryFixture.OtherPassword);
        using var client = RegistryTestSupport.Client(configuration);
        var result = await client.CheckAsync(registry.Host, HtpasswdRegistryFixture.KnownRepository, HtpasswdRegistryFixture.KnownTag);
        await Assert.That(result.Status).IsEqualTo(RegistryCheckStatus.Available).Because(result.Message);
    }
}

using System.Text;
using Composer.Configuration;
using Composer.Images;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Images.Registry;

/// <summary>The deploy pre-flight: resolution, credentials choice and registry check together, against both real registries.</summary>
[ClassDataSource<HtpasswdRegistryFixture, TokenRegistryFixture>(Shared = [SharedType.PerTestSession, SharedType.PerTestSession])]
public class ImagePreflightTests(HtpasswdRegistryFixture basic, TokenRegistryFixture token)
{
    private RegistryAccess Create(TestOutboundHandlerFactory handlers)
    {
        var settings = new ComposerSettings();
        settings.OpenCti.Daemon.Registry = new RegistrySettings
        {
            Server = basic.Host,
            Username = HtpasswdRegistryFixture.User,
            Password = new Composer.Diagnostics.Secret(HtpasswdRegistryFixture.Password),
            Email = "ops@example.com",
            RetryAttempts = 0,
        };
        var resolved = TestSettings.Resolve(settings);
        return new RegistryAccess(resolved.Registry, handlers);
    }

    /// <summary>What a deploy does: the image resolved once, one snapshot of the credentials, the check with them.</summary>
    private static async Task<(ResolvedImage Image, RegistryCredentials? Credentials, RegistryCheckResult Check)> PreflightAsync(RegistryAccess registry, string image)
    {
        var resolved = registry.Images.Resolve(image).Value!;
        var credentials = (await registry.CredentialsForAsync(resolved, CancellationToken.None)).Value!.Credentials;
        return (resolved, credentials, await registry.CheckAsync(resolved, credentials, CancellationToken.None));
    }

    [Test]
    public async Task An_image_of_the_configured_registry_gets_its_credentials_and_an_x_registry_auth()
    {
        using var registry = Create(new TestOutboundHandlerFactory());
        var (image, credentials, check) = await PreflightAsync(registry, $"{HtpasswdRegistryFixture.KnownRepository}:{HtpasswdRegistryFixture.KnownTag}");

        await Assert.That(check.IsAvailable).IsTrue().Because(check.Message);
        await Assert.That(image.Reference).IsEqualTo($"{basic.Host}/{HtpasswdRegistryFixture.KnownRepository}:{HtpasswdRegistryFixture.KnownTag}");
        await Assert.That(check.Digest).IsEqualTo(basic.KnownDigest);
        var json = Encoding.UTF8.GetString(Convert.FromBase64String(credentials!.ToXRegistryAuth().Replace('-', '+').Replace('_', '/')));
        await Assert.That(json).Contains($"\"serveraddress\":\"{basic.Host}\"");
        await Assert.That(json).Contains("\"email\":\"ops@example.com\"");
    }

    [Test]
    public async Task An_image_naming_another_registry_is_checked_and_pulled_without_the_credentials()
    {
        var handlers = new TestOutboundHandlerFactory();
        using var registry = Create(handlers);
        var before = token.Tokens.RequestCount(TokenServer.AnonymousUser);
        var (image, credentials, check) = await PreflightAsync(registry, $"{token.Host}/{TokenRegistryFixture.KnownRepository}:{TokenRegistryFixture.KnownTag}");

        await Assert.That(image.Prefixed).IsFalse();
        await Assert.That(credentials).IsNull();
        await Assert.That(check.Status).IsEqualTo(RegistryCheckStatus.AuthenticationRequired);
        await Assert.That(token.Tokens.RequestCount(TokenServer.AnonymousUser)).IsGreaterThan(before);
        // Only the anonymous bearer token ever travels; the configured Basic credentials never do.
        await Assert.That(handlers.Requests.Any(r => r.AuthorizationScheme == "Basic")).IsFalse();
    }

    [Test]
    public async Task An_invalid_image_name_is_reported_without_any_request()
    {
        var handlers = new TestOutboundHandlerFactory();
        using var registry = Create(handlers);
        var result = registry.Images.Resolve("UBUNTU:22.04");
        await Assert.That(result.Failure!.Message).Contains("must be lowercase");
        await Assert.That(result.IsSuccess).IsFalse();
        await Assert.That(handlers.Requests).IsEmpty();
    }
}

using System.Text;
using Composer.Configuration;
using Composer.Images;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Images.Registry;

/// <summary>The deploy pre-flight: resolution, credentials choice and registry check together, against both real registries.</summary>
[ClassDataSource<HtpasswdRegistryFixture, TokenRegistryFixture>(Shared = [SharedType.PerTestSession, SharedType.PerTestSession])]
public class ImagePreflightTests(HtpasswdRegistryFixture basic, TokenRegistryFixture token)
{
    private ImagePreflight Create(TestOutboundHandlerFactory handlers)
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
        return ImagePreflight.Create(resolved.Registry, resolved.Images, handlers);
    }

    [Test]
    public async Task An_image_of_the_configured_registry_gets_its_credentials_and_an_x_registry_auth()
    {
        using var preflight = Create(new TestOutboundHandlerFactory());
        var result = await preflight.CheckAsync($"{HtpasswdRegistryFixture.KnownRepository}:{HtpasswdRegistryFixture.KnownTag}");

        await Assert.That(result.IsAvailable).IsTrue().Because(result.Message);
        await Assert.That(result.Image!.Reference).IsEqualTo($"{basic.Host}/{HtpasswdRegistryFixture.KnownRepository}:{HtpasswdRegistryFixture.KnownTag}");
        await Assert.That(result.Check!.Digest).IsEqualTo(basic.KnownDigest);
        var json = Encoding.UTF8.GetString(Convert.FromBase64String(result.XRegistryAuth!.Replace('-', '+').Replace('_', '/')));
        await Assert.That(json).Contains($"\"serveraddress\":\"{basic.Host}\"");
        await Assert.That(json).Contains("\"email\":\"ops@example.com\"");
    }

    [Test]
    public async Task An_image_naming_another_registry_is_checked_and_pulled_without_the_credentials()
    {
        var handlers = new TestOutboundHandlerFactory();
        using var preflight = Create(handlers);
        var before = token.Tokens.RequestCount(TokenServer.AnonymousUser);
        var result = await preflight.CheckAsync($"{token.Host}/{TokenRegistryFixture.KnownRepository}:{TokenRegistryFixture.KnownTag}");

        await Assert.That(result.Image!.Prefixed).IsFalse();
        await Assert.That(result.Credentials).IsNull();
        await Assert.That(result.XRegistryAuth).IsNull();
        await Assert.That(result.Check!.Status).IsEqualTo(RegistryCheckStatus.AuthenticationRequired);
        await Assert.That(token.Tokens.RequestCount(TokenServer.AnonymousUser)).IsGreaterThan(before);
        // Only the anonymous bearer token ever travels; the configured Basic credentials never do.
        await Assert.That(handlers.Requests.Any(r => r.AuthorizationScheme == "Basic")).IsFalse();
    }

    [Test]
    public async Task An_invalid_image_name_is_reported_without_any_request()
    {
        var handlers = new TestOutboundHandlerFactory();
        using var preflight = Create(handlers);
        var result = await preflight.CheckAsync("UBUNTU:22.04");
        await Assert.That(result.InvalidImage).Contains("must be lowercase");
        await Assert.That(result.Check).IsNull();
        await Assert.That(handlers.Requests).IsEmpty();
    }
}

using Composer.Configuration;
using Composer.Images;
using Composer.Resolution;
using Microsoft.Extensions.Time.Testing;

namespace Composer.Tests.Images.Registry;

/// <summary>The registry configuration as of now: reloaded every token_ttl or on demand, the last good one kept when a reload fails.</summary>
public class RegistryConfigurationSourceTests
{
    private static RegistryConfiguration Config(string password, int ttl = 60) =>
        RegistryConfiguration.FromSettings(new RegistrySettings { Server = "registry.example.com", Username = "u", Password = Composer.Diagnostics.Secret.From(password), TokenTtl = ttl }, Composer.Configuration.ConfigProvenance.None, [], [])!;

    [Test]
    public async Task Current_reloads_once_token_ttl_has_passed()
    {
        var time = new FakeTimeProvider();
        var next = "p1";
        var reloads = 0;
        var source = new RegistryConfigurationSource(Config("p0"), () => { reloads++; return Config(next); }, time);
        await Assert.That(source.Current.Credentials!.Password?.Reveal()).IsEqualTo("p0");
        time.Advance(TimeSpan.FromSeconds(59));
        await Assert.That(source.Current.Credentials!.Password?.Reveal()).IsEqualTo("p0");
        time.Advance(TimeSpan.FromSeconds(1));
        await Assert.That(source.Current.Credentials!.Password?.Reveal()).IsEqualTo("p1");
        next = "p2";
        await Assert.That(source.Current.Credentials!.Password?.Reveal()).IsEqualTo("p1");
        await Assert.That(source.Reload().Credentials!.Password?.Reveal()).IsEqualTo("p2");
        await Assert.That(reloads).IsEqualTo(2);
    }

    [Test]
    public async Task A_failed_reload_keeps_the_last_good_configuration_and_a_source_without_reload_never_changes()
    {
        var time = new FakeTimeProvider();
        var source = new RegistryConfigurationSource(Config("good"), () => null, time);
        time.Advance(TimeSpan.FromHours(1));
        await Assert.That(source.Current.Credentials!.Password?.Reveal()).IsEqualTo("good");
        await Assert.That(source.Reload().Credentials!.Password?.Reveal()).IsEqualTo("good");
        var fixedSource = new RegistryConfigurationSource(Config("fixed"));
        await Assert.That(fixedSource.Reload().Credentials!.Password?.Reveal()).IsEqualTo("fixed");
    }

    [Test]
    public async Task Reloading_from_the_configuration_reads_the_password_file_again_and_survives_a_broken_one()
    {
        var directory = Directory.CreateTempSubdirectory("composer-registry-reload-").FullName;
        try
        {
            var file = Path.Combine(directory, "password");
            await File.WriteAllTextAsync(file, "first-password\n");
            var reload = SettingsLoader.RegistryReload(new ConfigLoadRequest
            {
                ConfigDirectory = directory,
                Environment = new Dictionary<string, string>
                {
                    ["OPENCTI__DAEMON__REGISTRY__SERVER"] = "registry.example.com",
                    ["OPENCTI__DAEMON__REGISTRY__USERNAME"] = "u",
                    ["OPENCTI__DAEMON__REGISTRY__PASSWORD_FILE"] = file,
                },
            }, Composer.Diagnostics.Logger.Null);
            await Assert.That(reload()!.Credentials!.Password?.Reveal()).IsEqualTo("first-password");
            await File.WriteAllTextAsync(file, "second-password\n");
            await Assert.That(reload()!.Credentials!.Password?.Reveal()).IsEqualTo("second-password");
            File.Delete(file);
            await Assert.That(reload()).IsNull();
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}

using Composer.Configuration;
using Composer.Images;
using Composer.Resolution;
using Microsoft.Extensions.Time.Testing;

namespace Composer.Tests.Images.Registry;

/// <summary>The registry credentials as of now: the password file read again every token_ttl or on demand, the last good password kept when a read fails.</summary>
public class RegistryCredentialSourceTests
{
    /// <summary>The registry of a configuration whose password is the file <paramref name="passwordFile"/>, loaded by the product's loader.</summary>
    private static RegistryConfiguration Loaded(string directory, string passwordFile, int ttl = 60)
    {
        var loaded = SettingsLoader.Load(new ConfigLoadRequest
        {
            ConfigDirectory = directory,
            RequireManagerKey = false,
            Environment = new Dictionary<string, string>
            {
                ["OPENCTI__DAEMON__REGISTRY__SERVER"] = "registry.example.com",
                ["OPENCTI__DAEMON__REGISTRY__USERNAME"] = "u",
                ["OPENCTI__DAEMON__REGISTRY__PASSWORD_FILE"] = passwordFile,
                ["OPENCTI__DAEMON__REGISTRY__TOKEN_TTL"] = ttl.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
        });
        return loaded.Resolved?.Registry ?? throw new InvalidOperationException(string.Join("; ", loaded.Errors));
    }

    private static async Task InDirectoryAsync(Func<string, Task> test)
    {
        var directory = Directory.CreateTempSubdirectory("composer-registry-reload-").FullName;
        try
        {
            await test(directory);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>A source over a password file holding <paramref name="password"/>, on a fake clock.</summary>
    private static async Task<(string File, RegistryCredentialSource Source, FakeTimeProvider Time)> StartAsync(string directory, string password)
    {
        var file = Path.Combine(directory, "password");
        await File.WriteAllTextAsync(file, password + "\n");
        var time = new FakeTimeProvider();
        return (file, new RegistryCredentialSource(Loaded(directory, file), time), time);
    }

    [Test]
    public Task Current_reads_the_password_file_again_once_token_ttl_has_passed() => InDirectoryAsync(async directory =>
    {
        var (file, source, time) = await StartAsync(directory, "p0-rotating-pw");
        await Assert.That(source.Current!.Password.Reveal()).IsEqualTo("p0-rotating-pw");
        await File.WriteAllTextAsync(file, "p1-rotating-pw\n");
        time.Advance(TimeSpan.FromSeconds(59));
        await Assert.That(source.Current!.Password.Reveal()).IsEqualTo("p0-rotating-pw");
        time.Advance(TimeSpan.FromSeconds(1));
        await Assert.That(source.Current!.Password.Reveal()).IsEqualTo("p1-rotating-pw");
        await File.WriteAllTextAsync(file, "p2-rotating-pw\n");
        await Assert.That(source.Current!.Password.Reveal()).IsEqualTo("p1-rotating-pw");
        await Assert.That(source.Reload()!.Password.Reveal()).IsEqualTo("p2-rotating-pw");
        await Assert.That(source.Current!.Username).IsEqualTo("u");
    });

    [Test]
    public Task A_failed_read_keeps_the_last_good_password_and_a_password_given_as_a_value_never_changes() => InDirectoryAsync(async directory =>
    {
        var (file, source, time) = await StartAsync(directory, "good-rotating-pw");
        File.Delete(file);
        time.Advance(TimeSpan.FromHours(1));
        await Assert.That(source.Current!.Password.Reveal()).IsEqualTo("good-rotating-pw");
        await File.WriteAllTextAsync(file, "\n");
        await Assert.That(source.Reload()!.Password.Reveal()).IsEqualTo("good-rotating-pw");
        var fixedSource = new RegistryCredentialSource(RegistryTestSupport.Configuration("registry.example.com", "u", "fixed-value-pw", tokenTtl: 60), time);
        time.Advance(TimeSpan.FromHours(1));
        await Assert.That(fixedSource.Reload()!.Password.Reveal()).IsEqualTo("fixed-value-pw");
        await Assert.That(fixedSource.Current!.Password.Reveal()).IsEqualTo("fixed-value-pw");
    });

    [Test]
    public Task The_password_file_is_the_one_the_configuration_named_and_nothing_else_is_read_again() => InDirectoryAsync(async directory =>
    {
        var file = Path.Combine(directory, "password");
        await File.WriteAllTextAsync(file, "first-file-pw\n");
        var registry = Loaded(directory, file);
        await Assert.That(registry.PasswordFile).IsEqualTo(file);
        await Assert.That(registry.Credentials!.Password.Reveal()).IsEqualTo("first-file-pw");
        var source = new RegistryCredentialSource(registry);
        await File.WriteAllTextAsync(file, "second-file-pw\n");
        await Assert.That(source.Reload()!.Password.Reveal()).IsEqualTo("second-file-pw");
        await Assert.That(source.Reload()!.ServerAddress).IsEqualTo("registry.example.com");
    });
}

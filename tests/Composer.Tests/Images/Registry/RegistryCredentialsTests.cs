using System.Text;
using System.Text.Json;
using Composer.Configuration;
using Composer.Images;

namespace Composer.Tests.Images.Registry;

public class RegistryCredentialsTests
{
    private static readonly Dictionary<string, string> NoEnvironment = [];

    private static RegistryConfiguration Config(string? server, string? user = "myuser", string? password = "mypassword", string? email = null) =>
        RegistryTestSupport.Configuration(server, user, password, email: email);

    /// <summary>The credentials a deploy of an image of <paramref name="imageHost"/> gets (the registry block's part of RegistryAccess.CredentialsForAsync).</summary>
    private static RegistryCredentials? CredentialsFor(RegistryConfiguration configuration, string imageHost) =>
        configuration.Credentials is { } credentials && credentials.IsFor(imageHost) ? credentials : null;

    [Test]
    public async Task X_registry_auth_is_base64url_of_compact_json_and_decodes_back()
    {
        const string password = "~~~???"; // its JSON's standard base64 holds both '+' and '/'
        var credentials = Config("registry.example.com", password: password, email: "user@example.com").Credentials!;
        var header = credentials.ToXRegistryAuth();

        var json = """{"username":"myuser","password":"~~~???","email":"user@example.com","serveraddress":"registry.example.com"}""";
        var standard = Convert.ToBase64String(Encoding.UTF8.GetBytes(json));
        await Assert.That(standard.Contains('+') && standard.Contains('/')).IsTrue(); // the vector is meaningful
        await Assert.That(header).IsEqualTo(standard.Replace('+', '-').Replace('/', '_'));
        await Assert.That(header).DoesNotContain("+");
        await Assert.That(header).DoesNotContain("/");
        await Assert.That(header.Contains('-') && header.Contains('_')).IsTrue();

        // What moby's DecodeAuthConfig does: base64url (padded), then JSON.
        var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header.Replace('-', '+').Replace('_', '/')));
        using var document = JsonDocument.Parse(decoded);
        await Assert.That(document.RootElement.GetProperty("password").GetString()).IsEqualTo(password);
        await Assert.That(document.RootElement.GetProperty("serveraddress").GetString()).IsEqualTo("registry.example.com");
    }

    [Test]
    public async Task X_registry_auth_leaves_out_an_absent_email()
    {
        var header = Config("registry.example.com").Credentials!.ToXRegistryAuth();
        var json = Encoding.UTF8.GetString(Convert.FromBase64String(header.Replace('-', '+').Replace('_', '/')));
        await Assert.That(json).IsEqualTo("""{"username":"myuser","password":"mypassword","serveraddress":"registry.example.com"}""");
    }

    [Test]
    public async Task Credentials_never_print_the_password()
    {
        var configuration = Config("registry.example.com", password: "Sup3r-S3cret!");
        await Assert.That(configuration.Credentials!.ToString()).DoesNotContain("Sup3r-S3cret!");
        await Assert.That(configuration.Credentials!.ToString()).Contains("myuser");
        await Assert.That(configuration.ToString()).DoesNotContain("Sup3r-S3cret!");
    }

    [Test]
    public async Task No_registry_configuration_means_anonymous_pulls()
    {
        var errors = new List<ConfigDiagnostic>();
        var configuration = RegistryConfiguration.FromSettings(null, ConfigProvenance.None, NoEnvironment, new ConfigReport(ConfigProvenance.None, errors, []))!;
        await Assert.That(configuration.Credentials).IsNull();
        await Assert.That(CredentialsFor(configuration, "docker.io")).IsNull();
        await Assert.That(errors).IsEmpty();
    }

    [Test]
    [Arguments("myuser", null)]
    [Arguments(null, "mypassword")]
    public async Task A_username_or_password_alone_is_an_error_naming_the_missing_key(string? user, string? password)
    {
        var errors = new List<ConfigDiagnostic>();
        var configuration = RegistryConfiguration.FromSettings(
            new RegistrySettings { Server = "registry.example.com", Username = user, Password = Composer.Diagnostics.Secret.From(password) }, ConfigProvenance.None, NoEnvironment, new ConfigReport(ConfigProvenance.None, errors, []));
        await Assert.That(configuration).IsNull();
        await Assert.That(errors.Single().Message).Contains(user is null ? "opencti.daemon.registry.username" : "opencti.daemon.registry.password");
        await Assert.That(errors.Single().ToString()).DoesNotContain("mypassword");
    }

    [Test]
    [Arguments("registry.example.com", "registry.example.com", true)]
    [Arguments("registry.example.com", "REGISTRY.Example.COM", true)]
    [Arguments("registry.example.com:5000", "registry.example.com:5000", true)]
    [Arguments("registry.example.com:5000", "registry.example.com", false)]
    [Arguments("registry.example.com", "registry.example.com:5000", false)]
    [Arguments("harbor.corp/dockerhub-cache", "harbor.corp", true)]
    [Arguments("https://harbor.corp/dockerhub-cache/", "harbor.corp", true)]
    [Arguments("http://localhost:5000", "localhost:5000", true)]
    [Arguments("registry.example.com", "ghcr.io", false)]
    [Arguments("registry.example.com", "docker.io", false)]
    [Arguments("docker.io", "registry-1.docker.io", true)]
    [Arguments("index.docker.io", "docker.io", true)]
    [Arguments("[::1]:5000", "[::1]:5000", true)]
    public async Task Credentials_go_only_to_the_configured_registry_host(string server, string imageHost, bool expected)
    {
        var configuration = Config(server);
        await Assert.That(CredentialsFor(configuration, imageHost) is not null).IsEqualTo(expected);
    }

    [Test]
    public async Task Credentials_without_a_server_are_for_docker_hub_only()
    {
        var warnings = new List<ConfigDiagnostic>();
        var configuration = RegistryConfiguration.FromSettings(
            new RegistrySettings { Username = "myuser", Password = new Composer.Diagnostics.Secret("mypassword") }, ConfigProvenance.None, NoEnvironment, new ConfigReport(ConfigProvenance.None, [], warnings))!;
        await Assert.That(CredentialsFor(configuration, "docker.io")).IsNotNull();
        await Assert.That(CredentialsFor(configuration, "ghcr.io")).IsNull();
        await Assert.That(warnings.Single().Message).Contains("Docker Hub");
        await Assert.That(configuration.DockerConfigJson([configuration.Credentials!])).Contains("\"https://index.docker.io/v1/\"");
    }

    [Test]
    public async Task Dockerconfigjson_holds_the_server_host_and_base64_user_colon_password()
    {
        var configuration = Config("registry.example.com:5000/team", email: "user@example.com");
        var json = configuration.DockerConfigJson([configuration.Credentials!]);
        using var document = JsonDocument.Parse(json);
        var entry = document.RootElement.GetProperty("auths").GetProperty("registry.example.com:5000");
        await Assert.That(entry.GetProperty("username").GetString()).IsEqualTo("myuser");
        await Assert.That(entry.GetProperty("password").GetString()).IsEqualTo("mypassword");
        await Assert.That(entry.GetProperty("email").GetString()).IsEqualTo("user@example.com");
        await Assert.That(entry.GetProperty("auth").GetString()).IsEqualTo(Convert.ToBase64String(Encoding.UTF8.GetBytes("myuser:mypassword")));
        var keys = document.RootElement.GetProperty("auths").EnumerateObject().Select(p => p.Name).ToList();
        await Assert.That(keys).IsEquivalentTo(new[] { "registry.example.com:5000", "https://registry.example.com:5000" });
        await Assert.That(document.RootElement.GetProperty("auths").GetProperty("https://registry.example.com:5000").GetProperty("password").GetString()).IsEqualTo("mypassword");
    }

    [Test]
    [Arguments("registry.example.com:5000", "registry-example-com-5000")]
    [Arguments("registry.example.com", "registry-example-com")]
    [Arguments("Harbor.Corp/DockerHub_Cache", "harbor-corp-dockerhub-cache")]
    [Arguments("http://localhost:5000", "localhost-5000")]
    [Arguments("--weird..name--", "weird-name")]
    public async Task Pull_secret_name_is_the_slug_of_the_server(string server, string expected)
    {
        var errors = new List<ConfigDiagnostic>();
        var configuration = RegistryConfiguration.FromSettings(new RegistrySettings { Server = server }, ConfigProvenance.None, NoEnvironment, new ConfigReport(ConfigProvenance.None, errors, []));
        var name = configuration?.PullSecretName ?? RegistryConfiguration.Slug(server);
        await Assert.That(name).IsEqualTo(expected);
    }

    [Test]
    [Arguments("http://10.0.0.5:5000", "10.0.0.5:5000", "http")]
    [Arguments("https://127.0.0.1:5000", "127.0.0.1:5000", "https")]
    [Arguments("registry.example.com", "registry.example.com", "https")]
    [Arguments("registry.example.com", "localhost:5000", "http")]
    [Arguments("registry.example.com", "127.0.0.2:5000", "http")]
    [Arguments("registry.example.com", "[::1]:5000", "http")]
    [Arguments("http://10.0.0.5:5000", "10.0.0.6:5000", "https")]
    public async Task Scheme_is_https_except_loopback_or_an_explicit_http_server(string server, string host, string scheme)
    {
        await Assert.That(Config(server).SchemeFor(host)).IsEqualTo(scheme);
    }

    [Test]
    [Arguments("ftp://registry.example.com", "unsupported scheme")]
    [Arguments("registry.example.com:99999", "not between 1 and 65535")]
    [Arguments("registry..example.com", "not a valid registry host")]
    [Arguments("registry.example.com/Upper", "not a valid repository path")]
    public async Task An_invalid_server_is_an_error_naming_the_key(string server, string why)
    {
        var errors = new List<ConfigDiagnostic>();
        var configuration = RegistryConfiguration.FromSettings(new RegistrySettings { Server = server }, ConfigProvenance.None, NoEnvironment, new ConfigReport(ConfigProvenance.None, errors, []));
        await Assert.That(configuration).IsNull();
        await Assert.That(errors.Single().Key).IsEqualTo("opencti.daemon.registry.server");
        await Assert.That(errors.Single().Message).Contains(why);
    }

    [Test]
    public async Task Negative_retry_settings_are_errors()
    {
        var errors = new List<ConfigDiagnostic>();
        var configuration = RegistryConfiguration.FromSettings(new RegistrySettings { RetryAttempts = -1, RetryDelay = -2, TokenTtl = 0 }, ConfigProvenance.None, NoEnvironment, new ConfigReport(ConfigProvenance.None, errors, []));
        await Assert.That(configuration).IsNull();
        await Assert.That(errors.Count).IsEqualTo(3);
        await Assert.That(string.Join("\n", errors)).Contains("retry_attempts");
    }

    [Test]
    public async Task The_docker_config_is_found_as_the_docker_cli_finds_it()
    {
        List<ConfigDiagnostic> errors = [];
        string? PathFor(RegistrySettings? settings, Dictionary<string, string> environment) =>
            RegistryConfiguration.FromSettings(settings, ConfigProvenance.None, environment, new ConfigReport(ConfigProvenance.None, errors, []))?.DockerConfigPath;

        await Assert.That(PathFor(null, NoEnvironment)).IsNull();
        await Assert.That(PathFor(null, new() { ["HOME"] = "/home/c" })).IsEqualTo("/home/c/.docker/config.json");
        await Assert.That(PathFor(null, new() { ["HOME"] = "/home/c", ["DOCKER_CONFIG"] = "/etc/dc" })).IsEqualTo("/etc/dc/config.json");
        var file = Path.GetTempFileName();
        try
        {
            await Assert.That(PathFor(new RegistrySettings { DockerConfig = file }, new() { ["DOCKER_CONFIG"] = "/etc/dc" })).IsEqualTo(file);
            await Assert.That(errors).IsEmpty();
        }
        finally
        {
            File.Delete(file);
        }
        await Assert.That(PathFor(new RegistrySettings { DockerConfig = "/nonexistent/composer/config.json" }, NoEnvironment)).IsNull();
        await Assert.That(errors.Single().Key).IsEqualTo("opencti.daemon.registry.docker_config");
        await Assert.That(errors.Single().Message).Contains("does not exist");
    }
}

using System.Text;
using Composer.Images;

namespace Composer.Tests.Images.Registry;

/// <summary>
/// config.json read as the docker CLI reads it: auths keys in their three forms (Docker Hub's legacy URL, host:port,
/// a URL with scheme and path), "auth" decoded, username/password, identitytoken, registrytoken; credHelpers by exact
/// key, credsStore for the rest; broken files and entries named without quoting what they hold.
/// </summary>
public class DockerConfigFileTests
{
    private static string Auth(string user, string password) => Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password));

    private static DockerConfigFile Parse(string json)
    {
        var parsed = DockerConfigFile.Parse("/cfg/config.json", Encoding.UTF8.GetBytes(json));
        if (!parsed.IsSuccess) throw new InvalidOperationException(parsed.Failure.Message);
        return parsed.Value;
    }

    private static RegistryCredentials? Found(DockerConfigFile file, string host)
    {
        var found = file.AuthsFor(host);
        if (!found.IsSuccess) throw new InvalidOperationException(found.Failure.Message);
        return found.Value.Credentials;
    }

    [Test]
    [Arguments("registry.example.com:5000", "registry.example.com:5000", true)]
    [Arguments("https://registry.example.com:5000", "registry.example.com:5000", true)]
    [Arguments("http://registry.example.com:5000/v2/", "registry.example.com:5000", true)]
    [Arguments("registry.example.com", "registry.example.com:5000", false)]
    [Arguments("registry.example.com:5000", "registry.example.com", false)]
    [Arguments("https://index.docker.io/v1/", "docker.io", true)]
    [Arguments("https://index.docker.io/v1/", "index.docker.io", true)]
    [Arguments("docker.io", "docker.io", false)]
    [Arguments("Registry.Example.com", "registry.example.com", false)]
    public async Task Keys_match_hosts_as_the_docker_cli_matches_them(string key, string imageHost, bool matches)
    {
        var file = Parse("{\"auths\":{\"" + key + "\":{\"auth\":\"" + Auth("u", "p+/w:d") + "\"}}}");
        var credentials = Found(file, imageHost);
        await Assert.That(credentials is not null).IsEqualTo(matches);
        if (credentials is null) return;
        await Assert.That(credentials.Username).IsEqualTo("u");
        await Assert.That(credentials.Password.Reveal()).IsEqualTo("p+/w:d");
        await Assert.That(credentials.Source).Contains("/cfg/config.json");
        await Assert.That(credentials.IsFor(imageHost)).IsTrue();
    }

    [Test]
    public async Task The_exact_key_wins_over_a_url_of_the_same_host()
    {
        var file = Parse("{\"auths\":{\"https://reg.example.com\":{\"auth\":\"" + Auth("url", "1") + "\"},\"reg.example.com\":{\"auth\":\"" + Auth("exact", "2") + "\"}}}");
        await Assert.That(Found(file, "reg.example.com")!.Username).IsEqualTo("exact");
    }

    [Test]
    public async Task Username_and_password_fields_identity_and_registry_tokens_are_read()
    {
        var file = Parse("""
            {"auths":{
              "a.example.com":{"username":"ua","password":"pa","email":"a@example.com"},
              "b.example.com":{"username":"ub","identitytoken":"refresh-b"},
              "c.example.com":{"registrytoken":"bearer-c"},
              "d.example.com":{}
            }}
            """);
        var a = Found(file, "a.example.com")!;
        await Assert.That((a.Username, a.Password.Reveal(), a.Email, a.HasPassword)).IsEqualTo(("ua", "pa", "a@example.com", true));
        var b = Found(file, "b.example.com")!;
        await Assert.That((b.IdentityToken?.Reveal(), b.HasPassword, b.Who)).IsEqualTo(("refresh-b", false, "the identity token of user 'ub'"));
        await Assert.That(b.ToString()).DoesNotContain("refresh-b");
        var c = Found(file, "c.example.com")!;
        await Assert.That(c.RegistryToken?.Reveal()).IsEqualTo("bearer-c");
        await Assert.That(Found(file, "d.example.com")).IsNull();
    }

    [Test]
    public async Task A_broken_entry_fails_its_own_registry_without_quoting_it()
    {
        var file = Parse("{\"auths\":{\"bad.example.com\":{\"auth\":\"bm90LWJhc2U2NCEhIQ==!!secret\"},\"nocolon.example.com\":{\"auth\":\"" + Convert.ToBase64String("justonepart"u8)
            + "\"},\"good.example.com\":{\"auth\":\"" + Auth("g", "p") + "\"}}}");
        var bad = file.AuthsFor("bad.example.com");
        await Assert.That(bad.IsSuccess).IsFalse();
        await Assert.That(bad.Failure!.Message).Contains("auths[\"bad.example.com\"]");
        await Assert.That(bad.Failure!.Message).Contains("not base64");
        await Assert.That(bad.Failure!.Message).DoesNotContain("secret");
        await Assert.That(file.AuthsFor("nocolon.example.com").Failure!.Message).Contains("user:password");
        await Assert.That(Found(file, "good.example.com")!.Username).IsEqualTo("g");
    }

    [Test]
    public async Task Cred_helpers_match_the_exact_key_and_creds_store_serves_the_rest()
    {
        var file = Parse("""{"credHelpers":{"gcr.example.com":"gcloud","https://index.docker.io/v1/":"hub"},"credsStore":"pass"}""");
        await Assert.That(file.HelperFor("gcr.example.com")).IsEqualTo("gcloud");
        await Assert.That(file.HelperFor("docker.io")).IsEqualTo("hub");
        await Assert.That(file.HelperFor("other.example.com:5000")).IsEqualTo("pass");
        var noStore = Parse("""{"credHelpers":{"gcr.example.com":"gcloud"}}""");
        await Assert.That(noStore.HelperFor("other.example.com")).IsNull();
    }

    [Test]
    public async Task Invalid_json_is_named_by_position_without_its_text()
    {
        var parsed = DockerConfigFile.Parse("/cfg/config.json", Encoding.UTF8.GetBytes("{\"auths\": {\"x\": {\"auth\": \"s3cr3t-value\" ,,}}"));
        await Assert.That(parsed.IsSuccess).IsFalse();
        await Assert.That(parsed.Failure!.Message).Contains("/cfg/config.json");
        await Assert.That(parsed.Failure!.Message).Contains("not valid JSON");
        await Assert.That(parsed.Failure!.Message).DoesNotContain("s3cr3t");
        await Assert.That(DockerConfigFile.Parse("/cfg/config.json", "[]"u8.ToArray()).Failure!.Message).Contains("not a JSON object");
    }

    [Test]
    public async Task A_missing_file_holds_nothing_and_an_oversized_one_is_refused()
    {
        var directory = Directory.CreateTempSubdirectory("composer-dockercfg-");
        try
        {
            var missing = DockerConfigFile.Read(Path.Combine(directory.FullName, "absent", "config.json"));
            await Assert.That(missing.IsSuccess).IsTrue();
            await Assert.That(missing.Value!.AuthsFor("docker.io").Value!.Credentials).IsNull();
            var big = Path.Combine(directory.FullName, "config.json");
            await File.WriteAllTextAsync(big, "{\"x\":\"" + new string('a', DockerConfigFile.MaxBytes) + "\"}");
            var read = DockerConfigFile.Read(big);
            await Assert.That(read.IsSuccess).IsFalse();
            await Assert.That(read.Failure!.Message).Contains("larger than");
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }
}

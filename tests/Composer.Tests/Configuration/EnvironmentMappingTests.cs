using static Composer.Tests.Configuration.ConfigTestSupport;

namespace Composer.Tests.Configuration;

public class EnvironmentMappingTests
{
    [Test]
    public async Task Names_are_case_insensitive_and_unrelated_variables_are_ignored()
    {
        var r = Load(NewConfigDir(), BaseEnvironment(
            ("opencti__daemon__Registry__server", "registry.example.com"),
            ("PATH", "/bin"), ("HOME", "/root"), ("OPENCTI_URL", "ignored-single-underscore"), ("RANDOM__THING", "x")));
        await Assert.That(r.Errors).IsEmpty();
        await Assert.That(r.Settings.OpenCti.Daemon.Registry!.Server).IsEqualTo("registry.example.com");
    }

    [Test]
    public async Task Scalars_are_strict_and_strings_are_kept_verbatim()
    {
        var r = Load(NewConfigDir(), BaseEnvironment(
            ("MANAGER__ID", "0123"), ("OPENCTI__WITH_PROXY", "TRUE"), ("OPENCTI__DAEMON__REGISTRY__TOKEN_TTL", "60"),
            ("OPENCTI__DAEMON__REGISTRY__SERVER", "r.example")));
        await Assert.That(r.Errors).IsEmpty();
        await Assert.That(r.Settings.Manager.Id).IsEqualTo("0123");
        await Assert.That(r.Settings.OpenCti.WithProxy).IsTrue();
        await Assert.That(r.Settings.OpenCti.Daemon.Registry!.TokenTtl).IsEqualTo(60);
    }

    [Test]
    public async Task Product_page_registry_variables_all_bind()
    {
        var r = Load(NewConfigDir(), BaseEnvironment(
            ("OPENCTI__DAEMON__REGISTRY__SERVER", "custom.registry.io"),
            ("OPENCTI__DAEMON__REGISTRY__USERNAME", "myuser"),
            ("OPENCTI__DAEMON__REGISTRY__PASSWORD", "mypassword"),
            ("OPENCTI__DAEMON__REGISTRY__EMAIL", "user@company.com"),
            ("OPENCTI__DAEMON__REGISTRY__TOKEN_TTL", "1800"),
            ("OPENCTI__DAEMON__REGISTRY__RETRY_ATTEMPTS", "3"),
            ("OPENCTI__DAEMON__REGISTRY__RETRY_DELAY", "5")));
        await Assert.That(r.Errors).IsEmpty();
        var reg = r.Settings.OpenCti.Daemon.Registry!;
        await Assert.That((reg.Server, reg.Username, reg.Password?.Reveal(), reg.Email, reg.TokenTtl, reg.RetryAttempts, reg.RetryDelay))
            .IsEqualTo(("custom.registry.io", "myuser", "mypassword", "user@company.com", 1800, 3, 5));
    }

    [Test]
    public async Task Product_page_with_proxy_spelling_sets_the_canonical_setting()
    {
        var r = Load(NewConfigDir(), BaseEnvironment(("OPENCTI__DAEMON__WITH_PROXY", "true")));
        await Assert.That(r.Errors).IsEmpty();
        await Assert.That(r.Settings.OpenCti.WithProxy).IsTrue();
        await Assert.That(r.Provenance.EnvironmentVariableOf("opencti.with_proxy")).IsEqualTo("OPENCTI__DAEMON__WITH_PROXY");
        var yaml = Load(NewConfigDir(("production.yaml", "opencti:\n  daemon:\n    with_proxy: true\n")), BaseEnvironment());
        await Assert.That(yaml.Errors).IsEmpty();
        await Assert.That(yaml.Settings.OpenCti.WithProxy).IsTrue();
    }

    [Test]
    public async Task Both_with_proxy_spellings_agreeing_is_fine_and_disagreeing_is_an_error_naming_both()
    {
        var same = Load(NewConfigDir(), BaseEnvironment(("OPENCTI__WITH_PROXY", "true"), ("OPENCTI__DAEMON__WITH_PROXY", "true")));
        await Assert.That(same.Errors).IsEmpty();
        var differ = Load(NewConfigDir(), BaseEnvironment(("OPENCTI__WITH_PROXY", "false"), ("OPENCTI__DAEMON__WITH_PROXY", "true")));
        var error = differ.Errors.Single().ToString();
        await Assert.That(error).Contains("opencti.with_proxy");
        await Assert.That(error).Contains("opencti.daemon.with_proxy");
        await Assert.That(error).Contains("OPENCTI__WITH_PROXY");
        await Assert.That(error).Contains("OPENCTI__DAEMON__WITH_PROXY");
    }

    [Test]
    public async Task A_higher_layer_spelling_overrides_a_lower_layer_without_conflict()
    {
        var dir = NewConfigDir(("production.yaml", "opencti:\n  with_proxy: false\n"));
        var r = Load(dir, BaseEnvironment(("OPENCTI__DAEMON__WITH_PROXY", "true")));
        await Assert.That(r.Errors).IsEmpty();
        await Assert.That(r.Settings.OpenCti.WithProxy).IsTrue();
    }

    [Test]
    public async Task Indexed_lists_bind_in_numeric_order_and_replace_lower_layers()
    {
        var dir = NewConfigDir(("production.yaml", "opencti:\n  daemon:\n    docker:\n      dns: [1.1.1.1]\n"));
        var r = Load(dir, BaseEnvironment(
            ("OPENCTI__DAEMON__DOCKER__DNS__10", "ten"), ("OPENCTI__DAEMON__DOCKER__DNS__2", "two"), ("OPENCTI__DAEMON__DOCKER__DNS__0", "zero")));
        await Assert.That(r.Errors).IsEmpty();
        await Assert.That(r.Settings.OpenCti.Daemon.Docker!.Dns!).IsEquivalentTo(new[] { "zero", "two", "ten" });
    }

    [Test]
    public async Task Json_array_strings_bind_as_lists()
    {
        var r = Load(NewConfigDir(), BaseEnvironment(("OPENCTI__DAEMON__DOCKER__CAP_ADD", "[\"NET_ADMIN\", \"SYS_TIME\"]")));
        await Assert.That(r.Settings.OpenCti.Daemon.Docker!.CapAdd!).IsEquivalentTo(new[] { "NET_ADMIN", "SYS_TIME" });
    }

    [Test]
    public async Task Maps_and_lists_of_mappings_bind_from_indexed_names_or_json()
    {
        var r = Load(NewConfigDir(), BaseEnvironment(
            ("OPENCTI__DAEMON__DOCKER__SYSCTLS__NET.CORE.SOMAXCONN", "1024"),
            ("OPENCTI__DAEMON__DOCKER__ULIMITS__0__NAME", "nofile"),
            ("OPENCTI__DAEMON__DOCKER__ULIMITS__0__SOFT", "1024"),
            ("OPENCTI__DAEMON__DOCKER__ULIMITS__0__HARD", "2048"),
            ("OPENCTI__DAEMON__SWARM__ULIMITS", "[{\"name\":\"nproc\",\"soft\":1,\"hard\":2}]")));
        await Assert.That(r.Errors).IsEmpty();
        var docker = r.Settings.OpenCti.Daemon.Docker!;
        await Assert.That(docker.Sysctls!["net.core.somaxconn"]).IsEqualTo("1024");
        await Assert.That((docker.Ulimits![0].Name, docker.Ulimits[0].Soft, docker.Ulimits[0].Hard)).IsEqualTo(("nofile", (long?)1024, (long?)2048));
        await Assert.That(r.Settings.OpenCti.Daemon.Swarm!.Ulimits![0].Name).IsEqualTo("nproc");
    }

    [Test]
    public async Task Secret_FILE_variants_read_the_file_and_trim_one_trailing_newline()
    {
        var dir = NewConfigDir(("token", "file-token\n"), ("password", "p@ss\r\n"));
        var r = Load(NewConfigDir(), BaseEnvironment(
            ("OPENCTI__TOKEN_FILE", Path.Combine(dir, "token")),
            ("OPENCTI__DAEMON__REGISTRY__SERVER", "r.example"),
            ("OPENCTI__DAEMON__REGISTRY__USERNAME", "u"),
            ("OPENCTI__DAEMON__REGISTRY__PASSWORD_FILE", Path.Combine(dir, "password"))));
        await Assert.That(r.Errors).IsEmpty();
        await Assert.That(r.Settings.OpenCti.Token?.Reveal()).IsEqualTo("file-token");
        await Assert.That(r.Settings.OpenCti.Daemon.Registry!.Password?.Reveal()).IsEqualTo("p@ss");
        await Assert.That(r.Provenance.EnvironmentVariableOf("opencti.token")).IsEqualTo("OPENCTI__TOKEN_FILE");
    }

    [Test]
    public async Task Credentials_key_can_come_from_a_FILE_variable()
    {
        var env = new Dictionary<string, string> { ["MANAGER__CREDENTIALS_KEY_FILE"] = KeyFile };
        var r = Load(NewConfigDir(), env);
        await Assert.That(r.Errors).IsEmpty();
        await Assert.That(r.Settings.Manager.CredentialsKey!.Reveal()).StartsWith("-----BEGIN PRIVATE KEY-----");
    }

    [Test]
    public async Task Upper_case_proxy_variables_win_over_lower_case_with_a_warning_when_they_differ()
    {
        var r = Load(NewConfigDir(), BaseEnvironment(("https_proxy", "http://lower:1"), ("HTTPS_PROXY", "http://upper:2"), ("no_proxy", "a"), ("NO_PROXY", "a")));
        await Assert.That(r.Errors).IsEmpty();
        await Assert.That(r.Settings.HttpsProxy).IsEqualTo("http://upper:2");
        await Assert.That(r.Settings.NoProxy).IsEqualTo("a");
        await Assert.That(r.Warnings.Count(w => w.Message.Contains("both set with different values"))).IsEqualTo(1);
        var lowerOnly = Load(NewConfigDir(), BaseEnvironment(("http_proxy", "http://lower:1")));
        await Assert.That(lowerOnly.Settings.HttpProxy).IsEqualTo("http://lower:1");
    }

    [Test]
    public async Task Legacy_registry_names_map_or_warn()
    {
        var r = Load(NewConfigDir(), BaseEnvironment(("REGISTRY__URL", "old.registry.example"), ("REGISTRY__CACHE_TTL", "3600"), ("REGISTRY__ENABLE", "true")));
        await Assert.That(r.Errors).IsEmpty();
        await Assert.That(r.Settings.OpenCti.Daemon.Registry!.Server).IsEqualTo("old.registry.example");
        var text = string.Join("\n", r.Warnings);
        await Assert.That(text).Contains("REGISTRY__URL sets opencti.daemon.registry.server");
        await Assert.That(text).Contains("token_ttl");
        await Assert.That(text).Contains("REGISTRY__ENABLE");
        var yaml = Load(NewConfigDir(("production.yaml", "registry:\n  url: y.example\n  cache_ttl: 3600\n")), BaseEnvironment());
        await Assert.That(yaml.Errors).IsEmpty();
        await Assert.That(yaml.Settings.OpenCti.Daemon.Registry!.Server).IsEqualTo("y.example");
        await Assert.That(string.Join("\n", yaml.Warnings)).Contains("registry.cache_ttl does not exist");
    }

    [Test]
    public async Task Raw_json_settings_keep_yaml_subtrees_as_json_with_camel_case_keys()
    {
        var dir = NewConfigDir(("production.yaml", "opencti:\n  daemon:\n    kubernetes:\n      base_deployment:\n        spec:\n          template:\n            spec:\n              serviceAccountName: sa\n              hostNetwork: false\n              priority: 5\n          replicas: \"2\"\n"));
        var r = Load(dir, BaseEnvironment(("OPENCTI__DAEMON__KUBERNETES__IMAGE_RESOURCES", "{\"limits\":{\"cpu\":\"1\"}}")));
        await Assert.That(r.Errors).IsEmpty();
        var k = r.Settings.OpenCti.Daemon.Kubernetes!;
        await Assert.That(k.BaseDeployment).IsEqualTo("{\"spec\":{\"template\":{\"spec\":{\"serviceAccountName\":\"sa\",\"hostNetwork\":false,\"priority\":5}},\"replicas\":\"2\"}}");
        await Assert.That(k.ImageResources).IsEqualTo("{\"limits\":{\"cpu\":\"1\"}}");
    }
}

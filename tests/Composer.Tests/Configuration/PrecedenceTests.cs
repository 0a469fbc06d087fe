using Composer.Configuration;
using static Composer.Tests.Configuration.ConfigTestSupport;

namespace Composer.Tests.Configuration;

public class PrecedenceTests
{
    [Test]
    public async Task Built_in_defaults_apply_without_any_file()
    {
        var r = Load(NewConfigDir(), BaseEnvironment());
        await Assert.That(r.Errors).IsEmpty();
        await Assert.That(r.Settings.OpenCti.Daemon.Registry).IsNull();
        await Assert.That(new RegistrySettings().TokenTtl).IsEqualTo(1800);
        await Assert.That(r.Provenance.Describe("manager.id")).IsEqualTo("default");
    }

    [Test]
    public async Task Shipped_default_yaml_binds_to_exactly_the_built_in_defaults()
    {
        var shipped = Path.Combine(Infrastructure.RepoPaths.Root, "config");
        var fromFile = Load(shipped, BaseEnvironment());
        await Assert.That(fromFile.Errors).IsEmpty();
        await Assert.That(fromFile.FilesRead.Count).IsEqualTo(1);
        var builtIn = Load(NewConfigDir(), BaseEnvironment());
        await Assert.That(ConfigRendering.ToJson(fromFile.Settings, redact: false))
            .IsEqualTo(ConfigRendering.ToJson(builtIn.Settings, redact: false));
    }

    [Test]
    public async Task Default_yaml_overrides_built_in_defaults()
    {
        var dir = NewConfigDir(("default.yaml", "manager:\n  name: from-default\n"));
        var r = Load(dir, BaseEnvironment());
        await Assert.That(r.Settings.Manager.Name).IsEqualTo("from-default");
        await Assert.That(r.Provenance.Describe("manager.name")).IsEqualTo($"{dir}/default.yaml:2:9");
    }

    [Test]
    public async Task Environment_file_overrides_default_yaml_and_COMPOSER_ENV_selects_it()
    {
        var dir = NewConfigDir(
            ("default.yaml", "manager:\n  name: from-default\n  id: default-id\n"),
            ("production.yaml", "manager:\n  name: from-production\n"),
            ("staging.yml", "manager:\n  name: from-staging\n"));
        var production = Load(dir, BaseEnvironment());
        await Assert.That(production.Settings.Manager.Name).IsEqualTo("from-production");
        await Assert.That(production.Settings.Manager.Id).IsEqualTo("default-id");
        var staging = Load(dir, BaseEnvironment(("COMPOSER_ENV", "staging")));
        await Assert.That(staging.Settings.Manager.Name).IsEqualTo("from-staging");
        await Assert.That(staging.Provenance.Describe("manager.name")).IsEqualTo($"{dir}/staging.yml:2:9");
    }

    [Test]
    public async Task Environment_json_file_is_read_as_upstream_would()
    {
        var dir = NewConfigDir(("production.json", "{\"manager\": {\"name\": \"from-json\"}}"));
        var r = Load(dir, BaseEnvironment());
        await Assert.That(r.Settings.Manager.Name).IsEqualTo("from-json");
        await Assert.That(r.Provenance.Describe("manager.name")).IsEqualTo($"{dir}/production.json:1:22");
    }

    [Test]
    public async Task Json_wins_over_yaml_of_the_same_name_and_the_other_is_reported()
    {
        var dir = NewConfigDir(("production.json", "{\"manager\": {\"name\": \"json\"}}"), ("production.yaml", "manager:\n  name: yaml\n"));
        var r = Load(dir, BaseEnvironment());
        await Assert.That(r.Settings.Manager.Name).IsEqualTo("json");
        await Assert.That(r.Warnings.Any(w => w.Message.Contains("ignored"))).IsTrue();
    }

    [Test]
    public async Task Config_json_overrides_the_environment_file()
    {
        var dir = NewConfigDir(
            ("production.yaml", "https_proxy: http://yaml-proxy:1\nmanager:\n  name: yaml\n"),
            ("config.json", "{\n  \"https_proxy\": \"http://json-proxy:2\",\n  \"https_proxy_ca\": [\"" + CaCertificateFile + "\"],\n  \"https_proxy_reject_unauthorized\": false\n}"));
        var r = Load(dir, BaseEnvironment());
        await Assert.That(r.Errors).IsEmpty();
        await Assert.That(r.Settings.HttpsProxy).IsEqualTo("http://json-proxy:2");
        await Assert.That(r.Settings.Manager.Name).IsEqualTo("yaml");
        await Assert.That(r.Settings.HttpsProxyRejectUnauthorized == false).IsTrue();
        await Assert.That(r.Settings.HttpsProxyCa!).IsEquivalentTo(new[] { CaCertificateFile });
        await Assert.That(r.Provenance.Describe("https_proxy")).IsEqualTo($"{dir}/config.json:2:18");
    }

    [Test]
    public async Task Environment_overrides_every_file()
    {
        var dir = NewConfigDir(
            ("default.yaml", "opencti:\n  token: a\n"),
            ("production.yaml", "opencti:\n  token: b\n"),
            ("config.json", "{\"opencti\": {\"token\": \"c\"}}"));
        var r = Load(dir, BaseEnvironment(("OPENCTI__TOKEN", "d")));
        await Assert.That(r.Settings.OpenCti.Token?.Reveal()).IsEqualTo("d");
        await Assert.That(r.Provenance.Describe("opencti.token")).IsEqualTo("environment OPENCTI__TOKEN");
        await Assert.That(r.Provenance.EnvironmentVariableOf("opencti.token")).IsEqualTo("OPENCTI__TOKEN");
    }

    [Test]
    public async Task Config_dir_comes_from_COMPOSER_CONFIG_DIR_when_no_flag_is_given()
    {
        var dir = NewConfigDir(("production.yaml", "manager:\n  name: via-env-dir\n"));
        var r = Load(null, BaseEnvironment(("COMPOSER_CONFIG_DIR", dir)));
        await Assert.That(r.Settings.Manager.Name).IsEqualTo("via-env-dir");
    }

    [Test]
    public async Task An_explicit_config_dir_that_does_not_exist_is_an_error()
    {
        var r = Load("/nonexistent/composer-config", BaseEnvironment());
        await Assert.That(r.Errors.Single().ToString()).IsEqualTo("config directory: directory \"/nonexistent/composer-config\" does not exist (--config-dir)");
    }

    [Test]
    public async Task Lists_are_replaced_and_maps_merge_across_layers()
    {
        var dir = NewConfigDir(
            ("default.yaml", "opencti:\n  daemon:\n    docker:\n      dns: [1.1.1.1, 8.8.8.8]\n      sysctls: {a: \"1\", b: \"2\"}\n"),
            ("production.yaml", "opencti:\n  daemon:\n    docker:\n      dns: [9.9.9.9]\n      sysctls: {b: \"3\"}\n"));
        var r = Load(dir, BaseEnvironment());
        var docker = r.Settings.OpenCti.Daemon.Docker!;
        await Assert.That(docker.Dns!).IsEquivalentTo(new[] { "9.9.9.9" });
        await Assert.That(docker.Sysctls!["a"]).IsEqualTo("1");
        await Assert.That(docker.Sysctls!["b"]).IsEqualTo("3");
    }
}

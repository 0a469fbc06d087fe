using Composer.Configuration;
using static Composer.Tests.Configuration.ConfigTestSupport;

namespace Composer.Tests.Configuration;

public class ProvenanceTests
{
    [Test]
    public async Task Every_value_records_file_line_and_column_of_the_value()
    {
        var dir = NewConfigDir(("production.yaml", "opencti:\n  daemon:\n    registry:\n      server: r.example.com\n      token_ttl: 60\n    docker:\n      dns:\n        - 10.0.0.2\n"));
        var r = Load(dir, BaseEnvironment());
        await Assert.That(r.Provenance.Describe("opencti.daemon.registry.server")).IsEqualTo($"{dir}/production.yaml:4:15");
        await Assert.That(r.Provenance.Describe("opencti.daemon.registry.token_ttl")).IsEqualTo($"{dir}/production.yaml:5:18");
        await Assert.That(r.Provenance.Describe("opencti.daemon.docker.dns")).IsEqualTo($"{dir}/production.yaml:8:9");
        await Assert.That(r.Provenance.OriginOf("opencti.daemon.registry.server").Kind).IsEqualTo(OriginKind.File);
        await Assert.That(r.Provenance.Describe("opencti.daemon.registry.email")).IsEqualTo("default");
    }

    [Test]
    public async Task The_alias_spelling_is_recorded_against_the_canonical_key()
    {
        var dir = NewConfigDir(("production.yaml", "opencti:\n  daemon:\n    with_proxy: true\n"));
        var r = Load(dir, BaseEnvironment());
        await Assert.That(r.Provenance.Describe("opencti.with_proxy")).IsEqualTo($"{dir}/production.yaml:3:17");
    }

    [Test]
    public async Task Environment_variable_names_are_available_to_other_areas()
    {
        var r = Load(NewConfigDir(), BaseEnvironment(("opencti__daemon__registry__password", "x"), ("OPENCTI__DAEMON__REGISTRY__SERVER", "s"), ("OPENCTI__DAEMON__REGISTRY__USERNAME", "u")));
        await Assert.That(r.Provenance.EnvironmentVariableOf("opencti.daemon.registry.password")).IsEqualTo("opencti__daemon__registry__password");
        await Assert.That(r.Provenance.EnvironmentVariableOf("opencti.url")).IsNull();
        await Assert.That(r.Provenance.EnvironmentVariableOf("manager.credentials_key_filepath")).IsEqualTo("MANAGER__CREDENTIALS_KEY_FILEPATH");
    }

    [Test]
    public async Task Sources_listing_covers_every_setting_and_never_a_secret_value()
    {
        var r = Load(FullExampleDir(), FullExampleEnvironment());
        await Assert.That(r.Errors).IsEmpty();
        var entries = r.Provenance.Entries().ToList();
        await Assert.That(entries.Count).IsEqualTo(ConfigProvenance.Keys.Count(k => k.Kind != SlotKind.Section));
        var yaml = ConfigRendering.ToYaml(r.Settings, redact: true, r.Provenance);
        await Assert.That(yaml).DoesNotContain("env-registry-password");
        await Assert.That(yaml).Contains("password: \"***\"  # environment OPENCTI__DAEMON__REGISTRY__PASSWORD");
    }
}

using System.Text.Json;
using Composer.Configuration;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Configuration;

/// <summary>
/// docs/configuration.md and docs/composer.schema.json are generated; they must equal the generator's output.
/// Regenerate with: out/composer config docs > docs/configuration.md; out/composer config schema > docs/composer.schema.json
/// (or run the tests with COMPOSER_UPDATE_DOCS=1).
/// </summary>
public class DocsAndSchemaTests
{
    private static async Task CheckFile(string relative, string generated)
    {
        var path = Path.Combine(RepoPaths.Root, relative);
        if (Environment.GetEnvironmentVariable("COMPOSER_UPDATE_DOCS") == "1") await File.WriteAllTextAsync(path, generated);
        await Assert.That(File.Exists(path)).IsTrue().Because($"{relative} is missing; run: composer config docs/schema");
        await Assert.That(await File.ReadAllTextAsync(path)).IsEqualTo(generated).Because($"{relative} is stale; regenerate it");
    }

    [Test]
    public async Task Configuration_reference_is_up_to_date() => await CheckFile("docs/configuration.md", ConfigDocs.Markdown());

    [Test]
    public async Task Json_schema_is_up_to_date() => await CheckFile("docs/composer.schema.json", ConfigDocs.Schema());

    [Test]
    public async Task Reference_lists_every_key_with_its_environment_variable()
    {
        var md = ConfigDocs.Markdown();
        foreach (var slot in ConfigProvenance.Keys.Where(k => k.Kind != SlotKind.Section))
        {
            await Assert.That(md).Contains($"| `{slot.Path}` | `{slot.EnvironmentName}`");
        }
        await Assert.That(md).Contains("`OPENCTI__DAEMON__REGISTRY__PASSWORD_FILE`");
        await Assert.That(md).Contains("`opencti.daemon.with_proxy`");
        await Assert.That(md).Contains("| `opencti.daemon.registry.token_ttl` | `OPENCTI__DAEMON__REGISTRY__TOKEN_TTL` | integer (seconds) | `1800` |");
    }

    [Test]
    public async Task Schema_is_valid_json_with_defaults_and_closed_objects()
    {
        using var doc = JsonDocument.Parse(ConfigDocs.Schema());
        var registry = doc.RootElement.GetProperty("properties").GetProperty("opencti").GetProperty("properties")
            .GetProperty("daemon").GetProperty("properties").GetProperty("registry");
        await Assert.That(registry.GetProperty("additionalProperties").GetBoolean()).IsFalse();
        await Assert.That(registry.GetProperty("properties").GetProperty("token_ttl").GetProperty("default").GetInt32()).IsEqualTo(1800);
        var daemon = doc.RootElement.GetProperty("properties").GetProperty("opencti").GetProperty("properties").GetProperty("daemon");
        await Assert.That(daemon.GetProperty("properties").TryGetProperty("with_proxy", out _)).IsTrue();
    }
}

using System.Text;
using Composer.Configuration;
using static Composer.Tests.Configuration.ConfigTestSupport;

namespace Composer.Tests.Configuration;

public class RenderingTests
{
    [Test]
    public async Task Unredacted_yaml_output_binds_back_to_the_same_configuration()
    {
        var original = Load(FullExampleDir(), FullExampleEnvironment());
        await Assert.That(original.Errors).IsEmpty();
        var yaml = ConfigRendering.ToYaml(original.Settings, redact: false);

        var settings = new ComposerSettings();
        var ctx = new BindContext(ConfigProvenance.Keys.ToArray());
        ConfigurationLoader.BindYaml(ctx, settings, "rendered.yaml", Encoding.UTF8.GetBytes(yaml));
        await Assert.That(ctx.Errors).IsEmpty();
        await Assert.That(ConfigRendering.ToJson(settings, redact: false)).IsEqualTo(ConfigRendering.ToJson(original.Settings, redact: false));
    }

    [Test]
    public async Task Unredacted_json_output_binds_back_to_the_same_configuration()
    {
        var original = Load(FullExampleDir(), FullExampleEnvironment());
        var json = ConfigRendering.ToJson(original.Settings, redact: false);
        var settings = new ComposerSettings();
        var ctx = new BindContext(ConfigProvenance.Keys.ToArray());
        ConfigurationLoader.BindJson(ctx, settings, "rendered.json", Encoding.UTF8.GetBytes(json));
        await Assert.That(ctx.Errors).IsEmpty();
        await Assert.That(ConfigRendering.ToJson(settings, redact: false)).IsEqualTo(json);
    }

    [Test]
    [Arguments("http://user:pass@proxy:3128", "http://user:***@proxy:3128")]
    [Arguments("http://proxy:3128", "http://proxy:3128")]
    [Arguments("https://only-user@proxy.example.com/path", "https://***@proxy.example.com/path")] // a lone user-info is often a token
    [Arguments("user:p@ss@proxy:3128", "user:***@proxy:3128")]
    public async Task Proxy_urls_are_redacted_to_the_user_name(string url, string expected)
    {
        await Assert.That(ConfigOutput.RedactUrl(url)).IsEqualTo(expected);
    }
}

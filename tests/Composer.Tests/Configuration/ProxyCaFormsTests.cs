using static Composer.Tests.Configuration.ConfigTestSupport;

namespace Composer.Tests.Configuration;

/// <summary>https_proxy_ca accepts the four forms the Rust version accepts (upstream §1.4).</summary>
public class ProxyCaFormsTests
{
    private static string Ca => CaCertificateFile;

    [Test]
    public async Task Yaml_list()
    {
        var r = Load(NewConfigDir(("production.yaml", $"opencti:\n  https_proxy_ca:\n    - {Ca}\n    - {Ca}\n")), BaseEnvironment());
        await Assert.That(r.Errors).IsEmpty();
        await Assert.That(r.Settings.OpenCti.HttpsProxyCa!).IsEquivalentTo(new[] { Ca, Ca });
    }

    [Test]
    public async Task Json_array_string_in_yaml_and_in_the_environment()
    {
        var r = Load(NewConfigDir(("production.yaml", $"opencti:\n  https_proxy_ca: '[\"{Ca}\"]'\n")), BaseEnvironment());
        await Assert.That(r.Settings.OpenCti.HttpsProxyCa!).IsEquivalentTo(new[] { Ca });
        var e = Load(NewConfigDir(), BaseEnvironment(("HTTPS_PROXY_CA", $"[\"{Ca}\", \"{Ca}\"]")));
        await Assert.That(e.Errors).IsEmpty();
        await Assert.That(e.Settings.HttpsProxyCa!).IsEquivalentTo(new[] { Ca, Ca });
    }

    [Test]
    public async Task Single_string_including_an_inline_pem_block()
    {
        var pem = File.ReadAllText(Ca);
        var r = Load(NewConfigDir(), BaseEnvironment(("OPENCTI__HTTPS_PROXY_CA", pem)));
        await Assert.That(r.Errors).IsEmpty();
        await Assert.That(r.Settings.OpenCti.HttpsProxyCa!).IsEquivalentTo(new[] { pem });
        var file = Load(NewConfigDir(("production.yaml", $"opencti:\n  https_proxy_ca: {Ca}\n")), BaseEnvironment());
        await Assert.That(file.Settings.OpenCti.HttpsProxyCa!).IsEquivalentTo(new[] { Ca });
    }

    [Test]
    public async Task Indexed_map_sorted_numerically_in_yaml_and_in_the_environment()
    {
        var pem = File.ReadAllText(Ca);
        var r = Load(NewConfigDir(("production.yaml", $"opencti:\n  https_proxy_ca:\n    \"10\": {Ca}\n    \"2\": /second.pem\n")),
            BaseEnvironment());
        await Assert.That(r.Settings.OpenCti.HttpsProxyCa!).IsEquivalentTo(new[] { "/second.pem", Ca });
        var e = Load(NewConfigDir(), BaseEnvironment(("OPENCTI__HTTPS_PROXY_CA__1", pem), ("OPENCTI__HTTPS_PROXY_CA__0", Ca)));
        await Assert.That(e.Errors).IsEmpty();
        await Assert.That(e.Settings.OpenCti.HttpsProxyCa!).IsEquivalentTo(new[] { Ca, pem });
    }
}

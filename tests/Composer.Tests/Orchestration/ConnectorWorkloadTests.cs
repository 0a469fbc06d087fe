using Composer.Configuration;
using Composer.Images;
using Composer.Network;
using Composer.Orchestration;
using Composer.Reconciliation;

namespace Composer.Tests.Orchestration;

/// <summary>
/// The one environment precedence every orchestrator uses (docs/platform.md): a value Composer sets wins over a
/// contract entry of the same name, an empty platform entry never erases Composer's, without with_proxy the
/// platform's entries pass as sent, and each name is given once.
/// </summary>
public class ConnectorWorkloadTests
{
    /// <summary>What OpenCTI appends to every contract: identity, token, and its own proxy settings (empty ones included).</summary>
    private static readonly ContractEntry[] PlatformEntries =
    [
        new("CONNECTOR_ID", "c-1", false),
        new("CONNECTOR_NAME", "mitre", false),
        new("CONNECTOR_TYPE", "EXTERNAL_IMPORT", false),
        new("OPENCTI_TOKEN", "decrypted-token", true),
        new("HTTP_PROXY", "", false),
        new("HTTPS_PROXY", "http://platform-proxy:8080", false),
        new("NO_PROXY", "platform.internal", false),
        new("HTTPS_CA_CERTIFICATES", "-----BEGIN CERTIFICATE-----\nplatform\n-----END CERTIFICATE-----", false),
        new("HTTPS_PROXY_REJECT_UNAUTHORIZED", "false", false),
    ];

    private static DesiredConnector Connector(params ContractEntry[] entries) =>
        new("c-1", PlatformKind.OpenCti, "mitre", "opencti/connector-mitre:6.9.4", "hash-1", RequestedStatus.Starting, null, entries,
            PullImage: new ResolvedImage("opencti/connector-mitre:6.9.4", "opencti/connector-mitre:6.9.4", false, "docker.io", "opencti/connector-mitre", "6.9.4", null));

    private static WorkloadContext Context(ConnectorNetworkEnvironment network) =>
        new("manager-1", "http://opencti:8080", null, network, ConnectorNetworkEnvironment.None);

    private static ConnectorNetworkEnvironment WithProxy(Action<ComposerSettings> configure)
    {
        var settings = new ComposerSettings();
        settings.OpenCti.WithProxy = true;
        configure(settings);
        return ConnectorNetworkEnvironment.Compute(PlatformNetworkPolicy.Resolve(settings, PlatformKind.OpenCti), "");
    }

    private static async Task AssertEachNameOnceAsync(ConnectorWorkload workload)
    {
        var names = workload.Environment.Select(v => v.Name).ToList();
        await Assert.That(names.Distinct(StringComparer.Ordinal).Count()).IsEqualTo(names.Count).Because(string.Join(", ", names));
    }

    private static string? Value(ConnectorWorkload workload, string name) => workload.Environment.SingleOrDefault(v => v.Name == name)?.Value;

    [Test]
    public async Task Composer_with_proxy_settings_win_and_an_empty_platform_value_never_erases_them()
    {
        var network = WithProxy(s =>
        {
            s.OpenCti.HttpProxy = "http://composer-proxy:3128";
            s.OpenCti.HttpsProxy = "http://composer-proxy:3128";
        });
        var workload = ConnectorWorkload.Build(Connector([new ContractEntry("CONNECTOR_LOG_LEVEL", "info", false), .. PlatformEntries]), Context(network));

        await AssertEachNameOnceAsync(workload);
        await Assert.That(Value(workload, "HTTP_PROXY")).IsEqualTo("http://composer-proxy:3128").Because("the platform's is empty");
        await Assert.That(Value(workload, "HTTPS_PROXY")).IsEqualTo("http://composer-proxy:3128").Because("Composer's wins over the platform's");
        await Assert.That(Value(workload, "http_proxy")).IsEqualTo("http://composer-proxy:3128");
        await Assert.That(Value(workload, "HTTPS_PROXY_REJECT_UNAUTHORIZED")).IsEqualTo("true").Because("Composer's proxy is validated as Composer says");
        // What Composer does not set passes through as the platform sent it.
        await Assert.That(Value(workload, "NO_PROXY")).IsEqualTo("platform.internal");
        await Assert.That(Value(workload, "HTTPS_CA_CERTIFICATES")).IsEqualTo(PlatformEntries[7].Value);
        await Assert.That(Value(workload, "OPENCTI_TOKEN")).IsEqualTo("decrypted-token");
        await Assert.That(workload.Environment.Single(v => v.Name == "OPENCTI_TOKEN").Sensitive).IsTrue();
        await Assert.That(workload.Environment.Single(v => v.Name == "HTTPS_PROXY").Sensitive).IsTrue().Because("proxy URLs may carry credentials");
        await Assert.That(Value(workload, "CONNECTOR_LOG_LEVEL")).IsEqualTo("info");
    }

    [Test]
    public async Task Without_with_proxy_the_platform_entries_pass_as_sent_empty_ones_too()
    {
        var workload = ConnectorWorkload.Build(Connector(PlatformEntries), Context(ConnectorNetworkEnvironment.None));

        await AssertEachNameOnceAsync(workload);
        foreach (var entry in PlatformEntries) await Assert.That(Value(workload, entry.Key)).IsEqualTo(entry.Value);
        await Assert.That(Value(workload, "http_proxy")).IsNull();
    }

    [Test]
    public async Task Composer_own_variables_win_over_contract_entries_of_the_same_name()
    {
        var network = WithProxy(s => s.OpenCti.NoProxy = "composer.internal");
        var workload = ConnectorWorkload.Build(Connector(
            new ContractEntry("OPENCTI_URL", "http://elsewhere", false),
            new ContractEntry("OPENCTI_CONFIG_HASH", "forged", false),
            new ContractEntry("NO_PROXY", "stored.example", false),
            new ContractEntry("NO_PROXY", "platform.internal", false)), Context(network));

        await AssertEachNameOnceAsync(workload);
        await Assert.That(Value(workload, "OPENCTI_URL")).IsEqualTo("http://opencti:8080");
        await Assert.That(Value(workload, "OPENCTI_CONFIG_HASH")).IsEqualTo("hash-1");
        await Assert.That(Value(workload, "NO_PROXY")).IsEqualTo("composer.internal");
    }
}

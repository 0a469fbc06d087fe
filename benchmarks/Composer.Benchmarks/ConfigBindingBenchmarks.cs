using BenchmarkDotNet.Attributes;
using Composer.Configuration;
using Microsoft.Extensions.Configuration;

namespace Composer.Benchmarks;

/// <summary>
/// Binds the full example configuration (every key, tests/Composer.Tests/Configuration/Examples/full-example.yaml)
/// plus 20 environment variables: Composer's generated binder versus Microsoft.Extensions.Configuration with
/// NetEscapades.Configuration.Yaml and the configuration binding source generator, in the same run.
/// Both read the YAML from the same bytes in memory and the variables from the process environment.
/// </summary>
[MemoryDiagnoser]
public class ConfigBindingBenchmarks
{
    private byte[] _yaml = [];

    public static readonly (string Name, string Value)[] Variables =
    [
        ("OPENCTI__URL", "https://cti.internal.example.com"),
        ("OPENCTI__TOKEN", "env-token-0123"),
        ("OPENCTI__WITH_PROXY", "true"),
        ("OPENCTI__DAEMON__REGISTRY__SERVER", "mirror.example.com"),
        ("OPENCTI__DAEMON__REGISTRY__USERNAME", "env-user"),
        ("OPENCTI__DAEMON__REGISTRY__PASSWORD", "env-registry-password"),
        ("OPENCTI__DAEMON__REGISTRY__TOKEN_TTL", "1200"),
        ("OPENCTI__DAEMON__REGISTRY__RETRY_ATTEMPTS", "5"),
        ("OPENCTI__DAEMON__DOCKER__DNS__0", "10.1.0.2"),
        ("OPENCTI__DAEMON__DOCKER__DNS__1", "10.1.0.3"),
        ("OPENCTI__DAEMON__DOCKER__NETWORK_MODE", "host"),
        ("OPENCTI__DAEMON__KUBERNETES__IMAGE_PULL_POLICY", "Never"),
        ("OPENCTI__HTTPS_PROXY", "http://proxy.corp.example:3128"),
        ("MANAGER__ID", "0123"),
        ("MANAGER__LOGGER__LEVEL", "info"),
        ("MANAGER__EXECUTE_SCHEDULE", "20"),
        ("OPENCTI__NO_PROXY", "localhost,.corp.example"),
        ("OPENAEV__ENABLE", "false"),
        ("OPENAEV__DAEMON__SELECTOR", "docker"),
        ("OPENAEV__URL", "https://aev.internal.example.com"),
    ];

    [GlobalSetup]
    public void Setup()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Composer.sln"))) root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("Composer.sln not found");
        var text = File.ReadAllText(Path.Combine(root, "tests", "Composer.Tests", "Configuration", "Examples", "full-example.yaml"));
        _yaml = System.Text.Encoding.UTF8.GetBytes(text.Replace("{{CA}}", "/etc/ssl/certs/proxy-ca.pem", StringComparison.Ordinal));
        foreach (var (name, value) in Variables) Environment.SetEnvironmentVariable(name, value);
    }

    [Benchmark(Description = "Composer generated binder")]
    public ComposerSettings Composer()
    {
        var settings = new ComposerSettings();
        var ctx = new BindContext(ComposerSettings.ConfigSlots);
        ConfigurationLoader.BindYaml(ctx, settings, "config/production.yaml", _yaml);
        ConfigurationLoader.BindEnvironment(ctx, settings, ConfigLoadRequest.ProcessEnvironment());
        if (ctx.Errors.Count != 0) throw new InvalidOperationException(string.Join("\n", ctx.Errors));
        return settings;
    }

    /// <summary>
    /// The floor for any binder built on YamlDotNet's event parser (which this project must use): pulling the events,
    /// fed the way Composer feeds them, and taking the environment snapshot that both binders take. Nothing is bound.
    /// </summary>
    [Benchmark(Description = "Floor: Parser events + environment snapshot")]
    public int ParserEventsAndEnvironmentSnapshot()
    {
        using var reader = Utf8BytesReader.Create(_yaml);
        var parser = new YamlDotNet.Core.Parser(reader);
        var events = 0;
        while (parser.MoveNext()) events++;
        return events + Environment.GetEnvironmentVariables().Count;
    }

    /// <summary>Parser events only, fed the way Composer feeds them (UTF-8 bytes decoded straight into the scanner).</summary>
    [Benchmark(Description = "YamlDotNet Parser events only")]
    public int YamlDotNetParserOnly()
    {
        using var reader = Utf8BytesReader.Create(_yaml);
        var parser = new YamlDotNet.Core.Parser(reader);
        var events = 0;
        while (parser.MoveNext()) events++;
        return events;
    }

    /// <summary>Parser events only, fed through StreamReader over a MemoryStream (how Composer fed them before).</summary>
    [Benchmark(Description = "YamlDotNet Parser events only (StreamReader)")]
    public int YamlDotNetParserOnlyStreamReader()
    {
        using var reader = new StreamReader(new MemoryStream(_yaml));
        var parser = new YamlDotNet.Core.Parser(reader);
        var events = 0;
        while (parser.MoveNext()) events++;
        return events;
    }

    [Benchmark(Baseline = true, Description = "M.E.Configuration + NetEscapades YAML + binder generator")]
    public MecSettings MicrosoftExtensionsConfiguration()
    {
        var configuration = new ConfigurationBuilder()
            .AddYamlStream(new MemoryStream(_yaml))
            .AddEnvironmentVariables()
            .Build();
        return configuration.Get<MecSettings>() ?? throw new InvalidOperationException("nothing bound");
    }
}

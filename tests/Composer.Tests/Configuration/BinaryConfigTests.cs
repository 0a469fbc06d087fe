using System.Text.Json;
using Composer.Configuration;
using Composer.Tests.Infrastructure;
using static Composer.Tests.Configuration.ConfigTestSupport;

namespace Composer.Tests.Configuration;

/// <summary>The configuration commands of the published native binary.</summary>
public class BinaryConfigTests
{
    private static readonly string[] SecretValues =
    [
        "7c5d8f1e-opencti-token", "registry-secret-pass", "ptr_portainer-key", "proxy-pass", "openaev-token-value",
        "openaev-portainer-key", "env-token-0123", "env-registry-password", "corp-proxy-pass", "BEGIN PRIVATE KEY",
    ];

    [Test]
    public async Task Native_binary_binds_the_full_example_exactly_as_the_in_process_loader()
    {
        var dir = FullExampleDir();
        var env = FullExampleEnvironment();
        var native = await ComposerBinary.RunAsync(["config", "show", "--format", "json", "--config-dir", dir], env);
        await Assert.That(native.ExitCode).IsEqualTo(0).Because(native.ToString());

        var inProcess = Load(dir, env);
        await Assert.That(inProcess.Errors).IsEmpty();
        await Assert.That(native.Stdout).IsEqualTo(ConfigRendering.ToJson(inProcess.Settings));

        // And the values really came through (not two identical empty documents).
        using var doc = JsonDocument.Parse(native.Stdout);
        var root = doc.RootElement;
        await Assert.That(root.GetProperty("manager").GetProperty("id").GetString()).IsEqualTo("0123");
        await Assert.That(root.GetProperty("opencti").GetProperty("daemon").GetProperty("registry").GetProperty("token_ttl").GetInt32()).IsEqualTo(1200);
        await Assert.That(root.GetProperty("opencti").GetProperty("daemon").GetProperty("docker").GetProperty("ulimits")[1].GetProperty("hard").GetInt64()).IsEqualTo(1024);
        await Assert.That(root.GetProperty("opencti").GetProperty("daemon").GetProperty("kubernetes").GetProperty("base_deployment")
            .GetProperty("spec").GetProperty("template").GetProperty("spec").GetProperty("serviceAccountName").GetString()).IsEqualTo("connectors");
        await Assert.That(root.GetProperty("https_proxy").GetString()).IsEqualTo("http://corp:***@proxy.corp.example:3128");
    }

    [Test]
    [Arguments("yaml", false)]
    [Arguments("json", false)]
    [Arguments("yaml", true)]
    [Arguments("json", true)]
    public async Task Config_show_never_prints_a_secret(string format, bool sources)
    {
        var dir = FullExampleDir();
        var env = FullExampleEnvironment();
        env["MANAGER__CREDENTIALS_KEY"] = File.ReadAllText(KeyFile);
        string[] args = sources
            ? ["config", "show", "--sources", "--format", format, "--config-dir", dir]
            : ["config", "show", "--format", format, "--config-dir", dir];
        var result = await ComposerBinary.RunAsync(args, env);
        await Assert.That(result.ExitCode).IsEqualTo(0).Because(result.ToString());
        foreach (var secret in SecretValues)
        {
            await Assert.That(result.Stdout).DoesNotContain(secret);
            await Assert.That(result.Stderr).DoesNotContain(secret);
        }
        await Assert.That(result.Stdout).Contains("***");
        await Assert.That(result.Stdout).Contains("http://corp:***@proxy.corp.example:3128");
    }

    [Test]
    public async Task Config_show_sources_names_files_lines_and_variables()
    {
        var dir = FullExampleDir();
        var result = await ComposerBinary.RunAsync(["config", "show", "--sources", "--config-dir", dir], FullExampleEnvironment());
        await Assert.That(result.ExitCode).IsEqualTo(0).Because(result.ToString());
        await Assert.That(result.Stdout).Contains($"name: \"Full example manager\"  # {dir}/production.yaml:5:9");
        await Assert.That(result.Stdout).Contains("token_ttl: 1200  # environment OPENCTI__DAEMON__REGISTRY__TOKEN_TTL");
        await Assert.That(result.Stdout).Contains("show_sensitive_env_vars: false  # " + dir + "/production.yaml:16:30");
        await Assert.That(result.Stdout).Contains("credentials_key: null  # default");
    }

    [Test]
    public async Task Config_validate_prints_a_short_ok_line_and_exits_0()
    {
        var result = await ComposerBinary.RunAsync(["config", "validate", "--config-dir", FullExampleDir()], FullExampleEnvironment());
        await Assert.That(result.ExitCode).IsEqualTo(0).Because(result.ToString());
        await Assert.That(result.Stdout).StartsWith("configuration OK");
    }

    [Test]
    public async Task Config_validate_on_the_shipped_defaults_reports_the_missing_key()
    {
        var result = await ComposerBinary.RunAsync(["config", "validate", "--config-dir", Path.Combine(RepoPaths.Root, "config")]);
        await Assert.That(result.ExitCode).IsEqualTo(2);
        await Assert.That(result.Stderr).Contains("manager.credentials_key: no manager private key");
    }

    [Test]
    [Arguments("run")]
    [Arguments("plan")]
    public async Task A_configuration_file_that_is_not_UTF8_stops_the_command_with_exit_code_2_naming_the_offset(string command)
    {
        var dir = NewConfigDir();
        // Latin-1 "é" where UTF-8 was expected: byte 0xE9 at offset 37, on line 3.
        await File.WriteAllBytesAsync(Path.Combine(dir, "default.yaml"), [.. "manager:\n  id: composer-1\n  name: Caf"u8, 0xE9, .. "\n"u8]);
        var result = await ComposerBinary.RunAsync([command, "--config-dir", dir], BaseEnvironment());
        await Assert.That(result.ExitCode).IsEqualTo(2).Because(result.ToString());
        await Assert.That(result.Stderr).Contains($"{dir}/default.yaml: not valid UTF-8: byte 0xE9 at byte offset 37 (line 3)");
        await Assert.That(result.Stdout).DoesNotContain("Starting Composer");
    }

    [Test]
    public async Task Config_docs_and_schema_of_the_binary_match_the_committed_files()
    {
        var docs = await ComposerBinary.RunAsync(["config", "docs"]);
        await Assert.That(docs.ExitCode).IsEqualTo(0);
        await Assert.That(docs.Stdout).IsEqualTo(File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "configuration.md")));
        var schema = await ComposerBinary.RunAsync(["config", "schema"]);
        await Assert.That(schema.ExitCode).IsEqualTo(0);
        await Assert.That(schema.Stdout).IsEqualTo(File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "composer.schema.json")));
    }
}

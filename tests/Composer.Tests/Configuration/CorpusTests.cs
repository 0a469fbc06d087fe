using Composer.Tests.Infrastructure;
using static Composer.Tests.Configuration.ConfigTestSupport;

namespace Composer.Tests.Configuration;

/// <summary>
/// Malformed configurations and environments, run through the PUBLISHED native binary:
/// `composer config validate --config-dir &lt;case&gt;` must exit 2 with every line of expected.txt on stderr.
/// A case is a folder under Corpus/: config files (copied byte for byte when they are not UTF-8), folders (a directory
/// where a file is expected; an empty .keep keeps them in git), an optional `env` file (NAME=VALUE lines, \n for a newline),
/// expected.txt, an optional absent.txt (text that must appear in neither stdout nor stderr, e.g. secrets) and an
/// optional `no-default-key` marker (otherwise a valid RSA-4096 key is supplied). {{DIR}} (the case's temporary
/// config dir), {{CA}} (a valid CA file) and {{KEY}} (the valid key file) are substituted everywhere.
/// </summary>
public class CorpusTests
{
    private static readonly string CorpusRoot = Path.Combine(RepoPaths.Root, "tests", "Composer.Tests", "Configuration", "Corpus");
    private static readonly HashSet<string> MetaFiles = ["env", "expected.txt", "absent.txt", "no-default-key"];

    public static IEnumerable<Func<string>> Cases() =>
        Directory.GetDirectories(CorpusRoot).Select(Path.GetFileName).Order(StringComparer.Ordinal).Select(name => (Func<string>)(() => name!));

    [Test]
    public async Task The_corpus_has_at_least_forty_cases()
    {
        await Assert.That(Cases().Count()).IsGreaterThanOrEqualTo(40);
    }

    [Test]
    [MethodDataSource(nameof(Cases))]
    public async Task Malformed_configuration_is_reported_with_exit_code_2(string name)
    {
        var source = Path.Combine(CorpusRoot, name);
        var dir = Directory.CreateTempSubdirectory("composer-corpus-").FullName;
        string Fill(string text) => text.Replace("{{DIR}}", dir, StringComparison.Ordinal)
            .Replace("{{CA}}", CaCertificateFile, StringComparison.Ordinal)
            .Replace("{{KEY}}", KeyFile, StringComparison.Ordinal);

        foreach (var file in Directory.GetFiles(source))
        {
            var fileName = Path.GetFileName(file);
            if (MetaFiles.Contains(fileName)) continue;
            var bytes = File.ReadAllBytes(file);
            // A case about encodings holds bytes that are not UTF-8: those files are copied as they are.
            if (System.Text.Unicode.Utf8.IsValid(bytes)) File.WriteAllText(Path.Combine(dir, fileName), Fill(System.Text.Encoding.UTF8.GetString(bytes)));
            else File.WriteAllBytes(Path.Combine(dir, fileName), bytes);
        }
        // A folder in a case (kept in git by an empty .keep file) is a directory where a file is expected.
        foreach (var folder in Directory.GetDirectories(source)) Directory.CreateDirectory(Path.Combine(dir, Path.GetFileName(folder)));
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!File.Exists(Path.Combine(source, "no-default-key"))) env["MANAGER__CREDENTIALS_KEY_FILEPATH"] = KeyFile;
        var envFile = Path.Combine(source, "env");
        if (File.Exists(envFile))
        {
            foreach (var line in File.ReadAllLines(envFile).Where(l => l.Length > 0))
            {
                var eq = line.IndexOf('=');
                env[line[..eq]] = Fill(line[(eq + 1)..]).Replace("\\n", "\n", StringComparison.Ordinal);
            }
        }

        var result = await ComposerBinary.RunAsync(["config", "validate", "--config-dir", dir], env);

        await Assert.That(result.ExitCode).IsEqualTo(2).Because(result.ToString());
        foreach (var expected in File.ReadAllLines(Path.Combine(source, "expected.txt")).Where(l => l.Length > 0))
        {
            await Assert.That(result.Stderr).Contains(Fill(expected)).Because(result.ToString());
        }
        var absentFile = Path.Combine(source, "absent.txt");
        if (File.Exists(absentFile))
        {
            foreach (var secret in File.ReadAllLines(absentFile).Where(l => l.Length > 0))
            {
                await Assert.That(result.Stderr + result.Stdout).DoesNotContain(secret);
            }
        }
        await Assert.That(result.Stderr).DoesNotContain("   at ");
    }
}

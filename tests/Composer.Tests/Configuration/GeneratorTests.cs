using System.Collections.Immutable;
using Composer.Generators;
using Composer.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Composer.Tests.Configuration;

/// <summary>
/// Runs ConfigBinderGenerator directly (CSharpGeneratorDriver). Golden files pin the generated source for the real
/// settings model: Golden/&lt;hint name&gt;.txt. Regenerate with COMPOSER_UPDATE_GOLDEN=1 dotnet test ... and review the diff.
/// </summary>
public class GeneratorTests
{
    private static readonly string ConfigurationDir = Path.Combine(RepoPaths.Root, "src", "Composer", "Configuration");
    private static readonly string DiagnosticsDir = Path.Combine(RepoPaths.Root, "src", "Composer", "Diagnostics");
    private static readonly string GoldenDir = Path.Combine(RepoPaths.Root, "tests", "Composer.Tests", "Configuration", "Golden");

    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
        [.. ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "netstandard.dll" or "mscorlib.dll")
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))]);

    // The project's implicit usings, which the model relies on, and the Secret type secret settings are held in.
    private static string Attributes => "global using System; global using System.Collections.Generic; global using System.Linq;\n"
        + File.ReadAllText(Path.Combine(ConfigurationDir, "ConfigAttributes.cs"));

    private static string SecretType => "global using System.Threading;\n" + File.ReadAllText(Path.Combine(DiagnosticsDir, "Secret.cs"));

    private static string SecretScrubber => File.ReadAllText(Path.Combine(DiagnosticsDir, "SecretScrubber.cs"));

    public static GeneratorDriverRunResult Run(params string[] sources)
    {
        var options = new CSharpParseOptions(LanguageVersion.Preview);
        var compilation = CSharpCompilation.Create(
            "GeneratorTest",
            sources.Select((s, i) => CSharpSyntaxTree.ParseText(s, options, path: $"Source{i}.cs")),
            References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        GeneratorDriver driver = CSharpGeneratorDriver.Create([new ConfigBinderGenerator().AsSourceGenerator()], parseOptions: options);
        return driver.RunGenerators(compilation).GetRunResult();
    }

    [Test]
    public async Task Generated_source_for_the_settings_model_matches_the_golden_files()
    {
        var result = Run(Attributes, SecretType, SecretScrubber, File.ReadAllText(Path.Combine(ConfigurationDir, "ComposerSettings.cs")));
        await Assert.That(result.Diagnostics).IsEmpty();
        var generated = result.Results.Single().GeneratedSources;
        // One binder per [ConfigSection] class of the model.
        var sections = System.Text.RegularExpressions.Regex.Count(File.ReadAllText(Path.Combine(ConfigurationDir, "ComposerSettings.cs")), @"\[ConfigSection[\](]");
        await Assert.That(generated.Length).IsEqualTo(sections);
        var update = Environment.GetEnvironmentVariable("COMPOSER_UPDATE_GOLDEN") == "1";
        if (update)
        {
            Directory.CreateDirectory(GoldenDir);
            foreach (var old in Directory.GetFiles(GoldenDir, "*.txt")) File.Delete(old);
        }
        foreach (var source in generated)
        {
            var path = Path.Combine(GoldenDir, source.HintName + ".txt");
            var text = source.SourceText.ToString();
            if (update) await File.WriteAllTextAsync(path, text);
            await Assert.That(File.Exists(path)).IsTrue().Because($"no golden file for {source.HintName}; run with COMPOSER_UPDATE_GOLDEN=1");
            await Assert.That(text).IsEqualTo(await File.ReadAllTextAsync(path)).Because($"{source.HintName} differs from its golden file");
        }
        await Assert.That(Directory.GetFiles(GoldenDir, "*.txt").Length).IsEqualTo(generated.Length);
    }

    [Test]
    public async Task Generated_source_compiles_against_the_runtime_helpers()
    {
        // The real build compiles it; here: the generator's output for the model has no error-level diagnostics of its own.
        var result = Run(Attributes, SecretType, SecretScrubber, File.ReadAllText(Path.Combine(ConfigurationDir, "ComposerSettings.cs")));
        var root = result.Results.Single().GeneratedSources.Single(s => s.HintName == "ComposerSettings.ConfigBinding.g.cs").SourceText.ToString();
        await Assert.That(root).Contains("internal static void ConfigWriteMarkdown");
        await Assert.That(root).Contains("internal static void ConfigWriteSchema");
        await Assert.That(root).DoesNotContain("System.Reflection");
    }

    private static async Task<ImmutableArray<Diagnostic>> DiagnosticsFor(params string[] sources)
    {
        var result = Run([Attributes, .. sources]);
        await Task.CompletedTask;
        return result.Diagnostics;
    }

    [Test]
    public async Task A_secret_held_in_a_string_is_COMPOSER009()
    {
        var d = (await DiagnosticsFor("namespace Composer.Configuration; [ConfigSection] public sealed partial class S { [ConfigKey(\"token\"), Secret] public string? Token { get; set; } }"))
            .Where(x => x.Id.StartsWith("COMPOSER", StringComparison.Ordinal)).ToList();
        await Assert.That(d.Select(x => x.Id)).IsEquivalentTo(new[] { "COMPOSER009" });
        await Assert.That(d[0].GetMessage()).Contains("S.Token");
        // A URL whose password is the secret part stays a string; a Secret-typed property needs no attribute.
        var fine = await DiagnosticsFor(SecretType, SecretScrubber, "using Composer.Diagnostics; namespace Composer.Configuration; [ConfigSection] public sealed partial class S "
            + "{ [ConfigKey(\"proxy\"), Secret(UrlCredentials = true)] public string? Proxy { get; set; } [ConfigKey(\"token\")] public Secret? Token { get; set; } }");
        await Assert.That(fine.Where(x => x.Id.StartsWith("COMPOSER", StringComparison.Ordinal))).IsEmpty();
    }

    [Test]
    public async Task Unsupported_property_type_is_COMPOSER001()
    {
        var d = await DiagnosticsFor("namespace Composer.Configuration; [ConfigSection] public sealed partial class S { [ConfigKey(\"when\")] public System.DateTime When { get; set; } }");
        await Assert.That(d.Select(x => x.Id)).IsEquivalentTo(new[] { "COMPOSER001" });
        await Assert.That(d[0].GetMessage()).Contains("S.When");
        await Assert.That(d[0].Location.GetLineSpan().StartLinePosition.Line).IsEqualTo(0);
    }

    [Test]
    public async Task Missing_config_key_is_COMPOSER002()
    {
        var d = await DiagnosticsFor("namespace Composer.Configuration; [ConfigSection] public sealed partial class S { public string Name { get; set; } = \"\"; }");
        await Assert.That(d.Select(x => x.Id)).IsEquivalentTo(new[] { "COMPOSER002" });
    }

    [Test]
    public async Task Non_partial_section_is_COMPOSER003()
    {
        var d = await DiagnosticsFor("namespace Composer.Configuration; [ConfigSection] public sealed class S { [ConfigKey(\"name\")] public string? Name { get; set; } }");
        await Assert.That(d.Select(x => x.Id)).IsEquivalentTo(new[] { "COMPOSER003" });
    }

    [Test]
    public async Task Duplicate_key_is_COMPOSER004()
    {
        var d = await DiagnosticsFor("namespace Composer.Configuration; [ConfigSection] public sealed partial class S { [ConfigKey(\"a\")] public string? A { get; set; } [ConfigKey(\"a\")] public string? B { get; set; } }");
        await Assert.That(d.Select(x => x.Id)).IsEquivalentTo(new[] { "COMPOSER004" });
    }

    [Test]
    public async Task Alias_through_a_non_section_is_COMPOSER005()
    {
        var d = await DiagnosticsFor("namespace Composer.Configuration; [ConfigSection] public sealed partial class S { [ConfigKey(\"a\"), ConfigAlias(\"nope.a\")] public bool A { get; set; } }");
        await Assert.That(d.Select(x => x.Id)).IsEquivalentTo(new[] { "COMPOSER005" });
    }

    [Test]
    public async Task Read_only_property_is_COMPOSER006()
    {
        var d = await DiagnosticsFor("namespace Composer.Configuration; [ConfigSection] public sealed partial class S { [ConfigKey(\"a\")] public string A { get; } = \"\"; }");
        await Assert.That(d.Select(x => x.Id)).IsEquivalentTo(new[] { "COMPOSER006" });
    }

    [Test]
    public async Task Recursive_sections_are_COMPOSER007()
    {
        var d = await DiagnosticsFor("namespace Composer.Configuration; [ConfigSection] public sealed partial class S { [ConfigKey(\"self\")] public S? Self { get; set; } }");
        await Assert.That(d.Select(x => x.Id)).IsEquivalentTo(new[] { "COMPOSER007" });
    }

    [Test]
    public async Task Section_without_parameterless_constructor_is_COMPOSER008()
    {
        var d = await DiagnosticsFor("namespace Composer.Configuration; [ConfigSection] public sealed partial class S(int x) { [ConfigKey(\"a\")] public int A { get; set; } = x; }");
        await Assert.That(d.Select(x => x.Id)).IsEquivalentTo(new[] { "COMPOSER008" });
    }

    [Test]
    public async Task Raw_json_on_a_non_string_is_COMPOSER001_and_nothing_is_emitted_on_errors()
    {
        var result = Run(Attributes, "namespace Composer.Configuration; [ConfigSection] public sealed partial class S { [ConfigKey(\"a\"), RawJson] public int A { get; set; } }");
        await Assert.That(result.Diagnostics.Select(x => x.Id)).IsEquivalentTo(new[] { "COMPOSER001" });
        await Assert.That(result.Results.Single().GeneratedSources).IsEmpty();
    }

    [Test]
    public async Task Specs_are_cached_when_an_unrelated_file_changes()
    {
        var options = new CSharpParseOptions(LanguageVersion.Preview);
        var model = CSharpSyntaxTree.ParseText(File.ReadAllText(Path.Combine(ConfigurationDir, "ComposerSettings.cs")), options, path: "Model.cs");
        var compilation = CSharpCompilation.Create("Cache", [CSharpSyntaxTree.ParseText(Attributes, options, path: "Attributes.cs"), model,
            CSharpSyntaxTree.ParseText("class Other {}", options, path: "Other.cs")], References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        GeneratorDriver driver = CSharpGeneratorDriver.Create([new ConfigBinderGenerator().AsSourceGenerator()], parseOptions: options,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));
        driver = driver.RunGenerators(compilation);
        var changed = compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.Last(), CSharpSyntaxTree.ParseText("class Other { int X; }", options, path: "Other.cs"));
        var second = driver.RunGenerators(changed).GetRunResult();
        var outputs = second.Results.Single().TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs);
        await Assert.That(outputs.All(o => o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged)).IsTrue();
    }
}

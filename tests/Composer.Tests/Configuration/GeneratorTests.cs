using System.Text.RegularExpressions;
using Composer.Generators;
using Composer.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace Composer.Tests.Configuration;

/// <summary>
/// ConfigBinderGenerator, one feature per test: a tiny settings model, and a small snapshot of what the generator writes
/// for it (Snapshots/GeneratorTests.&lt;test&gt;.verified.*; see Infrastructure/Snapshot.cs to review and accept a
/// change). The real model is checked for diagnostics and shape here; its binding, docs and schema by the loader tests,
/// DocsAndSchemaTests and the build itself.
/// </summary>
public class GeneratorTests
{
    private static Task MatchCode(string text, [System.Runtime.CompilerServices.CallerMemberName] string test = "") =>
        Snapshot.MatchAsync(text, "cs", test: test);

    private static Task MatchDiagnostics(string model, [System.Runtime.CompilerServices.CallerMemberName] string test = "") =>
        Snapshot.MatchAsync(GeneratedCode.Describe(GeneratedCode.Run(model).Diagnostics), "txt", test: test);

    // ---- the shape of a section ----------------------------------------------------------------------------------

    [Test]
    public async Task A_section_gets_a_key_table_binders_and_writers() => await MatchCode(GeneratedCode.SourceOf("""
        namespace Composer.Configuration;
        [ConfigSection] public sealed partial class S { [ConfigKey("name")] public string? Name { get; set; } }
        """, "S"));

    [Test]
    public async Task The_key_table_expands_sections_and_keeps_list_items_as_one_entry() => await MatchCode(GeneratedCode.Members(GeneratedCode.SourceOf("""
        namespace Composer.Configuration;
        [ConfigSection] public sealed partial class P
        {
            [ConfigKey("timeout", Unit = "seconds"), ConfigDoc("Seconds to wait.")] public int Timeout { get; set; } = 30;
            [ConfigKey("child")] public C Child { get; set; } = new();
            [ConfigKey("items")] public List<I>? Items { get; set; }
            [ConfigKey("on"), ConfigAlias("enabled")] public bool On { get; set; }
            [ConfigKey("password")] public Secret? Password { get; set; }
            [ConfigKey("proxy"), Secret(UrlCredentials = true)] public string? Proxy { get; set; }
        }
        [ConfigSection] public sealed partial class C { [ConfigKey("depth")] public int Depth { get; set; } [ConfigKey("tags")] public List<string>? Tags { get; set; } }
        [ConfigSection] public sealed partial class I { [ConfigKey("name")] public string? Name { get; set; } }
        """, "P"), "ConfigSlotCount", "ConfigSlots"));

    [Test]
    public async Task Sources_are_named_after_their_sections_in_order()
    {
        var result = GeneratedCode.Run("""
            namespace Composer.Configuration;
            [ConfigSection] public sealed partial class B { [ConfigKey("a")] public A A { get; set; } = new(); }
            [ConfigSection] public sealed partial class A { [ConfigKey("x")] public int X { get; set; } }
            """);
        await Assert.That(result.Diagnostics).IsEmpty();
        await Assert.That(string.Join(", ", result.Results.Single().GeneratedSources.Select(s => s.HintName)))
            .IsEqualTo("A.ConfigBinding.g.cs, B.ConfigBinding.g.cs");
    }

    // ---- one kind of key each: key-table row, YAML and JSON binders, environment, JSON and YAML writers ----------

    [Test]
    public async Task String_keys() => await MatchCode(GeneratedCode.ForKeys(GeneratedCode.SourceOf("""
        namespace Composer.Configuration;
        [ConfigSection] public sealed partial class S
        {
            [ConfigKey("name")] public string? Name { get; set; }
            [ConfigKey("label")] public string Label { get; set; } = "";
        }
        """, "S"), "name", "label"));

    [Test]
    public async Task Boolean_keys() => await MatchCode(GeneratedCode.ForKeys(GeneratedCode.SourceOf("""
        namespace Composer.Configuration;
        [ConfigSection] public sealed partial class S
        {
            [ConfigKey("enabled")] public bool Enabled { get; set; }
            [ConfigKey("strict")] public bool? Strict { get; set; }
        }
        """, "S"), "enabled", "strict"));

    [Test]
    public async Task Integer_keys() => await MatchCode(GeneratedCode.ForKeys(GeneratedCode.SourceOf("""
        namespace Composer.Configuration;
        [ConfigSection] public sealed partial class S
        {
            [ConfigKey("count")] public int Count { get; set; }
            [ConfigKey("retries")] public int? Retries { get; set; }
            [ConfigKey("size", Unit = "bytes")] public long Size { get; set; }
            [ConfigKey("limit")] public long? Limit { get; set; }
        }
        """, "S"), "count", "retries", "size", "limit"));

    [Test]
    public async Task A_list_of_strings() => await MatchCode(GeneratedCode.ForKeys(GeneratedCode.SourceOf("""
        namespace Composer.Configuration;
        [ConfigSection] public sealed partial class S { [ConfigKey("hosts")] public List<string>? Hosts { get; set; } }
        """, "S"), "hosts"));

    [Test]
    public async Task A_map_of_strings() => await MatchCode(GeneratedCode.ForKeys(GeneratedCode.SourceOf("""
        namespace Composer.Configuration;
        [ConfigSection] public sealed partial class S { [ConfigKey("labels")] public Dictionary<string, string>? Labels { get; set; } }
        """, "S"), "labels"));

    [Test]
    public async Task A_raw_json_key() => await MatchCode(GeneratedCode.ForKeys(GeneratedCode.SourceOf("""
        namespace Composer.Configuration;
        [ConfigSection] public sealed partial class S { [ConfigKey("manifest"), RawJson] public string? Manifest { get; set; } }
        """, "S"), "manifest"));

    [Test]
    public async Task Secret_keys() => await MatchCode(GeneratedCode.ForKeys(GeneratedCode.SourceOf("""
        namespace Composer.Configuration;
        [ConfigSection] public sealed partial class S
        {
            [ConfigKey("password")] public Secret? Password { get; set; }
            [ConfigKey("proxy"), Secret(UrlCredentials = true)] public string? Proxy { get; set; }
        }
        """, "S"), "password", "proxy"));

    [Test]
    public async Task A_nested_section() => await MatchCode(GeneratedCode.ForKeys(GeneratedCode.SourceOf("""
        namespace Composer.Configuration;
        [ConfigSection] public sealed partial class P { [ConfigKey("child")] public C Child { get; set; } = new(); }
        [ConfigSection] public sealed partial class C { [ConfigKey("depth")] public int Depth { get; set; } }
        """, "P"), "child"));

    [Test]
    public async Task An_optional_section_is_removed_by_null() => await MatchCode(GeneratedCode.ForKeys(GeneratedCode.SourceOf("""
        namespace Composer.Configuration;
        [ConfigSection] public sealed partial class P { [ConfigKey("child")] public C? Child { get; set; } }
        [ConfigSection] public sealed partial class C { [ConfigKey("depth")] public int Depth { get; set; } }
        """, "P"), "child"));

    [Test]
    public async Task A_list_of_sections() => await MatchCode(GeneratedCode.ForKeys(GeneratedCode.SourceOf("""
        namespace Composer.Configuration;
        [ConfigSection] public sealed partial class P { [ConfigKey("items")] public List<I>? Items { get; set; } }
        [ConfigSection] public sealed partial class I { [ConfigKey("name")] public string? Name { get; set; } }
        """, "P"), "items"));

    [Test]
    public async Task An_alias_at_the_same_level_notes_the_spelling() => await MatchCode(GeneratedCode.ForKeys(GeneratedCode.SourceOf("""
        namespace Composer.Configuration;
        [ConfigSection] public sealed partial class S
        {
            [ConfigKey("main"), ConfigAlias("alt")] public string? Main { get; set; }
            [ConfigKey("retries"), ConfigAlias("tries")] public int Retries { get; set; }
        }
        """, "S"), "main", "alt", "retries", "tries"));

    [Test]
    public async Task An_alias_of_a_secret_notes_the_spelling_without_the_value() => await MatchCode(GeneratedCode.ForKeys(GeneratedCode.SourceOf("""
        namespace Composer.Configuration;
        [ConfigSection] public sealed partial class S { [ConfigKey("token"), ConfigAlias("api_token")] public Secret? Token { get; set; } }
        """, "S"), "token", "api_token"));

    [Test]
    public async Task An_alias_inside_a_child_section_is_bound_by_the_parent()
    {
        var source = GeneratedCode.SourceOf("""
            namespace Composer.Configuration;
            [ConfigSection] public sealed partial class P
            {
                [ConfigKey("with_proxy"), ConfigAlias("daemon.with_proxy")] public bool WithProxy { get; set; }
                [ConfigKey("daemon")] public D Daemon { get; set; } = new();
            }
            [ConfigSection] public sealed partial class D { [ConfigKey("name")] public string? Name { get; set; } }
            """, "P");
        await MatchCode(GeneratedCode.ForKeys(source, "daemon") + "\n" + GeneratedCode.Members(source, "ConfigAliasYaml_Daemon", "ConfigAliasJson_Daemon"));
    }

    // ---- the root: the Markdown reference and the JSON Schema ----------------------------------------------------

    [Test]
    public async Task Docs_rows_for_each_kind_of_key() => await MatchCode(GeneratedCode.Members(GeneratedCode.SourceOf("""
        namespace Composer.Configuration;
        [ConfigSection(IsRoot = true)] public sealed partial class R
        {
            [ConfigKey("name"), ConfigDoc("A name | with a pipe.")] public string Name { get; set; } = "n";
            [ConfigKey("main"), ConfigAlias("alt")] public string? Main { get; set; }
            [ConfigKey("enabled")] public bool Enabled { get; set; } = true;
            [ConfigKey("timeout", Unit = "seconds")] public int Timeout { get; set; } = 30;
            [ConfigKey("hosts")] public List<string>? Hosts { get; set; }
            [ConfigKey("labels")] public Dictionary<string, string>? Labels { get; set; }
            [ConfigKey("manifest"), RawJson] public string? Manifest { get; set; }
            [ConfigKey("password")] public Secret? Password { get; set; }
            [ConfigKey("proxy"), Secret(UrlCredentials = true)] public string? Proxy { get; set; }
        }
        """, "R"), "ConfigWriteMarkdown"));

    [Test]
    public async Task Docs_tables_for_sections_and_lists_of_sections() => await MatchCode(GeneratedCode.Members(GeneratedCode.SourceOf("""
        namespace Composer.Configuration;
        [ConfigSection(IsRoot = true)] public sealed partial class R
        {
            [ConfigKey("child")] public C Child { get; set; } = new();
            [ConfigKey("optional")] public C? Optional { get; set; }
            [ConfigKey("items")] public List<C>? Items { get; set; }
        }
        [ConfigSection] public sealed partial class C { [ConfigKey("depth")] public int Depth { get; set; } [ConfigKey("hosts")] public List<string>? Hosts { get; set; } }
        """, "R"), "ConfigWriteMarkdown"));

    [Test]
    public async Task Schema_fragments_for_scalar_and_secret_keys() => await MatchCode(GeneratedCode.Members(GeneratedCode.SourceOf("""
        namespace Composer.Configuration;
        [ConfigSection(IsRoot = true)] public sealed partial class R
        {
            [ConfigKey("name"), ConfigDoc("The name.")] public string Name { get; set; } = "n";
            [ConfigKey("label")] public string? Label { get; set; }
            [ConfigKey("enabled")] public bool Enabled { get; set; } = true;
            [ConfigKey("strict")] public bool? Strict { get; set; }
            [ConfigKey("count")] public int Count { get; set; } = 3;
            [ConfigKey("limit")] public long? Limit { get; set; }
            [ConfigKey("password"), ConfigDoc("The password.")] public Secret? Password { get; set; }
            [ConfigKey("token")] public Secret? Token { get; set; }
        }
        """, "R"), "ConfigWriteSchema"));

    [Test]
    public async Task Schema_fragments_for_lists_maps_and_raw_json() => await MatchCode(GeneratedCode.Members(GeneratedCode.SourceOf("""
        namespace Composer.Configuration;
        [ConfigSection(IsRoot = true)] public sealed partial class R
        {
            [ConfigKey("hosts")] public List<string>? Hosts { get; set; }
            [ConfigKey("labels")] public Dictionary<string, string>? Labels { get; set; }
            [ConfigKey("manifest"), RawJson] public string? Manifest { get; set; }
        }
        """, "R"), "ConfigWriteSchema"));

    [Test]
    public async Task Schema_fragments_for_sections_aliases_and_lists_of_sections() => await MatchCode(GeneratedCode.Members(GeneratedCode.SourceOf("""
        namespace Composer.Configuration;
        [ConfigSection(IsRoot = true)] public sealed partial class R
        {
            [ConfigKey("with_proxy"), ConfigAlias("daemon.with_proxy")] public bool WithProxy { get; set; }
            [ConfigKey("daemon")] public C Daemon { get; set; } = new();
            [ConfigKey("optional")] public C? Optional { get; set; }
            [ConfigKey("items")] public List<C>? Items { get; set; }
        }
        [ConfigSection] public sealed partial class C { [ConfigKey("depth")] public int Depth { get; set; } = 2; }
        """, "R"), "ConfigWriteSchema"));

    // ---- diagnostics: nothing is generated while any is reported ---------------------------------------------------

    [Test]
    public async Task Unsupported_property_type_is_COMPOSER001() => await MatchDiagnostics(
        "namespace Composer.Configuration; [ConfigSection] public sealed partial class S { [ConfigKey(\"when\")] public System.DateTime When { get; set; } }");

    [Test]
    public async Task Missing_config_key_is_COMPOSER002() => await MatchDiagnostics(
        "namespace Composer.Configuration; [ConfigSection] public sealed partial class S { public string Name { get; set; } = \"\"; }");

    [Test]
    public async Task Non_partial_section_is_COMPOSER003() => await MatchDiagnostics(
        "namespace Composer.Configuration; [ConfigSection] public sealed class S { [ConfigKey(\"name\")] public string? Name { get; set; } }");

    [Test]
    public async Task Duplicate_key_is_COMPOSER004() => await MatchDiagnostics(
        "namespace Composer.Configuration; [ConfigSection] public sealed partial class S { [ConfigKey(\"a\")] public string? A { get; set; } [ConfigKey(\"a\")] public string? B { get; set; } }");

    [Test]
    public async Task Alias_through_a_non_section_is_COMPOSER005() => await MatchDiagnostics(
        "namespace Composer.Configuration; [ConfigSection] public sealed partial class S { [ConfigKey(\"a\"), ConfigAlias(\"nope.a\")] public bool A { get; set; } }");

    [Test]
    public async Task Read_only_property_is_COMPOSER006() => await MatchDiagnostics(
        "namespace Composer.Configuration; [ConfigSection] public sealed partial class S { [ConfigKey(\"a\")] public string A { get; } = \"\"; }");

    [Test]
    public async Task Recursive_sections_are_COMPOSER007() => await MatchDiagnostics(
        "namespace Composer.Configuration; [ConfigSection] public sealed partial class S { [ConfigKey(\"self\")] public S? Self { get; set; } }");

    [Test]
    public async Task Section_without_parameterless_constructor_is_COMPOSER008() => await MatchDiagnostics(
        "namespace Composer.Configuration; [ConfigSection] public sealed partial class S(int x) { [ConfigKey(\"a\")] public int A { get; set; } = x; }");

    [Test]
    public async Task A_secret_held_in_a_string_is_COMPOSER009() => await MatchDiagnostics(
        "namespace Composer.Configuration; [ConfigSection] public sealed partial class S { [ConfigKey(\"token\"), Secret] public string? Token { get; set; } }");

    [Test]
    public async Task A_secret_url_stays_a_string_and_a_secret_typed_key_needs_no_attribute() => await MatchDiagnostics(
        "namespace Composer.Configuration; [ConfigSection] public sealed partial class S "
        + "{ [ConfigKey(\"proxy\"), Secret(UrlCredentials = true)] public string? Proxy { get; set; } [ConfigKey(\"token\")] public Secret? Token { get; set; } }");

    [Test]
    public async Task Raw_json_on_a_non_string_is_COMPOSER001_and_nothing_is_emitted_on_errors()
    {
        const string model = "namespace Composer.Configuration; [ConfigSection] public sealed partial class S { [ConfigKey(\"a\"), RawJson] public int A { get; set; } }";
        await Assert.That(GeneratedCode.Run(model).Results.Single().GeneratedSources).IsEmpty();
        await MatchDiagnostics(model);
    }

    // ---- the real settings model ------------------------------------------------------------------------------------

    [Test]
    public async Task The_settings_model_has_no_diagnostics_and_one_source_per_section()
    {
        var result = GeneratedCode.Run(GeneratedCode.SettingsModel);
        await Assert.That(result.Diagnostics).IsEmpty();
        var sections = Regex.Count(GeneratedCode.SettingsModel, @"\[ConfigSection[\](]");
        await Assert.That(result.Results.Single().GeneratedSources.Length).IsEqualTo(sections);
    }

    [Test]
    public async Task Generated_source_compiles_against_the_runtime_helpers()
    {
        // The real build compiles it; here: the generator's output for the model has no error-level diagnostics of its own.
        var result = GeneratedCode.Run(GeneratedCode.SettingsModel);
        var root = result.Results.Single().GeneratedSources.Single(s => s.HintName == "ComposerSettings.ConfigBinding.g.cs").SourceText.ToString();
        await Assert.That(root).Contains("internal static void ConfigWriteMarkdown");
        await Assert.That(root).Contains("internal static void ConfigWriteSchema");
        await Assert.That(root).DoesNotContain("System.Reflection");
    }

    [Test]
    public async Task Specs_are_cached_when_an_unrelated_file_changes()
    {
        var options = new CSharpParseOptions(LanguageVersion.Preview);
        var model = CSharpSyntaxTree.ParseText(GeneratedCode.SettingsModel, options, path: "Model.cs");
        var compilation = CSharpCompilation.Create("Cache", [CSharpSyntaxTree.ParseText(GeneratedCode.Attributes, options, path: "Attributes.cs"), model,
            CSharpSyntaxTree.ParseText("class Other {}", options, path: "Other.cs")], GeneratedCode.MetadataReferences,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        GeneratorDriver driver = CSharpGeneratorDriver.Create([new ConfigBinderGenerator().AsSourceGenerator()], parseOptions: options,
            driverOptions: new GeneratorDriverOptions(IncrementalGeneratorOutputKind.None, trackIncrementalGeneratorSteps: true));
        driver = driver.RunGenerators(compilation);
        var changed = compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.Last(), CSharpSyntaxTree.ParseText("class Other { int X; }", options, path: "Other.cs"));
        var second = driver.RunGenerators(changed).GetRunResult();
        var outputs = second.Results.Single().TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs);
        await Assert.That(outputs.All(o => o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged)).IsTrue();
    }

    // ---- the snapshots themselves -----------------------------------------------------------------------------------

    [Test]
    public async Task Every_snapshot_belongs_to_a_test_of_this_class()
    {
        var tests = typeof(GeneratorTests).GetMethods().Select(m => m.Name).ToHashSet(StringComparer.Ordinal);
        var orphans = Directory.GetFiles(Snapshot.Directory(), "GeneratorTests.*")
            .Select(Path.GetFileName)
            .Where(f => !f!.Contains(".received.", StringComparison.Ordinal) && !tests.Contains(f!.Split('.')[1]))
            .ToList();
        await Assert.That(orphans).IsEmpty();
    }
}

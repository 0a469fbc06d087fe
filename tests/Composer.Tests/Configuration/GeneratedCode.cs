using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using Composer.Generators;
using Composer.Tests.Infrastructure;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Composer.Tests.Configuration;

/// <summary>
/// Runs ConfigBinderGenerator directly (CSharpGeneratorDriver) and cuts its output into the small pieces the
/// snapshots of GeneratorTests show: whole members, or only the code written for some keys.
/// </summary>
internal static class GeneratedCode
{
    public static readonly string ConfigurationDir = Path.Combine(RepoPaths.Root, "src", "Composer", "Configuration");

    private static readonly Lazy<ImmutableArray<MetadataReference>> References = new(() =>
        [.. ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "netstandard.dll" or "mscorlib.dll")
            .Select(p => (MetadataReference)MetadataReference.CreateFromFile(p))]);

    public static ImmutableArray<MetadataReference> MetadataReferences => References.Value;

    /// <summary>The attributes of the settings model, with the project's implicit usings the model relies on.</summary>
    public static string Attributes => "global using System; global using System.Collections.Generic; global using System.Linq; global using Composer.Diagnostics;\n"
        + File.ReadAllText(Path.Combine(ConfigurationDir, "ConfigAttributes.cs"));

    public static string SettingsModel => File.ReadAllText(Path.Combine(ConfigurationDir, "ComposerSettings.cs"));

    /// <summary>
    /// The Secret type secret keys are held in (and the scrubber it joins), compiled after the test's sources so that
    /// the diagnostics' file names stay Source1.cs, Source2.cs...; models name it through Attributes' global using.
    /// </summary>
    private static readonly string[] SecretType =
    [
        "global using System.Threading;\n" + File.ReadAllText(Path.Combine(RepoPaths.Root, "src", "Composer", "Diagnostics", "Secret.cs")),
        File.ReadAllText(Path.Combine(RepoPaths.Root, "src", "Composer", "Diagnostics", "SecretScrubber.cs")),
    ];

    /// <summary>Runs the generator on the attributes plus <paramref name="sources"/> (named Source1.cs, Source2.cs...).</summary>
    public static GeneratorDriverRunResult Run(params string[] sources)
    {
        var options = new CSharpParseOptions(LanguageVersion.Preview);
        var compilation = CSharpCompilation.Create(
            "GeneratorTest",
            new[] { Attributes }.Concat(sources).Concat(SecretType).Select((s, i) => CSharpSyntaxTree.ParseText(s, options, path: $"Source{i}.cs")),
            References.Value,
            new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable));
        GeneratorDriver driver = CSharpGeneratorDriver.Create([new ConfigBinderGenerator().AsSourceGenerator()], parseOptions: options);
        return driver.RunGenerators(compilation).GetRunResult();
    }

    /// <summary>The generated source of one section type, after checking that the run reported nothing.</summary>
    public static string SourceOf(string model, string typeName)
    {
        var result = Run(model);
        if (!result.Diagnostics.IsEmpty) throw new InvalidOperationException("the model has diagnostics: " + Describe(result.Diagnostics));
        return result.Results.Single().GeneratedSources.Single(s => s.HintName == typeName + ".ConfigBinding.g.cs").SourceText.ToString();
    }

    /// <summary>One line per diagnostic: id, severity, file(line,column) and the message.</summary>
    public static string Describe(IEnumerable<Diagnostic> diagnostics) => string.Join("\n", diagnostics.Select(d =>
    {
        var span = d.Location.GetLineSpan();
        var where = span.IsValid ? $"{span.Path}({span.StartLinePosition.Line + 1},{span.StartLinePosition.Character + 1})" : "(no location)";
        return $"{d.Id} {d.Severity} {where}: {d.GetMessage(CultureInfo.InvariantCulture)}";
    })) + "\n";

    /// <summary>The named members of the generated class, whole, in source order, each under a "// name" line.</summary>
    public static string Members(string source, params string[] names)
    {
        var parts = new List<(string Member, string Text)>();
        foreach (var member in ClassMembers(source))
        {
            var name = NameOf(member);
            if (names.Contains(name)) parts.Add((name, Dedent(member)));
        }
        var missing = names.Except(parts.Select(p => p.Member)).ToList();
        if (missing.Count > 0) throw new InvalidOperationException("no generated member " + string.Join(", ", missing));
        return Join(parts);
    }

    /// <summary>
    /// Only what the generator wrote for <paramref name="keys"/>: their rows of the key table, their cases in the
    /// binders (a secret's "_file" case included) and their statements in the writers, under a "// member" line each.
    /// The Markdown reference and the schema are left to <see cref="Members"/>.
    /// </summary>
    public static string ForKeys(string source, params string[] keys)
    {
        var parts = new List<(string Member, string Text)>();
        foreach (var member in ClassMembers(source))
        {
            var name = NameOf(member);
            if (name is "ConfigWriteMarkdown" or "ConfigWriteSchema") continue;
            var pieces = member switch
            {
                FieldDeclarationSyntax { Declaration.Variables: [{ Initializer.Value: CollectionExpressionSyntax rows }] } =>
                    rows.Elements.Where(e => Names(e, keys)).Select(e => Dedent(e) + ","),
                MethodDeclarationSyntax { Body: { } body } => StatementsFor(body.Statements, keys).Select(Dedent),
                _ => [],
            };
            foreach (var piece in pieces) parts.Add((name, piece));
        }
        if (parts.Count == 0) throw new InvalidOperationException("nothing generated for " + string.Join(", ", keys));
        return Join(parts);
    }

    private static IEnumerable<MemberDeclarationSyntax> ClassMembers(string source) =>
        CSharpSyntaxTree.ParseText(source).GetRoot().DescendantNodes().OfType<ClassDeclarationSyntax>().Single().Members;

    private static string NameOf(MemberDeclarationSyntax member) => member switch
    {
        MethodDeclarationSyntax m => m.Identifier.Text,
        FieldDeclarationSyntax f => f.Declaration.Variables.Single().Identifier.Text,
        _ => member.Kind().ToString(),
    };

    /// <summary>Top-level statements naming a key; the key loop is entered, and of a switch only the keys' sections are kept.</summary>
    private static IEnumerable<SyntaxNode> StatementsFor(SyntaxList<StatementSyntax> statements, string[] keys)
    {
        foreach (var statement in statements)
        {
            switch (statement)
            {
                case WhileStatementSyntax { Statement: BlockSyntax loop }:
                    foreach (var inner in StatementsFor(loop.Statements, keys)) yield return inner;
                    break;
                case SwitchStatementSyntax @switch:
                    foreach (var section in @switch.Sections.Where(s => s.Labels.OfType<CaseSwitchLabelSyntax>().Any(l => IsKeyLabel(l, keys))))
                    {
                        yield return section;
                    }
                    break;
                default:
                    if (Names(statement, keys)) yield return statement;
                    break;
            }
        }
    }

    private static bool IsKeyLabel(CaseSwitchLabelSyntax label, string[] keys) =>
        label.Value is LiteralExpressionSyntax { Token.ValueText: var text } && keys.Any(k => text == k || text == k + "_file");

    private static bool Names(SyntaxNode node, string[] keys) =>
        node.DescendantTokens().Any(t => t.IsKind(SyntaxKind.StringLiteralToken) && keys.Contains(t.ValueText));

    /// <summary>The node's text with the indentation of its first line removed from every line.</summary>
    private static string Dedent(SyntaxNode node)
    {
        var column = node.GetLocation().GetLineSpan().StartLinePosition.Character;
        var lines = node.ToString().Split('\n');
        return string.Join("\n", lines.Select((l, i) => i > 0 && l.Length >= column && string.IsNullOrWhiteSpace(l[..column]) ? l[column..] : l));
    }

    private static string Join(List<(string Member, string Text)> parts)
    {
        var sb = new StringBuilder();
        foreach (var group in parts.GroupBy(p => p.Member))
        {
            if (sb.Length > 0) sb.Append('\n');
            sb.Append("// ").Append(group.Key).Append('\n');
            foreach (var (_, text) in group) sb.Append(text).Append('\n');
        }
        return sb.ToString();
    }
}

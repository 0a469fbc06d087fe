using System.Collections.Immutable;
using Microsoft.CodeAnalysis;

namespace Composer.Generators;

/// <summary>
/// Turns the annotated settings model into trim-safe binders (YAML events, Utf8JsonReader, environment),
/// writers, the key table with provenance slots, the Markdown reference and the JSON Schema.
/// Modelled on the System.Text.Json generator: a parser builds value-equatable specs, an emitter writes text.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class ConfigBinderGenerator : IIncrementalGenerator
{
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var sections = context.SyntaxProvider.ForAttributeWithMetadataName(
            Parser.SectionAttribute,
            static (node, _) => node is Microsoft.CodeAnalysis.CSharp.Syntax.ClassDeclarationSyntax,
            static (ctx, ct) => Parser.Parse(ctx, ct));

        var all = sections.Collect().Select(static (specs, _) => new EquatableArray<TypeSpec>(specs));
        context.RegisterSourceOutput(all, static (spc, specs) => Emitter.Emit(spc, specs.Items));
    }
}

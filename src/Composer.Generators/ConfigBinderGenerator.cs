using Microsoft.CodeAnalysis;

namespace Composer.Generators;

/// <summary>Turns the annotated settings model into trim-safe binders (YAML, JSON, environment).</summary>
[Generator(LanguageNames.CSharp)]
public sealed class ConfigBinderGenerator : IIncrementalGenerator
{
    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
    }
}

using Microsoft.CodeAnalysis;

namespace Composer.Generators;

internal static class Diagnostics
{
    private const string Category = "Composer.Configuration";

    public static readonly DiagnosticDescriptor UnsupportedType = Error(
        "COMPOSER001", "Unsupported configuration property type",
        "Property '{0}.{1}' has type '{2}', which the configuration binder does not support (string, bool, int, long, their nullable forms, List<string>?, List<section>?, Dictionary<string, string>?, a [ConfigSection] class, or string? with [RawJson])");

    public static readonly DiagnosticDescriptor MissingKey = Error(
        "COMPOSER002", "Configuration property without [ConfigKey]",
        "Property '{0}.{1}' has no [ConfigKey]: every public property of a [ConfigSection] type must name its key");

    public static readonly DiagnosticDescriptor NotPartial = Error(
        "COMPOSER003", "Configuration section must be partial",
        "Type '{0}' has [ConfigSection] but is not declared partial");

    public static readonly DiagnosticDescriptor DuplicateKey = Error(
        "COMPOSER004", "Duplicate configuration key",
        "Key '{1}' is used more than once in '{0}'");

    public static readonly DiagnosticDescriptor BadAlias = Error(
        "COMPOSER005", "Unsupported configuration alias",
        "Alias '{2}' on '{0}.{1}' is not supported: use 'other_key' or 'section.key' (section being a [ConfigSection] property of the same type) on a scalar setting");

    public static readonly DiagnosticDescriptor NotSettable = Error(
        "COMPOSER006", "Configuration property must be settable",
        "Property '{0}.{1}' needs a public setter to be bound");

    public static readonly DiagnosticDescriptor Cycle = Error(
        "COMPOSER007", "Recursive configuration sections",
        "Section type '{0}' contains itself through '{1}'; configuration sections must form a tree");

    public static readonly DiagnosticDescriptor NoParameterlessConstructor = Error(
        "COMPOSER008", "Configuration section needs a parameterless constructor",
        "Type '{0}' has [ConfigSection] but no public parameterless constructor");

    public static readonly DiagnosticDescriptor SecretNotTyped = Error(
        "COMPOSER009", "Secret configuration property must be of type Secret",
        "Property '{0}.{1}' is a secret: its type must be Composer.Diagnostics.Secret (a string can be printed); [Secret(UrlCredentials = true)] is for a string URL whose password is the secret part");

    /// <summary>Every binder diagnostic is an error (release tracking still checks each id against AnalyzerReleases.*.md).</summary>
    private static DiagnosticDescriptor Error(string id, string title, string message) =>
        new(id, title, message, Category, DiagnosticSeverity.Error, isEnabledByDefault: true);

    public static DiagnosticDescriptor ById(string id) => id switch
    {
        "COMPOSER001" => UnsupportedType,
        "COMPOSER002" => MissingKey,
        "COMPOSER003" => NotPartial,
        "COMPOSER004" => DuplicateKey,
        "COMPOSER005" => BadAlias,
        "COMPOSER006" => NotSettable,
        "COMPOSER007" => Cycle,
        "COMPOSER009" => SecretNotTyped,
        _ => NoParameterlessConstructor,
    };
}

using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace Composer.Generators;

/// <summary>Turns one [ConfigSection] class into a <see cref="TypeSpec"/>; no Roslyn object escapes.</summary>
internal static class Parser
{
    public const string Namespace = "Composer.Configuration";
    public const string SectionAttribute = Namespace + ".ConfigSectionAttribute";
    private const string KeyAttribute = Namespace + ".ConfigKeyAttribute";
    private const string AliasAttribute = Namespace + ".ConfigAliasAttribute";
    private const string SecretAttribute = Namespace + ".SecretAttribute";
    private const string DocAttribute = Namespace + ".ConfigDocAttribute";
    private const string RawJsonAttribute = Namespace + ".RawJsonAttribute";
    private const string SecretType = "Composer.Diagnostics.Secret";

    public static TypeSpec Parse(GeneratorAttributeSyntaxContext context, CancellationToken cancellationToken)
    {
        var type = (INamedTypeSymbol)context.TargetSymbol;
        var diagnostics = ImmutableArray.CreateBuilder<DiagnosticSpec>();
        var typeLocation = LocationSpec.From(type.Locations.FirstOrDefault());

        var isPartial = type.DeclaringSyntaxReferences
            .Select(r => r.GetSyntax(cancellationToken))
            .OfType<ClassDeclarationSyntax>()
            .Any(c => c.Modifiers.Any(SyntaxKind.PartialKeyword));
        if (!isPartial) diagnostics.Add(new DiagnosticSpec("COMPOSER003", type.Name, "", "", typeLocation));
        if (!type.InstanceConstructors.Any(c => c.Parameters.Length == 0 && c.DeclaredAccessibility == Accessibility.Public))
        {
            diagnostics.Add(new DiagnosticSpec("COMPOSER008", type.Name, "", "", typeLocation));
        }

        var isRoot = context.Attributes[0].NamedArguments.Any(a => a.Key == "IsRoot" && a.Value.Value is true);
        var properties = ImmutableArray.CreateBuilder<PropertySpec>();
        var keys = new HashSet<string>();
        foreach (var member in type.GetMembers())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (member is not IPropertySymbol { IsStatic: false, IsIndexer: false, DeclaredAccessibility: Accessibility.Public } property) continue;
            var location = LocationSpec.From(property.Locations.FirstOrDefault());
            var attributes = property.GetAttributes();
            var key = Find(attributes, KeyAttribute);
            if (key is null)
            {
                diagnostics.Add(new DiagnosticSpec("COMPOSER002", type.Name, property.Name, "", location));
                continue;
            }
            if (property.SetMethod is null || property.SetMethod.DeclaredAccessibility != Accessibility.Public)
            {
                diagnostics.Add(new DiagnosticSpec("COMPOSER006", type.Name, property.Name, "", location));
                continue;
            }
            var keyName = key.ConstructorArguments.FirstOrDefault().Value as string ?? property.Name;
            if (!keys.Add(keyName)) diagnostics.Add(new DiagnosticSpec("COMPOSER004", type.Name, keyName, "", location));
            var unit = key.NamedArguments.FirstOrDefault(a => a.Key == "Unit").Value.Value as string;
            var secret = Find(attributes, SecretAttribute);
            var urlCredentials = secret?.NamedArguments.Any(a => a.Key == "UrlCredentials" && a.Value.Value is true) ?? false;
            var doc = Find(attributes, DocAttribute)?.ConstructorArguments.FirstOrDefault().Value as string;
            var aliases = attributes
                .Where(a => a.AttributeClass?.ToDisplayString() == AliasAttribute)
                .Select(a => a.ConstructorArguments.FirstOrDefault().Value as string)
                .Where(a => a is not null)
                .Select(a => a!)
                .ToImmutableArray();
            var rawJson = Find(attributes, RawJsonAttribute) is not null;

            if (!Classify(property.Type, property.NullableAnnotation, rawJson, out var kind, out var nullable, out var sectionType, out var secretType))
            {
                diagnostics.Add(new DiagnosticSpec("COMPOSER001", type.Name, property.Name,
                    property.Type.ToDisplayString() + (rawJson ? " with [RawJson]" : ""), location));
                continue;
            }
            // The type is the rule: a secret held in a string could be printed; only a URL whose password is the
            // secret part stays a string (its host and port are shown, its password masked).
            if (secret is not null && secretType == urlCredentials)
            {
                diagnostics.Add(new DiagnosticSpec("COMPOSER009", type.Name, property.Name, "", location));
                continue;
            }
            foreach (var alias in aliases)
            {
                if (!IsValidAlias(alias, kind, type)) diagnostics.Add(new DiagnosticSpec("COMPOSER005", type.Name, property.Name, alias, location));
            }
            properties.Add(new PropertySpec(property.Name, keyName, kind, nullable, sectionType, secret is not null || secretType, secretType, urlCredentials, unit, doc,
                new EquatableArray<string>(aliases)));
        }

        return new TypeSpec(
            type.ContainingNamespace.IsGlobalNamespace ? "" : type.ContainingNamespace.ToDisplayString(),
            type.Name,
            type.ToDisplayString(),
            isRoot,
            new EquatableArray<PropertySpec>(properties.ToImmutable()),
            new EquatableArray<DiagnosticSpec>(diagnostics.ToImmutable()),
            typeLocation);
    }

    private static AttributeData? Find(ImmutableArray<AttributeData> attributes, string name) =>
        attributes.FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == name);

    private static bool IsSection(ITypeSymbol type) =>
        type is INamedTypeSymbol { TypeKind: TypeKind.Class } && type.GetAttributes().Any(a => a.AttributeClass?.ToDisplayString() == SectionAttribute);

    private static bool IsValidAlias(string alias, PropKind kind, INamedTypeSymbol owner)
    {
        if (kind is not (PropKind.String or PropKind.Bool or PropKind.Int32 or PropKind.Int64)) return false;
        var parts = alias.Split('.');
        if (parts.Length == 1) return parts[0].Length > 0;
        if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0) return false;
        // The first part must be the key of a section property of the owner.
        foreach (var member in owner.GetMembers().OfType<IPropertySymbol>())
        {
            var key = member.GetAttributes().FirstOrDefault(a => a.AttributeClass?.ToDisplayString() == KeyAttribute);
            if (key?.ConstructorArguments.FirstOrDefault().Value as string == parts[0] && IsSection(member.Type)) return true;
        }
        return false;
    }

    private static bool Classify(ITypeSymbol type, NullableAnnotation annotation, bool rawJson, out PropKind kind, out bool nullable, out string? sectionType,
        out bool secretType)
    {
        kind = PropKind.String;
        nullable = annotation == NullableAnnotation.Annotated;
        sectionType = null;
        secretType = false;
        if (!rawJson && type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat.WithGlobalNamespaceStyle(SymbolDisplayGlobalNamespaceStyle.Omitted)
                .WithMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.None)) == SecretType)
        {
            // Bound like a string, held as a Secret.
            secretType = true;
            return true;
        }
        if (type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } n)
        {
            type = n.TypeArguments[0];
            nullable = true;
        }
        if (rawJson)
        {
            kind = PropKind.RawJson;
            return type.SpecialType == SpecialType.System_String && nullable;
        }
        switch (type.SpecialType)
        {
            case SpecialType.System_String: kind = PropKind.String; return true;
            case SpecialType.System_Boolean: kind = PropKind.Bool; return true;
            case SpecialType.System_Int32: kind = PropKind.Int32; return true;
            case SpecialType.System_Int64: kind = PropKind.Int64; return true;
        }
        if (IsSection(type))
        {
            kind = PropKind.Section;
            sectionType = type.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat.WithMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.None));
            return true;
        }
        if (type is INamedTypeSymbol { IsGenericType: true } generic && nullable)
        {
            var definition = generic.OriginalDefinition.ToDisplayString();
            if (definition == "System.Collections.Generic.List<T>")
            {
                var element = generic.TypeArguments[0];
                if (element.SpecialType == SpecialType.System_String)
                {
                    kind = PropKind.StringList;
                    return true;
                }
                if (IsSection(element))
                {
                    kind = PropKind.SectionList;
                    sectionType = element.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat.WithMiscellaneousOptions(SymbolDisplayMiscellaneousOptions.None));
                    return true;
                }
            }
            if (definition == "System.Collections.Generic.Dictionary<TKey, TValue>"
                && generic.TypeArguments[0].SpecialType == SpecialType.System_String
                && generic.TypeArguments[1].SpecialType == SpecialType.System_String)
            {
                kind = PropKind.StringMap;
                return true;
            }
        }
        return false;
    }
}

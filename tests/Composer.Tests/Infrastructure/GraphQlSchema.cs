using GraphQLParser;
using GraphQLParser.AST;

namespace Composer.Tests.Infrastructure;

/// <summary>A type as written in a schema or a variable definition: a name, or a list of one, either non-null.</summary>
public sealed record GraphQlTypeRef(string? Name, GraphQlTypeRef? OfType, bool NonNull)
{
    public GraphQlTypeRef Nullable => this with { NonNull = false };

    /// <summary>The innermost name ([String!]! gives String).</summary>
    public string NamedType => Name ?? OfType!.NamedType;

    public bool IsList => Name is null;

    public override string ToString() => (Name ?? $"[{OfType}]") + (NonNull ? "!" : "");

    public static GraphQlTypeRef From(GraphQLType type) => type switch
    {
        GraphQLNonNullType n => From(n.Type) with { NonNull = true },
        GraphQLListType l => new GraphQlTypeRef(null, From(l.Type), false),
        GraphQLNamedType named => new GraphQlTypeRef(named.Name.StringValue, null, false),
        _ => throw new ArgumentException($"unexpected type node {type.Kind}"),
    };
}

public enum GraphQlTypeKind { Scalar, Object, InputObject, Enum }

/// <summary>An argument or an input field, with OpenCTI's @constraint rules when it has some.</summary>
public sealed record GraphQlInputValue(string Name, GraphQlTypeRef Type, int? MinLength = null, bool NotBlank = false);

/// <summary>A field of an object type; <see cref="Auth"/> is null without @auth, else the capabilities of which one is needed (none: logged in is enough).</summary>
public sealed record GraphQlField(string Name, GraphQlTypeRef Type, IReadOnlyList<GraphQlInputValue> Arguments, IReadOnlyList<string>? Auth);

public sealed class GraphQlNamedType(string name, GraphQlTypeKind kind)
{
    public string Name { get; } = name;
    public GraphQlTypeKind Kind { get; } = kind;
    public Dictionary<string, GraphQlField> Fields { get; } = new(StringComparer.Ordinal);
    public List<GraphQlInputValue> InputFields { get; } = [];
    public HashSet<string> EnumValues { get; } = new(StringComparer.Ordinal);

    public bool IsLeaf => Kind is GraphQlTypeKind.Scalar or GraphQlTypeKind.Enum;
    public bool IsInput => Kind is GraphQlTypeKind.Scalar or GraphQlTypeKind.Enum or GraphQlTypeKind.InputObject;
}

/// <summary>A schema read from SDL with GraphQL-Parser: object, input, enum and scalar types, plus the built-in scalars.</summary>
public sealed class GraphQlSchema
{
    private GraphQlSchema() { }

    public Dictionary<string, GraphQlNamedType> Types { get; } = new(StringComparer.Ordinal);

    public GraphQlNamedType Query => Types["Query"];

    public GraphQlNamedType? Mutation => Types.GetValueOrDefault("Mutation");

    public static GraphQlSchema Parse(string sdl)
    {
        var schema = new GraphQlSchema();
        foreach (var builtIn in new[] { "String", "Int", "Float", "Boolean", "ID" })
        {
            schema.Types[builtIn] = new GraphQlNamedType(builtIn, GraphQlTypeKind.Scalar);
        }
        var document = Parser.Parse(sdl);
        foreach (var definition in document.Definitions)
        {
            switch (definition)
            {
                case GraphQLScalarTypeDefinition scalar:
                    schema.Types[scalar.Name.StringValue] = new GraphQlNamedType(scalar.Name.StringValue, GraphQlTypeKind.Scalar);
                    break;
                case GraphQLEnumTypeDefinition e:
                {
                    var type = new GraphQlNamedType(e.Name.StringValue, GraphQlTypeKind.Enum);
                    foreach (var value in e.Values!.Items) type.EnumValues.Add(value.Name.StringValue);
                    schema.Types[type.Name] = type;
                    break;
                }
                case GraphQLInputObjectTypeDefinition input:
                {
                    var type = new GraphQlNamedType(input.Name.StringValue, GraphQlTypeKind.InputObject);
                    foreach (var field in input.Fields!.Items) type.InputFields.Add(InputValue(field));
                    schema.Types[type.Name] = type;
                    break;
                }
                case GraphQLObjectTypeDefinition o:
                {
                    var type = new GraphQlNamedType(o.Name.StringValue, GraphQlTypeKind.Object);
                    foreach (var field in o.Fields!.Items)
                    {
                        var arguments = field.Arguments?.Items.Select(InputValue).ToList() ?? [];
                        type.Fields[field.Name.StringValue] = new GraphQlField(field.Name.StringValue, GraphQlTypeRef.From(field.Type), arguments, Auth(field.Directives));
                    }
                    schema.Types[type.Name] = type;
                    break;
                }
            }
        }
        return schema;
    }

    private static GraphQlInputValue InputValue(GraphQLInputValueDefinition definition)
    {
        var constraint = definition.Directives?.Items.FirstOrDefault(d => d.Name == "constraint");
        int? minLength = constraint?.Arguments?.Items.FirstOrDefault(a => a.Name == "minLength")?.Value is GraphQLIntValue i
            ? int.Parse(i.Value.Span, provider: System.Globalization.CultureInfo.InvariantCulture)
            : null;
        var notBlank = constraint?.Arguments?.Items.FirstOrDefault(a => a.Name == "format")?.Value is GraphQLStringValue s && s.Value.Span.SequenceEqual("not-blank");
        return new GraphQlInputValue(definition.Name.StringValue, GraphQlTypeRef.From(definition.Type), minLength, notBlank);
    }

    private static List<string>? Auth(GraphQLDirectives? directives)
    {
        var auth = directives?.Items.FirstOrDefault(d => d.Name == "auth");
        if (auth is null) return null;
        return auth.Arguments?.Items.FirstOrDefault(a => a.Name == "for")?.Value is GraphQLListValue list
            ? [.. list.Values!.Select(v => ((GraphQLEnumValue)v).Name.StringValue)]
            : [];
    }
}

using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using GraphQLParser;
using GraphQLParser.AST;
using GraphQLParser.Exceptions;

namespace Composer.Tests.Infrastructure;

/// <summary>One error of a GraphQL answer, as Apollo Server (formatted by OpenCTI) writes it.</summary>
public sealed record GraphQlError(string Message, string Code)
{
    public IReadOnlyList<(int Line, int Column)> Locations { get; init; } = [];
    public IReadOnlyList<object>? Path { get; init; }
    public JsonObject? Data { get; init; }

    public JsonObject ToJson()
    {
        var error = new JsonObject { ["message"] = Message };
        if (Locations.Count > 0)
        {
            error["locations"] = new JsonArray([.. Locations.Select(l => (JsonNode)new JsonObject { ["line"] = l.Line, ["column"] = l.Column })]);
        }
        if (Path is not null) error["path"] = new JsonArray([.. Path.Select(p => p is int i ? JsonValue.Create(i) : (JsonNode)JsonValue.Create((string)p))]);
        var extensions = new JsonObject { ["code"] = Code };
        if (Data is not null) extensions["data"] = Data.DeepClone();
        error["extensions"] = extensions;
        // OpenCTI's formatError copies the code into "name" for clients of its version 3 API.
        error["name"] = Code;
        return error;
    }
}

/// <summary>Thrown by a resolver: the field answers null and the error is listed (OpenCTI's FunctionalError, UnsupportedError ...).</summary>
public sealed class GraphQlFieldException(string message, string code, JsonObject? data = null) : Exception(message)
{
    public string Code { get; } = code;
    public JsonObject? ErrorData { get; } = data;
}

/// <summary>An object a resolver returns: each field computed only when the document selects it.</summary>
public sealed class GraphQlObject(string typeName)
{
    private readonly Dictionary<string, Func<object?>> _fields = new(StringComparer.Ordinal);

    public string TypeName { get; } = typeName;

    /// <summary>A field's value: null, a string, bool, int, JsonNode, a <see cref="GraphQlObject"/> or a sequence of those.</summary>
    public Func<object?> this[string field]
    {
        set => _fields[field] = value;
    }

    public object? Resolve(string field) =>
        _fields.TryGetValue(field, out var resolve) ? resolve() : throw new InvalidOperationException($"{TypeName}.{field} has no resolver in the stand-in");
}

/// <summary>A root field of a validated operation, with its arguments coerced to plain JSON.</summary>
public sealed record GraphQlRootField(string ResponseKey, string Name, GraphQlField Definition, IReadOnlyDictionary<string, JsonNode?> Arguments);

/// <summary>A document that passed parsing, validation, variable coercion and OpenCTI's constraints: ready to execute.</summary>
public sealed class GraphQlPrepared
{
    internal GraphQlPrepared(GraphQlSchema schema, OperationType operation, string? name, List<(string Key, List<GraphQLField> Nodes)> rootFields,
        Dictionary<string, GraphQLFragmentDefinition> fragments, Dictionary<string, JsonNode?> variables, ROM source)
    {
        Schema = schema;
        Operation = operation;
        Name = name;
        RootNodes = rootFields;
        Fragments = fragments;
        Variables = variables;
        Source = source;
    }

    public GraphQlSchema Schema { get; }
    public OperationType Operation { get; }
    public string? Name { get; }
    internal List<(string Key, List<GraphQLField> Nodes)> RootNodes { get; }
    internal Dictionary<string, GraphQLFragmentDefinition> Fragments { get; }
    internal Dictionary<string, JsonNode?> Variables { get; }
    internal ROM Source { get; }

    public GraphQlNamedType RootType => Operation == OperationType.Mutation ? Schema.Mutation! : Schema.Query;

    /// <summary>The root fields in document order (names and coerced arguments), e.g. to tell which operation this is.</summary>
    public IReadOnlyList<GraphQlRootField> RootFields => [.. RootNodes.Where(r => r.Nodes[0].Name.StringValue != "__typename").Select(r =>
    {
        var definition = RootType.Fields[r.Nodes[0].Name.StringValue];
        return new GraphQlRootField(r.Key, definition.Name, definition, GraphQlEngine.ArgumentValues(definition, r.Nodes[0], Variables));
    })];
}

/// <summary>
/// A small GraphQL server core for the stand-ins, written against GraphQL-Parser's AST: parses a request, validates
/// it against a <see cref="GraphQlSchema"/> with the rules graphql-js applies (and its messages), coerces the
/// variables, applies OpenCTI's <c>@constraint</c> rules, checks <c>@auth</c> capabilities per root field and shapes
/// the answer by the selection set, with GraphQL's null propagation. Error codes are Apollo Server's
/// (GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED, BAD_USER_INPUT) and OpenCTI's (AUTH_REQUIRED, FORBIDDEN_ACCESS ...).
/// </summary>
public static partial class GraphQlEngine
{
    public const string ParseFailed = "GRAPHQL_PARSE_FAILED";
    public const string ValidationFailed = "GRAPHQL_VALIDATION_FAILED";
    public const string BadUserInput = "BAD_USER_INPUT";
    public const string OperationResolutionFailure = "OPERATION_RESOLUTION_FAILURE";
    public const string AuthRequired = "AUTH_REQUIRED";
    public const string ForbiddenAccess = "FORBIDDEN_ACCESS";
    public const string AuthRequiredMessage = "You must be logged in to do this.";
    public const string ForbiddenMessage = "You are not allowed to do this.";

    /// <summary>Parses, validates and coerces; on any problem, the errors the server answers with instead of executing.</summary>
    public static (GraphQlPrepared? Prepared, IReadOnlyList<GraphQlError> Errors) Prepare(GraphQlSchema schema, string query, string? operationName, JsonNode? variables)
    {
        GraphQLDocument document;
        try
        {
            document = Parser.Parse(query);
        }
        catch (GraphQLParserException ex)
        {
            return (null, [new GraphQlError($"Syntax Error: {ex.Description}", ParseFailed) { Locations = [(ex.Location.Line, ex.Location.Column)] }]);
        }
        var validator = new Validator(schema, document, query);
        var errors = validator.Validate();
        if (errors.Count > 0) return (null, errors);

        var operations = document.Definitions.OfType<GraphQLOperationDefinition>().ToList();
        GraphQLOperationDefinition? operation;
        if (operationName is null)
        {
            if (operations.Count != 1) return (null, [new GraphQlError("Must provide operation name if query contains multiple operations.", OperationResolutionFailure)]);
            operation = operations[0];
        }
        else
        {
            operation = operations.FirstOrDefault(o => o.Name?.StringValue == operationName);
            if (operation is null) return (null, [new GraphQlError($"Unknown operation named \"{operationName}\".", OperationResolutionFailure)]);
        }
        var fragments = document.Definitions.OfType<GraphQLFragmentDefinition>().ToDictionary(f => f.FragmentName.Name.StringValue, StringComparer.Ordinal);

        var (coerced, coercionErrors) = CoerceVariables(schema, operation, variables as JsonObject);
        if (coercionErrors.Count > 0) return (null, coercionErrors);

        var rootType = operation.Operation == OperationType.Mutation ? schema.Mutation! : schema.Query;
        var rootFields = CollectFields(rootType, operation.SelectionSet, fragments, coerced);
        var constraintErrors = CheckConstraints(schema, rootType, rootFields, coerced);
        if (constraintErrors.Count > 0) return (null, constraintErrors);
        return (new GraphQlPrepared(schema, operation.Operation, operation.Name?.StringValue, rootFields, fragments, coerced, query), []);
    }

    /// <summary>
    /// Executes a prepared operation. Root fields carrying @auth need a caller (<paramref name="capabilities"/> null:
    /// AUTH_REQUIRED) holding one of their capabilities (BYPASS holds all; else FORBIDDEN_ACCESS), as OpenCTI's auth
    /// directive decides. <paramref name="resolve"/> answers a root field; it may throw <see cref="GraphQlFieldException"/>.
    /// </summary>
    public static async Task<JsonObject> ExecuteAsync(GraphQlPrepared prepared, IReadOnlySet<string>? capabilities, Func<GraphQlRootField, Task<object?>> resolve)
    {
        var execution = new Execution(prepared);
        JsonObject? data = new();
        foreach (var (key, nodes) in prepared.RootNodes)
        {
            var node = nodes[0];
            var name = node.Name.StringValue;
            if (name == "__typename")
            {
                data[key] = prepared.RootType.Name;
                continue;
            }
            var definition = prepared.RootType.Fields[name];
            var field = new GraphQlRootField(key, name, definition, ArgumentValues(definition, node, prepared.Variables));
            object? raw;
            try
            {
                Authorize(definition, capabilities);
                raw = await resolve(field);
            }
            catch (GraphQlFieldException ex)
            {
                execution.Errors.Add(new GraphQlError(ex.Message, ex.Code) { Locations = [execution.Location(node)], Path = [key], Data = ex.ErrorData });
                if (definition.Type.NonNull)
                {
                    data = null;
                    break;
                }
                data[key] = null;
                continue;
            }
            try
            {
                data[key] = execution.Complete(definition.Type, raw, nodes, [key], $"{prepared.RootType.Name}.{name}");
            }
            catch (NullBubble)
            {
                data = null;
                break;
            }
        }
        var response = new JsonObject();
        if (execution.Errors.Count > 0) response["errors"] = new JsonArray([.. execution.Errors.Select(e => (JsonNode)e.ToJson())]);
        response["data"] = data;
        return response;
    }

    private static void Authorize(GraphQlField definition, IReadOnlySet<string>? capabilities)
    {
        if (definition.Auth is not { } required) return;
        if (capabilities is null) throw new GraphQlFieldException(AuthRequiredMessage, AuthRequired, new JsonObject { ["http_status"] = 401, ["genre"] = "TECHNICAL" });
        if (required.Count == 0 || capabilities.Contains("BYPASS")) return;
        // OpenCTI matches a capability by substring (KNOWLEDGE grants KNOWLEDGE_KNUPDATE's parent checks), any one suffices.
        if (required.Any(r => capabilities.Any(c => c.Contains(r, StringComparison.Ordinal)))) return;
        throw new GraphQlFieldException(ForbiddenMessage, ForbiddenAccess, new JsonObject { ["http_status"] = 403, ["genre"] = "TECHNICAL" });
    }

    // ---- field collection ----

    private static List<(string Key, List<GraphQLField> Nodes)> CollectFields(GraphQlNamedType type, GraphQLSelectionSet set,
        Dictionary<string, GraphQLFragmentDefinition> fragments, Dictionary<string, JsonNode?> variables)
    {
        var result = new List<(string Key, List<GraphQLField> Nodes)>();
        Collect(type, set, fragments, variables, result, new HashSet<string>(StringComparer.Ordinal));
        return result;
    }

    private static void Collect(GraphQlNamedType type, GraphQLSelectionSet set, Dictionary<string, GraphQLFragmentDefinition> fragments,
        Dictionary<string, JsonNode?> variables, List<(string Key, List<GraphQLField> Nodes)> result, HashSet<string> visited)
    {
        foreach (var selection in set.Selections)
        {
            var directives = selection switch
            {
                GraphQLField f => f.Directives,
                GraphQLFragmentSpread s => s.Directives,
                GraphQLInlineFragment i => i.Directives,
                _ => null,
            };
            if (!Included(directives, variables)) continue;
            switch (selection)
            {
                case GraphQLField field:
                {
                    var key = (field.Alias?.Name ?? field.Name).StringValue;
                    var i = result.FindIndex(r => r.Key == key);
                    if (i >= 0) result[i].Nodes.Add(field);
                    else result.Add((key, [field]));
                    break;
                }
                case GraphQLFragmentSpread spread:
                {
                    var name = spread.FragmentName.Name.StringValue;
                    if (visited.Add(name) && fragments.TryGetValue(name, out var fragment)) Collect(type, fragment.SelectionSet, fragments, variables, result, visited);
                    break;
                }
                case GraphQLInlineFragment inline:
                    Collect(type, inline.SelectionSet, fragments, variables, result, visited);
                    break;
            }
        }
    }

    private static bool Included(GraphQLDirectives? directives, Dictionary<string, JsonNode?> variables)
    {
        if (directives is null) return true;
        foreach (var directive in directives.Items)
        {
            var condition = directive.Arguments?.Items.FirstOrDefault(a => a.Name == "if")?.Value switch
            {
                GraphQLBooleanValue b => b.BoolValue,
                GraphQLVariable v => variables.GetValueOrDefault(v.Name.StringValue)?.GetValue<bool>() ?? false,
                _ => false,
            };
            if (directive.Name == "skip" && condition) return false;
            if (directive.Name == "include" && !condition) return false;
        }
        return true;
    }

    // ---- arguments ----

    internal static IReadOnlyDictionary<string, JsonNode?> ArgumentValues(GraphQlField definition, GraphQLField node, Dictionary<string, JsonNode?> variables)
    {
        var values = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var argument in definition.Arguments)
        {
            var provided = node.Arguments?.Items.FirstOrDefault(a => a.Name == argument.Name);
            if (provided is null) continue;
            if (provided.Value is GraphQLVariable v && !variables.ContainsKey(v.Name.StringValue)) continue;
            values[argument.Name] = LiteralToJson(provided.Value, variables);
        }
        return values;
    }

    /// <summary>A literal (already validated) as JSON; variables replaced by their coerced values.</summary>
    private static JsonNode? LiteralToJson(GraphQLValue value, Dictionary<string, JsonNode?> variables) => value switch
    {
        GraphQLVariable v => variables.GetValueOrDefault(v.Name.StringValue)?.DeepClone(),
        GraphQLNullValue => null,
        GraphQLStringValue s => JsonValue.Create(s.Value.ToString()),
        GraphQLIntValue i => JsonValue.Create(long.Parse(i.Value.Span, provider: CultureInfo.InvariantCulture)),
        GraphQLFloatValue f => JsonValue.Create(double.Parse(f.Value.Span, provider: CultureInfo.InvariantCulture)),
        GraphQLBooleanValue b => JsonValue.Create(b.BoolValue),
        GraphQLEnumValue e => JsonValue.Create(e.Name.StringValue),
        GraphQLListValue l => new JsonArray([.. (l.Values ?? []).Select(x => LiteralToJson(x, variables))]),
        GraphQLObjectValue o => new JsonObject((o.Fields ?? []).Select(f => KeyValuePair.Create(f.Name.StringValue, LiteralToJson(f.Value, variables)))),
        _ => null,
    };

    // ---- variable coercion (graphql-js getVariableValues / coerceInputValue, with its messages) ----

    private static (Dictionary<string, JsonNode?> Values, List<GraphQlError> Errors) CoerceVariables(GraphQlSchema schema, GraphQLOperationDefinition operation, JsonObject? provided)
    {
        var values = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        var errors = new List<GraphQlError>();
        foreach (var definition in operation.Variables?.Items ?? [])
        {
            var name = definition.Variable.Name.StringValue;
            var type = GraphQlTypeRef.From(definition.Type);
            if (provided is null || !provided.TryGetPropertyValue(name, out var value))
            {
                if (definition.DefaultValue is { } defaultValue) values[name] = LiteralToJson(defaultValue, values);
                else if (type.NonNull) errors.Add(new GraphQlError($"Variable \"${name}\" of required type \"{type}\" was not provided.", BadUserInput));
                continue;
            }
            if (value is null && type.NonNull)
            {
                errors.Add(new GraphQlError($"Variable \"${name}\" of non-null type \"{type}\" must not be null.", BadUserInput));
                continue;
            }
            var coerced = CoerceInput(schema, value, type, [], (path, invalid, message) =>
            {
                var at = path.Count > 0 ? $" at \"{name}{PrintPath(path)}\"" : "";
                errors.Add(new GraphQlError($"Variable \"${name}\" got invalid value {Inspect(invalid)}{at}; {message}", BadUserInput));
            });
            values[name] = coerced;
        }
        return (values, errors);
    }

    private static string PrintPath(List<object> path) =>
        string.Concat(path.Select(p => p is int i ? $"[{i}]" : "." + p));

    private static JsonNode? CoerceInput(GraphQlSchema schema, JsonNode? value, GraphQlTypeRef type, List<object> path, Action<List<object>, JsonNode?, string> onError)
    {
        if (type.NonNull)
        {
            if (value is null)
            {
                onError(path, value, $"Expected non-nullable type \"{type}\" not to be null.");
                return null;
            }
            return CoerceInput(schema, value, type.Nullable, path, onError);
        }
        if (value is null) return null;
        if (type.IsList)
        {
            if (value is JsonArray array)
            {
                var items = new JsonArray();
                for (var i = 0; i < array.Count; i++) items.Add(CoerceInput(schema, array[i], type.OfType!, [.. path, i], onError));
                return items;
            }
            // A single value where a list is expected is a list of one.
            return new JsonArray(CoerceInput(schema, value, type.OfType!, path, onError));
        }
        var named = schema.Types[type.Name!];
        if (named.Kind == GraphQlTypeKind.InputObject)
        {
            if (value is not JsonObject o)
            {
                onError(path, value, $"Expected type \"{named.Name}\" to be an object.");
                return null;
            }
            var result = new JsonObject();
            foreach (var field in named.InputFields)
            {
                if (!o.TryGetPropertyValue(field.Name, out var fieldValue))
                {
                    if (field.Type.NonNull) onError(path, value, $"Field \"{field.Name}\" of required type \"{field.Type}\" was not provided.");
                    continue;
                }
                result[field.Name] = CoerceInput(schema, fieldValue, field.Type, [.. path, field.Name], onError);
            }
            foreach (var (key, _) in o)
            {
                if (named.InputFields.All(f => f.Name != key)) onError(path, value, $"Field \"{key}\" is not defined by type \"{named.Name}\".");
            }
            return result;
        }
        if (ParseLeaf(named, value) is { } problem)
        {
            onError(path, value, problem);
            return null;
        }
        return value.DeepClone();
    }

    /// <summary>Null when the JSON value is a valid <paramref name="type"/>, else the scalar's own complaint.</summary>
    private static string? ParseLeaf(GraphQlNamedType type, JsonNode value)
    {
        var kind = value.GetValueKind();
        switch (type.Name)
        {
            case "String":
                return kind == JsonValueKind.String ? null : $"String cannot represent a non string value: {Inspect(value)}";
            case "Boolean":
                return kind is JsonValueKind.True or JsonValueKind.False ? null : $"Boolean cannot represent a non boolean value: {Inspect(value)}";
            case "Int":
                if (kind != JsonValueKind.Number || !value.AsValue().TryGetValue<double>(out var d) || d != Math.Floor(d)) return $"Int cannot represent non-integer value: {Inspect(value)}";
                return d is >= int.MinValue and <= int.MaxValue ? null : $"Int cannot represent non 32-bit signed integer value: {Inspect(value)}";
            case "Float":
                return kind == JsonValueKind.Number ? null : $"Float cannot represent non numeric value: {Inspect(value)}";
            case "ID":
                return kind == JsonValueKind.String || (kind == JsonValueKind.Number && value.AsValue().TryGetValue<long>(out _)) ? null : $"ID cannot represent value: {Inspect(value)}";
            case "DateTime":
                if (kind != JsonValueKind.String) return $"DateTime cannot represent non string or Date type {value.ToJsonString()}";
                var text = value.GetValue<string>();
                return IsRfc3339(text) ? null : $"DateTime cannot represent an invalid date-time-string {text}.";
        }
        if (type.Kind == GraphQlTypeKind.Enum)
        {
            if (kind != JsonValueKind.String) return $"Enum \"{type.Name}\" cannot represent non-string value: {Inspect(value)}.";
            return type.EnumValues.Contains(value.GetValue<string>()) ? null : $"Value \"{value.GetValue<string>()}\" does not exist in \"{type.Name}\" enum.";
        }
        return null;
    }

    /// <summary>RFC 3339 as graphql-scalars' DateTime checks it: the shape, a real calendar date, hours 00-23, seconds up to 60.</summary>
    public static bool IsRfc3339(string text)
    {
        var match = Rfc3339().Match(text.ToUpperInvariant());
        if (!match.Success) return false;
        var year = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        var month = int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture);
        var day = int.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture);
        return day <= DateTime.DaysInMonth(year, month);
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$")]
    private static partial System.Text.RegularExpressions.Regex Rfc3339();

    /// <summary>A value as graphql-js's inspect prints it in error messages.</summary>
    public static string Inspect(JsonNode? value, int depth = 0)
    {
        switch (value)
        {
            case null:
                return "null";
            case JsonArray array:
                if (array.Count == 0) return "[]";
                if (depth >= 2) return "[Array]";
                var items = array.Take(10).Select(v => Inspect(v, depth + 1)).ToList();
                if (array.Count > 10) items.Add($"... {array.Count - 10} more items");
                return "[" + string.Join(", ", items) + "]";
            case JsonObject o:
                if (o.Count == 0) return "{}";
                if (depth >= 2) return "[Object]";
                return "{ " + string.Join(", ", o.Select(p => $"{p.Key}: {Inspect(p.Value, depth + 1)}")) + " }";
            default:
                return value.GetValueKind() == JsonValueKind.String
                    ? JsonSerializer.Serialize(value.GetValue<string>(), Relaxed)
                    : value.ToJsonString();
        }
    }

    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // ---- OpenCTI's @constraint (graphql-constraint-directive's query validation, with its messages) ----

    private static List<GraphQlError> CheckConstraints(GraphQlSchema schema, GraphQlNamedType rootType, List<(string Key, List<GraphQLField> Nodes)> rootFields,
        Dictionary<string, JsonNode?> variables)
    {
        var found = new List<string>();
        foreach (var (_, nodes) in rootFields)
        {
            var node = nodes[0];
            if (!rootType.Fields.TryGetValue(node.Name.StringValue, out var definition)) continue;
            foreach (var argument in node.Arguments?.Items ?? [])
            {
                var argumentDefinition = definition.Arguments.First(a => a.Name == argument.Name.StringValue);
                var variable = (argument.Value as GraphQLVariable)?.Name.StringValue;
                var value = LiteralToJson(argument.Value, variables);
                var prefix = variable is not null
                    ? $"Variable \"${variable}\" got invalid value"
                    : $"Argument \"{argument.Name.StringValue}\" of \"{node.Name.StringValue}\" got invalid value";
                CheckInputConstraints(schema, argumentDefinition.Type, value, variable, prefix, found);
            }
        }
        if (found.Count == 0) return [];
        var data = new JsonObject { ["http_status"] = 400 };
        return found.Count == 1
            ? [new GraphQlError(found[0], BadUserInput)]
            : [new GraphQlError("Query is invalid, for details see extensions.validationErrors", BadUserInput)
            {
                Data = new JsonObject { ["validationErrors"] = new JsonArray([.. found.Select(m => (JsonNode)JsonValue.Create(m))]) },
            }];
    }

    private static void CheckInputConstraints(GraphQlSchema schema, GraphQlTypeRef type, JsonNode? value, string? parent, string prefix, List<string> found)
    {
        if (value is not JsonObject o || schema.Types.GetValueOrDefault(type.NamedType) is not { Kind: GraphQlTypeKind.InputObject } input) return;
        foreach (var field in input.InputFields)
        {
            var path = parent is null ? field.Name : $"{parent}.{field.Name}";
            if (o[field.Name] is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
            {
                CheckInputConstraints(schema, field.Type, o[field.Name], path, prefix, found);
                continue;
            }
            var text = v.GetValue<string>();
            string? problem = null;
            if (field.MinLength is { } min && text.Length < min) problem = $"Must be at least {min} characters in length";
            else if (field.NotBlank && text.Length > 0 && text.Trim().Length == 0) problem = "Value cannot have only whitespace(s)";
            if (problem is not null) found.Add($"{prefix} \"{text}\" at \"{path}\". {problem}");
        }
    }

    // ---- execution ----

    private sealed class NullBubble : Exception;

    private sealed class Execution(GraphQlPrepared prepared)
    {
        public List<GraphQlError> Errors { get; } = [];

        public (int Line, int Column) Location(ASTNode node)
        {
            var offset = node.Location.Start;
            var span = prepared.Source.Span;
            int line = 1, column = 1;
            for (var i = 0; i < offset && i < span.Length; i++)
            {
                if (span[i] == '\n')
                {
                    line++;
                    column = 1;
                }
                else column++;
            }
            return (line, column);
        }

        /// <summary>A value completed for its type; throws <see cref="NullBubble"/> when a non-null position ends null.</summary>
        public JsonNode? Complete(GraphQlTypeRef type, object? raw, List<GraphQLField> nodes, List<object> path, string fieldName)
        {
            if (type.NonNull)
            {
                var value = CompleteNullable(type.Nullable, raw, nodes, path, out var bubbled);
                if (value is null)
                {
                    if (!bubbled) Errors.Add(new GraphQlError($"Cannot return null for non-nullable field {fieldName}.", "INTERNAL_SERVER_ERROR") { Locations = [Location(nodes[0])], Path = [.. path] });
                    throw new NullBubble();
                }
                return value;
            }
            return CompleteNullable(type, raw, nodes, path, out _);
        }

        private JsonNode? CompleteNullable(GraphQlTypeRef type, object? raw, List<GraphQLField> nodes, List<object> path, out bool bubbled)
        {
            bubbled = false;
            if (raw is null) return null;
            try
            {
                if (type.IsList)
                {
                    var items = new JsonArray();
                    var i = 0;
                    foreach (var item in (System.Collections.IEnumerable)raw)
                    {
                        items.Add(Complete(type.OfType!, item, nodes, [.. path, i], nodesFieldName(nodes)));
                        i++;
                    }
                    return items;
                }
                var named = prepared.Schema.Types[type.Name!];
                if (named.IsLeaf) return Leaf(raw);
                var source = (GraphQlObject)raw;
                var result = new JsonObject();
                var merged = new GraphQLSelectionSet(nodes.SelectMany(n => n.SelectionSet!.Selections).ToList());
                foreach (var (key, fieldNodes) in CollectFields(named, merged, prepared.Fragments, prepared.Variables))
                {
                    var name = fieldNodes[0].Name.StringValue;
                    if (name == "__typename")
                    {
                        result[key] = named.Name;
                        continue;
                    }
                    var definition = named.Fields[name];
                    object? value;
                    try
                    {
                        value = source.Resolve(name);
                    }
                    catch (GraphQlFieldException ex)
                    {
                        Errors.Add(new GraphQlError(ex.Message, ex.Code) { Locations = [Location(fieldNodes[0])], Path = [.. path, key], Data = ex.ErrorData });
                        if (definition.Type.NonNull) throw new NullBubble();
                        result[key] = null;
                        continue;
                    }
                    result[key] = Complete(definition.Type, value, fieldNodes, [.. path, key], $"{named.Name}.{name}");
                }
                return result;
            }
            catch (NullBubble)
            {
                bubbled = true;
                return null;
            }

            static JsonNode Leaf(object raw) => raw switch
            {
                JsonNode node => node.DeepClone(),
                string s => JsonValue.Create(s),
                bool b => JsonValue.Create(b),
                int i => JsonValue.Create(i),
                long l => JsonValue.Create(l),
                _ => throw new InvalidOperationException($"the stand-in resolved a leaf to a {raw.GetType().Name}"),
            };

            static string nodesFieldName(List<GraphQLField> nodes) => nodes[0].Name.StringValue;
        }
    }

    // ---- validation (graphql-js's specified rules that this schema can meet, with their messages) ----

    private sealed class Validator(GraphQlSchema schema, GraphQLDocument document, string source)
    {
        private readonly List<GraphQlError> _errors = [];
        private readonly Dictionary<string, GraphQLFragmentDefinition> _fragments = new(StringComparer.Ordinal);
        private readonly HashSet<string> _usedFragments = new(StringComparer.Ordinal);
        private List<(string Name, GraphQlTypeRef Expected, bool HasLocationDefault, ASTNode Node)> _usages = [];

        public List<GraphQlError> Validate()
        {
            var operations = new List<GraphQLOperationDefinition>();
            foreach (var definition in document.Definitions)
            {
                switch (definition)
                {
                    case GraphQLOperationDefinition operation:
                        operations.Add(operation);
                        break;
                    case GraphQLFragmentDefinition fragment:
                        var name = fragment.FragmentName.Name.StringValue;
                        if (!_fragments.TryAdd(name, fragment)) Error($"There can be only one fragment named \"{name}\".", fragment);
                        break;
                    default:
                        Error($"The \"{DefinitionName(definition)}\" definition is not executable.", definition);
                        break;
                }
            }
            if (operations.Count > 1 && operations.Any(o => o.Name is null))
            {
                foreach (var anonymous in operations.Where(o => o.Name is null)) Error("This anonymous operation must be the only defined operation.", anonymous);
            }
            foreach (var group in operations.Where(o => o.Name is not null).GroupBy(o => o.Name!.StringValue).Where(g => g.Count() > 1))
            {
                Error($"There can be only one operation named \"{group.Key}\".", group.ElementAt(1));
            }
            foreach (var fragment in _fragments.Values)
            {
                var condition = fragment.TypeCondition.Type.Name.StringValue;
                if (!schema.Types.TryGetValue(condition, out var type)) Error($"Unknown type \"{condition}\".", fragment.TypeCondition);
                else if (type.Kind != GraphQlTypeKind.Object) Error($"Fragment \"{fragment.FragmentName.Name.StringValue}\" cannot condition on non composite type \"{condition}\".", fragment.TypeCondition);
            }
            foreach (var operation in operations) ValidateOperation(operation);
            foreach (var name in _fragments.Keys.Where(n => !_usedFragments.Contains(n))) Error($"Fragment \"{name}\" is never used.", _fragments[name]);
            return [.. _errors.DistinctBy(e => e.Message)];
        }

        private void ValidateOperation(GraphQLOperationDefinition operation)
        {
            var rootType = operation.Operation switch
            {
                OperationType.Query => schema.Query,
                OperationType.Mutation => schema.Mutation,
                _ => null,
            };
            if (rootType is null)
            {
                Error($"Schema is not configured to execute {operation.Operation.ToString().ToLowerInvariant()} operation.", operation);
                return;
            }
            var name = operation.Name?.StringValue;
            var defined = new Dictionary<string, GraphQlTypeRef?>(StringComparer.Ordinal);
            var hasDefault = new HashSet<string>(StringComparer.Ordinal);
            foreach (var variable in operation.Variables?.Items ?? [])
            {
                var variableName = variable.Variable.Name.StringValue;
                if (defined.ContainsKey(variableName))
                {
                    Error($"There can be only one variable named \"${variableName}\".", variable);
                    continue;
                }
                var type = GraphQlTypeRef.From(variable.Type);
                if (!schema.Types.TryGetValue(type.NamedType, out var named))
                {
                    Error($"Unknown type \"{type.NamedType}\".", variable.Type);
                    defined[variableName] = null;
                    continue;
                }
                if (!named.IsInput)
                {
                    Error($"Variable \"${variableName}\" cannot be non-input type \"{type}\".", variable.Type);
                    defined[variableName] = null;
                    continue;
                }
                defined[variableName] = type;
                if (variable.DefaultValue is not null && variable.DefaultValue is not GraphQLNullValue)
                {
                    hasDefault.Add(variableName);
                    ValidateLiteral(variable.DefaultValue, type);
                }
            }
            _usages = [];
            ValidateSelectionSet(rootType, operation.SelectionSet, new HashSet<string>(StringComparer.Ordinal));
            foreach (var (usageName, expected, _, node) in _usages)
            {
                if (!defined.TryGetValue(usageName, out var variableType))
                {
                    Error(name is null ? $"Variable \"${usageName}\" is not defined." : $"Variable \"${usageName}\" is not defined by operation \"{name}\".", node);
                    continue;
                }
                if (variableType is null) continue;
                if (!IsAllowed(variableType, hasDefault.Contains(usageName), expected))
                {
                    Error($"Variable \"${usageName}\" of type \"{variableType}\" used in position expecting type \"{expected}\".", node);
                }
            }
            foreach (var unused in defined.Keys.Where(v => _usages.All(u => u.Name != v)))
            {
                var node = operation.Variables!.Items.First(v => v.Variable.Name.StringValue == unused);
                Error(name is null ? $"Variable \"${unused}\" is never used." : $"Variable \"${unused}\" is never used in operation \"{name}\".", node);
            }
        }

        /// <summary>graphql-js's isTypeSubTypeOf for input positions, a default value standing in for non-null.</summary>
        private static bool IsAllowed(GraphQlTypeRef variable, bool hasDefault, GraphQlTypeRef expected)
        {
            if (expected.NonNull && !variable.NonNull)
            {
                if (!hasDefault) return false;
                return IsSubType(variable, expected.Nullable);
            }
            return IsSubType(variable, expected);
        }

        private static bool IsSubType(GraphQlTypeRef maybe, GraphQlTypeRef super)
        {
            if (super.NonNull) return maybe.NonNull && IsSubType(maybe.Nullable, super.Nullable);
            if (maybe.NonNull) return IsSubType(maybe.Nullable, super);
            if (super.IsList) return maybe.IsList && IsSubType(maybe.OfType!, super.OfType!);
            return !maybe.IsList && maybe.Name == super.Name;
        }

        private void ValidateSelectionSet(GraphQlNamedType parent, GraphQLSelectionSet set, HashSet<string> spreading)
        {
            foreach (var selection in set.Selections)
            {
                switch (selection)
                {
                    case GraphQLField field:
                        ValidateDirectives(field.Directives);
                        ValidateField(parent, field, spreading);
                        break;
                    case GraphQLFragmentSpread spread:
                    {
                        ValidateDirectives(spread.Directives);
                        var name = spread.FragmentName.Name.StringValue;
                        if (!_fragments.TryGetValue(name, out var fragment))
                        {
                            Error($"Unknown fragment \"{name}\".", spread);
                            break;
                        }
                        _usedFragments.Add(name);
                        var condition = fragment.TypeCondition.Type.Name.StringValue;
                        if (!schema.Types.TryGetValue(condition, out var conditionType) || conditionType.Kind != GraphQlTypeKind.Object) break;
                        if (condition != parent.Name)
                        {
                            Error($"Fragment \"{name}\" cannot be spread here as objects of type \"{parent.Name}\" can never be of type \"{condition}\".", spread);
                            break;
                        }
                        if (!spreading.Add(name))
                        {
                            Error($"Cannot spread fragment \"{name}\" within itself.", spread);
                            break;
                        }
                        ValidateSelectionSet(parent, fragment.SelectionSet, spreading);
                        spreading.Remove(name);
                        break;
                    }
                    case GraphQLInlineFragment inline:
                    {
                        ValidateDirectives(inline.Directives);
                        if (inline.TypeCondition is { } typeCondition)
                        {
                            var condition = typeCondition.Type.Name.StringValue;
                            if (!schema.Types.TryGetValue(condition, out var conditionType))
                            {
                                Error($"Unknown type \"{condition}\".", typeCondition);
                                break;
                            }
                            if (conditionType.Kind != GraphQlTypeKind.Object)
                            {
                                Error($"Fragment cannot condition on non composite type \"{condition}\".", typeCondition);
                                break;
                            }
                            if (condition != parent.Name)
                            {
                                Error($"Fragment cannot be spread here as objects of type \"{parent.Name}\" can never be of type \"{condition}\".", inline);
                                break;
                            }
                        }
                        ValidateSelectionSet(parent, inline.SelectionSet, spreading);
                        break;
                    }
                }
            }
        }

        private void ValidateDirectives(GraphQLDirectives? directives)
        {
            foreach (var directive in directives?.Items ?? [])
            {
                var name = directive.Name.StringValue;
                if (name is not ("skip" or "include"))
                {
                    Error($"Unknown directive \"@{name}\".", directive);
                    continue;
                }
                var condition = directive.Arguments?.Items.FirstOrDefault(a => a.Name == "if");
                foreach (var other in directive.Arguments?.Items.Where(a => a.Name != "if") ?? [])
                {
                    Error($"Unknown argument \"{other.Name.StringValue}\" on directive \"@{name}\".", other);
                }
                var booleanType = new GraphQlTypeRef("Boolean", null, true);
                if (condition is null) Error($"Directive \"@{name}\" argument \"if\" of type \"Boolean!\" is required, but it was not provided.", directive);
                else ValidateLiteral(condition.Value, booleanType);
            }
        }

        private void ValidateField(GraphQlNamedType parent, GraphQLField field, HashSet<string> spreading)
        {
            var name = field.Name.StringValue;
            if (name == "__typename")
            {
                if (field.SelectionSet is not null) Error("Field \"__typename\" must not have a selection since type \"String!\" has no subfields.", field.SelectionSet);
                return;
            }
            if (!parent.Fields.TryGetValue(name, out var definition))
            {
                Error($"Cannot query field \"{name}\" on type \"{parent.Name}\".", field);
                return;
            }
            foreach (var argument in field.Arguments?.Items ?? [])
            {
                var argumentName = argument.Name.StringValue;
                var argumentDefinition = definition.Arguments.FirstOrDefault(a => a.Name == argumentName);
                if (argumentDefinition is null)
                {
                    Error($"Unknown argument \"{argumentName}\" on field \"{parent.Name}.{name}\".", argument);
                    continue;
                }
                ValidateLiteral(argument.Value, argumentDefinition.Type);
            }
            foreach (var required in definition.Arguments.Where(a => a.Type.NonNull))
            {
                if (field.Arguments?.Items.Any(a => a.Name == required.Name) != true)
                {
                    Error($"Field \"{name}\" argument \"{required.Name}\" of type \"{required.Type}\" is required, but it was not provided.", field);
                }
            }
            var type = schema.Types[definition.Type.NamedType];
            if (type.IsLeaf && field.SelectionSet is not null)
            {
                Error($"Field \"{name}\" must not have a selection since type \"{definition.Type}\" has no subfields.", field.SelectionSet);
            }
            else if (!type.IsLeaf && field.SelectionSet is null)
            {
                Error($"Field \"{name}\" of type \"{definition.Type}\" must have a selection of subfields. Did you mean \"{name} {{ ... }}\"?", field);
            }
            else if (!type.IsLeaf)
            {
                ValidateSelectionSet(type, field.SelectionSet!, spreading);
            }
        }

        /// <summary>graphql-js's ValuesOfCorrectType for literals; variables are noted for the position check.</summary>
        private void ValidateLiteral(GraphQLValue value, GraphQlTypeRef type)
        {
            if (value is GraphQLVariable variable)
            {
                _usages.Add((variable.Name.StringValue, type, false, variable));
                return;
            }
            if (type.NonNull)
            {
                if (value is GraphQLNullValue)
                {
                    Error($"Expected value of type \"{type}\", found null.", value);
                    return;
                }
                ValidateLiteral(value, type.Nullable);
                return;
            }
            if (value is GraphQLNullValue) return;
            if (type.IsList)
            {
                if (value is GraphQLListValue list)
                {
                    foreach (var item in list.Values ?? []) ValidateLiteral(item, type.OfType!);
                }
                else ValidateLiteral(value, type.OfType!);
                return;
            }
            var named = schema.Types[type.Name!];
            switch (named.Kind)
            {
                case GraphQlTypeKind.InputObject:
                {
                    if (value is not GraphQLObjectValue o)
                    {
                        Error($"Expected value of type \"{named.Name}\", found {Print(value)}.", value);
                        return;
                    }
                    foreach (var field in o.Fields ?? [])
                    {
                        var definition = named.InputFields.FirstOrDefault(f => f.Name == field.Name.StringValue);
                        if (definition is null) Error($"Field \"{field.Name.StringValue}\" is not defined by type \"{named.Name}\".", field);
                        else ValidateLiteral(field.Value, definition.Type);
                    }
                    foreach (var required in named.InputFields.Where(f => f.Type.NonNull))
                    {
                        if (o.Fields?.Any(f => f.Name == required.Name) != true)
                        {
                            Error($"Field \"{named.Name}.{required.Name}\" of required type \"{required.Type}\" was not provided.", value);
                        }
                    }
                    return;
                }
                case GraphQlTypeKind.Enum:
                    if (value is GraphQLEnumValue e)
                    {
                        if (!named.EnumValues.Contains(e.Name.StringValue)) Error($"Value \"{e.Name.StringValue}\" does not exist in \"{named.Name}\" enum.", value);
                    }
                    else Error($"Enum \"{named.Name}\" cannot represent non-enum value: {Print(value)}.", value);
                    return;
                default:
                    var problem = named.Name switch
                    {
                        "String" => value is GraphQLStringValue ? null : "",
                        "Boolean" => value is GraphQLBooleanValue ? null : "",
                        "Int" => value is GraphQLIntValue i
                            ? (int.TryParse(i.Value.Span, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _) ? null : $"Int cannot represent non 32-bit signed integer value: {i.Value}")
                            : "",
                        "Float" => value is GraphQLIntValue or GraphQLFloatValue ? null : "",
                        "ID" => value is GraphQLStringValue or GraphQLIntValue ? null : "",
                        "DateTime" => value is GraphQLStringValue s
                            ? (IsRfc3339(s.Value.ToString()) ? null : $"DateTime cannot represent an invalid date-time-string {s.Value}.")
                            : $"DateTime cannot represent non string or Date type {Print(value)}",
                        _ => null,
                    };
                    if (problem is not null)
                    {
                        Error($"Expected value of type \"{named.Name}\", found {Print(value)}" + (problem.Length > 0 ? $"; {problem}" : "."), value);
                    }
                    return;
            }
        }

        /// <summary>A literal as graphql-js's print writes it.</summary>
        private static string Print(GraphQLValue value) => value switch
        {
            GraphQLNullValue => "null",
            GraphQLStringValue s => JsonSerializer.Serialize(s.Value.ToString(), Relaxed),
            GraphQLIntValue i => i.Value.ToString(),
            GraphQLFloatValue f => f.Value.ToString(),
            GraphQLBooleanValue b => b.BoolValue ? "true" : "false",
            GraphQLEnumValue e => e.Name.StringValue,
            GraphQLVariable v => "$" + v.Name.StringValue,
            GraphQLListValue l => "[" + string.Join(", ", (l.Values ?? []).Select(Print)) + "]",
            GraphQLObjectValue o => "{" + string.Join(", ", (o.Fields ?? []).Select(f => $"{f.Name.StringValue}: {Print(f.Value)}")) + "}",
            _ => value.Kind.ToString(),
        };

        private static string DefinitionName(ASTNode definition) => definition switch
        {
            GraphQLTypeDefinition t => t.Name.StringValue,
            _ => definition.Kind.ToString(),
        };

        private void Error(string message, ASTNode node)
        {
            var offset = node.Location.Start;
            int line = 1, column = 1;
            for (var i = 0; i < offset && i < source.Length; i++)
            {
                if (source[i] == '\n')
                {
                    line++;
                    column = 1;
                }
                else column++;
            }
            _errors.Add(new GraphQlError(message, ValidationFailed) { Locations = [(line, column)] });
        }
    }

    /// <summary>The answer body for errors before execution (no data key, as Apollo answers them).</summary>
    public static JsonObject ErrorResponse(IEnumerable<GraphQlError> errors) => new()
    {
        ["errors"] = new JsonArray([.. errors.Select(e => (JsonNode)e.ToJson())]),
    };

    internal static string Describe(IEnumerable<GraphQlError> errors) =>
        new StringBuilder().AppendJoin("; ", errors.Select(e => $"{e.Code}: {e.Message}")).ToString();
}

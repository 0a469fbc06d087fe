using System.Text;
using System.Text.Json;

namespace Composer.Configuration;

public delegate bool JsonKeyHook(string key, long keyOffset, ref Utf8JsonReader reader, BindContext ctx, object state, int slot);

public delegate void JsonItemBinder<T>(ref Utf8JsonReader reader, T item, int slot, BindContext ctx, JsonKeyHook? hook, object? state);

/// <summary>
/// Value readers used by the generated JSON binders (Utf8JsonReader, no serializer). The reader is positioned on
/// the value token; each reader consumes exactly that value.
/// </summary>
public static class JsonBind
{
    public static readonly JsonReaderOptions Options = new() { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip };

    public static string Describe(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "a list",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => token.ToString(),
    };

    /// <summary>"'x' is invalid after a value. ... LineNumber: 2 | BytePositionInLine: 4." without the position suffix.</summary>
    public static string CleanMessage(JsonException ex)
    {
        var m = ex.Message;
        var cut = m.IndexOf(" Path:", StringComparison.Ordinal);
        if (cut < 0) cut = m.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (cut > 0 ? m[..cut] : m).Trim();
    }

    private static string DescribeValue(ref Utf8JsonReader reader, bool secret) => reader.TokenType switch
    {
        JsonTokenType.String => BindContext.Quote(reader.GetString()!, secret),
        JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False => secret ? "\"" + Composer.Diagnostics.Secret.Mask + "\"" : Encoding.UTF8.GetString(reader.ValueSpan),
        _ => Describe(reader.TokenType),
    };

    public static bool BeginDocument(ref Utf8JsonReader reader, BindContext ctx)
    {
        if (!reader.Read()) return false;
        if (reader.TokenType == JsonTokenType.StartObject) return true;
        var (line, col) = ctx.JsonPosition(reader.TokenStartIndex);
        ctx.FileError("(top level)", line, col, $"expected an object of settings, got {Describe(reader.TokenType)}");
        return false;
    }

    /// <summary>Moves to the next property: false at the end of the object; otherwise positioned on the value.</summary>
    public static bool NextKey(ref Utf8JsonReader reader, out string key, out long keyOffset)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.EndObject)
        {
            key = "";
            keyOffset = 0;
            return false;
        }
        key = reader.GetString()!;
        keyOffset = reader.TokenStartIndex;
        reader.Read();
        return true;
    }

    public static void UnknownKey(ref Utf8JsonReader reader, BindContext ctx, int slot, string key, long keyOffset)
    {
        var parentPath = ctx.PathOf(slot);
        var full = parentPath.Length == 0 ? key : parentPath + "." + key;
        var (line, col) = ctx.JsonPosition(keyOffset);
        ctx.FileError(full, line, col, KeySuggestions.UnknownKeyMessage(ctx, slot, key));
        reader.Skip();
    }

    private static bool Mismatch(ref Utf8JsonReader reader, BindContext ctx, int slot, string? expected = null)
    {
        var info = ctx.Slot(slot);
        var (line, col) = ctx.JsonPosition(reader.TokenStartIndex);
        ctx.FileError(slot, line, col, $"expected {expected ?? info.Expected}, got {DescribeValue(ref reader, info.Secret)}");
        reader.Skip();
        return false;
    }

    private static void Origin(ref Utf8JsonReader reader, BindContext ctx, int slot, long offset)
    {
        if (ctx.InItem) return;
        var (line, col) = ctx.JsonPosition(offset);
        ctx.SetFileOrigin(slot, line, col);
    }

    private static bool Null(ref Utf8JsonReader reader, BindContext ctx, int slot, bool nullable)
    {
        if (!nullable) return Mismatch(ref reader, ctx, slot);
        Origin(ref reader, ctx, slot, reader.TokenStartIndex);
        return true;
    }

    public static bool ReadString(ref Utf8JsonReader reader, BindContext ctx, int slot, bool nullable, out string? value)
    {
        value = null;
        switch (reader.TokenType)
        {
            case JsonTokenType.Null: return Null(ref reader, ctx, slot, nullable);
            case JsonTokenType.String: value = reader.GetString(); break;
            // Numbers and booleans are accepted as their text, as in YAML (env_id: 3).
            case JsonTokenType.Number or JsonTokenType.True or JsonTokenType.False: value = Encoding.UTF8.GetString(reader.ValueSpan); break;
            default: return Mismatch(ref reader, ctx, slot);
        }
        Origin(ref reader, ctx, slot, reader.TokenStartIndex);
        return true;
    }

    public static bool ReadBool(ref Utf8JsonReader reader, BindContext ctx, int slot, bool nullable, out bool? value)
    {
        value = null;
        switch (reader.TokenType)
        {
            case JsonTokenType.Null: return Null(ref reader, ctx, slot, nullable);
            case JsonTokenType.True: value = true; break;
            case JsonTokenType.False: value = false; break;
            case JsonTokenType.String when ScalarText.TryParseBool(reader.GetString()!, out var b): value = b; break;
            default: return Mismatch(ref reader, ctx, slot);
        }
        Origin(ref reader, ctx, slot, reader.TokenStartIndex);
        return true;
    }

    public static bool ReadInt64(ref Utf8JsonReader reader, BindContext ctx, int slot, bool nullable, long min, long max, out long? value)
    {
        value = null;
        switch (reader.TokenType)
        {
            case JsonTokenType.Null: return Null(ref reader, ctx, slot, nullable);
            case JsonTokenType.Number when reader.TryGetInt64(out var n) && n >= min && n <= max: value = n; break;
            case JsonTokenType.String when ScalarText.TryParseInteger(reader.GetString()!, min, max, out var n): value = n; break;
            default: return Mismatch(ref reader, ctx, slot);
        }
        Origin(ref reader, ctx, slot, reader.TokenStartIndex);
        return true;
    }

    public static bool ReadInt32(ref Utf8JsonReader reader, BindContext ctx, int slot, bool nullable, out int? value)
    {
        var ok = ReadInt64(ref reader, ctx, slot, nullable, int.MinValue, int.MaxValue, out var v);
        value = v is { } l ? (int)l : null;
        return ok;
    }

    /// <summary>A list of strings: a JSON array, a string (JSON-array text or one item), or an object with numeric keys.</summary>
    public static bool ReadStringList(ref Utf8JsonReader reader, BindContext ctx, int slot, out List<string>? value)
    {
        value = null;
        var start = reader.TokenStartIndex;
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                break;
            case JsonTokenType.String:
                if (!ScalarText.TryParseList(reader.GetString()!, out value, out var error))
                {
                    var (line, col) = ctx.JsonPosition(start);
                    ctx.FileError(slot, line, col, $"expected {ctx.Slot(slot).Expected}: {error}");
                    return false;
                }
                break;
            case JsonTokenType.StartArray:
                var list = new List<string>();
                var ok = true;
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType == JsonTokenType.String) list.Add(reader.GetString()!);
                    else ok = Mismatch(ref reader, ctx, slot, $"a string for item {list.Count}");
                }
                if (!ok) return false;
                value = list;
                break;
            case JsonTokenType.StartObject:
                var indexed = new List<(ulong Index, string Value)>();
                var good = true;
                while (NextKey(ref reader, out var key, out var keyOffset))
                {
                    if (!ulong.TryParse(key, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index))
                    {
                        var (line, col) = ctx.JsonPosition(keyOffset);
                        ctx.FileError(slot, line, col, $"expected a numeric index (0, 1, ...) as key of an indexed list, got \"{key}\"");
                        reader.Skip();
                        good = false;
                        continue;
                    }
                    if (reader.TokenType == JsonTokenType.String) indexed.Add((index, reader.GetString()!));
                    else good = Mismatch(ref reader, ctx, slot, $"a string for item {key}");
                }
                if (!good) return false;
                indexed.Sort((a, b) => a.Index.CompareTo(b.Index));
                value = indexed.ConvertAll(e => e.Value);
                break;
            default:
                return Mismatch(ref reader, ctx, slot);
        }
        if (value is { Count: 0 }) value = null;
        Origin(ref reader, ctx, slot, start);
        return true;
    }

    public static bool ReadSectionList<T>(ref Utf8JsonReader reader, BindContext ctx, int slot, ConfigSlot[] itemSlots, Func<T> create, JsonItemBinder<T> bind, out List<T>? value)
    {
        value = null;
        var start = reader.TokenStartIndex;
        if (reader.TokenType == JsonTokenType.Null)
        {
            Origin(ref reader, ctx, slot, start);
            return true;
        }
        if (reader.TokenType != JsonTokenType.StartArray) return Mismatch(ref reader, ctx, slot);
        var list = new List<T>();
        var errors = ctx.Errors.Count;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                Mismatch(ref reader, ctx, slot, $"an object for item {list.Count}");
                continue;
            }
            var item = create();
            var saved = ctx.EnterItem($"{ctx.PathOf(slot)}[{list.Count}]", itemSlots);
            bind(ref reader, item, 0, ctx, null, null);
            ctx.ExitItem(saved);
            list.Add(item);
        }
        if (ctx.Errors.Count != errors) return false;
        value = list.Count == 0 ? null : list;
        Origin(ref reader, ctx, slot, start);
        return true;
    }

    public static bool ReadStringMap(ref Utf8JsonReader reader, BindContext ctx, int slot, Dictionary<string, string>? existing, out Dictionary<string, string>? value)
    {
        value = existing;
        var start = reader.TokenStartIndex;
        if (reader.TokenType == JsonTokenType.Null)
        {
            value = null;
            Origin(ref reader, ctx, slot, start);
            return true;
        }
        if (reader.TokenType != JsonTokenType.StartObject) return Mismatch(ref reader, ctx, slot);
        var map = existing is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(existing, StringComparer.Ordinal);
        var ok = true;
        while (NextKey(ref reader, out var key, out _))
        {
            if (reader.TokenType is JsonTokenType.String or JsonTokenType.Number)
            {
                map[key] = reader.TokenType == JsonTokenType.String ? reader.GetString()! : Encoding.UTF8.GetString(reader.ValueSpan);
            }
            else
            {
                ok = Mismatch(ref reader, ctx, slot, $"a string for {key}");
            }
        }
        if (!ok) return false;
        value = map;
        Origin(ref reader, ctx, slot, start);
        return true;
    }

    /// <summary>Keeps the subtree's JSON text as written; a string value is taken as JSON text.</summary>
    public static bool ReadRawJson(ref Utf8JsonReader reader, BindContext ctx, int slot, out string? value)
    {
        value = null;
        var start = reader.TokenStartIndex;
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                break;
            case JsonTokenType.String:
                var text = reader.GetString()!;
                if (!ScalarText.IsJson(text, out var error))
                {
                    var (line, col) = ctx.JsonPosition(start);
                    ctx.FileError(slot, line, col, $"expected {ctx.Slot(slot).Expected}, got a string that is not JSON ({error})");
                    return false;
                }
                value = text;
                break;
            case JsonTokenType.StartObject or JsonTokenType.StartArray:
                reader.Skip();
                var end = reader.BytesConsumed;
                value = Encoding.UTF8.GetString(ctx.JsonBuffer.AsSpan((int)start, (int)(end - start)));
                break;
            default:
                value = Encoding.UTF8.GetString(reader.ValueSpan);
                break;
        }
        Origin(ref reader, ctx, slot, start);
        return true;
    }

    public static bool EnterSection(ref Utf8JsonReader reader, BindContext ctx, int slot, out bool isObject)
    {
        isObject = false;
        if (reader.TokenType == JsonTokenType.StartObject)
        {
            isObject = true;
            Origin(ref reader, ctx, slot, reader.TokenStartIndex);
            return true;
        }
        if (reader.TokenType == JsonTokenType.Null)
        {
            Origin(ref reader, ctx, slot, reader.TokenStartIndex);
            return true;
        }
        return Mismatch(ref reader, ctx, slot);
    }
}

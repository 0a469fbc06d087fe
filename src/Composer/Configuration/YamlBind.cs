using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Composer.Configuration;

/// <summary>Lets a parent bind keys that appear inside a child section (aliases such as daemon.with_proxy).</summary>
public delegate bool YamlKeyHook(string key, Mark mark, IParser parser, BindContext ctx, object state, int slot);

public delegate void YamlItemBinder<T>(IParser parser, T item, int slot, BindContext ctx, YamlKeyHook? hook, object? state);

/// <summary>
/// Value readers used by the generated YAML binders. They walk YamlDotNet's event stream (no reflection
/// serializer), consume exactly one node, record where each value came from, and turn mismatches into errors.
/// </summary>
public static class YamlBind
{
    public static int Line(Mark m) => (int)m.Line;
    public static int Column(Mark m) => (int)m.Column;

    /// <summary>Reads StreamStart/DocumentStart; true when the document is a mapping (positioned inside it).</summary>
    public static bool BeginDocument(IParser parser, BindContext ctx)
    {
        parser.Consume<StreamStart>();
        if (!parser.TryConsume<DocumentStart>(out _)) return false; // empty file
        if (parser.Current is MappingStart)
        {
            parser.MoveNext();
            return true;
        }
        if (parser.Current is Scalar s && IsNull(s)) return false;
        var ev = parser.Current!;
        ctx.FileError("(top level)", Line(ev.Start), Column(ev.Start), $"expected a mapping of settings, got {Describe(ev, false)}");
        return false;
    }

    public static bool IsNull(Scalar s) =>
        s.Style == ScalarStyle.Plain && s.Tag.IsEmpty && s.Value is "" or "~" or "null" or "Null" or "NULL";

    public static string Describe(ParsingEvent ev, bool secret) => ev switch
    {
        MappingStart => "a mapping",
        SequenceStart => "a list",
        Scalar s when IsNull(s) => "null",
        Scalar s => BindContext.Quote(s.Value, secret),
        AnchorAlias => "an alias (*name)",
        _ => ev.GetType().Name,
    };

    /// <summary>Consumes MappingEnd when the mapping is finished.</summary>
    public static bool AtMappingEnd(IParser parser)
    {
        if (parser.Current is MappingEnd)
        {
            parser.MoveNext();
            return true;
        }
        return false;
    }

    /// <summary>Reads a mapping key. Keys must be plain names; anything else is an error and its value is skipped.</summary>
    public static bool ReadKey(IParser parser, BindContext ctx, int slot, out string key, out Mark mark)
    {
        var ev = parser.Current!;
        mark = ev.Start;
        if (ev is Scalar s)
        {
            parser.MoveNext();
            key = s.Value;
            return true;
        }
        key = "";
        ctx.FileError(slot, Line(mark), Column(mark), $"expected a key name, got {Describe(ev, false)}");
        parser.SkipThisAndNestedEvents();
        parser.SkipThisAndNestedEvents();
        return false;
    }

    /// <summary>An unknown key: an error with a suggestion, and its value is skipped.</summary>
    public static void UnknownKey(IParser parser, BindContext ctx, int slot, string key, Mark mark)
    {
        var parentPath = ctx.PathOf(slot);
        var full = parentPath.Length == 0 ? key : parentPath + "." + key;
        ctx.FileError(full, Line(mark), Column(mark), KeySuggestions.UnknownKeyMessage(ctx, slot, key));
        parser.SkipThisAndNestedEvents();
    }

    private static bool Mismatch(IParser parser, BindContext ctx, int slot, string? expected = null)
    {
        var ev = parser.Current!;
        var info = ctx.Slot(slot);
        ctx.FileError(slot, Line(ev.Start), Column(ev.Start), $"expected {expected ?? info.Expected}, got {Describe(ev, info.Secret)}");
        parser.SkipThisAndNestedEvents();
        return false;
    }

    private static bool NullNotAllowed(BindContext ctx, int slot, Scalar s)
    {
        ctx.FileError(slot, Line(s.Start), Column(s.Start), $"expected {ctx.Slot(slot).Expected}, got null");
        return false;
    }

    /// <summary>A null scalar: an error for a non-nullable setting, otherwise an explicit "unset" with its origin.</summary>
    private static bool Null(BindContext ctx, int slot, Scalar s, bool nullable)
    {
        if (!nullable) return NullNotAllowed(ctx, slot, s);
        ctx.SetFileOrigin(slot, Line(s.Start), Column(s.Start));
        return true;
    }

    public static bool ReadString(IParser parser, BindContext ctx, int slot, bool nullable, out string? value)
    {
        value = null;
        if (parser.Current is not Scalar s) return Mismatch(parser, ctx, slot);
        parser.MoveNext();
        if (IsNull(s)) return Null(ctx, slot, s, nullable);
        value = s.Value;
        ctx.SetFileOrigin(slot, Line(s.Start), Column(s.Start));
        return true;
    }

    public static bool ReadBool(IParser parser, BindContext ctx, int slot, bool nullable, out bool? value)
    {
        value = null;
        if (parser.Current is not Scalar s) return Mismatch(parser, ctx, slot);
        parser.MoveNext();
        if (IsNull(s)) return Null(ctx, slot, s, nullable);
        if (!ScalarText.TryParseBool(s.Value, out var b))
        {
            ctx.FileError(slot, Line(s.Start), Column(s.Start), $"expected true or false, got {BindContext.Quote(s.Value, ctx.Slot(slot).Secret)}");
            return false;
        }
        value = b;
        ctx.SetFileOrigin(slot, Line(s.Start), Column(s.Start));
        return true;
    }

    public static bool ReadInt64(IParser parser, BindContext ctx, int slot, bool nullable, long min, long max, out long? value)
    {
        value = null;
        if (parser.Current is not Scalar s) return Mismatch(parser, ctx, slot);
        parser.MoveNext();
        if (IsNull(s)) return Null(ctx, slot, s, nullable);
        if (!ScalarText.TryParseInteger(s.Value, min, max, out var n))
        {
            ctx.FileError(slot, Line(s.Start), Column(s.Start), $"expected {ctx.Slot(slot).Expected}, got {BindContext.Quote(s.Value, ctx.Slot(slot).Secret)}");
            return false;
        }
        value = n;
        ctx.SetFileOrigin(slot, Line(s.Start), Column(s.Start));
        return true;
    }

    public static bool ReadInt32(IParser parser, BindContext ctx, int slot, bool nullable, out int? value)
    {
        var ok = ReadInt64(parser, ctx, slot, nullable, int.MinValue, int.MaxValue, out var v);
        value = v is { } l ? (int)l : null;
        return ok;
    }

    /// <summary>
    /// A list of strings in any of the four accepted forms: a YAML list, a JSON-array string, a single string,
    /// or a mapping with numeric keys (sorted numerically). An empty list means "not set".
    /// </summary>
    public static bool ReadStringList(IParser parser, BindContext ctx, int slot, out List<string>? value)
    {
        value = null;
        var start = parser.Current!.Start;
        switch (parser.Current)
        {
            case Scalar s:
                parser.MoveNext();
                if (IsNull(s)) break;
                if (!ScalarText.TryParseList(s.Value, out value, out var error))
                {
                    ctx.FileError(slot, Line(s.Start), Column(s.Start), $"expected {ctx.Slot(slot).Expected}: {error}");
                    return false;
                }
                break;
            case SequenceStart:
                parser.MoveNext();
                var list = new List<string>();
                var ok = true;
                while (!parser.TryConsume<SequenceEnd>(out _))
                {
                    if (parser.Current is Scalar item && !IsNull(item))
                    {
                        list.Add(item.Value);
                        parser.MoveNext();
                    }
                    else
                    {
                        ok = Mismatch(parser, ctx, slot, $"a string for item {list.Count}");
                    }
                }
                if (!ok) return false;
                value = list;
                break;
            case MappingStart:
                parser.MoveNext();
                var indexed = new List<(ulong Index, string Value)>();
                var good = true;
                while (!AtMappingEnd(parser))
                {
                    var keyEv = parser.Current!;
                    if (keyEv is not Scalar k || !ulong.TryParse(k.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                    {
                        good = Mismatch(parser, ctx, slot, "a numeric index (0, 1, ...) as key of an indexed list");
                        parser.SkipThisAndNestedEvents();
                        continue;
                    }
                    parser.MoveNext();
                    if (parser.Current is Scalar v && !IsNull(v))
                    {
                        indexed.Add((index, v.Value));
                        parser.MoveNext();
                    }
                    else
                    {
                        good = Mismatch(parser, ctx, slot, $"a string for item {k.Value}");
                    }
                }
                if (!good) return false;
                indexed.Sort((a, b) => a.Index.CompareTo(b.Index));
                value = indexed.ConvertAll(e => e.Value);
                break;
            default:
                return Mismatch(parser, ctx, slot);
        }
        if (value is { Count: 0 }) value = null;
        ctx.SetFileOrigin(slot, Line(start), Column(start));
        return true;
    }

    /// <summary>A list of sections (e.g. ulimits): each item is a mapping bound by the item type's binder.</summary>
    public static bool ReadSectionList<T>(IParser parser, BindContext ctx, int slot, ConfigSlot[] itemSlots, Func<T> create, YamlItemBinder<T> bind, out List<T>? value)
    {
        value = null;
        var start = parser.Current!.Start;
        if (parser.Current is Scalar s && IsNull(s))
        {
            parser.MoveNext();
            ctx.SetFileOrigin(slot, Line(start), Column(start));
            return true;
        }
        if (parser.Current is not SequenceStart) return Mismatch(parser, ctx, slot);
        parser.MoveNext();
        var list = new List<T>();
        var errors = ctx.Errors.Count;
        while (!parser.TryConsume<SequenceEnd>(out _))
        {
            if (parser.Current is not MappingStart)
            {
                Mismatch(parser, ctx, slot, $"a mapping for item {list.Count}");
                continue;
            }
            parser.MoveNext();
            var item = create();
            var saved = ctx.EnterItem($"{ctx.PathOf(slot)}[{list.Count}]", itemSlots);
            bind(parser, item, 0, ctx, null, null);
            ctx.ExitItem(saved);
            list.Add(item);
        }
        if (ctx.Errors.Count != errors) return false;
        value = list.Count == 0 ? null : list;
        ctx.SetFileOrigin(slot, Line(start), Column(start));
        return true;
    }

    /// <summary>A mapping of names to strings (e.g. sysctls); merged key by key into what lower layers set.</summary>
    public static bool ReadStringMap(IParser parser, BindContext ctx, int slot, Dictionary<string, string>? existing, out Dictionary<string, string>? value)
    {
        value = existing;
        var start = parser.Current!.Start;
        if (parser.Current is Scalar s && IsNull(s))
        {
            parser.MoveNext();
            value = null;
            ctx.SetFileOrigin(slot, Line(start), Column(start));
            return true;
        }
        if (parser.Current is not MappingStart) return Mismatch(parser, ctx, slot);
        parser.MoveNext();
        var map = existing is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(existing, StringComparer.Ordinal);
        var ok = true;
        while (!AtMappingEnd(parser))
        {
            if (parser.Current is not Scalar k)
            {
                ok = Mismatch(parser, ctx, slot, "a name as key");
                parser.SkipThisAndNestedEvents();
                continue;
            }
            parser.MoveNext();
            if (parser.Current is Scalar v && !IsNull(v))
            {
                map[k.Value] = v.Value;
                parser.MoveNext();
            }
            else
            {
                ok = Mismatch(parser, ctx, slot, $"a string for {k.Value}");
            }
        }
        if (!ok) return false;
        value = map;
        ctx.SetFileOrigin(slot, Line(start), Column(start));
        return true;
    }

    /// <summary>A subtree kept as JSON text: mappings and lists are converted, a string is taken as JSON text.</summary>
    public static bool ReadRawJson(IParser parser, BindContext ctx, int slot, out string? value)
    {
        value = null;
        var start = parser.Current!.Start;
        if (parser.Current is Scalar s)
        {
            parser.MoveNext();
            if (!IsNull(s))
            {
                if (!ScalarText.IsJson(s.Value, out var error))
                {
                    ctx.FileError(slot, Line(s.Start), Column(s.Start), $"expected {ctx.Slot(slot).Expected}, got a string that is not JSON ({error})");
                    return false;
                }
                value = s.Value;
            }
            ctx.SetFileOrigin(slot, Line(start), Column(start));
            return true;
        }
        if (parser.Current is AnchorAlias) return Mismatch(parser, ctx, slot);
        value = YamlToJson.Convert(parser);
        ctx.SetFileOrigin(slot, Line(start), Column(start));
        return true;
    }

    /// <summary>
    /// Enters a section value: true when the value is a mapping (<paramref name="isMapping"/>) or null ("swarm:"
    /// alone, which removes an optional section, as upstream); false after a type error.
    /// </summary>
    public static bool EnterSection(IParser parser, BindContext ctx, int slot, out bool isMapping)
    {
        isMapping = false;
        var ev = parser.Current!;
        if (ev is MappingStart)
        {
            parser.MoveNext();
            isMapping = true;
            ctx.SetFileOrigin(slot, Line(ev.Start), Column(ev.Start));
            return true;
        }
        if (ev is Scalar s && IsNull(s))
        {
            parser.MoveNext();
            ctx.SetFileOrigin(slot, Line(ev.Start), Column(ev.Start));
            return true;
        }
        return Mismatch(parser, ctx, slot);
    }
}

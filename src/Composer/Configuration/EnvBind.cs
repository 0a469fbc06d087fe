using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Composer.Configuration;

/// <summary>
/// Value readers used by the generated environment binders. Scalars are strict (true/false, whole numbers,
/// strings kept verbatim); lists come from a JSON array, a single value or indexed variables (NAME__0, NAME__1).
/// </summary>
public static class EnvBind
{
    private static string Got(EnvVar e, BindContext ctx, int slot) => BindContext.Quote(e.Value, ctx.Slot(slot).Secret);

    public static bool ReadString(EnvVar e, BindContext ctx, int slot, out string value)
    {
        value = e.Value;
        ctx.SetEnvOrigin(slot);
        return true;
    }

    public static bool ReadBool(EnvVar e, BindContext ctx, int slot, out bool value)
    {
        if (!ScalarText.TryParseBool(e.Value.Trim(), out value))
        {
            ctx.EnvError($"expected true or false, got {Got(e, ctx, slot)}");
            return false;
        }
        ctx.SetEnvOrigin(slot);
        return true;
    }

    public static bool ReadInt64(EnvVar e, BindContext ctx, int slot, long min, long max, out long value)
    {
        if (!ScalarText.TryParseInteger(e.Value.Trim(), min, max, out value))
        {
            ctx.EnvError($"expected {ctx.Slot(slot).Expected}, got {Got(e, ctx, slot)}");
            return false;
        }
        ctx.SetEnvOrigin(slot);
        return true;
    }

    public static bool ReadInt32(EnvVar e, BindContext ctx, int slot, out int value)
    {
        var ok = ReadInt64(e, ctx, slot, int.MinValue, int.MaxValue, out var l);
        value = (int)l;
        return ok;
    }

    /// <summary>NAME='["a","b"]' or NAME=a (one item); empty means not set.</summary>
    public static bool ReadStringList(EnvVar e, BindContext ctx, int slot, out List<string>? value)
    {
        if (!ScalarText.TryParseList(e.Value, out value, out var error))
        {
            ctx.EnvError($"expected {ctx.Slot(slot).Expected} (a JSON array such as [\"a\",\"b\"] or one value): {error}");
            return false;
        }
        ctx.SetEnvOrigin(slot);
        return true;
    }

    /// <summary>
    /// NAME__0, NAME__1 ...: variables are bound in numeric index order, so items are appended; the first indexed
    /// variable of this layer replaces the list from lower layers.
    /// </summary>
    public static List<string>? IndexedListItem(EnvVar e, BindContext ctx, int slot, int indexSegment, List<string>? current)
    {
        if (!ulong.TryParse(e.Segments[indexSegment], NumberStyles.None, CultureInfo.InvariantCulture, out _))
        {
            ctx.EnvError($"expected a numeric list index (0, 1, ...) after {string.Join("__", e.Name.Split("__")[..indexSegment])}, got \"{e.Name.Split("__")[indexSegment]}\"");
            return current;
        }
        var list = ctx.StartEnvList(slot) || current is null ? [] : current;
        list.Add(e.Value);
        ctx.SetEnvOrigin(slot);
        return list;
    }

    /// <summary>NAME__0__FIELD: returns the item for that index (creating it), or null after an error.</summary>
    public static T? SectionListItem<T>(EnvVar e, BindContext ctx, int slot, int indexSegment, ref List<T>? list, Func<T> create)
        where T : class
    {
        var label = e.Segments[indexSegment];
        if (!ulong.TryParse(label, NumberStyles.None, CultureInfo.InvariantCulture, out _) || indexSegment == e.Segments.Length - 1)
        {
            ctx.EnvError($"expected NAME__<index>__<key> (e.g. ..__0__NAME) for a list of mappings");
            return null;
        }
        var labels = ctx.EnvItemLabels(slot);
        if (ctx.StartEnvList(slot) || list is null)
        {
            list = [];
            labels.Clear();
        }
        var at = labels.IndexOf(label);
        if (at >= 0) return list[at];
        var item = create();
        list.Add(item);
        labels.Add(label);
        ctx.SetEnvOrigin(slot);
        return item;
    }

    /// <summary>A list of mappings as JSON text: NAME='[{"name":"nofile","soft":1024,"hard":2048}]'.</summary>
    public static bool ReadSectionListJson<T>(EnvVar e, BindContext ctx, int slot, ConfigSlot[] itemSlots, Func<T> create, JsonItemBinder<T> bind, out List<T>? value)
    {
        var bytes = Encoding.UTF8.GetBytes(e.Value);
        var old = ctx.SwapJsonBuffer(bytes);
        try
        {
            var reader = new Utf8JsonReader(bytes, JsonBind.Options);
            if (!reader.Read())
            {
                value = null;
                return true;
            }
            return JsonBind.ReadSectionList(ref reader, ctx, slot, itemSlots, create, bind, out value);
        }
        catch (JsonException ex)
        {
            ctx.EnvError($"expected a JSON array of objects: {FileErrors.Json(ex)}");
            value = null;
            return false;
        }
        finally
        {
            ctx.SwapJsonBuffer(old);
        }
    }

    /// <summary>NAME__<KEY>=value for maps (sysctls): the key is the rest of the name, lower-cased (NET.CORE.SOMAXCONN → net.core.somaxconn).</summary>
    public static Dictionary<string, string> MapEntry(EnvVar e, BindContext ctx, int slot, int keySegment, Dictionary<string, string>? current)
    {
        var map = current is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(current, StringComparer.Ordinal);
        map[string.Join("__", e.Segments[keySegment..])] = e.Value;
        ctx.SetEnvOrigin(slot);
        return map;
    }

    /// <summary>NAME='{"net.core.somaxconn":"1024"}': a JSON object merged into the map.</summary>
    public static bool ReadStringMap(EnvVar e, BindContext ctx, int slot, Dictionary<string, string>? current, out Dictionary<string, string>? value)
    {
        value = current;
        if (e.Value.Trim().Length == 0) return true;
        var bytes = Encoding.UTF8.GetBytes(e.Value);
        var old = ctx.SwapJsonBuffer(bytes);
        try
        {
            var reader = new Utf8JsonReader(bytes, JsonBind.Options);
            reader.Read();
            return JsonBind.ReadStringMap(ref reader, ctx, slot, current, out value);
        }
        catch (JsonException ex)
        {
            ctx.EnvError($"expected {ctx.Slot(slot).Expected} as a JSON object, or NAME__<KEY>=value variables: {FileErrors.Json(ex)}");
            return false;
        }
        finally
        {
            ctx.SwapJsonBuffer(old);
        }
    }

    public static bool ReadRawJson(EnvVar e, BindContext ctx, int slot, out string? value)
    {
        value = null;
        if (e.Value.Trim().Length == 0)
        {
            ctx.SetEnvOrigin(slot);
            return true;
        }
        if (!ScalarText.IsJson(e.Value, out var error))
        {
            ctx.EnvError($"expected JSON text, got invalid JSON ({error})");
            return false;
        }
        value = e.Value;
        ctx.SetEnvOrigin(slot);
        return true;
    }

    /// <summary>A section cannot be set as one variable: name a key inside it.</summary>
    public static void SectionValue(EnvVar e, BindContext ctx, int slot) =>
        ctx.EnvError($"{ctx.PathOf(slot)} is a section; set its keys with {e.Name}__<KEY> variables");

    /// <summary>
    /// NAME_FILE=/run/secrets/x: the secret is read from the file (Docker and Kubernetes secrets), one trailing
    /// newline trimmed. Setting both NAME and NAME_FILE is an error.
    /// </summary>
    public static bool ReadSecretFile(EnvVar e, BindContext ctx, int slot, out string value)
    {
        value = "";
        if (!ctx.InItem && ctx.Origins[slot] is { Kind: OriginKind.Environment } earlier)
        {
            ctx.EnvError($"both {earlier.Variable} and {e.Name} are set; use one");
            return false;
        }
        var read = SecretFile.Read(e.Value);
        if (!read.IsSuccess)
        {
            ctx.EnvError(read.Failure.Message);
            return false;
        }
        value = read.Value;
        ctx.SetEnvOrigin(slot);
        return true;
    }
}

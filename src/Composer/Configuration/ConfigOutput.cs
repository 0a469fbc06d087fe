using System.Globalization;
using System.Text;
using System.Text.Json;
using Composer.Diagnostics;

namespace Composer.Configuration;

/// <summary>How a secret is printed: not at all, as ***, or as a URL whose password is *** (proxy URLs).</summary>
public enum SecretMode : byte
{
    None,
    Full,
    UrlCredentials,
}

/// <summary>Helpers for the generated writers (config show, docs, schema). Every secret goes through <see cref="Redact"/>.</summary>
public static class ConfigOutput
{
    public static string? Redact(string? value, SecretMode mode) => value is null ? null : mode switch
    {
        SecretMode.Full => Secret.Mask,
        SecretMode.UrlCredentials => RedactUrl(value),
        _ => value,
    };

    /// <summary>http://user:pass@host:port → http://user:***@host:port (one implementation: the network layer's).</summary>
    public static string RedactUrl(string value) => SecretRedaction.RedactUrl(value);

    public static void WriteString(Utf8JsonWriter w, string key, string? value, SecretMode mode, bool redact)
    {
        var shown = redact ? Redact(value, mode) : value;
        if (shown is null) w.WriteNull(key);
        else w.WriteString(key, shown);
    }

    public static void WriteBool(Utf8JsonWriter w, string key, bool? value)
    {
        if (value is { } b) w.WriteBoolean(key, b);
        else w.WriteNull(key);
    }

    public static void WriteNumber(Utf8JsonWriter w, string key, long? value)
    {
        if (value is { } n) w.WriteNumber(key, n);
        else w.WriteNull(key);
    }

    public static void WriteStringList(Utf8JsonWriter w, string key, List<string>? value)
    {
        if (value is null)
        {
            w.WriteNull(key);
            return;
        }
        w.WriteStartArray(key);
        foreach (var item in value) w.WriteStringValue(item);
        w.WriteEndArray();
    }

    public static void WriteMap(Utf8JsonWriter w, string key, Dictionary<string, string>? value)
    {
        if (value is null)
        {
            w.WriteNull(key);
            return;
        }
        w.WriteStartObject(key);
        foreach (var (k, v) in value.OrderBy(e => e.Key, StringComparer.Ordinal)) w.WriteString(k, v);
        w.WriteEndObject();
    }

    public static void WriteRawJson(Utf8JsonWriter w, string key, string? json)
    {
        if (json is null)
        {
            w.WriteNull(key);
            return;
        }
        w.WritePropertyName(key);
        if (ScalarText.IsJson(json, out _))
        {
            using var doc = JsonDocument.Parse(json);
            doc.RootElement.WriteTo(w);
        }
        else
        {
            w.WriteStringValue(json);
        }
    }

    /// <summary>The default value as shown in the docs table.</summary>
    public static string DocDefault(object? value) => value switch
    {
        null => "—",
        bool b => b ? "`true`" : "`false`",
        string s => "`" + s.Replace("|", "\\|", StringComparison.Ordinal) + "`",
        int or long => "`" + Convert.ToString(value, CultureInfo.InvariantCulture) + "`",
        List<string> l => "`[" + string.Join(", ", l) + "]`",
        _ => "`" + value + "`",
    };

    public static void SchemaDefault(Utf8JsonWriter w, object? value)
    {
        switch (value)
        {
            case null: return;
            case bool b: w.WriteBoolean("default", b); break;
            case string s: w.WriteString("default", s); break;
            case int i: w.WriteNumber("default", i); break;
            case long l: w.WriteNumber("default", l); break;
        }
    }

    /// <summary>Renders a string as a YAML double-quoted scalar (JSON escapes are valid YAML escapes).</summary>
    public static string YamlQuote(string value) => QuotedText.Quote(value, QuoteStyle.Yaml);
}

/// <summary>Writes the effective configuration as YAML; with sources, each value is followed by "# where it came from".</summary>
public sealed class YamlOut(Func<int, string>? sourceOf)
{
    private readonly StringBuilder _sb = new();
    private int _indent;
    private int _itemDepth;
    private bool _pendingDash;

    public override string ToString() => _sb.ToString();

    private void Key(string key)
    {
        if (_pendingDash)
        {
            _sb.Append(' ', _indent - 2).Append("- ");
            _pendingDash = false;
        }
        else
        {
            _sb.Append(' ', _indent);
        }
        _sb.Append(key).Append(':');
    }

    private void Source(int slot)
    {
        if (sourceOf is not null && _itemDepth == 0) _sb.Append("  # ").Append(sourceOf(slot));
        _sb.Append('\n');
    }

    private void Line(string key, string text, int slot)
    {
        Key(key);
        _sb.Append(' ').Append(text);
        Source(slot);
    }

    public void Null(string key, int slot) => Line(key, "null", slot);

    public void String(string key, string? value, int slot, SecretMode mode, bool redact)
    {
        var shown = redact ? ConfigOutput.Redact(value, mode) : value;
        Line(key, shown is null ? "null" : ConfigOutput.YamlQuote(shown), slot);
    }

    public void Bool(string key, bool? value, int slot) => Line(key, value is { } b ? (b ? "true" : "false") : "null", slot);

    public void Number(string key, long? value, int slot) =>
        Line(key, value is { } n ? n.ToString(CultureInfo.InvariantCulture) : "null", slot);

    public void StringList(string key, List<string>? value, int slot)
    {
        if (value is null)
        {
            Null(key, slot);
            return;
        }
        Key(key);
        if (value.Count == 0) _sb.Append(" []");
        Source(slot);
        foreach (var item in value) _sb.Append(' ', _indent + 2).Append("- ").Append(ConfigOutput.YamlQuote(item)).Append('\n');
    }

    public void Map(string key, Dictionary<string, string>? value, int slot)
    {
        if (value is null)
        {
            Null(key, slot);
            return;
        }
        Key(key);
        if (value.Count == 0) _sb.Append(" {}");
        Source(slot);
        foreach (var (k, v) in value.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            _sb.Append(' ', _indent + 2).Append(ConfigOutput.YamlQuote(k)).Append(": ").Append(ConfigOutput.YamlQuote(v)).Append('\n');
        }
    }

    /// <summary>JSON is YAML flow syntax, so raw JSON subtrees print as they are.</summary>
    public void Raw(string key, string? json, int slot) =>
        Line(key, json is null ? "null" : ScalarText.IsJson(json, out _) ? CompactJson(json) : ConfigOutput.YamlQuote(json), slot);

    private static string CompactJson(string json)
    {
        using var doc = JsonDocument.Parse(json);
        return doc.RootElement.GetRawText().Contains('\n') ? JsonSerializerLess(doc.RootElement) : doc.RootElement.GetRawText();
    }

    private static string JsonSerializerLess(JsonElement e)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer)) e.WriteTo(w);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public void BeginSection(string key, int slot)
    {
        Key(key);
        Source(slot);
        _indent += 2;
    }

    public void EndSection() => _indent -= 2;

    public void BeginItems(string key, int slot)
    {
        Key(key);
        Source(slot);
        _itemDepth++;
        _indent += 2;
    }

    public void BeginItem()
    {
        _indent += 2;
        _pendingDash = true;
    }

    public void EndItem()
    {
        if (_pendingDash)
        {
            _sb.Append(' ', _indent - 2).Append("- {}\n");
            _pendingDash = false;
        }
        _indent -= 2;
    }

    public void EndItems()
    {
        _indent -= 2;
        _itemDepth--;
    }
}

using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Composer.Configuration;

/// <summary>Strict scalar parsing shared by every source, so a value means the same in YAML, JSON and the environment.</summary>
public static class ScalarText
{
    /// <summary>Only true/false (any case): "yes", "1" or "on" are errors, not silently false.</summary>
    public static bool TryParseBool(string text, out bool value)
    {
        if (text.Equals("true", StringComparison.OrdinalIgnoreCase)) { value = true; return true; }
        if (text.Equals("false", StringComparison.OrdinalIgnoreCase)) { value = false; return true; }
        value = false;
        return false;
    }

    public static bool TryParseInteger(string text, long min, long max, out long value) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value) && value >= min && value <= max;

    /// <summary>A JSON array of strings when the trimmed text starts with '[', otherwise one item. Empty means not set.</summary>
    public static bool TryParseList(string text, out List<string>? list, out string? error)
    {
        list = null;
        error = null;
        if (text.Length == 0) return true;
        if (!text.AsSpan().TrimStart().StartsWith("[", StringComparison.Ordinal))
        {
            list = [text];
            return true;
        }
        try
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            reader.Read();
            var result = new List<string>();
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.String)
                {
                    error = $"item {result.Count} of the JSON array is {JsonBind.Describe(reader.TokenType)}, not a string";
                    return false;
                }
                result.Add(reader.GetString()!);
            }
            if (reader.Read())
            {
                error = "unexpected text after the JSON array";
                return false;
            }
            list = result.Count == 0 ? null : result;
            return true;
        }
        catch (JsonException ex)
        {
            error = $"invalid JSON array: {FileErrors.Json(ex)}";
            return false;
        }
    }

    public static bool IsJson(string text, out string? error)
    {
        error = null;
        try
        {
            using var doc = JsonDocument.Parse(text);
            return true;
        }
        catch (JsonException ex)
        {
            error = FileErrors.Json(ex);
            return false;
        }
    }

    public static bool IsJsonObject(string text, out string? error)
    {
        error = null;
        try
        {
            using var doc = JsonDocument.Parse(text);
            if (doc.RootElement.ValueKind == JsonValueKind.Object) return true;
            error = $"it is a JSON {doc.RootElement.ValueKind.ToString().ToLowerInvariant()}, not an object";
            return false;
        }
        catch (JsonException ex)
        {
            error = FileErrors.Json(ex);
            return false;
        }
    }
}

/// <summary>Converts one YAML node (mapping, list or scalar) to JSON text, keeping key case (camelCase Kubernetes fields).</summary>
public static class YamlToJson
{
    public static string Convert(IParser parser)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteNode(parser, writer);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteNode(IParser parser, Utf8JsonWriter writer)
    {
        switch (parser.Current)
        {
            case MappingStart:
                parser.MoveNext();
                writer.WriteStartObject();
                while (!YamlBind.AtMappingEnd(parser))
                {
                    if (parser.Current is Scalar key)
                    {
                        writer.WritePropertyName(key.Value);
                        parser.MoveNext();
                    }
                    else
                    {
                        // Complex keys have no JSON form: keep the entry readable rather than fail.
                        writer.WritePropertyName("?");
                        parser.SkipThisAndNestedEvents();
                    }
                    WriteNode(parser, writer);
                }
                writer.WriteEndObject();
                break;
            case SequenceStart:
                parser.MoveNext();
                writer.WriteStartArray();
                while (!parser.TryConsume<SequenceEnd>(out _)) WriteNode(parser, writer);
                writer.WriteEndArray();
                break;
            case Scalar s:
                parser.MoveNext();
                WriteScalar(s, writer);
                break;
            default:
                writer.WriteNullValue();
                parser.SkipThisAndNestedEvents();
                break;
        }
    }

    private static void WriteScalar(Scalar s, Utf8JsonWriter writer)
    {
        if (s.Style != ScalarStyle.Plain || !s.Tag.IsEmpty)
        {
            writer.WriteStringValue(s.Value);
            return;
        }
        var v = s.Value;
        if (YamlBind.IsNull(s)) writer.WriteNullValue();
        else if (v is "true" or "True" or "TRUE") writer.WriteBooleanValue(true);
        else if (v is "false" or "False" or "FALSE") writer.WriteBooleanValue(false);
        else if (long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l)) writer.WriteNumberValue(l);
        else if (LooksLikeFloat(v) && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)) writer.WriteNumberValue(d);
        else writer.WriteStringValue(v);
    }

    private static bool LooksLikeFloat(string v)
    {
        var span = v.AsSpan();
        if (span.Length == 0) return false;
        if (span[0] is '-' or '+') span = span[1..];
        return span.Length > 0 && (char.IsAsciiDigit(span[0]) || span[0] == '.' && span.Length > 1 && char.IsAsciiDigit(span[1]));
    }
}

/// <summary>
/// Human messages for file errors. The native binary is built with UseSystemResourceKeys, so framework exception
/// messages are resource keys there; these texts are the same in both builds.
/// </summary>
public static class FileErrors
{
    /// <summary>Why reading the file at <paramref name="path"/> failed. A directory is named as such: on Linux opening
    /// one fails with an access error, which would otherwise read as "permission denied".</summary>
    public static string Describe(Exception ex, string path) => IsDirectory(path) ? "is a directory, expected a file" : ex switch
    {
        FileNotFoundException or DirectoryNotFoundException => "no such file or directory",
        UnauthorizedAccessException => "permission denied",
        PathTooLongException => "path too long",
        ArgumentException => "not a valid path",
        IOException => "cannot be read (I/O error)",
        _ => "cannot be read (" + ex.GetType().Name + ")",
    };

    private static bool IsDirectory(string path)
    {
        try
        {
            return path.Length > 0 && Directory.Exists(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return false;
        }
    }

    /// <summary>A JSON reader message, or a generic one where the framework only has a resource key.</summary>
    public static string Json(System.Text.Json.JsonException ex)
    {
        var m = JsonBind.CleanMessage(ex);
        var firstSpace = m.IndexOf(' ');
        var firstWord = firstSpace < 0 ? m : m[..firstSpace].TrimEnd(',');
        return firstWord.Length > 12 && firstWord.All(char.IsAsciiLetter) ? "syntax error" : m;
    }
}

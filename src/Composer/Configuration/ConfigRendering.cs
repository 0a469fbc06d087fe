using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Composer.Configuration;

/// <summary>The effective configuration as YAML or JSON (config show), secrets masked unless asked otherwise.</summary>
public static class ConfigRendering
{
    public static string ToJson(ComposerSettings settings, bool redact = true, ConfigProvenance? sources = null)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            if (sources is null)
            {
                ComposerSettings.ConfigWriteJson(w, settings, redact);
            }
            else
            {
                w.WriteStartObject();
                w.WritePropertyName("settings");
                ComposerSettings.ConfigWriteJson(w, settings, redact);
                w.WriteStartObject("sources");
                foreach (var (key, _, description) in sources.Entries()) w.WriteString(key.Path, description);
                w.WriteEndObject();
                w.WriteEndObject();
            }
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan) + "\n";
    }

    public static string ToYaml(ComposerSettings settings, bool redact = true, ConfigProvenance? sources = null)
    {
        var o = new YamlOut(sources is null ? null : sources.Describe);
        ComposerSettings.ConfigWriteYaml(o, settings, 0, redact);
        return o.ToString();
    }
}

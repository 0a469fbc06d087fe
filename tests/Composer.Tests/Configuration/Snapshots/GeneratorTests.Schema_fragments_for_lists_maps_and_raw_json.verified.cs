// ConfigWriteSchema
internal static void ConfigWriteSchema(global::System.Text.Json.Utf8JsonWriter w, R d)
{
    w.WriteStartObject();
    w.WriteString("$schema", "https://json-schema.org/draft/2020-12/schema");
    w.WriteString("title", "Composer configuration");
    w.WriteString("type", "object");
    w.WriteBoolean("additionalProperties", false);
    w.WriteStartObject("properties");
    w.WriteStartObject("hosts");
    w.WriteStartArray("anyOf");
    w.WriteStartObject(); w.WriteString("type", "array"); w.WriteStartObject("items"); w.WriteString("type", "string"); w.WriteEndObject(); w.WriteEndObject();
    w.WriteStartObject(); w.WriteString("type", "string"); w.WriteString("description", "A JSON array of strings, or a single value."); w.WriteEndObject();
    w.WriteStartObject(); w.WriteString("type", "object"); w.WriteStartObject("patternProperties"); w.WriteStartObject("^[0-9]+$"); w.WriteString("type", "string"); w.WriteEndObject(); w.WriteEndObject(); w.WriteBoolean("additionalProperties", false); w.WriteEndObject();
    w.WriteStartObject(); w.WriteString("type", "null"); w.WriteEndObject();
    w.WriteEndArray();
    w.WriteEndObject();
    w.WriteStartObject("labels");
    w.WriteStartArray("type"); w.WriteStringValue("object"); w.WriteStringValue("null"); w.WriteEndArray();
    w.WriteStartObject("additionalProperties"); w.WriteStartArray("type"); w.WriteStringValue("string"); w.WriteStringValue("number"); w.WriteEndArray(); w.WriteEndObject();
    w.WriteEndObject();
    w.WriteStartObject("manifest");
    w.WriteStartArray("type"); w.WriteStringValue("object"); w.WriteStringValue("string"); w.WriteStringValue("null"); w.WriteEndArray();
    w.WriteEndObject();
    w.WriteEndObject();
    w.WriteEndObject();
}

// ConfigWriteSchema
internal static void ConfigWriteSchema(global::System.Text.Json.Utf8JsonWriter w, R d)
{
    w.WriteStartObject();
    w.WriteString("$schema", "https://json-schema.org/draft/2020-12/schema");
    w.WriteString("title", "Composer configuration");
    w.WriteString("type", "object");
    w.WriteBoolean("additionalProperties", false);
    w.WriteStartObject("properties");
    w.WriteStartObject("name");
    w.WriteString("description", "The name.");
    w.WriteStartArray("type"); w.WriteStringValue("string"); w.WriteStringValue("number"); w.WriteStringValue("boolean"); w.WriteEndArray();
    global::Composer.Configuration.ConfigOutput.SchemaDefault(w, d.Name);
    w.WriteEndObject();
    w.WriteStartObject("label");
    w.WriteStartArray("type"); w.WriteStringValue("string"); w.WriteStringValue("number"); w.WriteStringValue("boolean"); w.WriteStringValue("null"); w.WriteEndArray();
    global::Composer.Configuration.ConfigOutput.SchemaDefault(w, d.Label);
    w.WriteEndObject();
    w.WriteStartObject("enabled");
    w.WriteString("type", "boolean");
    global::Composer.Configuration.ConfigOutput.SchemaDefault(w, d.Enabled);
    w.WriteEndObject();
    w.WriteStartObject("strict");
    w.WriteStartArray("type"); w.WriteStringValue("boolean"); w.WriteStringValue("null"); w.WriteEndArray();
    global::Composer.Configuration.ConfigOutput.SchemaDefault(w, d.Strict);
    w.WriteEndObject();
    w.WriteStartObject("count");
    w.WriteString("type", "integer");
    global::Composer.Configuration.ConfigOutput.SchemaDefault(w, d.Count);
    w.WriteEndObject();
    w.WriteStartObject("limit");
    w.WriteStartArray("type"); w.WriteStringValue("integer"); w.WriteStringValue("null"); w.WriteEndArray();
    global::Composer.Configuration.ConfigOutput.SchemaDefault(w, d.Limit);
    w.WriteEndObject();
    w.WriteStartObject("password");
    w.WriteString("description", "The password. Secret: never printed; also settable from a file with PASSWORD_FILE.");
    w.WriteStartArray("type"); w.WriteStringValue("string"); w.WriteStringValue("number"); w.WriteStringValue("boolean"); w.WriteStringValue("null"); w.WriteEndArray();
    global::Composer.Configuration.ConfigOutput.SchemaDefault(w, d.Password?.Reveal());
    w.WriteEndObject();
    w.WriteStartObject("token");
    w.WriteString("description", "Secret: never printed; also settable from a file with TOKEN_FILE.");
    w.WriteStartArray("type"); w.WriteStringValue("string"); w.WriteStringValue("number"); w.WriteStringValue("boolean"); w.WriteStringValue("null"); w.WriteEndArray();
    global::Composer.Configuration.ConfigOutput.SchemaDefault(w, d.Token?.Reveal());
    w.WriteEndObject();
    w.WriteEndObject();
    w.WriteEndObject();
}

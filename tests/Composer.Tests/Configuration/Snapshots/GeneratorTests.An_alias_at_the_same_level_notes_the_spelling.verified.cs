// ConfigSlots
new("main", "main", 0, global::Composer.Configuration.SlotKind.String, true, false, false, null, null, ["alt"]),
new("retries", "retries", 0, global::Composer.Configuration.SlotKind.Int32, false, false, false, null, null, ["tries"]),

// ConfigBindYaml
case "main":
{
    if (global::Composer.Configuration.YamlBind.ReadString(parser, ctx, slot + 1, true, out var v))
    {
        target.Main = v;
        ctx.NoteSpelling(slot + 1, ctx.PathOf(slot) is "" ? "main" : ctx.PathOf(slot) + ".main", (v ?? "null"), ctx.CurrentWhere(global::Composer.Configuration.YamlBind.Line(mark), global::Composer.Configuration.YamlBind.Column(mark)));
    }
    break;
}
case "alt":
{
    if (global::Composer.Configuration.YamlBind.ReadString(parser, ctx, slot + 1, true, out var v))
    {
        target.Main = v;
        ctx.NoteSpelling(slot + 1, ctx.PathOf(slot) is "" ? "alt" : ctx.PathOf(slot) + ".alt", (v ?? "null"), ctx.CurrentWhere(global::Composer.Configuration.YamlBind.Line(mark), global::Composer.Configuration.YamlBind.Column(mark)));
    }
    break;
}
case "retries":
{
    if (global::Composer.Configuration.YamlBind.ReadInt32(parser, ctx, slot + 2, false, out var v))
    {
        target.Retries = v!.Value;
        ctx.NoteSpelling(slot + 2, ctx.PathOf(slot) is "" ? "retries" : ctx.PathOf(slot) + ".retries", v!.Value.ToString(global::System.Globalization.CultureInfo.InvariantCulture), ctx.CurrentWhere(global::Composer.Configuration.YamlBind.Line(mark), global::Composer.Configuration.YamlBind.Column(mark)));
    }
    break;
}
case "tries":
{
    if (global::Composer.Configuration.YamlBind.ReadInt32(parser, ctx, slot + 2, false, out var v))
    {
        target.Retries = v!.Value;
        ctx.NoteSpelling(slot + 2, ctx.PathOf(slot) is "" ? "tries" : ctx.PathOf(slot) + ".tries", v!.Value.ToString(global::System.Globalization.CultureInfo.InvariantCulture), ctx.CurrentWhere(global::Composer.Configuration.YamlBind.Line(mark), global::Composer.Configuration.YamlBind.Column(mark)));
    }
    break;
}

// ConfigBindJson
case "main":
{
    if (global::Composer.Configuration.JsonBind.ReadString(ref reader, ctx, slot + 1, true, out var v))
    {
        target.Main = v;
        ctx.NoteSpelling(slot + 1, ctx.PathOf(slot) is "" ? "main" : ctx.PathOf(slot) + ".main", (v ?? "null"), ctx.CurrentWhereJson(keyOffset));
    }
    break;
}
case "alt":
{
    if (global::Composer.Configuration.JsonBind.ReadString(ref reader, ctx, slot + 1, true, out var v))
    {
        target.Main = v;
        ctx.NoteSpelling(slot + 1, ctx.PathOf(slot) is "" ? "alt" : ctx.PathOf(slot) + ".alt", (v ?? "null"), ctx.CurrentWhereJson(keyOffset));
    }
    break;
}
case "retries":
{
    if (global::Composer.Configuration.JsonBind.ReadInt32(ref reader, ctx, slot + 2, false, out var v))
    {
        target.Retries = v!.Value;
        ctx.NoteSpelling(slot + 2, ctx.PathOf(slot) is "" ? "retries" : ctx.PathOf(slot) + ".retries", v!.Value.ToString(global::System.Globalization.CultureInfo.InvariantCulture), ctx.CurrentWhereJson(keyOffset));
    }
    break;
}
case "tries":
{
    if (global::Composer.Configuration.JsonBind.ReadInt32(ref reader, ctx, slot + 2, false, out var v))
    {
        target.Retries = v!.Value;
        ctx.NoteSpelling(slot + 2, ctx.PathOf(slot) is "" ? "tries" : ctx.PathOf(slot) + ".tries", v!.Value.ToString(global::System.Globalization.CultureInfo.InvariantCulture), ctx.CurrentWhereJson(keyOffset));
    }
    break;
}

// ConfigBindEnv
case "main":
{
    if (!last) return false;
    if (global::Composer.Configuration.EnvBind.ReadString(e, ctx, slot + 1, out var v))
    {
        target.Main = v;
        ctx.NoteSpelling(slot + 1, ctx.PathOf(slot) is "" ? "main" : ctx.PathOf(slot) + ".main", (v ?? "null"), "environment " + e.Name);
    }
    return true;
}
case "alt":
{
    if (!last) return false;
    if (global::Composer.Configuration.EnvBind.ReadString(e, ctx, slot + 1, out var v))
    {
        target.Main = v;
        ctx.NoteSpelling(slot + 1, ctx.PathOf(slot) is "" ? "alt" : ctx.PathOf(slot) + ".alt", (v ?? "null"), "environment " + e.Name);
    }
    return true;
}
case "retries":
{
    if (!last) return false;
    if (global::Composer.Configuration.EnvBind.ReadInt32(e, ctx, slot + 2, out var v))
    {
        target.Retries = v;
        ctx.NoteSpelling(slot + 2, ctx.PathOf(slot) is "" ? "retries" : ctx.PathOf(slot) + ".retries", v.ToString(global::System.Globalization.CultureInfo.InvariantCulture), "environment " + e.Name);
    }
    return true;
}
case "tries":
{
    if (!last) return false;
    if (global::Composer.Configuration.EnvBind.ReadInt32(e, ctx, slot + 2, out var v))
    {
        target.Retries = v;
        ctx.NoteSpelling(slot + 2, ctx.PathOf(slot) is "" ? "tries" : ctx.PathOf(slot) + ".tries", v.ToString(global::System.Globalization.CultureInfo.InvariantCulture), "environment " + e.Name);
    }
    return true;
}

// ConfigWriteJson
global::Composer.Configuration.ConfigOutput.WriteString(w, "main", v.Main, global::Composer.Configuration.SecretMode.None, redact);
global::Composer.Configuration.ConfigOutput.WriteNumber(w, "retries", v.Retries);

// ConfigWriteYaml
o.String("main", v.Main, slot + 1, global::Composer.Configuration.SecretMode.None, redact);
o.Number("retries", v.Retries, slot + 2);

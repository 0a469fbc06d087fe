// ConfigSlots
new("daemon", "daemon", 0, global::Composer.Configuration.SlotKind.Section, false, false, false, null, null, []),

// ConfigBindYaml
case "daemon":
{
    if (global::Composer.Configuration.YamlBind.EnterSection(parser, ctx, slot + 2, out var isMapping))
    {
        if (isMapping)
        {
            var section = target.Daemon ??= new global::Composer.Configuration.D();
            global::Composer.Configuration.D.ConfigBindYaml(parser, section, slot + 2, ctx, static (k, m, pr, c, st, sl) => ConfigAliasYaml_Daemon((P)st, k, m, pr, c, sl), target);
        }
    }
    break;
}

// ConfigBindJson
case "daemon":
{
    if (global::Composer.Configuration.JsonBind.EnterSection(ref reader, ctx, slot + 2, out var isObject))
    {
        if (isObject)
        {
            var section = target.Daemon ??= new global::Composer.Configuration.D();
            global::Composer.Configuration.D.ConfigBindJson(ref reader, section, slot + 2, ctx, static (string k, long o, ref global::System.Text.Json.Utf8JsonReader r, global::Composer.Configuration.BindContext c, object st, int sl) => ConfigAliasJson_Daemon((P)st, k, o, ref r, c, sl), target);
        }
    }
    break;
}

// ConfigBindEnv
case "daemon":
{
    if (last)
    {
        global::Composer.Configuration.EnvBind.SectionValue(e, ctx, slot + 2);
        return true;
    }
    if (index + 2 == e.Segments.Length)
    {
        switch (e.Segments[index + 1])
        {
            case "with_proxy":
            {
                target.Daemon ??= new global::Composer.Configuration.D();
                if (global::Composer.Configuration.EnvBind.ReadBool(e, ctx, slot + 1, out var v))
                {
                    target.WithProxy = v;
                    ctx.NoteSpelling(slot + 1, ctx.PathOf(slot + 2) + ".with_proxy", (v ? "true" : "false"), "environment " + e.Name);
                }
                return true;
            }
        }
    }
    return global::Composer.Configuration.D.ConfigBindEnv(target.Daemon ??= new global::Composer.Configuration.D(), slot + 2, e, index + 1, ctx);
}

// ConfigWriteJson
if (v.Daemon is { } theDaemon)
{
    w.WritePropertyName("daemon");
    global::Composer.Configuration.D.ConfigWriteJson(w, theDaemon, redact);
}
else w.WriteNull("daemon");

// ConfigWriteYaml
if (v.Daemon is { } theDaemon)
{
    o.BeginSection("daemon", slot + 2);
    global::Composer.Configuration.D.ConfigWriteYaml(o, theDaemon, slot + 2, redact);
    o.EndSection();
}
else o.Null("daemon", slot + 2);

// ConfigAliasYaml_Daemon
private static bool ConfigAliasYaml_Daemon(P target, string key, global::YamlDotNet.Core.Mark mark, global::YamlDotNet.Core.IParser parser, global::Composer.Configuration.BindContext ctx, int sectionSlot)
{
    var slot = sectionSlot - 2;
    switch (key)
    {
        case "with_proxy":
        {
            if (global::Composer.Configuration.YamlBind.ReadBool(parser, ctx, slot + 1, false, out var v))
            {
                target.WithProxy = v!.Value;
                ctx.NoteSpelling(slot + 1, ctx.PathOf(sectionSlot) + ".with_proxy", (v!.Value ? "true" : "false"), ctx.CurrentWhere(global::Composer.Configuration.YamlBind.Line(mark), global::Composer.Configuration.YamlBind.Column(mark)));
            }
            return true;
        }
    }
    return false;
}

// ConfigAliasJson_Daemon
private static bool ConfigAliasJson_Daemon(P target, string key, long keyOffset, ref global::System.Text.Json.Utf8JsonReader reader, global::Composer.Configuration.BindContext ctx, int sectionSlot)
{
    var slot = sectionSlot - 2;
    switch (key)
    {
        case "with_proxy":
        {
            if (global::Composer.Configuration.JsonBind.ReadBool(ref reader, ctx, slot + 1, false, out var v))
            {
                target.WithProxy = v!.Value;
                ctx.NoteSpelling(slot + 1, ctx.PathOf(sectionSlot) + ".with_proxy", (v!.Value ? "true" : "false"), ctx.CurrentWhereJson(keyOffset));
            }
            return true;
        }
    }
    return false;
}

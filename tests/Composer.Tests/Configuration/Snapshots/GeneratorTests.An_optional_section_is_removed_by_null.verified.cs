// ConfigSlots
new("child", "child", 0, global::Composer.Configuration.SlotKind.Section, true, false, false, null, null, []),

// ConfigBindYaml
case "child":
{
    if (global::Composer.Configuration.YamlBind.EnterSection(parser, ctx, slot + 1, out var isMapping))
    {
        if (isMapping)
        {
            var section = target.Child ??= new global::Composer.Configuration.C();
            global::Composer.Configuration.C.ConfigBindYaml(parser, section, slot + 1, ctx, null, null);
        }
        else target.Child = null;
    }
    break;
}

// ConfigBindJson
case "child":
{
    if (global::Composer.Configuration.JsonBind.EnterSection(ref reader, ctx, slot + 1, out var isObject))
    {
        if (isObject)
        {
            var section = target.Child ??= new global::Composer.Configuration.C();
            global::Composer.Configuration.C.ConfigBindJson(ref reader, section, slot + 1, ctx, null, null);
        }
        else target.Child = null;
    }
    break;
}

// ConfigBindEnv
case "child":
{
    if (last)
    {
        global::Composer.Configuration.EnvBind.SectionValue(e, ctx, slot + 1);
        return true;
    }
    return global::Composer.Configuration.C.ConfigBindEnv(target.Child ??= new global::Composer.Configuration.C(), slot + 1, e, index + 1, ctx);
}

// ConfigWriteJson
if (v.Child is { } theChild)
{
    w.WritePropertyName("child");
    global::Composer.Configuration.C.ConfigWriteJson(w, theChild, redact);
}
else w.WriteNull("child");

// ConfigWriteYaml
if (v.Child is { } theChild)
{
    o.BeginSection("child", slot + 1);
    global::Composer.Configuration.C.ConfigWriteYaml(o, theChild, slot + 1, redact);
    o.EndSection();
}
else o.Null("child", slot + 1);

// ConfigSlots
new("enabled", "enabled", 0, global::Composer.Configuration.SlotKind.Bool, false, false, false, null, null, []),
new("strict", "strict", 0, global::Composer.Configuration.SlotKind.Bool, true, false, false, null, null, []),

// ConfigBindYaml
case "enabled":
{
    if (global::Composer.Configuration.YamlBind.ReadBool(parser, ctx, slot + 1, false, out var v))
    {
        target.Enabled = v!.Value;
    }
    break;
}
case "strict":
{
    if (global::Composer.Configuration.YamlBind.ReadBool(parser, ctx, slot + 2, true, out var v))
    {
        target.Strict = v;
    }
    break;
}

// ConfigBindJson
case "enabled":
{
    if (global::Composer.Configuration.JsonBind.ReadBool(ref reader, ctx, slot + 1, false, out var v))
    {
        target.Enabled = v!.Value;
    }
    break;
}
case "strict":
{
    if (global::Composer.Configuration.JsonBind.ReadBool(ref reader, ctx, slot + 2, true, out var v))
    {
        target.Strict = v;
    }
    break;
}

// ConfigBindEnv
case "enabled":
{
    if (!last) return false;
    if (global::Composer.Configuration.EnvBind.ReadBool(e, ctx, slot + 1, out var v))
    {
        target.Enabled = v;
    }
    return true;
}
case "strict":
{
    if (!last) return false;
    if (global::Composer.Configuration.EnvBind.ReadBool(e, ctx, slot + 2, out var v))
    {
        target.Strict = v;
    }
    return true;
}

// ConfigWriteJson
global::Composer.Configuration.ConfigOutput.WriteBool(w, "enabled", v.Enabled);
global::Composer.Configuration.ConfigOutput.WriteBool(w, "strict", v.Strict);

// ConfigWriteYaml
o.Bool("enabled", v.Enabled, slot + 1);
o.Bool("strict", v.Strict, slot + 2);

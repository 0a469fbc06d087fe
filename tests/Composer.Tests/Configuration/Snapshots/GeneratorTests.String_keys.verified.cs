// ConfigSlots
new("name", "name", 0, global::Composer.Configuration.SlotKind.String, true, false, false, null, null, []),
new("label", "label", 0, global::Composer.Configuration.SlotKind.String, false, false, false, null, null, []),

// ConfigBindYaml
case "name":
{
    if (global::Composer.Configuration.YamlBind.ReadString(parser, ctx, slot + 1, true, out var v))
    {
        target.Name = v;
    }
    break;
}
case "label":
{
    if (global::Composer.Configuration.YamlBind.ReadString(parser, ctx, slot + 2, false, out var v))
    {
        target.Label = v!;
    }
    break;
}

// ConfigBindJson
case "name":
{
    if (global::Composer.Configuration.JsonBind.ReadString(ref reader, ctx, slot + 1, true, out var v))
    {
        target.Name = v;
    }
    break;
}
case "label":
{
    if (global::Composer.Configuration.JsonBind.ReadString(ref reader, ctx, slot + 2, false, out var v))
    {
        target.Label = v!;
    }
    break;
}

// ConfigBindEnv
case "name":
{
    if (!last) return false;
    if (global::Composer.Configuration.EnvBind.ReadString(e, ctx, slot + 1, out var v))
    {
        target.Name = v;
    }
    return true;
}
case "label":
{
    if (!last) return false;
    if (global::Composer.Configuration.EnvBind.ReadString(e, ctx, slot + 2, out var v))
    {
        target.Label = v;
    }
    return true;
}

// ConfigWriteJson
global::Composer.Configuration.ConfigOutput.WriteString(w, "name", v.Name, global::Composer.Configuration.SecretMode.None, redact);
global::Composer.Configuration.ConfigOutput.WriteString(w, "label", v.Label, global::Composer.Configuration.SecretMode.None, redact);

// ConfigWriteYaml
o.String("name", v.Name, slot + 1, global::Composer.Configuration.SecretMode.None, redact);
o.String("label", v.Label, slot + 2, global::Composer.Configuration.SecretMode.None, redact);

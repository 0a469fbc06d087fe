// ConfigSlots
new("labels", "labels", 0, global::Composer.Configuration.SlotKind.StringMap, true, false, false, null, null, []),

// ConfigBindYaml
case "labels":
{
    if (global::Composer.Configuration.YamlBind.ReadStringMap(parser, ctx, slot + 1, target.Labels, out var v)) target.Labels = v;
    break;
}

// ConfigBindJson
case "labels":
{
    if (global::Composer.Configuration.JsonBind.ReadStringMap(ref reader, ctx, slot + 1, target.Labels, out var v)) target.Labels = v;
    break;
}

// ConfigBindEnv
case "labels":
{
    if (last)
    {
        if (global::Composer.Configuration.EnvBind.ReadStringMap(e, ctx, slot + 1, target.Labels, out var v)) target.Labels = v;
        return true;
    }
    target.Labels = global::Composer.Configuration.EnvBind.MapEntry(e, ctx, slot + 1, index + 1, target.Labels);
    return true;
}

// ConfigWriteJson
global::Composer.Configuration.ConfigOutput.WriteMap(w, "labels", v.Labels);

// ConfigWriteYaml
o.Map("labels", v.Labels, slot + 1);

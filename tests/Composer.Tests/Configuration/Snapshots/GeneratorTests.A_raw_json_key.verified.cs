// ConfigSlots
new("manifest", "manifest", 0, global::Composer.Configuration.SlotKind.RawJson, true, false, false, null, null, []),

// ConfigBindYaml
case "manifest":
{
    if (global::Composer.Configuration.YamlBind.ReadRawJson(parser, ctx, slot + 1, out var v)) target.Manifest = v;
    break;
}

// ConfigBindJson
case "manifest":
{
    if (global::Composer.Configuration.JsonBind.ReadRawJson(ref reader, ctx, slot + 1, out var v)) target.Manifest = v;
    break;
}

// ConfigBindEnv
case "manifest":
{
    if (!last) return false;
    if (global::Composer.Configuration.EnvBind.ReadRawJson(e, ctx, slot + 1, out var v)) target.Manifest = v;
    return true;
}

// ConfigWriteJson
global::Composer.Configuration.ConfigOutput.WriteRawJson(w, "manifest", v.Manifest);

// ConfigWriteYaml
o.Raw("manifest", v.Manifest, slot + 1);

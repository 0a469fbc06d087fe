// ConfigSlots
new("hosts", "hosts", 0, global::Composer.Configuration.SlotKind.StringList, true, false, false, null, null, []),

// ConfigBindYaml
case "hosts":
{
    if (global::Composer.Configuration.YamlBind.ReadStringList(parser, ctx, slot + 1, out var v)) target.Hosts = v;
    break;
}

// ConfigBindJson
case "hosts":
{
    if (global::Composer.Configuration.JsonBind.ReadStringList(ref reader, ctx, slot + 1, out var v)) target.Hosts = v;
    break;
}

// ConfigBindEnv
case "hosts":
{
    if (last)
    {
        if (global::Composer.Configuration.EnvBind.ReadStringList(e, ctx, slot + 1, out var v)) target.Hosts = v;
        return true;
    }
    if (index + 2 != e.Segments.Length) return false;
    target.Hosts = global::Composer.Configuration.EnvBind.IndexedListItem(e, ctx, slot + 1, index + 1, target.Hosts);
    return true;
}

// ConfigWriteJson
global::Composer.Configuration.ConfigOutput.WriteStringList(w, "hosts", v.Hosts);

// ConfigWriteYaml
o.StringList("hosts", v.Hosts, slot + 1);

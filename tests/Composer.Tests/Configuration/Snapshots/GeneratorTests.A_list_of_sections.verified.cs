// ConfigSlots
new("items", "items", 0, global::Composer.Configuration.SlotKind.SectionList, true, false, false, null, null, []),

// ConfigBindYaml
case "items":
{
    if (global::Composer.Configuration.YamlBind.ReadSectionList(parser, ctx, slot + 1, global::Composer.Configuration.I.ConfigSlots, static () => new global::Composer.Configuration.I(), global::Composer.Configuration.I.ConfigBindYaml, out var v)) target.Items = v;
    break;
}

// ConfigBindJson
case "items":
{
    if (global::Composer.Configuration.JsonBind.ReadSectionList(ref reader, ctx, slot + 1, global::Composer.Configuration.I.ConfigSlots, static () => new global::Composer.Configuration.I(), global::Composer.Configuration.I.ConfigBindJson, out var v)) target.Items = v;
    break;
}

// ConfigBindEnv
case "items":
{
    if (last)
    {
        if (global::Composer.Configuration.EnvBind.ReadSectionListJson(e, ctx, slot + 1, global::Composer.Configuration.I.ConfigSlots, static () => new global::Composer.Configuration.I(), global::Composer.Configuration.I.ConfigBindJson, out var v)) target.Items = v;
        return true;
    }
    var list = target.Items;
    var item = global::Composer.Configuration.EnvBind.SectionListItem(e, ctx, slot + 1, index + 1, ref list, static () => new global::Composer.Configuration.I());
    target.Items = list;
    if (item is null) return true;
    var saved = ctx.EnterItem(ctx.PathOf(slot + 1) + "[" + e.Segments[index + 1] + "]", global::Composer.Configuration.I.ConfigSlots);
    try
    {
        return global::Composer.Configuration.I.ConfigBindEnv(item, 0, e, index + 2, ctx);
    }
    finally
    {
        ctx.ExitItem(saved);
    }
}

// ConfigWriteJson
if (v.Items is { } theItems)
{
    w.WriteStartArray("items");
    foreach (var item in theItems) global::Composer.Configuration.I.ConfigWriteJson(w, item, redact);
    w.WriteEndArray();
}
else w.WriteNull("items");

// ConfigWriteYaml
if (v.Items is { } theItems)
{
    o.BeginItems("items", slot + 1);
    foreach (var item in theItems)
    {
        o.BeginItem();
        global::Composer.Configuration.I.ConfigWriteYaml(o, item, 0, redact);
        o.EndItem();
    }
    o.EndItems();
}
else o.Null("items", slot + 1);

// ConfigSlots
new("count", "count", 0, global::Composer.Configuration.SlotKind.Int32, false, false, false, null, null, []),
new("retries", "retries", 0, global::Composer.Configuration.SlotKind.Int32, true, false, false, null, null, []),
new("size", "size", 0, global::Composer.Configuration.SlotKind.Int64, false, false, false, "bytes", null, []),
new("limit", "limit", 0, global::Composer.Configuration.SlotKind.Int64, true, false, false, null, null, []),

// ConfigBindYaml
case "count":
{
    if (global::Composer.Configuration.YamlBind.ReadInt32(parser, ctx, slot + 1, false, out var v))
    {
        target.Count = v!.Value;
    }
    break;
}
case "retries":
{
    if (global::Composer.Configuration.YamlBind.ReadInt32(parser, ctx, slot + 2, true, out var v))
    {
        target.Retries = v;
    }
    break;
}
case "size":
{
    if (global::Composer.Configuration.YamlBind.ReadInt64(parser, ctx, slot + 3, false, long.MinValue, long.MaxValue, out var v))
    {
        target.Size = v!.Value;
    }
    break;
}
case "limit":
{
    if (global::Composer.Configuration.YamlBind.ReadInt64(parser, ctx, slot + 4, true, long.MinValue, long.MaxValue, out var v))
    {
        target.Limit = v;
    }
    break;
}

// ConfigBindJson
case "count":
{
    if (global::Composer.Configuration.JsonBind.ReadInt32(ref reader, ctx, slot + 1, false, out var v))
    {
        target.Count = v!.Value;
    }
    break;
}
case "retries":
{
    if (global::Composer.Configuration.JsonBind.ReadInt32(ref reader, ctx, slot + 2, true, out var v))
    {
        target.Retries = v;
    }
    break;
}
case "size":
{
    if (global::Composer.Configuration.JsonBind.ReadInt64(ref reader, ctx, slot + 3, false, long.MinValue, long.MaxValue, out var v))
    {
        target.Size = v!.Value;
    }
    break;
}
case "limit":
{
    if (global::Composer.Configuration.JsonBind.ReadInt64(ref reader, ctx, slot + 4, true, long.MinValue, long.MaxValue, out var v))
    {
        target.Limit = v;
    }
    break;
}

// ConfigBindEnv
case "count":
{
    if (!last) return false;
    if (global::Composer.Configuration.EnvBind.ReadInt32(e, ctx, slot + 1, out var v))
    {
        target.Count = v;
    }
    return true;
}
case "retries":
{
    if (!last) return false;
    if (global::Composer.Configuration.EnvBind.ReadInt32(e, ctx, slot + 2, out var v))
    {
        target.Retries = v;
    }
    return true;
}
case "size":
{
    if (!last) return false;
    if (global::Composer.Configuration.EnvBind.ReadInt64(e, ctx, slot + 3, long.MinValue, long.MaxValue, out var v))
    {
        target.Size = v;
    }
    return true;
}
case "limit":
{
    if (!last) return false;
    if (global::Composer.Configuration.EnvBind.ReadInt64(e, ctx, slot + 4, long.MinValue, long.MaxValue, out var v))
    {
        target.Limit = v;
    }
    return true;
}

// ConfigWriteJson
global::Composer.Configuration.ConfigOutput.WriteNumber(w, "count", v.Count);
global::Composer.Configuration.ConfigOutput.WriteNumber(w, "retries", v.Retries);
global::Composer.Configuration.ConfigOutput.WriteNumber(w, "size", v.Size);
global::Composer.Configuration.ConfigOutput.WriteNumber(w, "limit", v.Limit);

// ConfigWriteYaml
o.Number("count", v.Count, slot + 1);
o.Number("retries", v.Retries, slot + 2);
o.Number("size", v.Size, slot + 3);
o.Number("limit", v.Limit, slot + 4);

// ConfigSlots
new("token", "token", 0, global::Composer.Configuration.SlotKind.String, true, true, false, null, null, ["api_token"]),

// ConfigBindYaml
case "token":
{
    if (global::Composer.Configuration.YamlBind.ReadString(parser, ctx, slot + 1, true, out var v))
    {
        target.Token = global::Composer.Diagnostics.Secret.From(v);
        ctx.NoteSpelling(slot + 1, ctx.PathOf(slot) is "" ? "token" : ctx.PathOf(slot) + ".token", global::Composer.Diagnostics.Secret.Mask, ctx.CurrentWhere(global::Composer.Configuration.YamlBind.Line(mark), global::Composer.Configuration.YamlBind.Column(mark)));
    }
    break;
}
case "api_token":
{
    if (global::Composer.Configuration.YamlBind.ReadString(parser, ctx, slot + 1, true, out var v))
    {
        target.Token = global::Composer.Diagnostics.Secret.From(v);
        ctx.NoteSpelling(slot + 1, ctx.PathOf(slot) is "" ? "api_token" : ctx.PathOf(slot) + ".api_token", global::Composer.Diagnostics.Secret.Mask, ctx.CurrentWhere(global::Composer.Configuration.YamlBind.Line(mark), global::Composer.Configuration.YamlBind.Column(mark)));
    }
    break;
}

// ConfigBindJson
case "token":
{
    if (global::Composer.Configuration.JsonBind.ReadString(ref reader, ctx, slot + 1, true, out var v))
    {
        target.Token = global::Composer.Diagnostics.Secret.From(v);
        ctx.NoteSpelling(slot + 1, ctx.PathOf(slot) is "" ? "token" : ctx.PathOf(slot) + ".token", global::Composer.Diagnostics.Secret.Mask, ctx.CurrentWhereJson(keyOffset));
    }
    break;
}
case "api_token":
{
    if (global::Composer.Configuration.JsonBind.ReadString(ref reader, ctx, slot + 1, true, out var v))
    {
        target.Token = global::Composer.Diagnostics.Secret.From(v);
        ctx.NoteSpelling(slot + 1, ctx.PathOf(slot) is "" ? "api_token" : ctx.PathOf(slot) + ".api_token", global::Composer.Diagnostics.Secret.Mask, ctx.CurrentWhereJson(keyOffset));
    }
    break;
}

// ConfigBindEnv
case "token":
{
    if (!last) return false;
    if (global::Composer.Configuration.EnvBind.ReadString(e, ctx, slot + 1, out var v))
    {
        target.Token = global::Composer.Diagnostics.Secret.From(v);
        ctx.NoteSpelling(slot + 1, ctx.PathOf(slot) is "" ? "token" : ctx.PathOf(slot) + ".token", global::Composer.Diagnostics.Secret.Mask, "environment " + e.Name);
    }
    return true;
}
case "token_file":
{
    if (!last) return false;
    if (global::Composer.Configuration.EnvBind.ReadSecretFile(e, ctx, slot + 1, out var v)) target.Token = global::Composer.Diagnostics.Secret.From(v);
    return true;
}
case "api_token":
{
    if (!last) return false;
    if (global::Composer.Configuration.EnvBind.ReadString(e, ctx, slot + 1, out var v))
    {
        target.Token = global::Composer.Diagnostics.Secret.From(v);
        ctx.NoteSpelling(slot + 1, ctx.PathOf(slot) is "" ? "api_token" : ctx.PathOf(slot) + ".api_token", global::Composer.Diagnostics.Secret.Mask, "environment " + e.Name);
    }
    return true;
}
case "api_token_file":
{
    if (!last) return false;
    if (global::Composer.Configuration.EnvBind.ReadSecretFile(e, ctx, slot + 1, out var v)) target.Token = global::Composer.Diagnostics.Secret.From(v);
    return true;
}

// ConfigWriteJson
global::Composer.Configuration.ConfigOutput.WriteString(w, "token", v.Token?.Reveal(), global::Composer.Configuration.SecretMode.Full, redact);

// ConfigWriteYaml
o.String("token", v.Token?.Reveal(), slot + 1, global::Composer.Configuration.SecretMode.Full, redact);

// ConfigSlots
new("password", "password", 0, global::Composer.Configuration.SlotKind.String, true, true, false, null, null, []),
new("proxy", "proxy", 0, global::Composer.Configuration.SlotKind.String, true, true, true, null, null, []),

// ConfigBindYaml
case "password":
{
    if (global::Composer.Configuration.YamlBind.ReadString(parser, ctx, slot + 1, true, out var v))
    {
        target.Password = global::Composer.Diagnostics.Secret.From(v);
    }
    break;
}
case "proxy":
{
    if (global::Composer.Configuration.YamlBind.ReadString(parser, ctx, slot + 2, true, out var v))
    {
        target.Proxy = v;
    }
    break;
}

// ConfigBindJson
case "password":
{
    if (global::Composer.Configuration.JsonBind.ReadString(ref reader, ctx, slot + 1, true, out var v))
    {
        target.Password = global::Composer.Diagnostics.Secret.From(v);
    }
    break;
}
case "proxy":
{
    if (global::Composer.Configuration.JsonBind.ReadString(ref reader, ctx, slot + 2, true, out var v))
    {
        target.Proxy = v;
    }
    break;
}

// ConfigBindEnv
case "password":
{
    if (!last) return false;
    if (global::Composer.Configuration.EnvBind.ReadString(e, ctx, slot + 1, out var v))
    {
        target.Password = global::Composer.Diagnostics.Secret.From(v);
    }
    return true;
}
case "password_file":
{
    if (!last) return false;
    if (global::Composer.Configuration.EnvBind.ReadSecretFile(e, ctx, slot + 1, out var v)) target.Password = global::Composer.Diagnostics.Secret.From(v);
    return true;
}
case "proxy":
{
    if (!last) return false;
    if (global::Composer.Configuration.EnvBind.ReadString(e, ctx, slot + 2, out var v))
    {
        target.Proxy = v;
    }
    return true;
}
case "proxy_file":
{
    if (!last) return false;
    if (global::Composer.Configuration.EnvBind.ReadSecretFile(e, ctx, slot + 2, out var v)) target.Proxy = v;
    return true;
}

// ConfigWriteJson
global::Composer.Configuration.ConfigOutput.WriteString(w, "password", v.Password?.Reveal(), global::Composer.Configuration.SecretMode.Full, redact);
global::Composer.Configuration.ConfigOutput.WriteString(w, "proxy", v.Proxy, global::Composer.Configuration.SecretMode.UrlCredentials, redact);

// ConfigWriteYaml
o.String("password", v.Password?.Reveal(), slot + 1, global::Composer.Configuration.SecretMode.Full, redact);
o.String("proxy", v.Proxy, slot + 2, global::Composer.Configuration.SecretMode.UrlCredentials, redact);

using System.Text.Json;
using YamlDotNet.Core;

namespace Composer.Configuration;

/// <summary>
/// Names from older documentation (upstream docs "Registry authentication": registry.url, registry.enable,
/// registry.cache_ttl, REGISTRY__*). They were silently ignored upstream; here they map with a deprecation
/// warning (url → opencti.daemon.registry.server) or warn that they do not exist (enable, cache_ttl).
/// </summary>
public static class LegacyKeys
{
    public const string RegistryRoot = "registry";
    private const string Canonical = "opencti.daemon.registry";

    private static readonly int RegistrySlot = SlotIndex(Canonical);
    private static readonly int ServerSlot = SlotIndex(Canonical + ".server");

    private static int SlotIndex(string path) => Array.FindIndex(ComposerSettings.ConfigSlots, s => s.Path == path);

    private const string BlockMessage =
        $"the top-level \"registry\" block is from older docs and deprecated; write its keys under {Canonical}";

    private const string UrlMessage = $"deprecated name: registry.url sets {Canonical}.server; use that key";

    private const string EnableMessage =
        "registry.enable does not exist and is ignored: the registry is used when opencti.daemon.registry.server is set";

    private const string CacheTtlMessage =
        "registry.cache_ttl does not exist and is ignored: the upper bound for cached registry tokens is opencti.daemon.registry.token_ttl (seconds)";

    private static RegistrySettings Registry(ComposerSettings settings) => settings.OpenCti.Daemon.Registry ??= new RegistrySettings();

    /// <summary>Root-level hook: the "registry:" mapping of older docs.</summary>
    public static readonly YamlKeyHook YamlHook = static (key, mark, parser, ctx, state, slot) =>
    {
        if (key != RegistryRoot) return false;
        var settings = (ComposerSettings)state;
        ctx.FileWarning(RegistryRoot, YamlBind.Line(mark), YamlBind.Column(mark), BlockMessage);
        if (YamlBind.EnterSection(parser, ctx, RegistrySlot, out var isMapping) && isMapping)
        {
            RegistrySettings.ConfigBindYaml(parser, Registry(settings), RegistrySlot, ctx, RegistryYamlHook, settings);
        }
        return true;
    };

    private static readonly YamlKeyHook RegistryYamlHook = static (key, mark, parser, ctx, state, slot) =>
    {
        var line = YamlBind.Line(mark);
        var col = YamlBind.Column(mark);
        switch (key)
        {
            case "url":
                ctx.FileWarning("registry.url", line, col, UrlMessage);
                if (YamlBind.ReadString(parser, ctx, ServerSlot, true, out var v)) Registry((ComposerSettings)state).Server = v;
                return true;
            case "enable":
                ctx.FileWarning("registry.enable", line, col, EnableMessage);
                parser.SkipThisAndNestedEvents();
                return true;
            case "cache_ttl":
                ctx.FileWarning("registry.cache_ttl", line, col, CacheTtlMessage);
                parser.SkipThisAndNestedEvents();
                return true;
        }
        return false;
    };

    public static readonly JsonKeyHook JsonHook = static (string key, long keyOffset, ref Utf8JsonReader reader, BindContext ctx, object state, int slot) =>
    {
        if (key != RegistryRoot) return false;
        var settings = (ComposerSettings)state;
        var (line, col) = ctx.JsonPosition(keyOffset);
        ctx.FileWarning(RegistryRoot, line, col, BlockMessage);
        if (JsonBind.EnterSection(ref reader, ctx, RegistrySlot, out var isObject) && isObject)
        {
            RegistrySettings.ConfigBindJson(ref reader, Registry(settings), RegistrySlot, ctx, RegistryJsonHook, settings);
        }
        return true;
    };

    private static readonly JsonKeyHook RegistryJsonHook = static (string key, long keyOffset, ref Utf8JsonReader reader, BindContext ctx, object state, int slot) =>
    {
        var (line, col) = ctx.JsonPosition(keyOffset);
        switch (key)
        {
            case "url":
                ctx.FileWarning("registry.url", line, col, UrlMessage);
                if (JsonBind.ReadString(ref reader, ctx, ServerSlot, true, out var v)) Registry((ComposerSettings)state).Server = v;
                return true;
            case "enable":
                ctx.FileWarning("registry.enable", line, col, EnableMessage);
                reader.Skip();
                return true;
            case "cache_ttl":
                ctx.FileWarning("registry.cache_ttl", line, col, CacheTtlMessage);
                reader.Skip();
                return true;
        }
        return false;
    };

    /// <summary>REGISTRY__URL, REGISTRY__ENABLE, REGISTRY__CACHE_TTL and REGISTRY__&lt;KEY&gt; of older docs.</summary>
    public static void BindEnv(ComposerSettings settings, EnvVar e, BindContext ctx)
    {
        if (e.Segments.Length == 2)
        {
            switch (e.Segments[1])
            {
                case "url":
                    ctx.EnvWarning("deprecated name: REGISTRY__URL sets opencti.daemon.registry.server; use OPENCTI__DAEMON__REGISTRY__SERVER");
                    if (EnvBind.ReadString(e, ctx, ServerSlot, out var v)) Registry(settings).Server = v;
                    return;
                case "enable":
                    ctx.EnvWarning(EnableMessage.Replace("registry.enable", "REGISTRY__ENABLE (registry.enable)", StringComparison.Ordinal));
                    return;
                case "cache_ttl":
                    ctx.EnvWarning(CacheTtlMessage.Replace("registry.cache_ttl", "REGISTRY__CACHE_TTL (registry.cache_ttl)", StringComparison.Ordinal)
                        + "; use OPENCTI__DAEMON__REGISTRY__TOKEN_TTL");
                    return;
            }
        }
        if (e.Segments.Length >= 2 && RegistrySettings.ConfigBindEnv(Registry(settings), RegistrySlot, e, 1, ctx))
        {
            ctx.EnvWarning($"deprecated name: {e.Name} is from older docs; use OPENCTI__DAEMON__{e.Name.ToUpperInvariant()}");
            return;
        }
        var keys = ComposerSettings.ConfigSlots.Where(s => s.Parent == RegistrySlot).Select(s => s.Key).Append("url");
        var best = e.Segments.Length == 2 ? KeySuggestions.Closest(e.Segments[1], keys) : null;
        ctx.EnvError(best is null
            ? KeySuggestions.UnknownVariableMessage(ctx.Slots, e)
            : $"unknown setting {string.Join('.', e.Segments)}; did you mean OPENCTI__DAEMON__REGISTRY__{(best == "url" ? "SERVER" : best.ToUpperInvariant())}?");
    }
}

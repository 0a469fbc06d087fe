namespace Composer.Configuration;

/// <summary>Where each configuration value came from. Paths are dotted keys such as "opencti.daemon.registry.server".</summary>
public sealed class ConfigProvenance
{
    private static readonly Dictionary<string, int> IndexByPath = BuildIndex();
    private readonly BindContext _ctx;

    internal ConfigProvenance(BindContext ctx) => _ctx = ctx;

    private static Dictionary<string, int> BuildIndex()
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var slots = ComposerSettings.ConfigSlots;
        for (var i = 0; i < slots.Length; i++) index[slots[i].Path] = i;
        return index;
    }

    public static IReadOnlyList<ConfigSlot> Keys => ComposerSettings.ConfigSlots;

    public static bool IsKnown(string path) => IndexByPath.ContainsKey(path);

    public ValueOrigin OriginOf(string path) =>
        IndexByPath.TryGetValue(path, out var i) ? _ctx.Origins[i] : default;

    /// <summary>"config/production.yaml:41:7", "environment OPENCTI__TOKEN" or "default".</summary>
    public string Describe(string path) => _ctx.Describe(OriginOf(path));

    public string Describe(int slot) => _ctx.Describe(_ctx.Origins[slot]);

    /// <summary>The environment variable that set the value at <paramref name="path"/>, or null when it came from elsewhere.</summary>
    public string? EnvironmentVariableOf(string path) => OriginOf(path) is { Kind: OriginKind.Environment } o ? o.Variable : null;

    /// <summary>Every setting (sections excluded) with its origin, in key-table order.</summary>
    public IEnumerable<(ConfigSlot Key, ValueOrigin Origin, string Description)> Entries()
    {
        var slots = ComposerSettings.ConfigSlots;
        for (var i = 1; i < slots.Length; i++)
        {
            if (slots[i].Kind == SlotKind.Section) continue;
            yield return (slots[i], _ctx.Origins[i], _ctx.Describe(_ctx.Origins[i]));
        }
    }
}

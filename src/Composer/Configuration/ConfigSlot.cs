namespace Composer.Configuration;

/// <summary>What kind of value a configuration key holds (drives parsing, docs and schema).</summary>
public enum SlotKind : byte
{
    Section,
    String,
    Bool,
    Int32,
    Int64,
    StringList,
    SectionList,
    StringMap,
    RawJson,
}

/// <summary>
/// One node of the generated key table: a section or a setting. Paths are relative to the type that owns the
/// table; the root type's table holds every key of the configuration, in declaration order (pre-order).
/// </summary>
public sealed record ConfigSlot(
    string Path,
    string Key,
    int Parent,
    SlotKind Kind,
    bool Nullable,
    bool Secret,
    bool UrlCredentials,
    string? Unit,
    string? Doc,
    string[] Aliases)
{
    /// <summary>The environment variable name: path segments upper-cased and joined with "__".</summary>
    public string EnvironmentName => Path.Replace(".", "__", StringComparison.Ordinal).ToUpperInvariant();

    /// <summary>"a whole number of seconds", "true or false", ...: used as "expected ..." in errors.</summary>
    public string Expected => Kind switch
    {
        SlotKind.Section => "a mapping",
        SlotKind.String => "a string",
        SlotKind.Bool => "true or false",
        SlotKind.Int32 or SlotKind.Int64 => Unit is null ? "a whole number" : $"a whole number of {Unit}",
        SlotKind.StringList => "a list of strings",
        SlotKind.SectionList => "a list of mappings",
        SlotKind.StringMap => "a mapping of names to strings",
        SlotKind.RawJson => "a mapping or JSON text",
        _ => "a value",
    };

    /// <summary>Short type name for the docs.</summary>
    public string TypeLabel => Kind switch
    {
        SlotKind.Section => "section",
        SlotKind.String => "string",
        SlotKind.Bool => "boolean",
        SlotKind.Int32 or SlotKind.Int64 => Unit is null ? "integer" : $"integer ({Unit})",
        SlotKind.StringList => "list of strings",
        SlotKind.SectionList => "list of mappings",
        SlotKind.StringMap => "map of strings",
        SlotKind.RawJson => "object (YAML or JSON text)",
        _ => "value",
    };
}

public enum OriginKind : byte
{
    Default,
    File,
    Environment,
}

/// <summary>Where one value came from. Small and allocation-free; formatted only when printed.</summary>
public readonly record struct ValueOrigin(OriginKind Kind, int SourceIndex, int Line, int Column, string? Variable);

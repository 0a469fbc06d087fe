using System.Globalization;

namespace Composer.Configuration;

/// <summary>
/// State shared by the generated binders while the layers are applied: the key table, the origin of every
/// value, the file being read, and the collected errors and warnings.
/// </summary>
public sealed class BindContext
{
    private readonly Dictionary<int, SpellingNote> _spellings = [];
    private readonly HashSet<int> _envListsStarted = [];
    private int[]? _jsonLineStarts;

    public BindContext(ConfigSlot[] slots)
    {
        Slots = slots;
        Origins = new ValueOrigin[slots.Length];
    }

    public ConfigSlot[] Slots { get; }
    public ValueOrigin[] Origins { get; }

    /// <summary>Display names of the files read, indexed by <see cref="ValueOrigin.SourceIndex"/>.</summary>
    public List<string> Sources { get; } = [];

    public List<ConfigDiagnostic> Errors { get; } = [];
    public List<ConfigDiagnostic> Warnings { get; } = [];

    internal int CurrentSource { get; private set; } = -1;
    internal EnvVar? CurrentVariable { get; set; }
    internal byte[]? JsonBuffer { get; private set; }

    // Inside a list item (e.g. ulimits[2]) slots are relative to the item's type; origins are not recorded.
    private string? _itemPrefix;
    private ConfigSlot[]? _itemSlots;

    internal bool InItem => _itemSlots is not null;

    /// <summary>Starts a file layer; every value bound until the next layer is attributed to it.</summary>
    internal void BeginFile(string displayName, byte[]? jsonBuffer = null)
    {
        Sources.Add(displayName);
        CurrentSource = Sources.Count - 1;
        JsonBuffer = jsonBuffer;
        _jsonLineStarts = null;
        _spellings.Clear();
    }

    internal void BeginEnvironment()
    {
        CurrentSource = -1;
        JsonBuffer = null;
        _spellings.Clear();
        _envListsStarted.Clear();
    }

    internal ConfigSlot[] CurrentSlots => _itemSlots ?? Slots;

    public ConfigSlot Slot(int slot) => _itemSlots is { } items ? items[slot] : Slots[slot];

    public string PathOf(int slot)
    {
        if (_itemSlots is { } items)
        {
            var rel = items[slot].Path;
            return rel.Length == 0 ? _itemPrefix! : _itemPrefix + "." + rel;
        }
        return Slots[slot].Path;
    }

    internal (string? Prefix, ConfigSlot[]? Slots) EnterItem(string prefix, ConfigSlot[] itemSlots)
    {
        var saved = (_itemPrefix, _itemSlots);
        _itemPrefix = prefix;
        _itemSlots = itemSlots;
        return saved;
    }

    internal void ExitItem((string? Prefix, ConfigSlot[]? Slots) saved) => (_itemPrefix, _itemSlots) = saved;

    internal void SetFileOrigin(int slot, int line, int column)
    {
        if (InItem) return;
        if (CurrentVariable is not null)
        {
            SetEnvOrigin(slot);
            return;
        }
        // The same key twice in one file: YAML and JSON parsers keep the last silently, which hides typos.
        // Settings with two spellings are checked by NoteSpelling instead.
        var earlier = Origins[slot];
        if (earlier.Kind == OriginKind.File && earlier.SourceIndex == CurrentSource && Slots[slot].Kind != SlotKind.Section && Slots[slot].Aliases.Length == 0)
        {
            Errors.Add(new ConfigDiagnostic(PathOf(slot), FileLocation(line, column),
                $"set twice in this file (first at {FileLocation(earlier.Line, earlier.Column)}); keep one"));
        }
        Origins[slot] = new ValueOrigin(OriginKind.File, CurrentSource, line, column, null);
    }

    internal void SetEnvOrigin(int slot)
    {
        if (InItem) return;
        Origins[slot] = new ValueOrigin(OriginKind.Environment, -1, 0, 0, CurrentVariable!.Name);
    }

    /// <summary>"config/production.yaml:41:7", "environment OPENCTI__TOKEN" or "default".</summary>
    public string Describe(ValueOrigin origin) => origin.Kind switch
    {
        OriginKind.File when origin.Line > 0 => $"{Sources[origin.SourceIndex]}:{origin.Line}:{origin.Column}",
        OriginKind.File => Sources[origin.SourceIndex],
        OriginKind.Environment => $"environment {origin.Variable}",
        _ => "default",
    };

    internal string FileLocation(int line, int column) =>
        line > 0 ? $"{Sources[CurrentSource]}:{line}:{column}" : Sources[CurrentSource];

    internal void FileError(int slot, int line, int column, string message) => FileError(PathOf(slot), line, column, message);

    internal void FileError(string key, int line, int column, string message)
    {
        // JSON text inside an environment variable (e.g. a JSON list of ulimits) reports against the variable.
        if (CurrentVariable is { } v) Errors.Add(new ConfigDiagnostic(v.Name, "environment", $"{key}: {message}"));
        else Errors.Add(new ConfigDiagnostic(key, FileLocation(line, column), message));
    }

    internal byte[]? SwapJsonBuffer(byte[]? buffer)
    {
        var old = JsonBuffer;
        JsonBuffer = buffer;
        _jsonLineStarts = null;
        return old;
    }

    internal void FileWarning(string key, int line, int column, string message) =>
        Warnings.Add(new ConfigDiagnostic(key, FileLocation(line, column), message));

    internal void EnvError(string message) =>
        Errors.Add(new ConfigDiagnostic(CurrentVariable!.Name, "environment", message));

    internal void EnvWarning(string message) =>
        Warnings.Add(new ConfigDiagnostic(CurrentVariable!.Name, "environment", message));

    /// <summary>1-based line and column of a byte offset in the JSON file being read.</summary>
    internal (int Line, int Column) JsonPosition(long offset)
    {
        var buffer = JsonBuffer;
        if (buffer is null) return (0, 0);
        if (_jsonLineStarts is null)
        {
            var starts = new List<int> { 0 };
            for (var i = 0; i < buffer.Length; i++)
            {
                if (buffer[i] == (byte)'\n') starts.Add(i + 1);
            }
            _jsonLineStarts = [.. starts];
        }
        var idx = Array.BinarySearch(_jsonLineStarts, (int)offset);
        if (idx < 0) idx = ~idx - 1;
        return (idx + 1, (int)offset - _jsonLineStarts[idx] + 1);
    }

    /// <summary>
    /// Two spellings of one setting (e.g. opencti.with_proxy and opencti.daemon.with_proxy) in the same layer must
    /// agree; across layers the usual precedence applies.
    /// </summary>
    internal void NoteSpelling(int slot, string spelling, string value, string where)
    {
        if (InItem) return;
        if (_spellings.TryGetValue(slot, out var earlier) && earlier.Spelling != spelling && earlier.Value != value)
        {
            Errors.Add(new ConfigDiagnostic(
                Slots[slot].Path,
                $"{earlier.Where} and {where}",
                $"set twice with different values: {earlier.Spelling} = {earlier.Value} and {spelling} = {value}; both names are the same setting ({Slots[slot].Path} is canonical), keep one"));
            return;
        }
        _spellings[slot] = new SpellingNote(spelling, value, where);
    }

    internal string CurrentWhereJson(long offset)
    {
        var (line, column) = JsonPosition(offset);
        return CurrentWhere(line, column);
    }

    internal string CurrentWhere(int line, int column) =>
        CurrentVariable is { } v ? $"environment {v.Name}" : FileLocation(line, column);

    /// <summary>True the first time an indexed environment list (NAME__0, NAME__1) is seen in this layer.</summary>
    internal bool StartEnvList(int slot) => InItem || _envListsStarted.Add(slot);

    private readonly Dictionary<int, List<string>> _envItemLabels = [];

    internal List<string> EnvItemLabels(int slot)
    {
        if (!_envItemLabels.TryGetValue(slot, out var labels)) _envItemLabels[slot] = labels = [];
        return labels;
    }

    internal static string Quote(string value, bool secret) => secret ? "\"" + Composer.Diagnostics.Secret.Mask + "\"" : "\"" + value + "\"";

    internal static string FormatInvariant(long value) => value.ToString(CultureInfo.InvariantCulture);

    private sealed record SpellingNote(string Spelling, string Value, string Where);
}

/// <summary>One environment variable that belongs to the configuration: its name split on "__" and lower-cased.</summary>
public sealed class EnvVar(string name, string[] segments, string value)
{
    public string Name { get; } = name;
    public string[] Segments { get; } = segments;
    public string Value { get; } = value;
}

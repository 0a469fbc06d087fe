using System.Collections;
using System.Text;
using System.Text.Json;
using YamlDotNet.Core;

namespace Composer.Configuration;

/// <summary>One problem found while loading configuration: the key, where the value came from, and what was wrong.</summary>
public sealed record ConfigDiagnostic(string Key, string Source, string Message)
{
    public override string ToString() => $"{Key}: {Message} ({Source})";
}

public sealed class ConfigLoadRequest
{
    /// <summary>--config-dir; null means $COMPOSER_CONFIG_DIR, else ./config.</summary>
    public string? ConfigDirectory { get; init; }

    /// <summary>The environment to bind from (the process environment in production, a dictionary in tests).</summary>
    public required IReadOnlyDictionary<string, string> Environment { get; init; }

    /// <summary>
    /// Whether a missing manager private key is an error. Commands that never talk to the platform (image
    /// resolve/check) do not need it; a key that is configured is still validated.
    /// </summary>
    public bool RequireManagerKey { get; init; } = true;

    /// <summary>
    /// Whether each enabled platform's orchestrator is resolved at load (its kubeconfig or service account read, its
    /// Portainer block completed), so that their problems are configuration errors too: the commands that talk to
    /// orchestrators (run, plan, check) ask for it.
    /// </summary>
    public bool ResolveOrchestrators { get; init; }

    /// <summary>The process environment, read once (a read-only view of the runtime's snapshot, not a second copy).</summary>
    public static IReadOnlyDictionary<string, string> ProcessEnvironment() => new EnvironmentSnapshot(System.Environment.GetEnvironmentVariables());

    /// <summary>
    /// <see cref="System.Environment.GetEnvironmentVariables"/> already returns a fresh table of every variable (names are
    /// case-sensitive on Unix, as here); this exposes it with string types instead of copying it into a dictionary.
    /// </summary>
    private sealed class EnvironmentSnapshot(IDictionary variables) : IReadOnlyDictionary<string, string>
    {
        public string this[string key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException(key);

        public IEnumerable<string> Keys
        {
            get
            {
                foreach (var entry in this) yield return entry.Key;
            }
        }

        public IEnumerable<string> Values
        {
            get
            {
                foreach (var entry in this) yield return entry.Value;
            }
        }

        public int Count => variables.Count;

        public bool ContainsKey(string key) => variables.Contains(key);

        public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out string value)
        {
            // A variable's value is never null, so null means absent: one lookup.
            value = variables[key] as string;
            return value is not null;
        }

        public IEnumerator<KeyValuePair<string, string>> GetEnumerator()
        {
            // Key and Value of the dictionary enumerator, not its boxed DictionaryEntry.
            var e = variables.GetEnumerator();
            while (e.MoveNext()) yield return new KeyValuePair<string, string>((string)e.Key, (string?)e.Value ?? "");
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}

public sealed class ConfigLoadResult
{
    public required ComposerSettings Settings { get; init; }
    public List<ConfigDiagnostic> Errors { get; } = [];
    public List<ConfigDiagnostic> Warnings { get; } = [];
    public bool Success => Errors.Count == 0;

    /// <summary>Where every value came from (file:line:column, environment variable, or default).</summary>
    public ConfigProvenance Provenance { get; init; } = ConfigProvenance.None;

    /// <summary>The files that were read, in precedence order (lowest first).</summary>
    public List<string> FilesRead { get; } = [];
}

/// <summary>
/// Layers the configuration sources, lowest precedence first: built-in defaults, config/default.yaml,
/// config/&lt;COMPOSER_ENV&gt;.yaml, config/config.json, then the environment. Every error is collected; nothing
/// throws for bad input. Binding only: the resolve step (Resolution/SettingsLoader) validates and resolves the result.
/// </summary>
public static class ConfigurationLoader
{
    public const string DefaultEnvironmentName = "production";

    /// <summary>Extensions tried for default and &lt;COMPOSER_ENV&gt;, in the order upstream (config-rs) tries them.</summary>
    private static readonly string[] SupportedExtensions = [".json", ".yaml", ".yml"];
    private static readonly string[] UnsupportedExtensions = [".toml", ".ini", ".ron", ".json5"];

    /// <summary>First segments of environment variables that belong to the configuration (MANAGER, OPENCTI, ...).</summary>
    private static readonly HashSet<string> EnvRoots = BuildEnvRoots();

    public static ConfigLoadResult Load(ConfigLoadRequest request)
    {
        var settings = new ComposerSettings();
        var ctx = new BindContext(ComposerSettings.ConfigSlots);
        var result = new ConfigLoadResult { Settings = settings, Provenance = new ConfigProvenance(ctx) };
        var env = request.Environment;

        var (directory, explicitSource) = ResolveDirectory(request, env);
        if (!Directory.Exists(directory))
        {
            if (explicitSource is not null)
            {
                ctx.Errors.Add(new ConfigDiagnostic("config directory", explicitSource, $"directory \"{directory}\" does not exist"));
            }
        }
        else
        {
            LoadNamed(ctx, settings, directory, "default", result.FilesRead);
            var envName = env.TryGetValue("COMPOSER_ENV", out var n) && n.Length > 0 ? n : DefaultEnvironmentName;
            if (envName.IndexOfAny(['/', '\\']) >= 0 || envName is "." or "..")
            {
                ctx.Errors.Add(new ConfigDiagnostic("COMPOSER_ENV", "environment", $"expected a file name such as production, got \"{envName}\""));
            }
            else if (envName != "default")
            {
                LoadNamed(ctx, settings, directory, envName, result.FilesRead);
            }
            var configJson = Path.Combine(directory, "config.json");
            if (File.Exists(configJson)) LoadFile(ctx, settings, configJson, result.FilesRead);
            else if (Directory.Exists(configJson)) ctx.Errors.Add(new ConfigDiagnostic(configJson, configJson, "is a directory, expected a file"));
        }

        BindEnvironment(ctx, settings, env);

        result.Errors.AddRange(ctx.Errors);
        result.Warnings.AddRange(ctx.Warnings);
        return result;
    }

    private static (string Directory, string? ExplicitSource) ResolveDirectory(ConfigLoadRequest request, IReadOnlyDictionary<string, string> env)
    {
        if (request.ConfigDirectory is { Length: > 0 } d) return (d, "--config-dir");
        if (env.TryGetValue("COMPOSER_CONFIG_DIR", out var e) && e.Length > 0) return (e, "environment COMPOSER_CONFIG_DIR");
        return ("config", null);
    }

    private static void LoadNamed(BindContext ctx, ComposerSettings settings, string directory, string name, List<string> filesRead)
    {
        foreach (var ext in UnsupportedExtensions)
        {
            var p = Path.Combine(directory, name + ext);
            if (File.Exists(p)) ctx.Errors.Add(new ConfigDiagnostic(p, p, $"{ext[1..].ToUpperInvariant()} configuration files are not supported; use {name}.yaml or {name}.json"));
        }
        foreach (var ext in SupportedExtensions)
        {
            var p = Path.Combine(directory, name + ext);
            if (Directory.Exists(p)) ctx.Errors.Add(new ConfigDiagnostic(p, p, "is a directory, expected a file"));
        }
        var present = SupportedExtensions.Select(ext => Path.Combine(directory, name + ext)).Where(File.Exists).ToList();
        if (present.Count == 0) return;
        for (var i = 1; i < present.Count; i++)
        {
            ctx.Warnings.Add(new ConfigDiagnostic(present[i], present[i], $"ignored: {present[0]} is read instead (only one of {name}.json, {name}.yaml, {name}.yml is used)"));
        }
        LoadFile(ctx, settings, present[0], filesRead);
    }

    internal static void LoadFile(BindContext ctx, ComposerSettings settings, string path, List<string> filesRead)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ctx.Errors.Add(new ConfigDiagnostic(path, path, $"cannot read the file: {FileErrors.Describe(ex, path)}"));
            return;
        }
        filesRead.Add(path);
        if (Utf8BytesReader.FirstInvalidUtf8Byte(bytes) is { } offset)
        {
            // Decoding would turn the byte into U+FFFD and bind a value the user never wrote: refuse the file instead.
            var line = 1 + bytes.AsSpan(0, offset).Count((byte)'\n');
            ctx.Errors.Add(new ConfigDiagnostic(path, path,
                $"not valid UTF-8: byte 0x{bytes[offset]:X2} at byte offset {offset} (line {line}) is not part of a UTF-8 character; save the file as UTF-8"));
            return;
        }
        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase)) BindJson(ctx, settings, path, bytes);
        else BindYaml(ctx, settings, path, bytes);
    }

    /// <summary>Binds one YAML document onto <paramref name="settings"/> (exposed for benchmarks and tests).</summary>
    public static void BindYaml(BindContext ctx, ComposerSettings settings, string displayName, byte[] bytes)
    {
        ctx.BeginFile(displayName);
        try
        {
            using var reader = Utf8BytesReader.Create(bytes);
            var parser = new Parser(reader);
            if (YamlBind.BeginDocument(parser, ctx))
            {
                ComposerSettings.ConfigBindYaml(parser, settings, 0, ctx, LegacyKeys.YamlHook, settings);
            }
            // A second document (---) would be ignored by most readers: say so instead.
            while (parser.Current is not null and not YamlDotNet.Core.Events.DocumentStart and not YamlDotNet.Core.Events.StreamEnd && parser.MoveNext())
            {
            }
            if (parser.Current is YamlDotNet.Core.Events.DocumentStart second)
            {
                ctx.Errors.Add(new ConfigDiagnostic(displayName, $"{displayName}:{second.Start.Line}:{second.Start.Column}",
                    "a second YAML document (---) is not supported; put all settings in one document"));
            }
        }
        catch (YamlException ex)
        {
            ctx.Errors.Add(new ConfigDiagnostic(displayName, $"{displayName}:{ex.Start.Line}:{ex.Start.Column}", $"invalid YAML: {CleanYamlMessage(ex)}"));
        }
    }

    public static void BindJson(BindContext ctx, ComposerSettings settings, string displayName, byte[] bytes)
    {
        // A UTF-8 byte order mark is allowed in files; Utf8JsonReader does not skip it.
        if (bytes.AsSpan().StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF])) bytes = bytes[3..];
        ctx.BeginFile(displayName, bytes);
        var reader = new Utf8JsonReader(bytes, JsonBind.Options);
        try
        {
            if (JsonBind.BeginDocument(ref reader, ctx))
            {
                ComposerSettings.ConfigBindJson(ref reader, settings, 0, ctx, LegacyKeys.JsonHook, settings);
                if (reader.Read())
                {
                    var (line, col) = ctx.JsonPosition(reader.TokenStartIndex);
                    ctx.Errors.Add(new ConfigDiagnostic(displayName, $"{displayName}:{line}:{col}", "invalid JSON: unexpected content after the top-level object"));
                }
            }
        }
        catch (JsonException ex)
        {
            var line = (ex.LineNumber ?? 0) + 1;
            var col = (ex.BytePositionInLine ?? 0) + 1;
            ctx.Errors.Add(new ConfigDiagnostic(displayName, $"{displayName}:{line}:{col}", $"invalid JSON: {FileErrors.Json(ex)}"));
        }
    }

    private static string CleanYamlMessage(YamlException ex)
    {
        var m = ex.Message;
        // "(Line: 3, Col: 7, Idx: 20) - (Line: 3, Col: 8, Idx: 21): While parsing ..." → the text after the marks.
        var cut = m.IndexOf("): ", StringComparison.Ordinal);
        return cut >= 0 && m.StartsWith("(Line:", StringComparison.Ordinal) ? m[(cut + 3)..] : m;
    }

    private static HashSet<string> BuildEnvRoots()
    {
        var roots = new HashSet<string>(StringComparer.Ordinal);
        foreach (var slot in ComposerSettings.ConfigSlots)
        {
            if (slot.Parent != 0) continue;
            roots.Add(slot.Key);
            if (slot.Secret) roots.Add(slot.Key + "_file");
        }
        return roots;
    }

    /// <summary>
    /// Binds the variables whose first segment is a configuration root (MANAGER, OPENCTI, OPENAEV, APP, the
    /// top-level proxy variables) plus the legacy REGISTRY__*; everything else (PATH, HOME ...) is ignored.
    /// </summary>
    public static void BindEnvironment(BindContext ctx, ComposerSettings settings, IReadOnlyDictionary<string, string> environment)
    {
        ctx.BeginEnvironment();
        var roots = EnvRoots.GetAlternateLookup<ReadOnlySpan<char>>();
        Span<char> rootBuffer = stackalloc char[64];
        var candidates = new List<EnvVar>();
        foreach (var (name, value) in environment)
        {
            // Most of the environment (PATH, HOME ...) is not ours: decide on the first segment without allocating.
            var first = name.IndexOf("__", StringComparison.Ordinal);
            var rootName = first < 0 ? name.AsSpan() : name.AsSpan(0, first);
            if (rootName.Length > rootBuffer.Length) continue;
            var root = rootBuffer[..rootName.ToLowerInvariant(rootBuffer)];
            if (!roots.Contains(root) && !root.SequenceEqual(LegacyKeys.RegistryRoot)) continue;
            candidates.Add(new EnvVar(name, LowerSegments(name), value));
        }
        // Numeric segments sort numerically, so indexed lists (NAME__2, NAME__10) keep their order; ties (01 and 1) are
        // broken ordinally so that the spellings of one name end up next to each other.
        candidates.Sort(static (a, b) =>
        {
            var c = CompareSegments(a.Segments, b.Segments);
            return c != 0 ? c : CompareSegmentsOrdinal(a.Segments, b.Segments);
        });

        // Names are case-insensitive: of the spellings of one name, the upper-case one wins (HTTPS_PROXY over https_proxy).
        var variables = new List<EnvVar>(candidates.Count);
        foreach (var candidate in candidates)
        {
            if (variables.Count == 0 || CompareSegmentsOrdinal(variables[^1].Segments, candidate.Segments) != 0)
            {
                variables.Add(candidate);
                continue;
            }
            var other = variables[^1];
            var (winner, loser) = Prefer(candidate.Name, candidate.Value, other.Name, other.Value);
            if (winner.Value != loser.Value)
            {
                ctx.Warnings.Add(new ConfigDiagnostic(winner.Name, "environment",
                    $"{winner.Name} and {loser.Name} are both set with different values; using {winner.Name}"));
            }
            if (winner.Name == candidate.Name) variables[^1] = candidate;
        }

        foreach (var variable in variables)
        {
            ctx.CurrentVariable = variable;
            try
            {
                if (variable.Segments[0] == LegacyKeys.RegistryRoot)
                {
                    LegacyKeys.BindEnv(settings, variable, ctx);
                }
                else if (!ComposerSettings.ConfigBindEnv(settings, 0, variable, 0, ctx))
                {
                    ctx.EnvError(KeySuggestions.UnknownVariableMessage(ctx.Slots, variable));
                }
            }
            finally
            {
                ctx.CurrentVariable = null;
            }
        }
    }

    private static ((string Name, string Value) Winner, (string Name, string Value) Loser) Prefer(string name, string value, string otherName, string otherValue)
    {
        static bool IsUpper(string s) => s == s.ToUpperInvariant();
        var a = (name, value);
        var b = (otherName, otherValue);
        if (IsUpper(name) && !IsUpper(otherName)) return (a, b);
        if (IsUpper(otherName) && !IsUpper(name)) return (b, a);
        return string.CompareOrdinal(name, otherName) <= 0 ? (a, b) : (b, a);
    }

    /// <summary>The name split on "__" (as <c>string.Split("__")</c>) and lower-cased, without a lower-cased copy of the whole name.</summary>
    private static string[] LowerSegments(string name)
    {
        var count = 1;
        for (var at = name.IndexOf("__", StringComparison.Ordinal); at >= 0; at = name.IndexOf("__", at + 2, StringComparison.Ordinal)) count++;
        var segments = new string[count];
        var start = 0;
        for (var i = 0; i < count; i++)
        {
            var end = i == count - 1 ? name.Length : name.IndexOf("__", start, StringComparison.Ordinal);
            segments[i] = string.Create(end - start, (name, start), static (span, state) => state.name.AsSpan(state.start, span.Length).ToLowerInvariant(span));
            start = end + 2;
        }
        return segments;
    }

    private static int CompareSegmentsOrdinal(string[] a, string[] b)
    {
        for (var i = 0; i < Math.Min(a.Length, b.Length); i++)
        {
            var c = string.CompareOrdinal(a[i], b[i]);
            if (c != 0) return c;
        }
        return a.Length.CompareTo(b.Length);
    }

    private static int CompareSegments(string[] a, string[] b)
    {
        for (var i = 0; i < Math.Min(a.Length, b.Length); i++)
        {
            int c;
            if (ulong.TryParse(a[i], out var x) && ulong.TryParse(b[i], out var y)) c = x.CompareTo(y);
            else c = string.CompareOrdinal(a[i], b[i]);
            if (c != 0) return c;
        }
        return a.Length.CompareTo(b.Length);
    }
}

using System.Collections;

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

    public static IReadOnlyDictionary<string, string> ProcessEnvironment()
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in System.Environment.GetEnvironmentVariables())
        {
            env[(string)e.Key] = (string?)e.Value ?? "";
        }
        return env;
    }
}

public sealed class ConfigLoadResult
{
    public required ComposerSettings Settings { get; init; }
    public List<ConfigDiagnostic> Errors { get; } = [];
    public List<ConfigDiagnostic> Warnings { get; } = [];
    public bool Success => Errors.Count == 0;
}

/// <summary>
/// Layers built-in defaults, config/default.yaml, config/&lt;COMPOSER_ENV&gt;.yaml, config.json and the environment.
/// PLACEHOLDER until the generated binders land (issue: source-generated configuration): returns the defaults.
/// </summary>
public static class ConfigurationLoader
{
    public static ConfigLoadResult Load(ConfigLoadRequest request) => new() { Settings = new ComposerSettings() };
}

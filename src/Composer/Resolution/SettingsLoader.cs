using Composer.Configuration;

namespace Composer.Resolution;

/// <summary>The configuration as bound, with every problem of binding, validation and resolution, and the resolved settings when there is none.</summary>
public sealed class SettingsLoadResult(ConfigLoadResult loaded, ResolvedSettings? resolved)
{
    public ComposerSettings Settings => loaded.Settings;
    public List<ConfigDiagnostic> Errors => loaded.Errors;
    public List<ConfigDiagnostic> Warnings => loaded.Warnings;
    public bool Success => loaded.Success;

    /// <summary>Where every value came from (file:line:column, environment variable, or default).</summary>
    public ConfigProvenance Provenance => loaded.Provenance;

    /// <summary>The files that were read, in precedence order (lowest first).</summary>
    public List<string> FilesRead => loaded.FilesRead;

    /// <summary>The resolved configuration, or null when there were errors.</summary>
    public ResolvedSettings? Resolved { get; } = resolved;
}

/// <summary>The configuration from its sources to <see cref="ResolvedSettings"/>: bind, validate, resolve, every problem collected.</summary>
public static class SettingsLoader
{
    public static SettingsLoadResult Load(ConfigLoadRequest request)
    {
        var loaded = ConfigurationLoader.Load(request);
        // The resolve step runs even after binding errors so that every problem is reported at once; a key that failed to
        // bind keeps its previous value and is not reported twice.
        var resolved = SettingsResolver.Resolve(loaded.Settings, loaded.Provenance, request.Environment, loaded.Errors, loaded.Warnings,
            request.RequireManagerKey, request.ResolveOrchestrators);
        return new SettingsLoadResult(loaded, loaded.Success ? resolved : null);
    }
}

using Composer.Configuration;
using Composer.Resolution;

namespace Composer.Tests.Infrastructure;

/// <summary>Runs settings built in code through the product's resolve step, as a configuration load would.</summary>
public static class TestSettings
{
    /// <summary>The resolved settings; throws with every problem when the settings are invalid.</summary>
    /// <param name="resolveOrchestrators">Resolve the enabled platforms' orchestrators too, as run, plan and check do.</param>
    public static ResolvedSettings Resolve(ComposerSettings settings, IReadOnlyDictionary<string, string>? environment = null, bool resolveOrchestrators = false)
    {
        var (resolved, errors, _) = TryResolve(settings, environment, resolveOrchestrators);
        if (errors.Count > 0) throw new InvalidOperationException("invalid test settings: " + string.Join("; ", errors));
        return resolved;
    }

    /// <summary>The resolved settings with the errors and warnings of the resolve step.</summary>
    public static (ResolvedSettings Resolved, List<ConfigDiagnostic> Errors, List<ConfigDiagnostic> Warnings) TryResolve(
        ComposerSettings settings, IReadOnlyDictionary<string, string>? environment = null, bool resolveOrchestrators = false)
    {
        var errors = new List<ConfigDiagnostic>();
        var warnings = new List<ConfigDiagnostic>();
        var resolved = SettingsResolver.Resolve(settings, ConfigProvenance.None, environment ?? new Dictionary<string, string>(), errors, warnings,
            requireManagerKey: false, resolveOrchestrators: resolveOrchestrators);
        return (resolved, errors, warnings);
    }
}

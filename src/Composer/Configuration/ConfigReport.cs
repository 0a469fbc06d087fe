namespace Composer.Configuration;

/// <summary>
/// Where the resolve step and the parsers it calls put what they find: every problem with its key and the source of the
/// offending value (<see cref="ConfigProvenance"/>), collected and reported together, never thrown.
/// </summary>
public sealed class ConfigReport(ConfigProvenance provenance, List<ConfigDiagnostic> errors, List<ConfigDiagnostic> warnings)
{
    /// <summary>The errors so far: a parser counts them to know whether what it parsed is usable.</summary>
    public IReadOnlyList<ConfigDiagnostic> Errors => errors;

    /// <summary>A problem with the value at <paramref name="key"/>, attributed to where that value came from.</summary>
    public void Error(string key, string message) => errors.Add(new ConfigDiagnostic(key, provenance.Describe(key), message));

    public void Warning(string key, string message) => warnings.Add(new ConfigDiagnostic(key, provenance.Describe(key), message));

    /// <summary>A problem whose source is not a configuration value (a kubeconfig file, an environment variable).</summary>
    public void Error(ConfigDiagnostic problem) => errors.Add(problem);

    public void Warning(ConfigDiagnostic problem) => warnings.Add(problem);
}

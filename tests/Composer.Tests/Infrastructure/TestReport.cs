using Composer.Configuration;

namespace Composer.Tests.Infrastructure;

/// <summary>A <see cref="ConfigReport"/> for settings built in code (every value from its default), with its lists to look at.</summary>
public sealed record TestReport(ConfigReport Report, List<ConfigDiagnostic> Errors, List<ConfigDiagnostic> Warnings)
{
    public static TestReport New()
    {
        List<ConfigDiagnostic> errors = [];
        List<ConfigDiagnostic> warnings = [];
        return new TestReport(new ConfigReport(ConfigProvenance.None, errors, warnings), errors, warnings);
    }
}

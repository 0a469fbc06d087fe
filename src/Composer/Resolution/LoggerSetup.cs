using Composer.Configuration;
using Composer.Diagnostics;

namespace Composer.Resolution;

/// <summary>The process <see cref="Logger"/> from manager.logger: the one place the logger's settings are read.</summary>
public static class LoggerSetup
{
    /// <summary>
    /// The problems of a manager.logger section, as (key, what was expected) pairs: the configuration loader
    /// reports them with their source. Empty when the section is valid.
    /// </summary>
    public static IReadOnlyList<(string Key, string Message)> Validate(LoggerSettings settings)
    {
        var problems = new List<(string Key, string Message)>();
        if (!Logger.TryParseLevel(settings.Level, out _))
        {
            problems.Add(("manager.logger.level", $"'{settings.Level}' is not a log level; expected trace, debug, info, warn or error"));
        }
        if (!Logger.TryParseFormat(settings.Format, out _))
        {
            problems.Add(("manager.logger.format", $"'{settings.Format}' is not a log format; expected json or pretty"));
        }
        return problems;
    }

    /// <summary>
    /// The log file directory manager.logger.directory names: null (no file) for absent, empty or "false";
    /// "logs" under the working directory for "true"; otherwise the path itself.
    /// </summary>
    public static string? ResolveDirectory(string? directory) => directory?.Trim() switch
    {
        null or "" => null,
        var d when d.Equals("false", StringComparison.OrdinalIgnoreCase) => null,
        var d when d.Equals("true", StringComparison.OrdinalIgnoreCase) => "logs",
        var d => d,
    };

    /// <summary>
    /// Builds the process logger from manager.logger. Invalid values (see <see cref="Validate"/>, which the
    /// configuration loader reports as errors) fall back to info / json with a warning on diagnostics.
    /// </summary>
    public static Logger FromSettings(LoggerSettings settings, TextWriter stdout, TextWriter? diagnostics = null, TimeProvider? clock = null)
    {
        diagnostics ??= Console.Error;
        foreach (var (key, message) in Validate(settings))
        {
            diagnostics.WriteLine($"composer: {key}: {message}; using the default");
        }
        Logger.TryParseLevel(settings.Level, out var level);
        Logger.TryParseFormat(settings.Format, out var format);
        return new Logger(level, format, settings.Console ? stdout : null, ResolveDirectory(settings.Directory), clock, diagnostics);
    }
}

using Composer.Configuration;
using Composer.Diagnostics;

namespace Composer.Resolution;

/// <summary>manager.logger, resolved: the level and format parsed, the file directory decided.</summary>
/// <param name="Console">Whether log lines go to stdout.</param>
/// <param name="Directory">Where the daily JSON files go, or null for none.</param>
public sealed record LoggerOptions(LogLevel Level, LogFormat Format, bool Console, string? Directory);

/// <summary>The process <see cref="Logger"/> from manager.logger: the one place the logger's settings are read.</summary>
public static class LoggerSetup
{
    /// <summary>
    /// manager.logger as the logger takes it, by the logger's own rules (<see cref="Logger.TryParseLevel"/>,
    /// <see cref="Logger.TryParseFormat"/>); an unknown level or format is an error naming its key (and info / json
    /// stand in for it, for a caller that goes on).
    /// </summary>
    public static LoggerOptions Resolve(LoggerSettings settings, ConfigReport report)
    {
        if (!Logger.TryParseLevel(settings.Level, out var level))
        {
            report.Error("manager.logger.level", $"expected one of trace, debug, info, warn, error, got \"{settings.Level}\"");
        }
        if (!Logger.TryParseFormat(settings.Format, out var format))
        {
            report.Error("manager.logger.format", $"expected json or pretty, got \"{settings.Format}\"");
        }
        return new LoggerOptions(level, format, settings.Console, ResolveDirectory(settings.Directory));
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

    /// <summary>The process logger; <paramref name="diagnostics"/> (stderr by default) hears about a directory it cannot write.</summary>
    public static Logger Create(LoggerOptions options, TextWriter stdout, TextWriter? diagnostics = null, TimeProvider? clock = null) =>
        new(options.Level, options.Format, options.Console ? stdout : null, options.Directory, clock, diagnostics ?? Console.Error);
}

using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Composer.Hosting;

public enum LogLevel { Trace = 0, Debug = 1, Info = 2, Warn = 3, Error = 4 }

public enum LogFormat { Json, Pretty }

/// <summary>
/// Structured log lines: JSON (timestamp, level, message, fields) or a human-readable form, to stdout and/or a
/// file in a configured directory. Never pass a secret as a field; redact before logging.
/// </summary>
public sealed class Logger : IDisposable
{
    private readonly object _gate = new();
    private readonly TextWriter? _console;
    private readonly StreamWriter? _file;
    private readonly TimeProvider _clock;

    public LogLevel MinimumLevel { get; }
    public LogFormat Format { get; }

    public Logger(LogLevel minimumLevel, LogFormat format, TextWriter? console, string? fileDirectory = null, TimeProvider? clock = null)
    {
        MinimumLevel = minimumLevel;
        Format = format;
        _console = console;
        _clock = clock ?? TimeProvider.System;
        if (fileDirectory is not null)
        {
            try
            {
                Directory.CreateDirectory(fileDirectory);
                var path = Path.Combine(fileDirectory, "composer.log");
                _file = new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // A read-only root filesystem must not stop the manager: say so once and keep logging to stdout.
                Console.Error.WriteLine($"composer: cannot write log files in '{fileDirectory}': {ex.Message}; file logging disabled");
            }
        }
    }

    /// <summary>A logger that drops everything (tests, commands that print results only).</summary>
    public static Logger Null { get; } = new(LogLevel.Error + 1, LogFormat.Json, null);

    public bool IsEnabled(LogLevel level) => level >= MinimumLevel && (_console is not null || _file is not null);

    public void Trace(string message, params ReadOnlySpan<(string Key, object? Value)> fields) => Write(LogLevel.Trace, message, fields);
    public void Debug(string message, params ReadOnlySpan<(string Key, object? Value)> fields) => Write(LogLevel.Debug, message, fields);
    public void Info(string message, params ReadOnlySpan<(string Key, object? Value)> fields) => Write(LogLevel.Info, message, fields);
    public void Warn(string message, params ReadOnlySpan<(string Key, object? Value)> fields) => Write(LogLevel.Warn, message, fields);
    public void Error(string message, params ReadOnlySpan<(string Key, object? Value)> fields) => Write(LogLevel.Error, message, fields);

    public void Write(LogLevel level, string message, ReadOnlySpan<(string Key, object? Value)> fields)
    {
        if (!IsEnabled(level)) return;
        var now = _clock.GetUtcNow();
        var json = FormatJson(now, level, message, fields);
        var text = Format == LogFormat.Json ? json : FormatPretty(now, level, message, fields);
        lock (_gate)
        {
            _console?.WriteLine(text);
            _console?.Flush();
            _file?.WriteLine(json); // files are always JSON lines, for shipping
        }
    }

    internal static string FormatJson(DateTimeOffset time, LogLevel level, string message, ReadOnlySpan<(string Key, object? Value)> fields)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("timestamp", time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("level", LevelName(level));
            w.WriteString("message", message);
            if (fields.Length > 0)
            {
                w.WriteStartObject("fields");
                foreach (var (key, value) in fields)
                {
                    WriteValue(w, key, value);
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteValue(Utf8JsonWriter w, string key, object? value)
    {
        switch (value)
        {
            case null: w.WriteNull(key); break;
            case bool b: w.WriteBoolean(key, b); break;
            case int i: w.WriteNumber(key, i); break;
            case long l: w.WriteNumber(key, l); break;
            case double d: w.WriteNumber(key, d); break;
            case TimeSpan t: w.WriteNumber(key, t.TotalMilliseconds); break;
            default: w.WriteString(key, Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)); break;
        }
    }

    private static string FormatPretty(DateTimeOffset time, LogLevel level, string message, ReadOnlySpan<(string Key, object? Value)> fields)
    {
        var sb = new StringBuilder(128);
        sb.Append(time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture));
        sb.Append(' ').Append(LevelName(level).ToUpperInvariant().PadRight(5)).Append(' ').Append(message);
        foreach (var (key, value) in fields)
        {
            sb.Append(' ').Append(key).Append('=').Append(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    public static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Info => "info",
        LogLevel.Warn => "warn",
        _ => "error",
    };

    /// <summary>Parses trace/debug/info/warn/error (case-insensitive, "warning" accepted) or 1-5 as upstream does.</summary>
    public static bool TryParseLevel(string? text, out LogLevel level)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "trace" or "1": level = LogLevel.Trace; return true;
            case "debug" or "2": level = LogLevel.Debug; return true;
            case "info" or "3": level = LogLevel.Info; return true;
            case "warn" or "warning" or "4": level = LogLevel.Warn; return true;
            case "error" or "5": level = LogLevel.Error; return true;
            default: level = LogLevel.Info; return false;
        }
    }

    public static bool TryParseFormat(string? text, out LogFormat format)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "json": format = LogFormat.Json; return true;
            case "pretty" or "text" or "human": format = LogFormat.Pretty; return true;
            default: format = LogFormat.Json; return false;
        }
    }

    /// <summary>Builds the process logger from manager.logger.</summary>
    public static Logger FromSettings(Configuration.LoggerSettings settings, TextWriter stdout)
    {
        TryParseLevel(settings.Level, out var level);
        TryParseFormat(settings.Format, out var format);
        string? directory = settings.Directory?.Trim() switch
        {
            null or "" => null,
            var d when d.Equals("false", StringComparison.OrdinalIgnoreCase) => null,
            var d when d.Equals("true", StringComparison.OrdinalIgnoreCase) => "logs",
            var d => d,
        };
        return new Logger(level, format, settings.Console ? stdout : null, directory);
    }

    public void Dispose() => _file?.Dispose();
}

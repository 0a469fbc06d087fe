using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Composer.Diagnostics;

public enum LogLevel { Trace = 0, Debug = 1, Info = 2, Warn = 3, Error = 4 }

public enum LogFormat { Json, Pretty }

/// <summary>
/// Structured log lines: JSON (timestamp, level, message, fields) or a human-readable form on the console, and
/// JSON lines in daily files when a directory is configured. Logging never stops the manager: an unwritable
/// directory or a closed stdout is reported once on the diagnostics writer (stderr) and that output is dropped.
/// Never pass a secret's value as a field: a <see cref="Secret"/> prints as its mask, every secret known to the process
/// is masked in messages and field values (<see cref="SecretScrubber"/>, the last net), and fields whose key names a
/// secret (password, token, ...) are masked whatever their value.
/// </summary>
public sealed class Logger : IDisposable
{
    /// <summary>Files are named composer-&lt;yyyy-MM-dd&gt;.log (UTC day); this many are kept.</summary>
    public const int RetainedFiles = 5;

    private static readonly JsonWriterOptions JsonOptions = new()
    {
        // Log lines are read by people and log shippers, not embedded in HTML: keep '<', '&', '+' and non-ASCII readable.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly Lock _gate = new();
    private readonly TimeProvider _clock;
    private readonly TextWriter _diagnostics;
    private TextWriter? _console;
    private RollingLogFile? _file;
    private bool _disposed;

    public LogLevel MinimumLevel { get; }
    public LogFormat Format { get; }

    /// <summary>The directory log files are written to, or null when no file is written.</summary>
    public string? FileDirectory => _file?.Directory;

    /// <param name="minimumLevel">Lines below this level are dropped.</param>
    /// <param name="format">Console format; files are always JSON lines.</param>
    /// <param name="console">Where console lines go (stdout), or null for none.</param>
    /// <param name="fileDirectory">Directory for daily log files, or null for none.</param>
    /// <param name="clock">Time source (tests).</param>
    /// <param name="diagnostics">Where the logger reports its own trouble (default: stderr).</param>
    public Logger(LogLevel minimumLevel, LogFormat format, TextWriter? console, string? fileDirectory = null,
        TimeProvider? clock = null, TextWriter? diagnostics = null)
    {
        MinimumLevel = minimumLevel;
        Format = format;
        _console = console;
        _clock = clock ?? TimeProvider.System;
        _diagnostics = diagnostics ?? Console.Error;
        if (fileDirectory is not null)
        {
            try
            {
                _file = new RollingLogFile(fileDirectory, _clock.GetUtcNow());
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
            {
                // A read-only root filesystem must not stop the manager: say so once and keep logging to the console.
                ReportOwnFailure($"cannot write log files in '{fileDirectory}': {ex.Message}; file logging disabled");
            }
        }
    }

    /// <summary>A logger that drops everything (tests, commands that print results only).</summary>
    public static Logger Null { get; } = new(LogLevel.Error + 1, LogFormat.Json, null, diagnostics: TextWriter.Null);

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
        var console = _console;
        var json = _file is not null || (console is not null && Format == LogFormat.Json) ? FormatJson(now, level, message, fields) : null;
        var consoleLine = console is null ? null : Format == LogFormat.Json ? json : FormatPretty(now, level, message, fields);
        lock (_gate)
        {
            if (_disposed) return;
            if (_console is not null && consoleLine is not null)
            {
                try
                {
                    _console.WriteLine(consoleLine);
                    _console.Flush();
                }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException)
                {
                    _console = null;
                    ReportOwnFailure($"cannot write log lines to the console: {ex.Message}; console logging disabled");
                }
            }
            if (_file is not null && json is not null)
            {
                try
                {
                    _file.WriteLine(now, json);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    var directory = _file.Directory;
                    _file.Dispose();
                    _file = null;
                    ReportOwnFailure($"cannot write log files in '{directory}': {ex.Message}; file logging disabled");
                }
            }
        }
    }

    private void ReportOwnFailure(string text)
    {
        try
        {
            _diagnostics.WriteLine("composer: " + text);
            _diagnostics.Flush();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // Nowhere left to say it.
        }
    }

    internal static string FormatJson(DateTimeOffset time, LogLevel level, string message, ReadOnlySpan<(string Key, object? Value)> fields)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer, JsonOptions))
        {
            w.WriteStartObject();
            w.WriteString("timestamp", FormatTimestamp(time));
            w.WriteString("level", LevelName(level));
            w.WriteString("message", SecretScrubber.Shared.Scrub(message));
            if (fields.Length > 0)
            {
                w.WriteStartObject("fields");
                for (var i = 0; i < fields.Length; i++)
                {
                    var (key, value) = fields[i];
                    if (IsDuplicateKey(fields, i)) continue; // the last value of a key wins; JSON objects need unique names
                    WriteJsonValue(w, key, IsSecretKey(key) && value is not null ? Secret.Mask : value);
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static bool IsDuplicateKey(ReadOnlySpan<(string Key, object? Value)> fields, int index)
    {
        for (var j = index + 1; j < fields.Length; j++)
        {
            if (string.Equals(fields[j].Key, fields[index].Key, StringComparison.Ordinal)) return true;
        }
        return false;
    }

    private static void WriteJsonValue(Utf8JsonWriter w, string key, object? value)
    {
        switch (value)
        {
            case null: w.WriteNull(key); break;
            case bool b: w.WriteBoolean(key, b); break;
            case int i: w.WriteNumber(key, i); break;
            case long l: w.WriteNumber(key, l); break;
            case uint ui: w.WriteNumber(key, ui); break;
            case ulong ul: w.WriteNumber(key, ul); break;
            case short s: w.WriteNumber(key, s); break;
            case ushort us: w.WriteNumber(key, us); break;
            case byte by: w.WriteNumber(key, by); break;
            case decimal m: w.WriteNumber(key, m); break;
            // JSON has no NaN or infinity: those become strings rather than an exception in the middle of logging.
            case double d when double.IsFinite(d): w.WriteNumber(key, d); break;
            case float f when float.IsFinite(f): w.WriteNumber(key, f); break;
            case TimeSpan t: w.WriteNumber(key, t.TotalMilliseconds); break;
            default: w.WriteString(key, FormatText(value)); break;
        }
    }

    /// <summary>
    /// Text of a field value: ISO 8601 for times, "Type: message" for exceptions (no stack trace), invariant culture;
    /// text is scrubbed of known secrets.
    /// </summary>
    private static string FormatText(object? value) => value switch
    {
        null => "null",
        string s => SecretScrubber.Shared.Scrub(s),
        DateTimeOffset dto => dto.ToString("O", CultureInfo.InvariantCulture),
        DateTime dt => dt.ToString("O", CultureInfo.InvariantCulture),
        TimeSpan t => t.TotalMilliseconds.ToString(CultureInfo.InvariantCulture),
        Exception ex => SecretScrubber.Shared.Scrub($"{ex.GetType().Name}: {ex.Message}"),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => SecretScrubber.Shared.Scrub(value.ToString() ?? ""),
    };

    private static string FormatTimestamp(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// One line per entry: "2026-01-02T03:04:05.678Z INFO  message key=value key2="a value"". Values with spaces,
    /// quotes or '=' are quoted; line breaks are escaped so one entry stays one line.
    /// </summary>
    internal static string FormatPretty(DateTimeOffset time, LogLevel level, string message, ReadOnlySpan<(string Key, object? Value)> fields)
    {
        var sb = new StringBuilder(128);
        sb.Append(time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        sb.Append(' ').Append(LevelName(level).ToUpperInvariant().PadRight(5)).Append(' ');
        AppendEscaped(sb, SecretScrubber.Shared.Scrub(message));
        for (var i = 0; i < fields.Length; i++)
        {
            var (key, value) = fields[i];
            if (IsDuplicateKey(fields, i)) continue;
            var text = IsSecretKey(key) && value is not null ? Secret.Mask : FormatText(value);
            sb.Append(' ').Append(key).Append('=');
            var quote = text.Length == 0 || text.AsSpan().IndexOfAny(" \"=\t") >= 0;
            if (quote) sb.Append('"');
            AppendEscaped(sb, quote ? text.Replace("\"", "\\\"", StringComparison.Ordinal) : text);
            if (quote) sb.Append('"');
        }
        return sb.ToString();
    }

    private static void AppendEscaped(StringBuilder sb, string text)
    {
        foreach (var c in text)
        {
            switch (c)
            {
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                default: sb.Append(c); break;
            }
        }
    }

    /// <summary>Keys whose last word names a credential (registry_password, api_key, token, authorization ...).</summary>
    internal static bool IsSecretKey(string key)
    {
        var cut = key.AsSpan().LastIndexOfAny("._-");
        var last = cut >= 0 ? key.AsSpan(cut + 1) : key.AsSpan();
        if (last.Equals("key", StringComparison.OrdinalIgnoreCase) && cut > 0)
        {
            // api_key, private_key, credentials_key: look at the word before "key".
            var before = key.AsSpan(0, cut);
            var cut2 = before.LastIndexOfAny("._-");
            last = cut2 >= 0 ? before[(cut2 + 1)..] : before;
            return last.Equals("api", StringComparison.OrdinalIgnoreCase) || last.Equals("private", StringComparison.OrdinalIgnoreCase)
                || last.Equals("credentials", StringComparison.OrdinalIgnoreCase) || last.Equals("secret", StringComparison.OrdinalIgnoreCase);
        }
        foreach (var word in SecretWords)
        {
            if (last.Equals(word, StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }

    private static readonly string[] SecretWords = ["password", "passwd", "secret", "token", "apikey", "authorization", "credentials", "cookie"];

    public static string LevelName(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Info => "info",
        LogLevel.Warn => "warn",
        _ => "error",
    };

    /// <summary>
    /// Parses a level as upstream (tracing's Level::from_str) does: trace, debug, info, warn or error in any case, or
    /// a number where 1 is error and 5 is trace (1 error, 2 warn, 3 info, 4 debug, 5 trace). Nothing else.
    /// </summary>
    public static bool TryParseLevel(string? text, out LogLevel level)
    {
        switch (text?.ToLowerInvariant())
        {
            case "trace" or "5": level = LogLevel.Trace; return true;
            case "debug" or "4": level = LogLevel.Debug; return true;
            case "info" or "3": level = LogLevel.Info; return true;
            case "warn" or "2": level = LogLevel.Warn; return true;
            case "error" or "1": level = LogLevel.Error; return true;
            default: level = LogLevel.Info; return false;
        }
    }

    /// <summary>json or pretty, in any case.</summary>
    public static bool TryParseFormat(string? text, out LogFormat format)
    {
        switch (text?.ToLowerInvariant())
        {
            case "json": format = LogFormat.Json; return true;
            case "pretty": format = LogFormat.Pretty; return true;
            default: format = LogFormat.Json; return false;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _file?.Dispose();
            _file = null;
        }
    }

    /// <summary>JSON lines appended to composer-&lt;UTC day&gt;.log; a new file each day, the oldest removed beyond <see cref="RetainedFiles"/>.</summary>
    private sealed class RollingLogFile : IDisposable
    {
        private const string Prefix = "composer-";
        private const string Suffix = ".log";
        private StreamWriter _writer;
        private DateOnly _day;

        public string Directory { get; }

        public RollingLogFile(string directory, DateTimeOffset now)
        {
            Directory = Path.GetFullPath(directory);
            System.IO.Directory.CreateDirectory(Directory);
            _day = DateOnly.FromDateTime(now.UtcDateTime);
            _writer = Open(_day);
            RemoveOldFiles();
        }

        public void WriteLine(DateTimeOffset now, string line)
        {
            var day = DateOnly.FromDateTime(now.UtcDateTime);
            if (day != _day)
            {
                _writer.Dispose();
                _day = day;
                _writer = Open(day);
                RemoveOldFiles();
            }
            _writer.WriteLine(line);
        }

        public static string FileName(DateOnly day) => Prefix + day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + Suffix;

        private StreamWriter Open(DateOnly day) =>
            new(new FileStream(Path.Combine(Directory, FileName(day)), FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete),
                new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)) { AutoFlush = true };

        private void RemoveOldFiles()
        {
            // Names sort by date; keep the newest RetainedFiles. Failing to remove one is not worth stopping for.
            var files = System.IO.Directory.GetFiles(Directory, Prefix + "????-??-??" + Suffix);
            Array.Sort(files, StringComparer.Ordinal);
            for (var i = 0; i < files.Length - RetainedFiles; i++)
            {
                try { File.Delete(files[i]); }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
            }
        }

        public void Dispose() => _writer.Dispose();
    }
}

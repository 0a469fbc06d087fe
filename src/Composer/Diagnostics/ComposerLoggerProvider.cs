using Microsoft.Extensions.Logging;
using MelLogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Composer.Diagnostics;

/// <summary>
/// Microsoft.Extensions.Logging over Composer's <see cref="Logger"/>, for libraries that take an ILogger
/// (Docker.DotNet): their messages reach the configured outputs, at the configured level, with the category as a field.
/// Library messages carry no secrets of Composer's; the logger still masks secret-named fields.
/// </summary>
public sealed class ComposerLoggerProvider(Logger logger) : ILoggerProvider, ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new CategoryLogger(logger, categoryName);

    public void AddProvider(ILoggerProvider provider)
    {
        // One sink: the configured logger.
    }

    public void Dispose()
    {
        // The Logger belongs to the host.
    }

    private static LogLevel Map(MelLogLevel level) => level switch
    {
        MelLogLevel.Trace => LogLevel.Trace,
        MelLogLevel.Debug => LogLevel.Debug,
        MelLogLevel.Information => LogLevel.Info,
        MelLogLevel.Warning => LogLevel.Warn,
        _ => LogLevel.Error,
    };

    private sealed class CategoryLogger(Logger logger, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(MelLogLevel logLevel) => logLevel != MelLogLevel.None && logger.IsEnabled(Map(logLevel));

        public void Log<TState>(MelLogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var message = formatter(state, exception);
            if (exception is null) logger.Write(Map(logLevel), message, [("category", category)]);
            else logger.Write(Map(logLevel), message, [("category", category), ("error", exception)]);
        }
    }
}

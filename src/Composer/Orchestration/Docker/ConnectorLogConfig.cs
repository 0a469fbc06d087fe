using Composer.Diagnostics;
using Docker.DotNet;

namespace Composer.Orchestration.Docker;

/// <summary>
/// The engine log settings of the containers (and Swarm tasks) Composer creates, so that a connector printing without
/// pause cannot fill the engine's disk:
/// <list type="bullet">
/// <item>log_driver / log_opts set: exactly those (the user's explicit log config, kept as it is).</item>
/// <item>Otherwise, when the engine's default driver is json-file or local (both rotate by size): that driver with
/// max-size <see cref="DefaultMaxSize"/> and max-file <see cref="DefaultMaxFile"/> (json-file never rotates by itself).</item>
/// <item>Otherwise (journald, syslog, fluentd...: the logs go where the engine's owner sent them): nothing, the
/// engine's default stays.</item>
/// </list>
/// </summary>
/// <param name="Driver">The driver name; empty means the engine's default driver.</param>
public sealed record ConnectorLogConfig(string Driver, IReadOnlyDictionary<string, string> Options)
{
    public const string DefaultMaxSize = "10m";
    public const string DefaultMaxFile = "3";

    /// <summary>The config for connectors, or null to leave the engine's default untouched.</summary>
    /// <param name="engineDriver">The engine's default driver (GET /info LoggingDriver), null when unknown.</param>
    public static ConnectorLogConfig? For(string? logDriver, IReadOnlyDictionary<string, string>? logOptions, string? engineDriver)
    {
        if (!string.IsNullOrEmpty(logDriver) || logOptions is not null)
        {
            return new ConnectorLogConfig(logDriver ?? "", new Dictionary<string, string>(logOptions ?? new Dictionary<string, string>(), StringComparer.Ordinal));
        }
        return engineDriver is "json-file" or "local"
            ? new ConnectorLogConfig(engineDriver, new Dictionary<string, string>(StringComparer.Ordinal) { ["max-size"] = DefaultMaxSize, ["max-file"] = DefaultMaxFile })
            : null;
    }

    /// <summary>Whether <see cref="For"/> needs the engine's default driver (no explicit config).</summary>
    public static bool NeedsEngineDriver(string? logDriver, IReadOnlyDictionary<string, string>? logOptions) =>
        string.IsNullOrEmpty(logDriver) && logOptions is null;
}

/// <summary>
/// The engine's default log driver (GET /info), asked once per orchestrator and only when Composer's own bound may
/// apply. An engine that will not say (a restricted Portainer user) leaves its default in place, said once.
/// </summary>
internal sealed class EngineLogDriver(Logger logger)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private bool _known;
    private string? _driver;

    public async Task<string?> GetAsync(DockerClient client, CancellationToken cancellationToken)
    {
        if (_known) return _driver;
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_known) return _driver;
            try
            {
                var info = await client.System.GetSystemInfoAsync(cancellationToken).ConfigureAwait(false);
                _driver = info.LoggingDriver;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                logger.Warn("Cannot read the engine's default log driver: connector logs get the engine's default settings, not Composer's bound",
                    ("error", ExceptionText.Describe(ex)));
            }
            _known = true;
            return _driver;
        }
        finally
        {
            _gate.Release();
        }
    }
}

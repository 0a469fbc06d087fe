using System.CommandLine;
using System.Net;
using Composer.Diagnostics;
using Composer.Hosting;
using Composer.Resolution;

namespace Composer.Cli;

/// <summary>
/// `composer run` (also plain `composer`, as the Rust binary runs): the manager's main job until SIGTERM, SIGINT or SIGHUP.
/// `composer plan`: one cycle's plan per enabled platform, printed, nothing changed anywhere.
/// </summary>
public static class RunCommands
{
    public static Command CreateRun(TextWriter stdout, TextWriter stderr)
    {
        var run = new Command("run", "Manage the connectors of the enabled platforms until SIGTERM, SIGINT or SIGHUP (the default command)");
        run.SetAction((parse, cancellationToken) => RunAsync(parse, stdout, stderr));
        return run;
    }

    public static Command CreatePlan(TextWriter stdout, TextWriter stderr)
    {
        var format = new Option<string>("--format") { Description = "Output format: text or json", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json");
        var plan = new Command("plan", "List the platform's connectors and the orchestrator's workloads once and print the actions a cycle would take; changes nothing") { format };
        plan.SetAction((parse, cancellationToken) => PlanAsync(parse, parse.GetValue(format) == "json", stdout, stderr, cancellationToken));
        return plan;
    }

    /// <summary>The main job: exit 0 after a clean stop, 1 when it cannot start (listener address in use), 2 for configuration errors.</summary>
    public static async Task<int> RunAsync(ParseResult parse, TextWriter stdout, TextWriter stderr)
    {
        var settings = CliSettings.Load(CliSettings.Request(parse, resolveOrchestrators: true), stderr);
        if (settings is null) return ExitCodes.ConfigurationError;
        var clock = TimeProvider.System;
        using var logger = LoggerSetup.Create(settings.Logger, stdout, stderr, clock);
        var platforms = settings.EnabledPlatforms.ToList();
        logger.Info("Starting Composer", ("version", BuildInfo.Version), ("manager_id", settings.Manager.Id),
            ("platforms", string.Join(",", platforms.Select(p => $"{p.Section}:{p.SelectorName}"))));
        if (platforms.Count == 0)
        {
            logger.Error("Nothing to manage: opencti.enable and openaev.enable are both false");
            return ExitCodes.ConfigurationError;
        }
        if (settings.Key is { KeySizeBits: < 4096 } key)
        {
            logger.Warn($"The manager key is RSA-{key.KeySizeBits}; RSA-4096 is recommended");
        }
        if (settings.Manager.ShowSensitiveEnvVars)
        {
            logger.Warn("manager.debug.show_sensitive_env_vars is not honoured: sensitive values are always masked in logs");
        }

        using var shutdown = new ShutdownSignal(logger, clock);
        await using (var runtime = ManagerRuntime.Create(settings, logger, clock))
        {
            var readiness = new ReadinessState();
            readiness.Ready("manager key");
            using var metrics = new PrometheusExporter();
            await using var listener = settings.Health.Enabled
                ? new HealthListener(settings.Health.Host, settings.Health.Port, readiness, metrics, logger)
                : null;
            try
            {
                listener?.Start();
            }
            catch (HttpListenerException ex)
            {
                logger.Error($"Cannot start the health listener on {listener!.Address} (manager.health.listen): {ex.Message}");
                return ExitCodes.RuntimeFailure;
            }
            var host = new ManagerHost(settings.Manager, runtime.Platforms, logger, clock, readiness);
            await host.RunAsync(shutdown.Stopping, shutdown.Abort);
        }
        logger.Info("Composer stopped");
        return ExitCodes.Success;
    }

    private static async Task<int> PlanAsync(ParseResult parse, bool json, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var settings = CliSettings.Load(CliSettings.Request(parse, resolveOrchestrators: true), stderr);
        if (settings is null) return ExitCodes.ConfigurationError;
        // The plan is the output: log lines (warnings only) go to stderr.
        using var logger = new Logger(LogLevel.Warn, LogFormat.Pretty, stderr, diagnostics: stderr);
        await using (var runtime = ManagerRuntime.Create(settings, logger, TimeProvider.System, observeOnly: true))
        {
            var failed = false;
            var plans = new List<string>();
            foreach (var cycle in runtime.Cycles)
            {
                var plan = await cycle.PlanAsync(cancellationToken);
                failed |= plan.NotPlanned is not null;
                plans.Add(json ? plan.ToJson() : plan.Describe());
            }
            // Reasons quote what the platform and the orchestrator said: no secret known to the process is printed.
            await stdout.WriteLineAsync(SecretScrubber.Shared.Scrub(json ? "[" + string.Join(",", plans) + "]" : string.Join("\n\n", plans)));
            return failed ? ExitCodes.RuntimeFailure : ExitCodes.Success;
        }
    }
}

using System.CommandLine;

namespace Composer.Cli;

/// <summary>Builds the command tree. Each area adds its own subcommands here.</summary>
public static class ComposerCli
{
    /// <summary>--config-dir: where default.yaml, &lt;COMPOSER_ENV&gt;.yaml and config.json are read from.</summary>
    public static readonly Option<string?> ConfigDirOption = new("--config-dir")
    {
        Description = "Configuration directory (default: $COMPOSER_CONFIG_DIR, else ./config)",
        Recursive = true,
    };

    public static RootCommand Build(TextWriter stdout, TextWriter stderr)
    {
        var root = new RootCommand("Composer: the OpenCTI integration manager. Deploys connectors on Docker, Swarm, Kubernetes or Portainer, from private registries and through proxies.");
        root.Options.Add(ConfigDirOption);
        root.Subcommands.Add(ImageCommands.Create(stdout, stderr));
        root.Subcommands.Add(ConfigCommands.Create(stdout, stderr));
        root.Subcommands.Add(DockerCommands.Create(stdout, stderr));
        root.Subcommands.Add(RunCommands.CreateRun(stdout, stderr));
        root.Subcommands.Add(RunCommands.CreatePlan(stdout, stderr));
        root.Subcommands.Add(CheckCommand.Create(stdout, stderr));
        // Plain `composer` runs the manager, as the Rust binary does.
        root.SetAction((parse, cancellationToken) => RunCommands.RunAsync(parse, stdout, stderr));
        return root;
    }

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var root = Build(stdout, stderr);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            foreach (var error in parse.Errors)
            {
                await stderr.WriteLineAsync($"composer: {error.Message}");
            }
            await stderr.WriteLineAsync("Run 'composer --help' for usage.");
            return ExitCodes.ConfigurationError;
        }
        // No process-termination timeout: `run` handles SIGTERM/SIGINT/SIGHUP itself (ShutdownSignal) and exits 0; the short
        // commands keep the default signal behaviour.
        var config = new InvocationConfiguration { Output = stdout, Error = stderr, ProcessTerminationTimeout = null };
        return await parse.InvokeAsync(config);
    }
}

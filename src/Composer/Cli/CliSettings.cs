using System.CommandLine;
using Composer.Configuration;

namespace Composer.Cli;

/// <summary>Loads the configuration for a command and reports every error on stderr (exit code 2 for the caller).</summary>
public static class CliSettings
{
    public static Configuration.Resolved.ResolvedSettings? Load(ParseResult parse, TextWriter stderr, bool requireManagerKey = true)
    {
        var result = ConfigurationLoader.Load(new ConfigLoadRequest
        {
            ConfigDirectory = parse.GetValue(ComposerCli.ConfigDirOption),
            Environment = ConfigLoadRequest.ProcessEnvironment(),
            RequireManagerKey = requireManagerKey,
        });
        foreach (var w in result.Warnings) stderr.WriteLine($"warning: {w}");
        if (result.Resolved is { } resolved) return resolved;
        stderr.WriteLine($"composer: invalid configuration ({result.Errors.Count} error{(result.Errors.Count == 1 ? "" : "s")}):");
        foreach (var e in result.Errors) stderr.WriteLine($"  {e}");
        return null;
    }
}

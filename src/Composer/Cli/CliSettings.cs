using System.CommandLine;
using Composer.Configuration;
using Composer.Resolution;

namespace Composer.Cli;

/// <summary>Loads the configuration for a command and reports every error on stderr (exit code 2 for the caller).</summary>
public static class CliSettings
{
    /// <summary>How a command loads its configuration: --config-dir and the process environment.</summary>
    /// <param name="resolveOrchestrators">The command talks to orchestrators: their kubeconfig or Portainer block is resolved at load.</param>
    public static ConfigLoadRequest Request(ParseResult parse, bool requireManagerKey = true, bool resolveOrchestrators = false) => new()
    {
        ConfigDirectory = parse.GetValue(ComposerCli.ConfigDirOption),
        Environment = ConfigLoadRequest.ProcessEnvironment(),
        RequireManagerKey = requireManagerKey,
        ResolveOrchestrators = resolveOrchestrators,
    };

    public static ResolvedSettings? Load(ParseResult parse, TextWriter stderr, bool requireManagerKey = true) =>
        Load(Request(parse, requireManagerKey), stderr);

    /// <summary>The resolved configuration, or null after printing every error; warnings are printed either way.</summary>
    public static ResolvedSettings? Load(ConfigLoadRequest request, TextWriter stderr)
    {
        var result = SettingsLoader.Load(request);
        foreach (var w in result.Warnings) stderr.WriteLine($"warning: {w}");
        if (result.Resolved is { } resolved) return resolved;
        stderr.WriteLine($"composer: invalid configuration ({result.Errors.Count} error{(result.Errors.Count == 1 ? "" : "s")}):");
        foreach (var e in result.Errors) stderr.WriteLine($"  {e}");
        return null;
    }
}

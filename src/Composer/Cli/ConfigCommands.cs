using System.CommandLine;
using Composer.Configuration;
using Composer.Resolution;

namespace Composer.Cli;

/// <summary>`composer config show|validate|docs|schema`.</summary>
public static class ConfigCommands
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var config = new Command("config", "Show, validate and document the configuration");

        var sources = new Option<bool>("--sources") { Description = "Show where each value came from (file:line:column, environment variable or default)" };
        var format = new Option<string>("--format") { Description = "Output format: yaml or json", DefaultValueFactory = _ => "yaml" };
        format.AcceptOnlyFromAmong("yaml", "json");
        var show = new Command("show", "Print the effective configuration (secrets shown as ***)") { sources, format };
        show.SetAction(parse =>
        {
            var result = Load(parse);
            foreach (var w in result.Warnings) stderr.WriteLine($"warning: {w}");
            var provenance = parse.GetValue(sources) ? result.Provenance : null;
            stdout.Write(parse.GetValue(format) == "json"
                ? ConfigRendering.ToJson(result.Settings, redact: true, provenance)
                : ConfigRendering.ToYaml(result.Settings, redact: true, provenance));
            if (result.Success) return ExitCodes.Success;
            PrintErrors(stderr, result.Errors);
            return ExitCodes.ConfigurationError;
        });
        config.Subcommands.Add(show);

        var validate = new Command("validate", "Check the configuration: exit 0, or list every error and exit 2");
        validate.SetAction(parse =>
        {
            var result = Load(parse);
            foreach (var w in result.Warnings) stderr.WriteLine($"warning: {w}");
            if (!result.Success)
            {
                PrintErrors(stderr, result.Errors);
                return ExitCodes.ConfigurationError;
            }
            var files = result.FilesRead.Count == 0 ? "no files" : string.Join(", ", result.FilesRead);
            stdout.WriteLine($"configuration OK ({files}; {result.Warnings.Count} warning{(result.Warnings.Count == 1 ? "" : "s")})");
            return ExitCodes.Success;
        });
        config.Subcommands.Add(validate);

        var docs = new Command("docs", "Print the configuration reference (Markdown, as docs/configuration.md)");
        docs.SetAction(_ =>
        {
            stdout.Write(ConfigDocs.Markdown());
            return ExitCodes.Success;
        });
        config.Subcommands.Add(docs);

        var schema = new Command("schema", "Print the JSON Schema of configuration files (as docs/composer.schema.json)");
        schema.SetAction(_ =>
        {
            stdout.Write(ConfigDocs.Schema());
            return ExitCodes.Success;
        });
        config.Subcommands.Add(schema);
        return config;
    }

    private static SettingsLoadResult Load(ParseResult parse) => SettingsLoader.Load(new ConfigLoadRequest
    {
        ConfigDirectory = parse.GetValue(ComposerCli.ConfigDirOption),
        Environment = ConfigLoadRequest.ProcessEnvironment(),
    });

    private static void PrintErrors(TextWriter stderr, List<ConfigDiagnostic> errors)
    {
        stderr.WriteLine($"composer: invalid configuration ({errors.Count} error{(errors.Count == 1 ? "" : "s")}):");
        foreach (var e in errors) stderr.WriteLine($"  {e}");
    }
}

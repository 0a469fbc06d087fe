using System.CommandLine;

namespace Composer.Cli;

/// <summary>`composer image ...`: resolve and check connector images against the configured registry.</summary>
public static class ImageCommands
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var image = new Command("image", "Resolve and check connector images against the configured registry");
        // Subcommands register here, one line each.
        image.Subcommands.Add(ImageResolveCommand.Create(stdout, stderr));
        image.Subcommands.Add(ImageCheckCommand.Create(stdout, stderr));
        return image;
    }

    /// <summary>The image argument of every image subcommand.</summary>
    internal static Argument<string> ImageArgument() =>
        new("image") { Description = "Image reference as a connector declares it, e.g. opencti/connector-example:1.0.0" };

    /// <summary>Settings for an image subcommand: these talk to registries only, so no manager key is required. Null after printing every error.</summary>
    internal static Composer.Resolution.ResolvedSettings? LoadSettings(ParseResult parse, TextWriter stderr) =>
        CliSettings.Load(parse, stderr, requireManagerKey: false);
}

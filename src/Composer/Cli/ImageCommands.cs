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
}

using System.CommandLine;

namespace Composer.Cli;

/// <summary>
/// `composer image resolve &lt;image&gt;`: prints the image Composer would pull with the current registry
/// configuration (opencti.daemon.registry.server prefix applied), or why the image name is invalid (exit 2).
/// </summary>
public static class ImageResolveCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var image = ImageCommands.ImageArgument();
        var command = new Command("resolve", "Print the image to pull after registry prefix resolution (opencti.daemon.registry.server)");
        command.Arguments.Add(image);
        command.SetAction(parse =>
        {
            var settings = ImageCommands.LoadSettings(parse, stderr);
            if (settings is null) return ExitCodes.ConfigurationError;
            var resolved = settings.Registry.Images.Resolve(parse.GetValue(image));
            if (!resolved.IsSuccess)
            {
                stderr.WriteLine($"composer: {resolved.Failure.Message}");
                return ExitCodes.ConfigurationError;
            }
            stdout.WriteLine(resolved.Value.Reference);
            return ExitCodes.Success;
        });
        return command;
    }
}

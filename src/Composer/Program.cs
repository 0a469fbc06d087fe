using Composer.Cli;

return await ComposerCli.RunAsync(args, Console.Out, Console.Error);

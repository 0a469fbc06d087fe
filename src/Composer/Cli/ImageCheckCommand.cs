using System.CommandLine;
using Composer.Diagnostics;
using Composer.Images;
using Composer.Network;

namespace Composer.Cli;

/// <summary>
/// `composer image check &lt;image&gt;`: the deploy pre-flight (<see cref="RegistryAccess.CheckAsync"/>) as a command. Resolves the image with
/// opencti.daemon.registry.server, then proves with the registry API (through the configured proxy) that it exists
/// and that the credentials configured for its registry work. Exit 0 with the image and its digest; 1 when the
/// registry refuses or cannot be reached (the reason names image and registry, never the password); 2 for an
/// invalid image name or configuration.
/// </summary>
public static class ImageCheckCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var image = ImageCommands.ImageArgument();
        var verify = new Option<bool>("--verify")
        {
            Description = "Also put the image to each platform's image policy (<platform>.daemon.image_policy: allow patterns, cosign signatures) and print the digest that would run",
        };
        var command = new Command("check", "Check that an image exists in its registry and that the configured credentials can pull it; print its digest");
        command.Arguments.Add(image);
        command.Options.Add(verify);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var settings = ImageCommands.LoadSettings(parse, stderr);
            if (settings is null) return ExitCodes.ConfigurationError;
            return await RunAsync(settings, parse.GetValue(image), stdout, stderr, handlers: null, cancellationToken, parse.GetValue(verify));
        });
        return command;
    }

    /// <summary>The command body, callable with given settings (and, in tests, another handler factory).</summary>
    public static async Task<int> RunAsync(Composer.Resolution.ResolvedSettings settings, string? image, TextWriter stdout, TextWriter stderr,
        IOutboundHandlerFactory? handlers, CancellationToken cancellationToken, bool verify = false)
    {
        handlers ??= new OutboundHandlerFactory(settings.Network);
        using var registry = new RegistryAccess(settings.Registry, handlers);

        var resolution = registry.Images.Resolve(image);
        if (!resolution.IsSuccess)
        {
            await stderr.WriteLineAsync($"composer: {resolution.Failure.Message}");
            return ExitCodes.ConfigurationError;
        }
        var resolved = resolution.Value;
        var (check, credentials) = await registry.LookUpAndCheckAsync(resolved, cancellationToken);
        if (!check.IsAvailable)
        {
            await stderr.WriteLineAsync($"composer: {SecretScrubber.Shared.Scrub(check.Message)}");
            return ExitCodes.RuntimeFailure;
        }
        await stdout.WriteLineAsync($"image: {resolved.Reference}");
        await stdout.WriteLineAsync($"digest: {check.Digest}");
        await stdout.WriteLineAsync($"registry: {resolved.RegistryHost}");
        await stdout.WriteLineAsync($"repository: {resolved.Repository}");
        await stdout.WriteLineAsync($"reference: {resolved.ManifestReference}");
        if (check.MediaType is not null) await stdout.WriteLineAsync($"media_type: {check.MediaType}");
        var who = credentials is null ? "anonymous"
            : (credentials.HasPassword ? $"user {credentials.Username}" : credentials.Who) + (credentials.Source == RegistryCredentials.SettingsSource ? "" : $" ({credentials.Source})");
        await stdout.WriteLineAsync($"credentials: {who}");
        return verify ? await VerifyAsync(settings, registry, resolved, stdout, stderr, cancellationToken) : ExitCodes.Success;
    }

    /// <summary>The image put to every configured image policy, as the reconcile cycle does before a deploy: exit 1 when one refuses it.</summary>
    private static async Task<int> VerifyAsync(Composer.Resolution.ResolvedSettings settings, RegistryAccess registry, ResolvedImage image,
        TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var policies = new[] { settings.OpenCti, settings.OpenAev }.Where(p => p.ImagePolicy.IsSet).ToList();
        if (policies.Count == 0)
        {
            await stderr.WriteLineAsync("composer: --verify: no image policy is configured (opencti.daemon.image_policy.allow or cosign_public_keys, or openaev's)");
            return ExitCodes.ConfigurationError;
        }
        var refused = false;
        foreach (var platform in policies)
        {
            var verdict = await new ImageGate(platform.ImagePolicy, registry, TimeProvider.System, Diagnostics.Logger.Null).CheckAsync(image, cancellationToken);
            if (verdict.Image is { } approved)
            {
                await stdout.WriteLineAsync($"{platform.Section} policy: approved; runs {approved.Reference}{(verdict.SignedBy is { } key ? $"; signed by {key}" : "")}");
            }
            else
            {
                refused = true;
                await stdout.WriteLineAsync($"{platform.Section} policy: refused");
                await stderr.WriteLineAsync($"composer: {platform.Section}: {verdict.Refusal}");
            }
        }
        return refused ? ExitCodes.RuntimeFailure : ExitCodes.Success;
    }
}

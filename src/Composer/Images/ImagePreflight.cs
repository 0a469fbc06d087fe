using Composer.Diagnostics;
using Composer.Network;

namespace Composer.Images;

/// <summary>Result of the deploy pre-flight for one image.</summary>
public sealed class PreflightResult
{
    /// <summary>The image to pull (server prefix applied), or null when the name is invalid.</summary>
    public ResolvedImage? Image { get; init; }

    /// <summary>The registry check, or null when the name is invalid.</summary>
    public RegistryCheckResult? Check { get; init; }

    /// <summary>Why the image name is invalid (null otherwise).</summary>
    public string? InvalidImage { get; init; }

    /// <summary>Credentials for the image's registry (null: anonymous pull). Never print them; ToString redacts.</summary>
    public RegistryCredentials? Credentials { get; init; }

    public bool IsAvailable => Check?.IsAvailable == true;

    /// <summary>One printable line: the invalid-name reason or the check's message.</summary>
    public string Message => InvalidImage ?? Check?.Message ?? "";

    /// <summary>X-Registry-Auth header value for a Docker Engine pull of Image, or null for an anonymous pull.</summary>
    public string? XRegistryAuth => Credentials?.ToXRegistryAuth();
}

/// <summary>
/// What an orchestrator runs before each deploy (and `composer image check` runs once): resolve the image with
/// opencti.daemon.registry.server, pick the credentials for its registry, and check with the registry API that
/// the image exists and can be pulled with them. One instance per process: it keeps the bearer-token cache.
/// </summary>
public sealed class ImagePreflight : IDisposable
{
    private readonly ImageResolver _resolver;
    private readonly RegistryClient _client;
    private readonly Logger _logger;

    public ImagePreflight(RegistryConfiguration registry, ImageResolver resolver, RegistryClient client, Logger? logger = null)
        : this(new RegistryConfigurationSource(registry), resolver, client, logger)
    {
    }

    /// <param name="registrySource">Shared with <paramref name="client"/> and the orchestrators: see <see cref="RegistryConfigurationSource"/>.</param>
    public ImagePreflight(RegistryConfigurationSource registrySource, ImageResolver resolver, RegistryClient client, Logger? logger = null)
    {
        RegistrySource = registrySource;
        _resolver = resolver;
        _client = client;
        _logger = logger ?? Logger.Null;
    }

    /// <summary>Where the current registry configuration comes from (credentials may rotate).</summary>
    public RegistryConfigurationSource RegistrySource { get; }

    /// <summary>The registry configuration as of now.</summary>
    public RegistryConfiguration Registry => RegistrySource.Current;

    /// <summary>The pre-flight of the resolved registry configuration and prefix rules.</summary>
    /// <param name="reload">Re-reads the registry configuration (rotated credentials, see <see cref="RegistryConfigurationSource"/>;
    /// the resolve step's SettingsLoader.RegistryReload in production); null: the credentials never change.</param>
    public static ImagePreflight Create(RegistryConfiguration registry, ImageResolver images, IOutboundHandlerFactory handlers,
        Logger? logger = null, RegistryClientOptions? options = null, Func<RegistryConfiguration?>? reload = null, TimeProvider? time = null)
    {
        logger ??= Logger.Null;
        var source = new RegistryConfigurationSource(registry, reload, time, logger);
        var client = new RegistryClient(handlers, source, options ?? new RegistryClientOptions { Logger = logger });
        return new ImagePreflight(source, images, client, logger);
    }

    /// <summary>
    /// The image to pull (server prefix applied) without asking the registry: for an orchestrator that first looks
    /// for the image locally. False with the reason when the name is invalid.
    /// </summary>
    public bool TryResolve(string image, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ResolvedImage? resolved,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error) =>
        _resolver.TryResolve(image, out resolved, out error);

    public async Task<PreflightResult> CheckAsync(string image, CancellationToken cancellationToken = default)
    {
        if (!_resolver.TryResolve(image, out var resolved, out var error))
        {
            _logger.Error("Invalid image name", ("image", image), ("error", error));
            return new PreflightResult { InvalidImage = error };
        }
        var check = await _client.CheckAsync(resolved, cancellationToken).ConfigureAwait(false);
        if (check.IsAvailable)
        {
            _logger.Info("Image available", ("image", resolved.Reference), ("digest", check.Digest));
        }
        else
        {
            _logger.Error("Image pre-flight failed", ("image", resolved.Reference), ("status", check.Status.ToString()), ("error", check.Message));
        }
        return new PreflightResult { Image = resolved, Check = check, Credentials = Registry.CredentialsFor(resolved.RegistryHost) };
    }

    public void Dispose() => _client.Dispose();
}

using Composer.Diagnostics;

namespace Composer.Images;

/// <summary>Outcome of <see cref="ImageResolver.TryResolve(ReadOnlySpan{char}, Span{char}, out int, out ImageReference)"/>.</summary>
public enum ImageResolveStatus : byte
{
    /// <summary>The destination holds the image to pull; the out reference describes it.</summary>
    Resolved,

    /// <summary>The image name is invalid; the out reference carries the reason.</summary>
    InvalidImage,

    /// <summary>The image is valid but the registry prefix makes it invalid (for example a path over 255 characters); the out reference carries the reason.</summary>
    InvalidAfterPrefix,

    /// <summary>The destination is shorter than <see cref="ImageResolver.GetMaxResolvedLength"/>.</summary>
    DestinationTooSmall,
}

/// <summary>An image after registry prefix resolution, with what a registry client needs to address it.</summary>
/// <param name="Original">The image as the connector/platform gave it.</param>
/// <param name="Reference">The image to pull (the original, or server + "/" + original).</param>
/// <param name="Prefixed">True when the configured server was put in front.</param>
/// <param name="RegistryHost">Domain to pull from: <c>docker.io</c> for Docker Hub (the client maps it to its API host).</param>
/// <param name="Repository">Repository path at that registry (<c>library/nginx</c>, <c>dockerhub-cache/opencti/x</c>).</param>
/// <param name="Tag">The tag, or null.</param>
/// <param name="Digest">The digest, or null.</param>
public sealed record ResolvedImage(string Original, string Reference, bool Prefixed, string RegistryHost, string Repository, string? Tag, string? Digest)
{
    /// <summary>Digest when present, else tag, else <c>latest</c>: HEAD /v2/&lt;Repository&gt;/manifests/&lt;this&gt;.</summary>
    public string ManifestReference => Digest ?? Tag ?? "latest";

    public override string ToString() => Reference;
}

/// <summary>
/// Registry prefix resolution (product page "Registry Prefix Resolution"), driven by
/// <c>opencti.daemon.registry.server</c>:
/// <list type="bullet">
/// <item>an image that names its registry (Docker's rule: first component is <c>localhost</c>, has '.', ':' or an
/// uppercase letter, including explicit <c>docker.io/</c> and <c>index.docker.io/</c>) is left alone, so an image
/// already starting with the server is never prefixed twice;</item>
/// <item>otherwise <c>server + "/" + image</c>, the image exactly as written, tag and digest kept. Like upstream,
/// no <c>library/</c> is added: <c>nginx</c> with server <c>harbor.corp/dockerhub-cache</c> becomes
/// <c>harbor.corp/dockerhub-cache/nginx</c>. A mirror that needs Docker Hub's official namespace is given
/// <c>library/nginx</c> by writing the image that way;</item>
/// <item>no server: the image unchanged (still validated).</item>
/// </list>
/// Every image is validated with Docker's grammar first; an invalid one is refused before anything is pulled.
/// </summary>
public sealed class ImageResolver
{
    private readonly int _serverHostLength;
    private readonly bool _serverIsDockerHub;

    /// <param name="server">The server as RegistryServer normalized it (<see cref="RegistryConfiguration"/> builds the resolver).</param>
    internal ImageResolver(string? server)
    {
        Server = server;
        if (server is null) return;
        var slash = server.IndexOf('/');
        _serverHostLength = slash < 0 ? server.Length : slash;
        var host = server.AsSpan(0, _serverHostLength);
        _serverIsDockerHub = host.SequenceEqual(ImageReference.DockerHubDomain) || host.SequenceEqual(ImageReference.LegacyDockerHubDomain);
    }

    /// <summary>A resolver with no registry configured: images are validated and returned unchanged.</summary>
    public static ImageResolver NoRegistry { get; } = new(null);

    /// <summary>The normalized server prefix (<c>host[:port][/path]</c>), or null when none is configured.</summary>
    public string? Server { get; }

    /// <summary>Upper bound of the resolved length of an image of <paramref name="imageLength"/> characters.</summary>
    public int GetMaxResolvedLength(int imageLength) => Server is null ? imageLength : Server.Length + 1 + imageLength;

    /// <summary>
    /// Resolves without allocating: writes the image to pull into <paramref name="destination"/> and parses it into
    /// <paramref name="resolved"/> (which then refers to <paramref name="image"/> or <paramref name="destination"/>).
    /// On <see cref="ImageResolveStatus.InvalidImage"/> / <see cref="ImageResolveStatus.InvalidAfterPrefix"/>,
    /// <paramref name="resolved"/> carries the Go reason.
    /// </summary>
    public ImageResolveStatus TryResolve(ReadOnlySpan<char> image, Span<char> destination, out int charsWritten, out ImageReference resolved)
    {
        charsWritten = 0;
        var parsed = ImageReference.Parse(image);
        resolved = parsed;
        if (!parsed.IsValid) return ImageResolveStatus.InvalidImage;
        if (Server is null || parsed.NamesRegistry)
        {
            if (!image.TryCopyTo(destination)) return ImageResolveStatus.DestinationTooSmall;
            charsWritten = image.Length;
            return ImageResolveStatus.Resolved;
        }
        var length = Server.Length + 1 + image.Length;
        if (destination.Length < length) return ImageResolveStatus.DestinationTooSmall;
        Server.CopyTo(destination);
        destination[Server.Length] = '/';
        image.CopyTo(destination[(Server.Length + 1)..]);
        charsWritten = length;
        // Docker Hub as the "mirror" changes normalization (library/), so only then scan the result again.
        resolved = _serverIsDockerHub
            ? ImageReference.Parse(destination[..length])
            : ImageReference.ForPrefixed(destination[..length], _serverHostLength, Server.Length, parsed);
        return resolved.IsValid ? ImageResolveStatus.Resolved : ImageResolveStatus.InvalidAfterPrefix;
    }

    /// <summary>The image to pull, or why the image name cannot be pulled (naming the image and giving the Go reason).</summary>
    public Result<ResolvedImage> Resolve(string? image)
    {
        image ??= "";
        var max = GetMaxResolvedLength(image.Length);
        Span<char> buffer = max <= 1024 ? stackalloc char[max] : new char[max];
        var status = TryResolve(image, buffer, out var written, out var reference);
        switch (status)
        {
            case ImageResolveStatus.Resolved:
                var name = reference.ToImageName();
                return Result<ResolvedImage>.Success(new ResolvedImage(image, new string(buffer[..written]), Prefixed: written != image.Length,
                    name.Domain, name.Path, name.Tag, name.Digest));
            case ImageResolveStatus.InvalidImage:
                return Failure.Input($"invalid image name {RegistryServer.Quote(image)}: {reference.GetErrorMessage()}");
            case ImageResolveStatus.InvalidAfterPrefix:
                return Failure.Input($"invalid image name {RegistryServer.Quote(image)}: with {RegistryServer.SettingKey} {RegistryServer.Quote(Server)} " +
                                     $"it becomes {RegistryServer.Quote(buffer[..written])}: {reference.GetErrorMessage()}");
            default:
                throw new InvalidOperationException("resolve buffer sized by GetMaxResolvedLength was too small");
        }
    }
}

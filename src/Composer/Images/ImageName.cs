using Composer.Diagnostics;

namespace Composer.Images;

/// <summary>
/// A parsed, normalized image reference kept on the heap (for code that runs once a minute and stores it).
/// Created from <see cref="ImageReference.ToImageName"/> or <see cref="Parse"/>.
/// </summary>
/// <param name="Domain">Normalized registry domain (<c>docker.io</c> for Docker Hub); empty only for Go's <c>foo_bar.com/baz</c> oddity.</param>
/// <param name="Path">Normalized repository path (<c>library/ubuntu</c>).</param>
/// <param name="Tag">The tag, or null.</param>
/// <param name="Digest">The digest (<c>sha256:...</c>), or null.</param>
/// <param name="OriginalDomain">The registry as written in the input, or null when the input named none.</param>
public sealed record ImageName(string Domain, string Path, string? Tag, string? Digest, string? OriginalDomain)
{
    /// <summary>True when the input named its registry (Docker's splitDockerDomain rule).</summary>
    public bool NamesRegistry => OriginalDomain is not null;

    public bool IsDockerHub => Domain == ImageReference.DockerHubDomain;

    /// <summary><c>docker.io/library/ubuntu:22.04</c>.</summary>
    public string FullyQualified => Format(ImageReferenceFormat.FullyQualified);

    /// <summary><c>ubuntu:22.04</c>.</summary>
    public string Familiar => Format(ImageReferenceFormat.Familiar);

    /// <summary>The digest when present, else the tag, else <c>latest</c>: what a manifest request names.</summary>
    public string ManifestReference => Digest ?? Tag ?? "latest";

    public override string ToString() => FullyQualified;

    /// <summary>Parses with Docker's rules; the failure's message is the Go error text.</summary>
    public static Result<ImageName> Parse(string? input)
    {
        var reference = ImageReference.Parse(input);
        return reference.IsValid ? Result<ImageName>.Success(reference.ToImageName()) : Failure.Input(reference.GetErrorMessage());
    }

    private string Format(ImageReferenceFormat format)
    {
        // Re-render through the span formatter so both types share one definition of every form.
        var text = (Domain.Length > 0 ? Domain + "/" : "") + Path + (Tag is null ? "" : ":" + Tag) + (Digest is null ? "" : "@" + Digest);
        return ImageReference.Parse(text).ToString(format);
    }
}

namespace Composer.Images;

/// <summary>
/// Why an image reference was rejected. Each value maps to the exact error text of Go's
/// distribution/reference ParseNormalizedNamed (and go-digest v1.0.0 for the digest kinds).
/// </summary>
public enum ImageReferenceError : byte
{
    None = 0,

    /// <summary><c>invalid reference format</c>: the text does not fit the grammar.</summary>
    InvalidFormat,

    /// <summary><c>repository name must be lowercase</c>: only the lowercased text fits the grammar.</summary>
    NameContainsUppercase,

    /// <summary><c>invalid reference format: repository name (&lt;remote&gt;) must be lowercase</c>.</summary>
    RepositoryNameNotLowercase,

    /// <summary><c>invalid repository name (&lt;input&gt;), cannot specify 64-byte hexadecimal strings</c>.</summary>
    HexIdentifier,

    /// <summary><c>repository name must not be more than 255 characters</c> (the path, after normalization).</summary>
    NameTooLong,

    /// <summary><c>invalid checksum digest format</c>.</summary>
    DigestInvalidFormat,

    /// <summary><c>invalid checksum digest length</c>.</summary>
    DigestInvalidLength,

    /// <summary><c>unsupported digest algorithm</c>.</summary>
    DigestUnsupported,
}

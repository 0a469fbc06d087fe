using System.Text;

namespace Composer.Images;

/// <summary>Which string form <see cref="ImageReference.TryFormat"/> writes.</summary>
public enum ImageReferenceFormat : byte
{
    /// <summary>Go <c>String()</c> of the normalized reference: <c>docker.io/library/ubuntu:22.04</c>.</summary>
    FullyQualified,

    /// <summary>Go <c>FamiliarString</c>: <c>ubuntu:22.04</c>; differs only for Docker Hub references.</summary>
    Familiar,

    /// <summary>Go <c>ParseDockerRef</c>: tag and digest keep only the digest, neither appends <c>:latest</c>.</summary>
    DockerRef,
}

/// <summary>
/// A container image reference parsed with the grammar of distribution/reference <c>ParseNormalizedNamed</c>
/// (what <c>docker pull</c> accepts), see docs image-reference-grammar.md. Hand-written single-pass scanner over
/// the caller's characters: parsing and formatting allocate nothing; the struct only holds offsets into the input.
/// <para>
/// Normalization is explicit: the parser records what was written (<see cref="OriginalDomain"/>,
/// <see cref="RemoteName"/>) and whether Docker Hub rules apply (<see cref="IsDockerHub"/>,
/// <see cref="AddsLibraryPrefix"/>); <see cref="Domain"/>, <see cref="TryFormatPath"/> and
/// <see cref="TryFormat"/> give the normalized <c>docker.io/library/...</c> forms.
/// </para>
/// Never throws on bad input: check <see cref="IsValid"/> and <see cref="Error"/>.
/// </summary>
public readonly ref struct ImageReference
{
    /// <summary>Docker Hub's canonical domain.</summary>
    public const string DockerHubDomain = "docker.io";

    /// <summary>Docker Hub's legacy domain, normalized to <see cref="DockerHubDomain"/>.</summary>
    public const string LegacyDockerHubDomain = "index.docker.io";

    /// <summary>Namespace of Docker Hub's official images, added to single-component Hub names.</summary>
    public const string OfficialRepositoryPrefix = "library/";

    /// <summary>Longest repository path accepted (bytes, after normalization; the domain is not counted).</summary>
    public const int MaxPathLength = 255;

    /// <summary>Longest tag accepted.</summary>
    public const int MaxTagLength = 128;

    private const string LocalhostDomain = "localhost";
    private const string LatestTag = "latest";

    private readonly ReadOnlySpan<char> _input;
    private readonly Parts _parts;

    private ImageReference(ReadOnlySpan<char> input, scoped in Parts parts)
    {
        _input = input;
        _parts = parts;
    }

    /// <summary>Parses <paramref name="input"/>; the result refers to it. Never throws.</summary>
    public static ImageReference Parse(ReadOnlySpan<char> input) => new(input, Scanner.Parse(input));

    /// <summary>Parses <paramref name="input"/>; false (and <paramref name="reference"/> carrying the error) when invalid.</summary>
    public static bool TryParse(ReadOnlySpan<char> input, out ImageReference reference)
    {
        reference = Parse(input);
        return reference.IsValid;
    }

    /// <summary>host[:port] by the reference grammar (domain name or bracketed IPv6, optional numeric port).</summary>
    internal static bool IsRegistryHost(ReadOnlySpan<char> hostAndPort) => Scanner.IsHostAndPort<AsWrittenCase>(hostAndPort);

    /// <summary>One or more path components joined by '/', lowercase, by the reference grammar.</summary>
    internal static bool IsRepositoryPath(ReadOnlySpan<char> path)
    {
        var i = 0;
        while (true)
        {
            i = Scanner.ScanPathComponent<AsWrittenCase>(path, i);
            if (i < 0) return false;
            if (i == path.Length) return true;
            if (path[i] != '/') return false;
            i++;
        }
    }

    /// <summary>Docker's splitDockerDomain test: would this first component be read as a registry?</summary>
    internal static bool IsReadAsRegistry(ReadOnlySpan<char> firstComponent) =>
        firstComponent.SequenceEqual(LocalhostDomain) || Scanner.LooksLikeDomain(firstComponent);

    /// <summary>The text that was parsed.</summary>
    public ReadOnlySpan<char> Input => _input;

    public bool IsValid => _parts.Error == ImageReferenceError.None;

    public ImageReferenceError Error => _parts.Error;

    /// <summary>
    /// True when the input names its registry by Docker's rule (splitDockerDomain): its first '/'-separated
    /// component is <c>localhost</c>, contains '.' or ':' or an uppercase letter, or is docker.io/index.docker.io.
    /// Such an image must not get a registry prefix.
    /// </summary>
    public bool NamesRegistry => _parts.NamesRegistry;

    /// <summary>The registry as written (<c>index.docker.io</c>, <c>localhost:5000</c>), empty when none was written.</summary>
    public ReadOnlySpan<char> OriginalDomain => _parts.NamesRegistry ? _input[.._parts.FirstSlash] : default;

    /// <summary>
    /// The normalized domain: <c>docker.io</c> for Docker Hub (implied, <c>docker.io</c> or <c>index.docker.io</c>),
    /// otherwise as written (no case folding). Empty in Go's one odd case where the first component looks like a
    /// domain but is not a valid host while still a valid path component (<c>foo_bar.com/baz</c>).
    /// </summary>
    public ReadOnlySpan<char> Domain => _parts.Kind switch
    {
        DomainKind.DockerHub => DockerHubDomain,
        DomainKind.AsWritten => _input[.._parts.FirstSlash],
        _ => default,
    };

    /// <summary>True when the normalized domain is exactly <c>docker.io</c>.</summary>
    public bool IsDockerHub => IsValid && _parts.Kind == DomainKind.DockerHub;

    /// <summary>True when normalization puts <c>library/</c> in front of <see cref="RemoteName"/>.</summary>
    public bool AddsLibraryPrefix => IsValid && _parts.Library;

    /// <summary>The repository path as written in the input (without an added <c>library/</c>).</summary>
    public ReadOnlySpan<char> RemoteName => IsValid ? _input[_parts.RepoStart.._parts.NameEnd] : default;

    /// <summary>Length of the normalized repository path (<see cref="TryFormatPath"/>).</summary>
    public int PathLength => IsValid ? (_parts.Library ? OfficialRepositoryPrefix.Length : 0) + _parts.NameEnd - _parts.RepoStart : 0;

    public bool HasTag => IsValid && _parts.TagStart >= 0;

    /// <summary>The tag, empty when none.</summary>
    public ReadOnlySpan<char> Tag => HasTag ? _input[_parts.TagStart.._parts.TagEnd] : default;

    public bool HasDigest => IsValid && _parts.DigestStart >= 0;

    /// <summary>The digest (<c>sha256:...</c>), empty when none.</summary>
    public ReadOnlySpan<char> Digest => HasDigest ? _input[_parts.DigestStart..] : default;

    /// <summary>
    /// What a registry manifest request names: the digest when there is one, else the tag, else <c>latest</c>
    /// (HEAD /v2/&lt;path&gt;/manifests/&lt;this&gt;).
    /// </summary>
    public ReadOnlySpan<char> ManifestReference => HasDigest ? Digest : HasTag ? Tag : LatestTag;

    /// <summary>Writes the normalized repository path (<c>library/ubuntu</c>).</summary>
    public bool TryFormatPath(Span<char> destination, out int charsWritten)
    {
        charsWritten = 0;
        if (!IsValid || destination.Length < PathLength) return false;
        var w = new Writer(destination);
        if (_parts.Library) w.Append(OfficialRepositoryPrefix);
        w.Append(RemoteName);
        charsWritten = w.Position;
        return true;
    }

    /// <summary>The number of characters <see cref="TryFormat"/> writes for <paramref name="format"/> (0 when invalid).</summary>
    public int GetFormattedLength(ImageReferenceFormat format = ImageReferenceFormat.FullyQualified)
    {
        if (!IsValid) return 0;
        var path = FormattedPath(format, out var library);
        var length = (library ? OfficialRepositoryPrefix.Length : 0) + path.Length;
        var domain = FormattedDomain(format);
        if (domain.Length > 0) length += domain.Length + 1;
        Suffixes(format, out var tag, out var digest);
        if (tag.Length > 0) length += tag.Length + 1;
        if (digest.Length > 0) length += digest.Length + 1;
        return length;
    }

    /// <summary>Writes the reference in <paramref name="format"/>; false when invalid or the destination is too small.</summary>
    public bool TryFormat(Span<char> destination, out int charsWritten, ImageReferenceFormat format = ImageReferenceFormat.FullyQualified)
    {
        charsWritten = 0;
        if (!IsValid || destination.Length < GetFormattedLength(format)) return false;
        var w = new Writer(destination);
        var domain = FormattedDomain(format);
        if (domain.Length > 0)
        {
            w.Append(domain);
            w.Append('/');
        }
        var path = FormattedPath(format, out var library);
        if (library) w.Append(OfficialRepositoryPrefix);
        w.Append(path);
        Suffixes(format, out var tag, out var digest);
        if (tag.Length > 0)
        {
            w.Append(':');
            w.Append(tag);
        }
        if (digest.Length > 0)
        {
            w.Append('@');
            w.Append(digest);
        }
        charsWritten = w.Position;
        return true;
    }

    /// <summary>The reference in <paramref name="format"/> as a string (allocates; for once-a-minute code and messages).</summary>
    public string ToString(ImageReferenceFormat format)
    {
        if (!IsValid) return string.Empty;
        var length = GetFormattedLength(format);
        Span<char> buffer = length <= 512 ? stackalloc char[length] : new char[length];
        TryFormat(buffer, out var written, format);
        return new string(buffer[..written]);
    }

    /// <summary>The fully-qualified form when valid, else the Go error text.</summary>
    public override string ToString() => IsValid ? ToString(ImageReferenceFormat.FullyQualified) : GetErrorMessage();

    /// <summary>Length of the Go error text (0 when valid).</summary>
    public int GetErrorMessageLength()
    {
        ErrorPieces(out var head, out var param, out var library, out var tail);
        return head.Length + (library ? OfficialRepositoryPrefix.Length : 0) + param.Length + tail.Length;
    }

    /// <summary>Writes the exact Go error text (nothing when valid).</summary>
    public bool TryFormatErrorMessage(Span<char> destination, out int charsWritten)
    {
        charsWritten = 0;
        if (destination.Length < GetErrorMessageLength()) return false;
        ErrorPieces(out var head, out var param, out var library, out var tail);
        var w = new Writer(destination);
        w.Append(head);
        if (library) w.Append(OfficialRepositoryPrefix);
        w.Append(param);
        w.Append(tail);
        charsWritten = w.Position;
        return true;
    }

    /// <summary>The exact Go error text, empty when valid (allocates; failure path).</summary>
    public string GetErrorMessage()
    {
        if (IsValid) return string.Empty;
        ErrorPieces(out var head, out var param, out var library, out var tail);
        var sb = new StringBuilder(GetErrorMessageLength());
        sb.Append(head);
        if (library) sb.Append(OfficialRepositoryPrefix);
        sb.Append(param);
        sb.Append(tail);
        return sb.ToString();
    }

    /// <summary>The fixed Go error text of an error kind (the parameterised kinds without their parameter).</summary>
    public static string Describe(ImageReferenceError error) => error switch
    {
        ImageReferenceError.None => "",
        ImageReferenceError.InvalidFormat => "invalid reference format",
        ImageReferenceError.NameContainsUppercase => "repository name must be lowercase",
        ImageReferenceError.RepositoryNameNotLowercase => "invalid reference format: repository name must be lowercase",
        ImageReferenceError.HexIdentifier => "invalid repository name, cannot specify 64-byte hexadecimal strings",
        ImageReferenceError.NameTooLong => "repository name must not be more than 255 characters",
        ImageReferenceError.DigestInvalidFormat => "invalid checksum digest format",
        ImageReferenceError.DigestInvalidLength => "invalid checksum digest length",
        ImageReferenceError.DigestUnsupported => "unsupported digest algorithm",
        _ => "invalid reference format",
    };

    /// <summary>A heap copy of the components, for code that keeps the reference (allocates).</summary>
    public ImageName ToImageName()
    {
        if (!IsValid) throw new InvalidOperationException("Cannot create an ImageName from an invalid reference: " + GetErrorMessage());
        var pathLength = PathLength;
        Span<char> path = pathLength <= 512 ? stackalloc char[pathLength] : new char[pathLength];
        TryFormatPath(path, out _);
        return new ImageName(
            Domain.ToString(),
            new string(path),
            HasTag ? Tag.ToString() : null,
            HasDigest ? Digest.ToString() : null,
            NamesRegistry ? OriginalDomain.ToString() : null);
    }

    private void ErrorPieces(out ReadOnlySpan<char> head, out ReadOnlySpan<char> param, out bool library, out ReadOnlySpan<char> tail)
    {
        param = default;
        library = false;
        tail = default;
        switch (_parts.Error)
        {
            case ImageReferenceError.None:
                head = default;
                break;
            case ImageReferenceError.RepositoryNameNotLowercase:
                head = "invalid reference format: repository name (";
                param = _input[_parts.ErrorParamStart.._parts.ErrorParamEnd];
                library = _parts.Library;
                tail = ") must be lowercase";
                break;
            case ImageReferenceError.HexIdentifier:
                head = "invalid repository name (";
                param = _input;
                tail = "), cannot specify 64-byte hexadecimal strings";
                break;
            default:
                head = Describe(_parts.Error);
                break;
        }
    }

    private ReadOnlySpan<char> FormattedDomain(ImageReferenceFormat format) =>
        format == ImageReferenceFormat.Familiar && _parts.Kind == DomainKind.DockerHub ? default : Domain;

    private ReadOnlySpan<char> FormattedPath(ImageReferenceFormat format, out bool library)
    {
        var remote = _input[_parts.RepoStart.._parts.NameEnd];
        library = _parts.Library;
        if (format != ImageReferenceFormat.Familiar || _parts.Kind != DomainKind.DockerHub) return remote;
        // FamiliarString drops "library/" when nothing but one component follows it.
        if (library)
        {
            library = false;
            return remote;
        }
        if (remote.StartsWith(OfficialRepositoryPrefix) && remote[OfficialRepositoryPrefix.Length..].IndexOf('/') < 0)
        {
            return remote[OfficialRepositoryPrefix.Length..];
        }
        return remote;
    }

    private void Suffixes(ImageReferenceFormat format, out ReadOnlySpan<char> tag, out ReadOnlySpan<char> digest)
    {
        tag = Tag;
        digest = Digest;
        if (format != ImageReferenceFormat.DockerRef) return;
        if (digest.Length > 0) tag = default;
        else if (tag.Length == 0) tag = LatestTag;
    }

    private ref struct Writer(Span<char> destination)
    {
        private readonly Span<char> _destination = destination;
        public int Position;

        public void Append(ReadOnlySpan<char> text)
        {
            text.CopyTo(_destination[Position..]);
            Position += text.Length;
        }

        public void Append(char c) => _destination[Position++] = c;
    }

    internal enum DomainKind : byte
    {
        /// <summary>docker.io: implied by a name without registry, or written as docker.io / index.docker.io.</summary>
        DockerHub,

        /// <summary>The first component as written.</summary>
        AsWritten,

        /// <summary>No domain: Go's regex took the whole name as the path (<c>foo_bar.com/baz</c>).</summary>
        None,
    }

    /// <summary>Offsets into the input; -1 for an absent part.</summary>
    internal struct Parts
    {
        public int FirstSlash;
        public DomainKind Kind;
        public bool NamesRegistry;
        public bool Library;
        public int RepoStart;
        public int NameEnd;
        public int TagStart;
        public int TagEnd;
        public int DigestStart;
        public int DigestColon;
        public ImageReferenceError Error;
        public int ErrorParamStart;
        public int ErrorParamEnd;
    }

    /// <summary>Character-class tests on ASCII, with Go's lowering applied first when asked (error classification only).</summary>
    internal interface ICaseMap
    {
        static abstract char Map(char c);
    }

    internal struct AsWrittenCase : ICaseMap
    {
        public static char Map(char c) => c;
    }

    /// <summary>Go strings.ToLower restricted to what can become ASCII: A-Z, U+0130 (İ→i) and U+212A (Kelvin→k).</summary>
    internal struct GoLowerCase : ICaseMap
    {
        public static char Map(char c) => c switch
        {
            >= 'A' and <= 'Z' => (char)(c | 0x20),
            '\u0130' => 'i',
            '\u212A' => 'k',
            _ => c,
        };
    }

    private static class Scanner
    {
        public static Parts Parse(ReadOnlySpan<char> s)
        {
            var p = new Parts { TagStart = -1, TagEnd = -1, DigestStart = -1, DigestColon = -1 };

            // 1. A bare 64-hex image ID is refused (the whole string only).
            if (s.Length == 64 && IsLowerHexIdentifier(s))
            {
                p.Error = ImageReferenceError.HexIdentifier;
                return p;
            }

            // 2. splitDockerDomain: decides the registry from the text before the first '/'.
            var slash = s.IndexOf('/');
            p.FirstSlash = slash;
            int remainderStart;
            if (slash < 0)
            {
                p.Kind = DomainKind.DockerHub;
                p.Library = true;
                remainderStart = 0;
            }
            else
            {
                var first = s[..slash];
                if (first.SequenceEqual(DockerHubDomain) || first.SequenceEqual(LegacyDockerHubDomain))
                {
                    p.Kind = DomainKind.DockerHub;
                    p.NamesRegistry = true;
                    p.Library = s[(slash + 1)..].IndexOf('/') < 0;
                    remainderStart = slash + 1;
                }
                else if (first.SequenceEqual(LocalhostDomain) || LooksLikeDomain(first))
                {
                    p.Kind = DomainKind.AsWritten;
                    p.NamesRegistry = true;
                    remainderStart = slash + 1;
                }
                else
                {
                    p.Kind = DomainKind.DockerHub;
                    remainderStart = 0;
                }
            }
            p.RepoStart = remainderStart;

            // 3+4. One pass over the remainder with the reference grammar (as written).
            if (ScanRemainder<AsWrittenCase>(s, remainderStart, ref p) && DomainFits<AsWrittenCase>(s, ref p))
            {
                // The remote-name lowercase check (Go runs it first) can only still fail on a digest
                // algorithm: with no tag, Go's "remote" runs up to the digest's ':'.
                if (p.TagStart < 0 && p.DigestStart >= 0 && HasUpperGo(s[p.DigestStart..p.DigestColon]))
                {
                    p.Error = ImageReferenceError.RepositoryNameNotLowercase;
                    p.ErrorParamStart = remainderStart;
                    p.ErrorParamEnd = p.DigestColon;
                    return p;
                }
                var pathLength = (p.Library ? OfficialRepositoryPrefix.Length : 0) + p.NameEnd - p.RepoStart;
                if (pathLength > MaxPathLength)
                {
                    p.Error = ImageReferenceError.NameTooLong;
                    return p;
                }
                if (p.DigestStart >= 0) p.Error = ValidateDigest(s[p.DigestStart..], p.DigestColon - p.DigestStart);
                return p;
            }

            p.Error = ClassifyFailure(s, remainderStart, ref p);
            return p;
        }

        /// <summary>The Go error for text the grammar rejected, in Go's order of checks.</summary>
        private static ImageReferenceError ClassifyFailure(ReadOnlySpan<char> s, int remainderStart, ref Parts p)
        {
            var remainder = s[remainderStart..];
            var colon = remainder.IndexOf(':');
            var remote = colon < 0 ? remainder : remainder[..colon];
            if (HasUpperGo(remote))
            {
                p.ErrorParamStart = remainderStart;
                p.ErrorParamEnd = remainderStart + remote.Length;
                return ImageReferenceError.RepositoryNameNotLowercase;
            }
            var lowered = p;
            if (ScanRemainder<GoLowerCase>(s, remainderStart, ref lowered) && DomainFits<GoLowerCase>(s, ref lowered))
            {
                return ImageReferenceError.NameContainsUppercase;
            }
            return ImageReferenceError.InvalidFormat;
        }

        /// <summary>
        /// For a registry taken from the input: Go's regex accepts the first component as host[:port], or else as
        /// the first path component (then there is no domain at all).
        /// </summary>
        private static bool DomainFits<TCase>(ReadOnlySpan<char> s, ref Parts p) where TCase : struct, ICaseMap
        {
            if (p.Kind != DomainKind.AsWritten) return true;
            var first = s[..p.FirstSlash];
            if (IsHostAndPort<TCase>(first)) return true;
            var end = ScanPathComponent<TCase>(first, 0);
            if (end != first.Length) return false;
            p.Kind = DomainKind.None;
            p.RepoStart = 0;
            return true;
        }

        /// <summary>'.' or ':' anywhere, or any uppercase letter (Go's ToLower(x) != x).</summary>
        internal static bool LooksLikeDomain(ReadOnlySpan<char> first)
        {
            foreach (var c in first)
            {
                if (c is '.' or ':' or (>= 'A' and <= 'Z')) return true;
                if (c >= 0x80) return first.ContainsAny('.', ':') || HasUpperGo(first);
            }
            return false;
        }

        /// <summary>Go's <c>strings.ToLower(x) != x</c>, without allocating.</summary>
        private static bool HasUpperGo(ReadOnlySpan<char> text)
        {
            for (var i = 0; i < text.Length; i++)
            {
                var c = text[i];
                if (c < 0x80)
                {
                    if (c is >= 'A' and <= 'Z') return true;
                    continue;
                }
                // Go replaces invalid UTF-8 with U+FFFD while lowering, so the result differs; a lone surrogate
                // is the UTF-16 counterpart.
                if (Rune.DecodeFromUtf16(text[i..], out var rune, out var consumed) != System.Buffers.OperationStatus.Done) return true;
                // .NET's invariant casing keeps U+0130 (İ) unchanged on purpose; Go lowers it to 'i'.
                if (rune.Value == 0x130 || Rune.ToLowerInvariant(rune) != rune) return true;
                i += consumed - 1;
            }
            return false;
        }

        private static bool IsLowerHexIdentifier(ReadOnlySpan<char> s)
        {
            foreach (var c in s)
            {
                if (!(c is >= '0' and <= '9' or >= 'a' and <= 'f')) return false;
            }
            return true;
        }

        private static bool IsLowerAlphaNumeric(char c) => (uint)(c - 'a') <= 'z' - 'a' || (uint)(c - '0') <= 9;

        private static bool IsAsciiLetter(char c) => (uint)((c | 0x20) - 'a') <= 'z' - 'a';

        private static bool IsAsciiLetterOrDigit(char c) => IsAsciiLetter(c) || (uint)(c - '0') <= 9;

        private static bool IsWordChar(char c) => IsAsciiLetterOrDigit(c) || c == '_';

        private static bool IsHexDigit(char c) => (uint)(c - '0') <= 9 || (uint)((c | 0x20) - 'a') <= 'f' - 'a';

        /// <summary>
        /// path-component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*. Returns the end, or -1.
        /// </summary>
        internal static int ScanPathComponent<TCase>(ReadOnlySpan<char> s, int i) where TCase : struct, ICaseMap
        {
            if ((uint)i >= (uint)s.Length || !IsLowerAlphaNumeric(TCase.Map(s[i]))) return -1;
            i++;
            while (true)
            {
                while (i < s.Length && IsLowerAlphaNumeric(TCase.Map(s[i]))) i++;
                if (i >= s.Length) return i;
                var c = TCase.Map(s[i]);
                if (c == '.')
                {
                    i++;
                }
                else if (c == '_')
                {
                    i++;
                    if (i < s.Length && TCase.Map(s[i]) == '_') i++;
                }
                else if (c == '-')
                {
                    do i++;
                    while (i < s.Length && TCase.Map(s[i]) == '-');
                }
                else
                {
                    return i;
                }
                if (i >= s.Length || !IsLowerAlphaNumeric(TCase.Map(s[i]))) return -1;
                i++;
            }
        }

        /// <summary>
        /// remote-name [":" tag] ["@" digest], to the end of the input. Records the name end, tag and digest.
        /// </summary>
        private static bool ScanRemainder<TCase>(ReadOnlySpan<char> s, int i, ref Parts p) where TCase : struct, ICaseMap
        {
            while (true)
            {
                i = ScanPathComponent<TCase>(s, i);
                if (i < 0) return false;
                if (i < s.Length && TCase.Map(s[i]) == '/')
                {
                    i++;
                    continue;
                }
                break;
            }
            p.NameEnd = i;
            if (i == s.Length) return true;

            var c = TCase.Map(s[i]);
            if (c == ':')
            {
                // tag := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
                i++;
                p.TagStart = i;
                if (i >= s.Length || !IsWordChar(TCase.Map(s[i]))) return false;
                i++;
                var limit = Math.Min(s.Length, p.TagStart + MaxTagLength);
                while (i < limit && (IsWordChar(c = TCase.Map(s[i])) || c is '.' or '-')) i++;
                p.TagEnd = i;
                if (i == s.Length) return true;
                c = TCase.Map(s[i]);
            }
            if (c != '@') return false;

            // digest := [A-Za-z][A-Za-z0-9]* ( [-_+.] [A-Za-z][A-Za-z0-9]* )* ":" [0-9A-Fa-f]{32,}
            i++;
            p.DigestStart = i;
            while (true)
            {
                if (i >= s.Length || !IsAsciiLetter(TCase.Map(s[i]))) return false;
                i++;
                while (i < s.Length && IsAsciiLetterOrDigit(TCase.Map(s[i]))) i++;
                if (i >= s.Length) return false;
                c = TCase.Map(s[i]);
                if (c is '-' or '_' or '+' or '.')
                {
                    i++;
                    continue;
                }
                break;
            }
            if (c != ':') return false;
            p.DigestColon = i;
            i++;
            var hexStart = i;
            while (i < s.Length && IsHexDigit(TCase.Map(s[i]))) i++;
            return i == s.Length && i - hexStart >= 32;
        }

        /// <summary>host [":" port] with host := domain-name | "[" [0-9A-Fa-f:]+ "]".</summary>
        internal static bool IsHostAndPort<TCase>(ReadOnlySpan<char> s) where TCase : struct, ICaseMap
        {
            var i = 0;
            if (s.Length > 0 && s[0] == '[')
            {
                i = 1;
                while (i < s.Length && (IsHexDigit(TCase.Map(s[i])) || s[i] == ':')) i++;
                if (i == 1 || i >= s.Length || s[i] != ']') return false;
                i++;
            }
            else
            {
                while (true)
                {
                    // domain-component := [a-zA-Z0-9] ( [a-zA-Z0-9-]* [a-zA-Z0-9] )?
                    if (i >= s.Length || !IsAsciiLetterOrDigit(TCase.Map(s[i]))) return false;
                    i++;
                    char c;
                    while (i < s.Length && (IsAsciiLetterOrDigit(c = TCase.Map(s[i])) || c == '-')) i++;
                    if (s[i - 1] == '-') return false;
                    if (i < s.Length && s[i] == '.')
                    {
                        i++;
                        continue;
                    }
                    break;
                }
            }
            if (i == s.Length) return true;
            if (s[i] != ':') return false;
            i++;
            var portStart = i;
            while (i < s.Length && (uint)(s[i] - '0') <= 9) i++;
            return i == s.Length && i > portStart;
        }

        /// <summary>go-digest v1.0.0 Digest.Validate, with sha256, sha384 and sha512 registered.</summary>
        private static ImageReferenceError ValidateDigest(ReadOnlySpan<char> digest, int colon)
        {
            var algorithm = digest[..colon];
            var encoded = digest[(colon + 1)..];
            int hashSize;
            if (algorithm.SequenceEqual("sha256")) hashSize = 32;
            else if (algorithm.SequenceEqual("sha384")) hashSize = 48;
            else if (algorithm.SequenceEqual("sha512")) hashSize = 64;
            else
            {
                // Unknown algorithm: "unsupported" when it still fits go-digest's lowercase digest pattern.
                return algorithm.ContainsAnyInRange('A', 'Z') ? ImageReferenceError.DigestInvalidFormat : ImageReferenceError.DigestUnsupported;
            }
            if (encoded.Length != hashSize * 2) return ImageReferenceError.DigestInvalidLength;
            return encoded.ContainsAnyInRange('A', 'F') ? ImageReferenceError.DigestInvalidFormat : ImageReferenceError.None;
        }
    }
}

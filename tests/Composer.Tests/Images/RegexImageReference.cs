using System.Text;
using System.Text.RegularExpressions;

// Shared by the tests (differential oracle) and benchmarks/Composer.Benchmarks (the regex baseline, linked there).
namespace Composer.Tests.Images;

/// <summary>The result of <see cref="RegexImageReference.ParseNormalizedNamed"/>.</summary>
public sealed record RegexParseResult(bool Valid, string Domain, string Path, string Tag, string Digest, string Error)
{
    public string FullyQualified => (Domain.Length > 0 ? Domain + "/" : "") + Path + Suffix;

    public string Familiar
    {
        get
        {
            if (Domain != "docker.io") return FullyQualified;
            var path = Path.StartsWith("library/", StringComparison.Ordinal) && Path.IndexOf('/', 8) < 0 ? Path[8..] : Path;
            return path + Suffix;
        }
    }

    private string Suffix => (Tag.Length > 0 ? ":" + Tag : "") + (Digest.Length > 0 ? "@" + Digest : "");
}

/// <summary>
/// A straight .NET transliteration of Go's distribution/reference ParseNormalizedNamed and go-digest v1.0.0
/// Validate, using the upstream regular expressions with the fixes of image-reference-grammar.md §10
/// ([0-9A-Fa-f] for [[:xdigit:]], ASCII [A-Za-z0-9_] for \w, \z for $, [-]+ separator). Allocates freely.
/// It is the baseline of the parser benchmark and an independent oracle for the randomized tests.
/// </summary>
public static partial class RegexImageReference
{
    private const string DomainNameComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    private const string Host = "(?:" + DomainNameComponent + @"(?:\." + DomainNameComponent + @")*|\[(?:[a-fA-F0-9:]+)\])";
    private const string DomainAndPort = Host + "(?::[0-9]+)?";
    private const string PathComponent = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*";
    private const string RemoteName = PathComponent + "(?:/" + PathComponent + ")*";
    private const string Tag = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
    private const string DigestPattern = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}";
    private const string Reference = "^((?:" + DomainAndPort + "/)?" + RemoteName + ")(?::(" + Tag + "))?(?:@(" + DigestPattern + "))?\\z";
    private const string AnchoredName = "^(?:(" + DomainAndPort + ")/)?(" + RemoteName + ")\\z";

    [GeneratedRegex(Reference, RegexOptions.CultureInvariant)]
    private static partial Regex ReferenceRegex();

    [GeneratedRegex(AnchoredName, RegexOptions.CultureInvariant)]
    private static partial Regex AnchoredNameRegex();

    [GeneratedRegex("^[a-f0-9]{64}\\z", RegexOptions.CultureInvariant)]
    private static partial Regex IdentifierRegex();

    [GeneratedRegex("^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+\\z", RegexOptions.CultureInvariant)]
    private static partial Regex GoDigestRegex();

    [GeneratedRegex("^[a-f0-9]+\\z", RegexOptions.CultureInvariant)]
    private static partial Regex LowerHexRegex();

    public static RegexParseResult ParseNormalizedNamed(string s)
    {
        if (IdentifierRegex().IsMatch(s))
        {
            return Fail($"invalid repository name ({s}), cannot specify 64-byte hexadecimal strings");
        }
        var (domain, remainder) = SplitDockerDomain(s);
        var tagSeparator = remainder.IndexOf(':');
        var remote = tagSeparator > -1 ? remainder[..tagSeparator] : remainder;
        if (GoToLower(remote) != remote)
        {
            return Fail($"invalid reference format: repository name ({remote}) must be lowercase");
        }
        return Parse(domain + "/" + remainder);
    }

    private static RegexParseResult Parse(string s)
    {
        var match = ReferenceRegex().Match(s);
        if (!match.Success)
        {
            if (s.Length == 0) return Fail("repository name must have at least one component");
            if (ReferenceRegex().IsMatch(GoToLower(s))) return Fail("repository name must be lowercase");
            return Fail("invalid reference format");
        }
        var name = match.Groups[1].Value;
        var nameMatch = AnchoredNameRegex().Match(name);
        string domain, path;
        if (nameMatch.Success)
        {
            domain = nameMatch.Groups[1].Value;
            path = nameMatch.Groups[2].Value;
        }
        else
        {
            domain = "";
            path = name;
        }
        if (Encoding.UTF8.GetByteCount(path) > 255) return Fail("repository name must not be more than 255 characters");
        var digest = match.Groups[3].Value;
        if (digest.Length > 0 && ValidateDigest(digest) is { } digestError) return Fail(digestError);
        return new RegexParseResult(true, domain, path, match.Groups[2].Value, digest, "");
    }

    private static (string Domain, string Remainder) SplitDockerDomain(string name)
    {
        var slash = name.IndexOf('/');
        if (slash < 0) return ("docker.io", "library/" + name);
        var maybeDomain = name[..slash];
        var maybeRemainder = name[(slash + 1)..];
        string domain, remainder;
        if (maybeDomain == "localhost") (domain, remainder) = (maybeDomain, maybeRemainder);
        else if (maybeDomain == "index.docker.io") (domain, remainder) = ("docker.io", maybeRemainder);
        else if (maybeDomain.AsSpan().IndexOfAny('.', ':') >= 0) (domain, remainder) = (maybeDomain, maybeRemainder);
        else if (GoToLower(maybeDomain) != maybeDomain) (domain, remainder) = (maybeDomain, maybeRemainder);
        else (domain, remainder) = ("docker.io", name);
        if (domain == "docker.io" && !remainder.Contains('/')) remainder = "library/" + remainder;
        return (domain, remainder);
    }

    private static string? ValidateDigest(string s)
    {
        var i = s.IndexOf(':');
        if (i <= 0 || i + 1 == s.Length) return "invalid checksum digest format";
        var algorithm = s[..i];
        var encoded = s[(i + 1)..];
        var size = algorithm switch { "sha256" => 32, "sha384" => 48, "sha512" => 64, _ => 0 };
        if (size == 0) return GoDigestRegex().IsMatch(s) ? "unsupported digest algorithm" : "invalid checksum digest format";
        if (encoded.Length != size * 2) return "invalid checksum digest length";
        return LowerHexRegex().IsMatch(encoded) ? null : "invalid checksum digest format";
    }

    /// <summary>Go strings.ToLower on the UTF-8 form: per-rune simple lowering, invalid sequences become U+FFFD.</summary>
    public static string GoToLower(string s)
    {
        var sb = new StringBuilder(s.Length);
        var span = s.AsSpan();
        while (!span.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(span, out var rune, out var consumed) != System.Buffers.OperationStatus.Done)
            {
                sb.Append('\uFFFD');
                span = span[1..];
                continue;
            }
            // Go lowers U+0130 (İ) to 'i' (UnicodeData simple mapping); .NET's invariant casing leaves it.
            sb.Append(rune.Value == 0x130 ? "i" : Rune.ToLowerInvariant(rune).ToString());
            span = span[consumed..];
        }
        return sb.ToString();
    }

    private static RegexParseResult Fail(string error) => new(false, "", "", "", "", error);
}

using System.Text;

namespace Composer.Tests.Images;

/// <summary>
/// Deterministic random image references for property tests: valid ones built from the grammar, arbitrary text,
/// and mutations of valid references. Seeded, so a failure names a seed that reproduces it.
/// </summary>
public sealed class ReferenceGenerator(int seed)
{
    private const string Lower = "abcdefghijklmnopqrstuvwxyz0123456789";
    private const string HostChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    private const string TagChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
    private const string Hex = "0123456789abcdef";
    private const string Interesting = "/:@._-[]ABCZaz09 \t\n\r\0%+=~^$!#&*()?\\\"'`";

    private readonly Random _random = new(seed);

    private int Next(int max) => _random.Next(max);

    private bool Chance(int percent) => _random.Next(100) < percent;

    private string Pick(params string[] options) => options[Next(options.Length)];

    private string Run(string alphabet, int min, int max)
    {
        var length = min + Next(max - min + 1);
        var sb = new StringBuilder(length);
        for (var i = 0; i < length; i++) sb.Append(alphabet[Next(alphabet.Length)]);
        return sb.ToString();
    }

    public string PathComponent()
    {
        var sb = new StringBuilder(Run(Lower, 1, 6));
        var parts = Next(3);
        for (var i = 0; i < parts; i++)
        {
            sb.Append(Pick(".", "_", "__", "-", "--", "---"));
            sb.Append(Run(Lower, 1, 5));
        }
        return sb.ToString();
    }

    public string Path(int maxComponents = 4)
    {
        var count = 1 + Next(maxComponents);
        return string.Join('/', Enumerable.Range(0, count).Select(_ => PathComponent()));
    }

    private string DomainLabel()
    {
        if (Chance(20)) return HostChars[Next(HostChars.Length)].ToString();
        var middle = Run(HostChars + "-", 0, 8);
        return HostChars[Next(HostChars.Length)] + middle + HostChars[Next(HostChars.Length)];
    }

    /// <summary>A domain Docker detects as a registry (has '.', ':', is localhost, or is uppercase), never docker.io.</summary>
    public string DetectedDomain()
    {
        string host;
        switch (Next(5))
        {
            case 0:
                host = "localhost";
                return Chance(50) ? host : host + ":" + Next(70000);
            case 1:
                host = "[" + Run("0123456789abcdefABCDEF:", 1, 12) + "]";
                break;
            case 2:
                host = $"{Next(300)}.{Next(300)}.{Next(300)}.{Next(300)}";
                break;
            case 3:
                // Uppercase single label: a domain by the uppercase rule.
                host = "R" + Run("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 0, 6);
                break;
            default:
                host = DomainLabel() + "." + DomainLabel() + (Chance(40) ? "." + DomainLabel() : "");
                break;
        }
        if (host == "docker.io" || host == "index.docker.io") host = "registry.example.com";
        if (host.StartsWith('[') || Chance(40)) host += ":" + Next(100000);
        return host;
    }

    public string TagText() => TagChars[Next(TagChars.Length - 2)] + Run(TagChars, 0, Chance(5) ? 127 : 12);

    public string DigestText()
    {
        var (algorithm, length) = Pick("sha256", "sha384", "sha512") switch
        {
            "sha256" => ("sha256", 64),
            "sha384" => ("sha384", 96),
            _ => ("sha512", 128),
        };
        return algorithm + ":" + Run(Hex, length, length);
    }

    private string Suffixes()
    {
        var text = "";
        if (Chance(60)) text += ":" + TagText();
        if (Chance(30)) text += "@" + DigestText();
        return text;
    }

    /// <summary>A valid reference already in fully-qualified form: format(parse(s)) == s.</summary>
    public string FullyQualified()
    {
        var domain = Chance(25) ? "docker.io" : DetectedDomain();
        var path = Path();
        if (domain == "docker.io" && !path.Contains('/')) path = "library/" + path;
        return domain + "/" + path + Suffixes();
    }

    /// <summary>A valid reference in any form a user writes (familiar, index.docker.io, explicit registry).</summary>
    public string AnyValid()
    {
        var name = Next(4) switch
        {
            0 => PathComponent(),
            1 => Path(),
            2 => Pick("docker.io", "index.docker.io") + "/" + Path(),
            _ => DetectedDomain() + "/" + Path(),
        };
        return name + Suffixes();
    }

    /// <summary>Arbitrary text: printable ASCII, control characters, Unicode (including lone surrogates).</summary>
    public string Arbitrary()
    {
        var length = Next(Chance(10) ? 300 : 40);
        var sb = new StringBuilder(length);
        var mode = Next(4);
        for (var i = 0; i < length; i++)
        {
            sb.Append(mode switch
            {
                0 => (char)(0x20 + Next(0x5F)),
                1 => (char)Next(0x80),
                2 => Interesting[Next(Interesting.Length)],
                _ => Chance(70) ? Interesting[Next(Interesting.Length)] : (char)Next(0x10000),
            });
        }
        return sb.ToString();
    }

    /// <summary>A valid reference with one to three small edits that often make it invalid in a subtle way.</summary>
    public string Mutated()
    {
        var s = new StringBuilder(AnyValid());
        var edits = 1 + Next(3);
        for (var e = 0; e < edits; e++)
        {
            var at = s.Length == 0 ? 0 : Next(s.Length);
            switch (Next(7))
            {
                case 0 when s.Length > 0: s.Remove(at, 1); break;
                case 1: s.Insert(at, Interesting[Next(Interesting.Length)]); break;
                case 2 when s.Length > 0: s[at] = Interesting[Next(Interesting.Length)]; break;
                case 3 when s.Length > 0: s[at] = char.ToUpperInvariant(s[at]); break;
                case 4: s.Insert(at, Pick("\u0130", "\u212A", "\u00C4", "\u00E4", "\uD800", "\uDC00", "\uD83D\uDE00", "\u0131")); break;
                case 5 when s.Length > 0: s.Length = at; break;
                default: s.Insert(at, Pick("/", ":", "@", "//", "::", "@sha256:", "..", "__", "_", "-")); break;
            }
        }
        return s.ToString();
    }
}

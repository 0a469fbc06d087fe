using System.Globalization;
using System.Text;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Images;

/// <summary>One row of image-reference-vectors.tsv (expectations produced by running Go's distribution/reference).</summary>
public sealed record ReferenceVector(
    int Line, string Input, bool Valid, string Domain, string Path, string Tag, string Digest,
    string Familiar, string FullyQualified, string Error);

public static class ReferenceVectors
{
    public static string FilePath { get; } = System.IO.Path.Combine(RepoPaths.Root, "tests", "Composer.Tests", "Images", "image-reference-vectors.tsv");

    private static readonly Lazy<IReadOnlyList<ReferenceVector>> All = new(Load);

    public static IReadOnlyList<ReferenceVector> Rows => All.Value;

    private static IReadOnlyList<ReferenceVector> Load()
    {
        var lines = File.ReadAllLines(FilePath, Encoding.UTF8);
        if (lines[0] != "input\tvalid\tdomain\tpath\ttag\tdigest\tfamiliar\tfully_qualified\terror")
        {
            throw new InvalidDataException("Unexpected header in " + FilePath + ": " + lines[0]);
        }
        var rows = new List<ReferenceVector>();
        for (var i = 1; i < lines.Length; i++)
        {
            var f = lines[i].Split('\t');
            if (f.Length != 9) throw new InvalidDataException($"{FilePath}:{i + 1}: expected 9 fields, got {f.Length}");
            rows.Add(new ReferenceVector(
                i + 1, Unescape(f[0]), f[1] switch { "yes" => true, "no" => false, _ => throw new InvalidDataException(f[1]) },
                Unescape(f[2]), Unescape(f[3]), Unescape(f[4]), Unescape(f[5]), Unescape(f[6]), Unescape(f[7]), Unescape(f[8])));
        }
        return rows;
    }

    /// <summary>Decodes the file's escapes: \\, \t, \n, \r and \xNN.</summary>
    public static string Unescape(string field)
    {
        if (!field.Contains('\\')) return field;
        var sb = new StringBuilder(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            var c = field[i];
            if (c != '\\')
            {
                sb.Append(c);
                continue;
            }
            var next = field[++i];
            switch (next)
            {
                case '\\': sb.Append('\\'); break;
                case 't': sb.Append('\t'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 'x':
                    sb.Append((char)byte.Parse(field.AsSpan(i + 1, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                    i += 2;
                    break;
                default: throw new InvalidDataException($"Unknown escape \\{next} in {field}");
            }
        }
        return sb.ToString();
    }
}

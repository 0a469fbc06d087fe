using Composer.Images;

namespace Composer.Tests.Images;

/// <summary>The parser against every row of image-reference-vectors.tsv (Go's own results).</summary>
public class ImageReferenceVectorTests
{
    public static IEnumerable<int> VectorLines() => ReferenceVectors.Rows.Select(r => r.Line);

    [Test]
    public async Task The_vector_file_is_complete()
    {
        await Assert.That(ReferenceVectors.Rows.Count).IsEqualTo(281);
        await Assert.That(ReferenceVectors.Rows.Count(r => r.Valid)).IsGreaterThan(150);
        await Assert.That(ReferenceVectors.Rows.Any(r => r.Input == "ubuntu\n")).IsTrue();
    }

    [Test]
    [MethodDataSource(nameof(VectorLines))]
    public async Task Row_matches_go(int line)
    {
        var row = ReferenceVectors.Rows.Single(r => r.Line == line);
        var actual = Describe(row.Input);
        var expected = row.Valid
            ? $"valid domain=[{row.Domain}] path=[{row.Path}] tag=[{row.Tag}] digest=[{row.Digest}] familiar=[{row.Familiar}] fq=[{row.FullyQualified}]"
            : $"invalid: {row.Error}";
        await Assert.That(actual).IsEqualTo(expected);
    }

    /// <summary>Every component and form, rendered through the zero-allocation span APIs.</summary>
    internal static string Describe(string input)
    {
        var r = ImageReference.Parse(input);
        if (!r.IsValid)
        {
            Span<char> message = stackalloc char[r.GetErrorMessageLength()];
            if (!r.TryFormatErrorMessage(message, out var n)) return "error message did not fit";
            var text = message[..n].ToString();
            if (text != r.GetErrorMessage()) return "span and string error messages differ";
            return "invalid: " + text;
        }
        Span<char> path = stackalloc char[r.PathLength];
        r.TryFormatPath(path, out var pathLength);
        return $"valid domain=[{r.Domain}] path=[{path[..pathLength]}] tag=[{r.Tag}] digest=[{r.Digest}] " +
               $"familiar=[{Format(r, ImageReferenceFormat.Familiar)}] fq=[{Format(r, ImageReferenceFormat.FullyQualified)}]";
    }

    internal static string Format(ImageReference r, ImageReferenceFormat format)
    {
        var length = r.GetFormattedLength(format);
        var buffer = new char[length + 8];
        if (r.TryFormat(buffer.AsSpan(0, length - 1 < 0 ? 0 : length - 1), out _, format) && length > 0) return "formatted into a too small buffer";
        if (!r.TryFormat(buffer, out var written, format)) return "format failed";
        return written == length ? new string(buffer, 0, written) : $"length mismatch {written} != {length}";
    }
}

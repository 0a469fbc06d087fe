using Composer.Images;

namespace Composer.Tests.Images;

/// <summary>
/// Randomized properties over thousands of seeded cases: round trips, never throwing, and agreement with the
/// independent regex transliteration of Go's code (<see cref="RegexImageReference"/>).
/// </summary>
public class ImageReferencePropertyTests
{
    private const int Cases = 4000;

    public static IEnumerable<int> Seeds() => [1, 2, 3, 20261127];

    [Test]
    public async Task The_regex_oracle_itself_agrees_with_every_go_vector()
    {
        var mismatches = new List<string>();
        foreach (var row in ReferenceVectors.Rows)
        {
            var r = RegexImageReference.ParseNormalizedNamed(row.Input);
            var actual = r.Valid ? $"{r.Domain}|{r.Path}|{r.Tag}|{r.Digest}|{r.Familiar}|{r.FullyQualified}" : r.Error;
            var expected = row.Valid ? $"{row.Domain}|{row.Path}|{row.Tag}|{row.Digest}|{row.Familiar}|{row.FullyQualified}" : row.Error;
            if (actual != expected) mismatches.Add($"line {row.Line}: {actual} != {expected}");
        }
        await Assert.That(mismatches).IsEmpty();
    }

    [Test]
    [MethodDataSource(nameof(Seeds))]
    public async Task Fully_qualified_references_format_back_to_themselves(int seed)
    {
        var generator = new ReferenceGenerator(seed);
        var failures = new List<string>();
        for (var i = 0; i < Cases && failures.Count < 10; i++)
        {
            var s = generator.FullyQualified();
            var formatted = Reformat(s, ImageReferenceFormat.FullyQualified);
            if (formatted != s) failures.Add($"seed {seed} case {i}: {s} -> {formatted}");
        }
        await Assert.That(failures).IsEmpty();
    }

    [Test]
    [MethodDataSource(nameof(Seeds))]
    public async Task Every_form_parses_back_to_the_same_components(int seed)
    {
        var generator = new ReferenceGenerator(seed);
        var failures = new List<string>();
        for (var i = 0; i < Cases && failures.Count < 10; i++)
        {
            var s = generator.AnyValid();
            var original = Components(s);
            if (original is null)
            {
                failures.Add($"seed {seed} case {i}: generated valid reference rejected: {s}: {ImageReference.Parse(s).GetErrorMessage()}");
                continue;
            }
            foreach (var format in new[] { ImageReferenceFormat.FullyQualified, ImageReferenceFormat.Familiar })
            {
                var text = Reformat(s, format);
                // Go quirk kept on purpose: docker.io/a.b/c familiarizes to a.b/c, which reads as registry a.b.
                if (format == ImageReferenceFormat.Familiar && FamiliarFirstComponentReadsAsRegistry(text)) continue;
                var again = Components(text);
                if (again != original) failures.Add($"seed {seed} case {i}: {s} -{format}-> {text}: {again} != {original}");
            }
            var dockerRef = Reformat(s, ImageReferenceFormat.DockerRef);
            var refComponents = Components(dockerRef);
            var parsed = ImageReference.Parse(s);
            var expectedRef = parsed.HasDigest
                ? original with { Tag = "" }
                : original with { Tag = parsed.HasTag ? original.Tag : "latest" };
            if (refComponents != expectedRef) failures.Add($"seed {seed} case {i}: docker ref of {s} is {dockerRef}");
        }
        await Assert.That(failures).IsEmpty();
    }

    [Test]
    [MethodDataSource(nameof(Seeds))]
    public async Task Arbitrary_text_never_throws_and_agrees_with_the_regex_oracle(int seed)
    {
        var generator = new ReferenceGenerator(seed);
        var failures = new List<string>();
        var invalid = 0;
        for (var i = 0; i < Cases && failures.Count < 10; i++)
        {
            var s = (i % 3) switch { 0 => generator.Arbitrary(), 1 => generator.Mutated(), _ => generator.AnyValid() };
            string actual;
            try
            {
                actual = Summary(s);
            }
            catch (Exception e)
            {
                failures.Add($"seed {seed} case {i}: {Show(s)} threw {e.GetType().Name}: {e.Message}");
                continue;
            }
            if (actual.StartsWith("invalid", StringComparison.Ordinal)) invalid++;
            var expected = OracleSummary(s);
            if (actual != expected) failures.Add($"seed {seed} case {i}: {Show(s)}: {actual} != oracle {expected}");
        }
        await Assert.That(failures).IsEmpty();
        // Both kinds are exercised in volume.
        await Assert.That(invalid).IsGreaterThan(Cases / 4);
        await Assert.That(invalid).IsLessThan(Cases * 9 / 10);
    }

    [Test]
    public async Task Formatting_into_a_too_small_buffer_fails_cleanly()
    {
        var generator = new ReferenceGenerator(7);
        var failures = new List<string>();
        for (var i = 0; i < 500; i++)
        {
            var s = generator.AnyValid();
            foreach (var format in new[] { ImageReferenceFormat.FullyQualified, ImageReferenceFormat.Familiar, ImageReferenceFormat.DockerRef })
            {
                if (TooSmallFormatSucceeds(s, format)) failures.Add($"{s} {format}");
            }
        }
        await Assert.That(failures).IsEmpty();
    }

    private static bool TooSmallFormatSucceeds(string s, ImageReferenceFormat format)
    {
        var r = ImageReference.Parse(s);
        Span<char> buffer = stackalloc char[r.GetFormattedLength(format) - 1];
        return r.TryFormat(buffer, out _, format) || r.TryFormatPath(buffer[..Math.Min(buffer.Length, r.PathLength - 1)], out _);
    }

    private static bool FamiliarFirstComponentReadsAsRegistry(string familiar)
    {
        var slash = familiar.IndexOf('/');
        return slash > 0 && ImageReference.IsReadAsRegistry(familiar.AsSpan(0, slash));
    }

    private sealed record Parts(string Domain, string Path, string Tag, string Digest);

    private static Parts? Components(string s)
    {
        var r = ImageReference.Parse(s);
        if (!r.IsValid) return null;
        Span<char> path = stackalloc char[r.PathLength];
        r.TryFormatPath(path, out var n);
        return new Parts(r.Domain.ToString(), path[..n].ToString(), r.Tag.ToString(), r.Digest.ToString());
    }

    private static string Reformat(string s, ImageReferenceFormat format)
    {
        var r = ImageReference.Parse(s);
        Span<char> buffer = stackalloc char[r.GetFormattedLength(format)];
        return r.TryFormat(buffer, out var n, format) ? buffer[..n].ToString() : "<format failed: " + r.GetErrorMessage() + ">";
    }

    private static string Summary(string s)
    {
        var r = ImageReference.Parse(s);
        if (!r.IsValid) return "invalid: " + r.GetErrorMessage();
        return $"{r.Domain}|{Components(s)!.Path}|{r.Tag}|{r.Digest}|{Reformat(s, ImageReferenceFormat.Familiar)}|{Reformat(s, ImageReferenceFormat.FullyQualified)}";
    }

    private static string OracleSummary(string s)
    {
        var r = RegexImageReference.ParseNormalizedNamed(s);
        return r.Valid ? $"{r.Domain}|{r.Path}|{r.Tag}|{r.Digest}|{r.Familiar}|{r.FullyQualified}" : "invalid: " + r.Error;
    }

    private static string Show(string s) => string.Concat(s.Select(c => c < 0x20 || c >= 0x7F ? $"\\u{(int)c:x4}" : c.ToString()));
}

using System.Runtime.CompilerServices;
using System.Text.Json;
using Composer.Diagnostics;

namespace Composer.Tests.Diagnostics;

/// <summary>
/// The one scrubber: every known secret value masked in outside text, in the forms engines write it back (Go's %q,
/// JSON as Go, Node, Jackson and .NET escape it, JSON of %q, percent-encoding), overlapping values as one mask, values
/// too short to mask safely left alone, and nothing else in the text changed.
/// </summary>
public class SecretScrubberTests
{
    /// <summary>A scrubber of its own, knowing exactly <paramref name="values"/> (the shared one knows every test's secrets).</summary>
    private static (SecretScrubber Scrubber, Secret[] Held) With(params string[] values)
    {
        var scrubber = new SecretScrubber();
        var held = values.Select(v => new Secret(v)).ToArray();
        foreach (var secret in held) scrubber.Add(secret);
        return (scrubber, held);
    }

    [Test]
    public async Task A_value_is_masked_and_nothing_else_changes()
    {
        var (scrubber, held) = With("s3cret+/=value");
        await Assert.That(scrubber.Scrub("token s3cret+/=value refused (HTTP 401)")).IsEqualTo("token *** refused (HTTP 401)");
        await Assert.That(scrubber.Scrub("s3cret+/=values3cret+/=value")).IsEqualTo("***");
        const string untouched = "nothing to see: s3cret+/=valu and 3cret+/=value";
        await Assert.That(ReferenceEquals(scrubber.Scrub(untouched), untouched)).IsTrue();
        GC.KeepAlive(held);
    }

    [Test]
    [Arguments("t")]
    [Arguments("ab")]
    [Arguments("abc")]
    public async Task Values_too_short_to_mask_safely_never_mangle_a_message(string value)
    {
        var (scrubber, held) = With(value);
        const string message = "cannot reach the platform at http://abc.example: a bad token (check opencti.token)";
        await Assert.That(scrubber.Scrub(message)).IsEqualTo(message);
        GC.KeepAlive(held);
    }

    [Test]
    public async Task Four_characters_are_enough()
    {
        var (scrubber, held) = With("abcd");
        await Assert.That(scrubber.Scrub("xabcdx")).IsEqualTo("x***x");
        GC.KeepAlive(held);
    }

    [Test]
    public async Task The_forms_engines_write_back_are_masked()
    {
        const string value = "nul\0<tab>\t\"q\"\\é\u001b";
        var (scrubber, held) = With(value);
        string[] echoes =
        [
            value,
            // runc through dockerd: Go's %q
            "nul\\x00<tab>\\t\\\"q\\\"\\\\é\\x1b",
            // a JSON body (Node, Go without HTML escaping)
            "nul\\u0000<tab>\\t\\\"q\\\"\\\\é\\u001b",
            // Go's encoding/json (HTML characters escaped)
            "nul\\u0000\\u003ctab\\u003e\\t\\\"q\\\"\\\\é\\u001b",
            // Jackson, .NET: upper-case hex
            "nul\\u0000<tab>\\t\\\"q\\\"\\\\é\\u001B",
            // a %q error inside a JSON body
            "nul\\\\x00<tab>\\\\t\\\\\\\"q\\\\\\\"\\\\\\\\é\\\\x1b",
            // a URL
            Uri.EscapeDataString(value),
        ];
        foreach (var echo in echoes)
        {
            await Assert.That(scrubber.Scrub($"create refused: \"CONNECTOR_SECRET={echo}\": unknown")).IsEqualTo("create refused: \"CONNECTOR_SECRET=***\": unknown")
                .Because(echo);
        }
        GC.KeepAlive(held);
    }

    [Test]
    public async Task The_forms_match_what_go_and_json_encoders_write()
    {
        await Assert.That(SecretScrubber.GoQuoteInner("a\u0000b\u0007\u007f\u00a0\u0085\u200bé😀\"\\")).IsEqualTo("a\\x00b\\a\\x7f\\u00a0\\u0085\\u200bé😀\\\"\\\\");
        // Composer's own JSON (log lines) is written with the relaxed encoder; engines write Go's, Node's or Jackson's.
        var value = "a\u0001\u001fb\"<&>\u2028\n";
        var relaxed = JsonSerializer.Serialize(value, new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping })[1..^1];
        await Assert.That(SecretScrubber.Forms(value)).Contains(relaxed);
    }

    [Test]
    public async Task Overlapping_touching_and_nested_secrets_become_one_mask()
    {
        var (scrubber, held) = With("abcdef", "cdefgh", "wxyz", "longer-wxyz-value", "1234");
        await Assert.That(scrubber.Scrub("[abcdefgh]")).IsEqualTo("[***]");
        await Assert.That(scrubber.Scrub("[abcdefcdefgh]")).IsEqualTo("[***]");
        await Assert.That(scrubber.Scrub("[longer-wxyz-value] [wxyz]")).IsEqualTo("[***] [***]");
        await Assert.That(scrubber.Scrub("12341234 x 1234")).IsEqualTo("*** x ***");
        GC.KeepAlive(held);
    }

    [Test]
    public async Task A_secret_no_longer_held_is_forgotten()
    {
        var scrubber = new SecretScrubber();
        AddShortLived(scrubber, "short-lived-value");
        var kept = new Secret("kept-value");
        scrubber.Add(kept);
        await Assert.That(scrubber.Scrub("short-lived-value kept-value")).IsEqualTo("*** ***");
        GC.Collect();
        GC.WaitForPendingFinalizers();
        // Adding secrets sweeps what is gone once the table has grown enough.
        var more = Enumerable.Range(0, 128).Select(i => new Secret($"filler-{i:D4}")).ToArray();
        foreach (var secret in more) scrubber.Add(secret);
        await Assert.That(scrubber.Scrub("short-lived-value kept-value")).IsEqualTo("short-lived-value ***");
        GC.KeepAlive(kept);
        GC.KeepAlive(more);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AddShortLived(SecretScrubber scrubber, string value) => scrubber.Add(new Secret(value));

    [Test]
    public async Task A_secret_prints_as_its_mask_however_it_is_formatted()
    {
        var secret = new Secret("p4ssw0rd-value");
        await Assert.That(secret.ToString()).IsEqualTo("***");
        await Assert.That($"token={secret}").IsEqualTo("token=***");
        await Assert.That(string.Concat("a", secret)).IsEqualTo("a***");
        await Assert.That(string.Format(System.Globalization.CultureInfo.InvariantCulture, "{0}", secret)).IsEqualTo("***");
        await Assert.That(secret.Reveal()).IsEqualTo("p4ssw0rd-value");
        await Assert.That(secret).IsEqualTo(new Secret("p4ssw0rd-value"));
        await Assert.That(secret == new Secret("other-value")).IsFalse();
        await Assert.That(Secret.Placeholder("ChangeMe").ToString()).IsEqualTo("***");
    }

    [Test]
    public async Task A_placeholder_is_masked_where_shown_but_not_searched_for()
    {
        var placeholder = Secret.Placeholder("PlaceholderWord");
        await Assert.That(SecretScrubber.Shared.Scrub("the default PlaceholderWord is a placeholder")).IsEqualTo("the default PlaceholderWord is a placeholder");
        GC.KeepAlive(placeholder);
    }

    [Test]
    public async Task Failures_and_log_lines_never_carry_a_known_secret()
    {
        var secret = new Secret($"nul\u0000{Guid.NewGuid():N}");
        var echoed = $"error during container init: environment variable value can't contain null(\\x00): \"K={SecretScrubber.GoQuoteInner(secret.Reveal())}\": unknown";
        var failure = Failure.Orchestrator("cannot start: " + echoed);
        await Assert.That(failure.Message).IsEqualTo("cannot start: error during container init: environment variable value can't contain null(\\x00): \"K=***\": unknown");
        await Assert.That((failure with { Message = "again " + echoed }).Message).EndsWith("\"K=***\": unknown");

        var json = new StringWriter();
        var pretty = new StringWriter();
        using (var a = new Logger(LogLevel.Info, LogFormat.Json, json)) a.Error("start failed: " + echoed, ("reason", echoed), ("value", secret));
        using (var b = new Logger(LogLevel.Info, LogFormat.Pretty, pretty)) b.Error("start failed: " + echoed, ("reason", echoed), ("value", secret));
        foreach (var output in new[] { json.ToString(), pretty.ToString() })
        {
            await Assert.That(output).DoesNotContain(secret.Reveal()[4..]);
            await Assert.That(output).Contains("K=***");
        }
    }
}

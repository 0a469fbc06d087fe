using System.Text;
using Composer.Configuration;
using static Composer.Tests.Configuration.ConfigTestSupport;

namespace Composer.Tests.Configuration;

/// <summary>How configuration bytes and the process environment are read (the allocation-lean paths).</summary>
public class InputReadingTests
{
    private const string Text = "manager:\n  name: \"Compôser 🚀 ok\"\n  id: \"𝄞x\"\n";

    private static string ReadAll(TextReader reader, int chunk)
    {
        var sb = new StringBuilder();
        var buffer = new char[chunk];
        int n;
        while ((n = reader.Read(buffer, 0, chunk)) > 0) sb.Append(buffer, 0, n);
        return sb.ToString();
    }

    [Test]
    [Arguments(1)]
    [Arguments(2)]
    [Arguments(3)]
    [Arguments(1024)]
    public async Task Utf8_bytes_decode_whole_with_any_block_size_even_when_a_surrogate_pair_is_split(int chunk)
    {
        await Assert.That(ReadAll(Utf8BytesReader.Create(Encoding.UTF8.GetBytes(Text)), chunk)).IsEqualTo(Text);
    }

    [Test]
    [Arguments(new byte[] { (byte)'a', 0xC3, (byte)'b' }, 1)]        // a lead byte without its continuation
    [Arguments(new byte[] { (byte)'a', (byte)'b', 0xE2, 0x82 }, 2)]  // a sequence cut off at the end
    [Arguments(new byte[] { 0x80 }, 0)]                             // a lone continuation byte
    [Arguments(new byte[] { (byte)'x', 0xC0, 0xAF }, 1)]            // an overlong encoding of '/'
    [Arguments(new byte[] { 0xED, 0xA0, 0x80 }, 0)]                 // a UTF-16 surrogate encoded as UTF-8
    [Arguments(new byte[] { 0xEF, 0xBB, 0xBF, (byte)'a', 0xFF }, 4)] // after a UTF-8 byte order mark
    public async Task The_first_byte_that_is_not_UTF8_is_found_at_its_offset(byte[] bytes, int offset)
    {
        await Assert.That(Utf8BytesReader.FirstInvalidUtf8Byte(bytes)).IsEqualTo(offset);
    }

    [Test]
    public async Task UTF8_text_and_UTF16_with_its_byte_order_mark_have_no_invalid_byte()
    {
        await Assert.That(Utf8BytesReader.FirstInvalidUtf8Byte(Encoding.UTF8.GetBytes(Text))).IsNull();
        await Assert.That(Utf8BytesReader.FirstInvalidUtf8Byte([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(Text)])).IsNull();
        await Assert.That(Utf8BytesReader.FirstInvalidUtf8Byte([.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes(Text)])).IsNull();
    }

    [Test]
    public async Task The_loader_refuses_a_file_that_is_not_UTF8_instead_of_binding_replacement_characters()
    {
        var dir = NewConfigDir();
        File.WriteAllBytes(Path.Combine(dir, "config.json"), [.. "{\"manager\": {\"name\": \"a"u8, 0xFF, .. "\"}}"u8]);
        var result = Load(dir, BaseEnvironment());
        var error = result.Errors.Single();
        await Assert.That(error.Key).IsEqualTo(Path.Combine(dir, "config.json"));
        await Assert.That(error.Message).StartsWith("not valid UTF-8: byte 0xFF at byte offset 23 (line 1)");
        await Assert.That(result.Resolved).IsNull();
    }

    [Test]
    public async Task Byte_order_marks_are_honoured_and_invalid_bytes_become_replacement_characters()
    {
        byte[] withBom = [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(Text)];
        await Assert.That(ReadAll(Utf8BytesReader.Create(withBom), 7)).IsEqualTo(Text);
        var utf16 = Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes(Text)).ToArray();
        await Assert.That(ReadAll(Utf8BytesReader.Create(utf16), 7)).IsEqualTo(Text);
        byte[] invalid = [(byte)'a', 0xC3, (byte)'b', 0xFF];
        await Assert.That(ReadAll(Utf8BytesReader.Create(invalid), 1)).IsEqualTo(Encoding.UTF8.GetString(invalid));
        var reader = Utf8BytesReader.Create(Encoding.UTF8.GetBytes("🚀"));
        await Assert.That(reader.Peek()).IsEqualTo((int)'\uD83D');
        await Assert.That(reader.Read()).IsEqualTo((int)'\uD83D');
        await Assert.That(reader.Peek()).IsEqualTo((int)'\uDE80');
        await Assert.That(reader.Read()).IsEqualTo((int)'\uDE80');
        await Assert.That(reader.Read()).IsEqualTo(-1);
    }

    [Test]
    public async Task A_yaml_file_with_a_byte_order_mark_and_non_ascii_values_binds()
    {
        var dir = NewConfigDir();
        File.WriteAllBytes(Path.Combine(dir, "production.yaml"), [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(Text)]);
        var r = Load(dir, BaseEnvironment());
        await Assert.That(r.Errors).IsEmpty();
        await Assert.That(r.Settings.Manager.Name).IsEqualTo("Compôser 🚀 ok");
        await Assert.That(r.Settings.Manager.Id).IsEqualTo("𝄞x");
    }

    [Test]
    public async Task The_process_environment_snapshot_reads_like_a_dictionary()
    {
        var env = ConfigLoadRequest.ProcessEnvironment();
        var expected = Environment.GetEnvironmentVariables();
        await Assert.That(env.Count).IsEqualTo(expected.Count);
        await Assert.That(env.Count()).IsEqualTo(expected.Count);
        var (name, value) = env.First();
        await Assert.That(env.ContainsKey(name)).IsTrue();
        await Assert.That(env[name]).IsEqualTo(value);
        await Assert.That(env.TryGetValue(name, out var again) && again == value).IsTrue();
        await Assert.That(env.TryGetValue("COMPOSER_TEST_SURELY_UNSET_VARIABLE_7f3a", out _)).IsFalse();
        await Assert.That(env.Keys.Count()).IsEqualTo(expected.Count);
    }

    [Test]
    public async Task Spellings_of_one_variable_are_grouped_wherever_they_sort_and_the_upper_case_one_wins()
    {
        var r = Load(NewConfigDir(), BaseEnvironment(
            ("opencti__daemon__docker__dns__1", "10.0.0.9"), ("OPENCTI__DAEMON__DOCKER__DNS__0", "10.0.0.1"),
            ("OPENCTI__DAEMON__DOCKER__DNS__1", "10.0.0.2"), ("Opencti__Daemon__Docker__Dns__1", "10.0.0.8")));
        await Assert.That(r.Errors).IsEmpty();
        await Assert.That(r.Settings.OpenCti.Daemon.Docker!.Dns!).IsEquivalentTo(["10.0.0.1", "10.0.0.2"]);
        await Assert.That(r.Warnings.Count(w => w.Message.Contains("both set with different values"))).IsEqualTo(2);
    }
}

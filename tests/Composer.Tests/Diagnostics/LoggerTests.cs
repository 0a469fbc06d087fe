using System.Text.Json;
using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Resolution;
using Composer.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Composer.Tests.Diagnostics;

public class LoggerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 4, 5, 6, 7, 890, TimeSpan.Zero);

    private static string[] Lines(StringWriter w) => w.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static string TempDirectory() => Directory.CreateTempSubdirectory("composer-logs-").FullName;

    /// <summary>The process logger of a manager.logger section, as the resolve step and the run command build it.</summary>
    private static Logger FromSettings(LoggerSettings settings, TextWriter stdout, TextWriter diagnostics, TimeProvider? clock = null) =>
        LoggerSetup.Create(LoggerSetup.Resolve(settings, TestReport.New().Report), stdout, diagnostics, clock);

    [Test]
    public async Task Json_line_has_timestamp_level_message_and_typed_fields()
    {
        var stdout = new StringWriter();
        using var logger = new Logger(LogLevel.Info, LogFormat.Json, stdout, clock: new FakeTimeProvider(T0));

        logger.Info("Deploying the container", ("connector", "abuseipdb"), ("attempt", 2), ("elapsed", TimeSpan.FromMilliseconds(1500)),
            ("ok", true), ("ratio", 0.5), ("missing", null));

        var lines = Lines(stdout);
        await Assert.That(lines.Length).IsEqualTo(1);
        using var doc = JsonDocument.Parse(lines[0]);
        var root = doc.RootElement;
        await Assert.That(root.GetProperty("timestamp").GetString()).IsEqualTo("2026-03-04T05:06:07.8900000Z");
        await Assert.That(root.GetProperty("level").GetString()).IsEqualTo("info");
        await Assert.That(root.GetProperty("message").GetString()).IsEqualTo("Deploying the container");
        var fields = root.GetProperty("fields");
        await Assert.That(fields.GetProperty("connector").GetString()).IsEqualTo("abuseipdb");
        await Assert.That(fields.GetProperty("attempt").GetInt32()).IsEqualTo(2);
        await Assert.That(fields.GetProperty("elapsed").GetDouble()).IsEqualTo(1500d);
        await Assert.That(fields.GetProperty("ok").GetBoolean()).IsTrue();
        await Assert.That(fields.GetProperty("ratio").GetDouble()).IsEqualTo(0.5);
        await Assert.That(fields.GetProperty("missing").ValueKind).IsEqualTo(JsonValueKind.Null);
        await Assert.That(root.EnumerateObject().Select(p => p.Name).ToArray()).IsEquivalentTo(new[] { "timestamp", "level", "message", "fields" });
    }

    [Test]
    public async Task Json_line_without_fields_has_no_fields_object()
    {
        var stdout = new StringWriter();
        using var logger = new Logger(LogLevel.Info, LogFormat.Json, stdout, clock: new FakeTimeProvider(T0));
        logger.Warn("Nothing to execute");
        await Assert.That(Lines(stdout).Single()).IsEqualTo("{\"timestamp\":\"2026-03-04T05:06:07.8900000Z\",\"level\":\"warn\",\"message\":\"Nothing to execute\"}");
    }

    [Test]
    public async Task Json_keeps_text_readable_and_escapes_what_json_requires()
    {
        var stdout = new StringWriter();
        using var logger = new Logger(LogLevel.Info, LogFormat.Json, stdout, clock: new FakeTimeProvider(T0));
        logger.Info("image <registry>/a&b + \"quoted\"\nnext line: é", ("url", "http://proxy:3128/?a=1&b=2"));
        var line = Lines(stdout).Single();
        await Assert.That(line).Contains("image <registry>/a&b + \\\"quoted\\\"\\nnext line: é");
        await Assert.That(line).Contains("http://proxy:3128/?a=1&b=2");
        using var doc = JsonDocument.Parse(line);
        await Assert.That(doc.RootElement.GetProperty("message").GetString()).IsEqualTo("image <registry>/a&b + \"quoted\"\nnext line: é");
    }

    [Test]
    public async Task Values_json_cannot_represent_do_not_break_logging()
    {
        var stdout = new StringWriter();
        using var logger = new Logger(LogLevel.Info, LogFormat.Json, stdout, clock: new FakeTimeProvider(T0));
        logger.Info("odd values", ("nan", double.NaN), ("inf", float.PositiveInfinity), ("when", new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero)),
            ("error", new InvalidOperationException("registry unreachable")), ("dup", 1), ("dup", 2));
        using var doc = JsonDocument.Parse(Lines(stdout).Single());
        var fields = doc.RootElement.GetProperty("fields");
        await Assert.That(fields.GetProperty("nan").GetString()).IsEqualTo("NaN");
        await Assert.That(fields.GetProperty("inf").GetString()).IsEqualTo("Infinity");
        await Assert.That(fields.GetProperty("when").GetString()).IsEqualTo("2026-01-02T03:04:05.0000000+00:00");
        await Assert.That(fields.GetProperty("error").GetString()).IsEqualTo("InvalidOperationException: registry unreachable");
        await Assert.That(fields.EnumerateObject().Count(p => p.Name == "dup")).IsEqualTo(1);
        await Assert.That(fields.GetProperty("dup").GetInt32()).IsEqualTo(2);
    }

    [Test]
    [Arguments(LogLevel.Trace, "trace,debug,info,warn,error")]
    [Arguments(LogLevel.Debug, "debug,info,warn,error")]
    [Arguments(LogLevel.Info, "info,warn,error")]
    [Arguments(LogLevel.Warn, "warn,error")]
    [Arguments(LogLevel.Error, "error")]
    public async Task Lines_below_the_minimum_level_are_dropped(LogLevel minimum, string expected)
    {
        var stdout = new StringWriter();
        using var logger = new Logger(minimum, LogFormat.Json, stdout, clock: new FakeTimeProvider(T0));
        logger.Trace("t");
        logger.Debug("d");
        logger.Info("i");
        logger.Warn("w");
        logger.Error("e");
        var levels = Lines(stdout).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("level").GetString());
        await Assert.That(string.Join(',', levels)).IsEqualTo(expected);
        await Assert.That(logger.IsEnabled(LogLevel.Trace)).IsEqualTo(minimum == LogLevel.Trace);
    }

    [Test]
    public async Task Pretty_format_is_one_readable_line_per_entry()
    {
        var stdout = new StringWriter();
        using var logger = new Logger(LogLevel.Debug, LogFormat.Pretty, stdout, clock: new FakeTimeProvider(T0));
        logger.Info("Manager registered", ("manager_id", "abc-123"), ("count", 3));
        logger.Debug("multi\nline", ("name", "with space"), ("quote", "say \"hi\""), ("empty", ""));
        var lines = Lines(stdout);
        await Assert.That(lines.Length).IsEqualTo(2);
        await Assert.That(lines[0]).IsEqualTo("2026-03-04T05:06:07.890Z INFO  Manager registered manager_id=abc-123 count=3");
        await Assert.That(lines[1]).IsEqualTo("2026-03-04T05:06:07.890Z DEBUG multi\\nline name=\"with space\" quote=\"say \\\"hi\\\"\" empty=\"\"");
    }

    [Test]
    [Arguments("password")]
    [Arguments("registry_password")]
    [Arguments("OPENCTI__TOKEN")]
    [Arguments("api_key")]
    [Arguments("credentials_key")]
    [Arguments("Authorization")]
    public async Task Fields_named_like_secrets_are_masked_in_both_formats(string key)
    {
        var json = new StringWriter();
        var pretty = new StringWriter();
        using (var a = new Logger(LogLevel.Info, LogFormat.Json, json, clock: new FakeTimeProvider(T0))) a.Info("login", (key, "hunter2-secret-value"));
        using (var b = new Logger(LogLevel.Info, LogFormat.Pretty, pretty, clock: new FakeTimeProvider(T0))) b.Info("login", (key, "hunter2-secret-value"));
        await Assert.That(json.ToString()).DoesNotContain("hunter2");
        await Assert.That(pretty.ToString()).DoesNotContain("hunter2");
        await Assert.That(json.ToString()).Contains($"\"{key}\":\"***\"");
    }

    [Test]
    [Arguments("token_ttl")]
    [Arguments("key")]
    [Arguments("connector")]
    public async Task Ordinary_fields_are_not_masked(string key)
    {
        var json = new StringWriter();
        using var logger = new Logger(LogLevel.Info, LogFormat.Json, json, clock: new FakeTimeProvider(T0));
        logger.Info("x", (key, "1800"));
        await Assert.That(json.ToString()).Contains($"\"{key}\":\"1800\"");
    }

    [Test]
    public async Task No_file_is_written_unless_a_directory_is_configured()
    {
        foreach (var directory in new string?[] { null, "", "  ", "false", "FALSE" })
        {
            var stdout = new StringWriter();
            using var logger = FromSettings(new LoggerSettings { Directory = directory }, stdout, new StringWriter());
            logger.Info("hello");
            await Assert.That(logger.FileDirectory).IsNull();
            await Assert.That(stdout.ToString()).Contains("hello");
        }
        await Assert.That(LoggerSetup.ResolveDirectory("true")).IsEqualTo("logs");
        await Assert.That(LoggerSetup.ResolveDirectory(" /var/log/composer ")).IsEqualTo("/var/log/composer");
    }

    [Test]
    public async Task Configured_directory_gets_json_lines_even_when_the_console_is_pretty()
    {
        var dir = Path.Combine(TempDirectory(), "nested", "logs");
        var stdout = new StringWriter();
        var clock = new FakeTimeProvider(T0);
        using (var logger = FromSettings(new LoggerSettings { Format = "pretty", Directory = dir, Level = "debug" }, stdout, new StringWriter(), clock))
        {
            logger.Debug("to both", ("n", 1));
            await Assert.That(logger.FileDirectory).IsEqualTo(dir);
        }
        var file = Path.Combine(dir, "composer-2026-03-04.log");
        var lines = await File.ReadAllLinesAsync(file);
        await Assert.That(lines.Length).IsEqualTo(1);
        using var doc = JsonDocument.Parse(lines[0]);
        await Assert.That(doc.RootElement.GetProperty("message").GetString()).IsEqualTo("to both");
        await Assert.That(stdout.ToString()).StartsWith("2026-03-04T05:06:07.890Z DEBUG to both n=1");
    }

    [Test]
    public async Task Console_false_writes_only_the_file()
    {
        var dir = TempDirectory();
        var stdout = new StringWriter();
        using (var logger = FromSettings(new LoggerSettings { Console = false, Directory = dir }, stdout, new StringWriter(), new FakeTimeProvider(T0)))
        {
            logger.Info("file only");
        }
        await Assert.That(stdout.ToString()).IsEqualTo("");
        await Assert.That(await File.ReadAllTextAsync(Path.Combine(dir, "composer-2026-03-04.log"))).Contains("file only");
    }

    [Test]
    public async Task Neither_console_nor_directory_disables_every_level()
    {
        using var logger = FromSettings(new LoggerSettings { Console = false }, new StringWriter(), new StringWriter());
        await Assert.That(logger.IsEnabled(LogLevel.Error)).IsFalse();
    }

    [Test]
    public async Task Unwritable_directory_falls_back_to_the_console_with_one_stderr_line()
    {
        // A path below a regular file cannot be created, even by root (tests may run as root, which ignores modes).
        var blocker = Path.Combine(TempDirectory(), "not-a-directory");
        await File.WriteAllTextAsync(blocker, "x");
        var dir = Path.Combine(blocker, "logs");
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        using (var logger = new Logger(LogLevel.Info, LogFormat.Json, stdout, dir, new FakeTimeProvider(T0), stderr))
        {
            logger.Info("first");
            logger.Error("second");
            await Assert.That(logger.FileDirectory).IsNull();
        }

        await Assert.That(Lines(stdout).Length).IsEqualTo(2);
        var errors = Lines(stderr);
        await Assert.That(errors.Length).IsEqualTo(1);
        await Assert.That(errors[0]).StartsWith($"composer: cannot write log files in '{dir}'");
        await Assert.That(errors[0]).EndsWith("file logging disabled");
    }

    [Test]
    public async Task Files_roll_daily_and_only_the_newest_five_are_kept()
    {
        var dir = TempDirectory();
        var clock = new FakeTimeProvider(T0);
        using (var logger = new Logger(LogLevel.Info, LogFormat.Json, null, dir, clock, new StringWriter()))
        {
            for (var day = 0; day < 7; day++)
            {
                clock.SetUtcNow(T0.AddDays(day));
                logger.Info("day", ("n", day));
                logger.Info("again", ("n", day));
            }
        }
        var names = Directory.GetFiles(dir).Select(p => Path.GetFileName(p)!).Order(StringComparer.Ordinal).ToArray();
        await Assert.That(names).IsEquivalentTo(new[]
        {
            "composer-2026-03-06.log", "composer-2026-03-07.log", "composer-2026-03-08.log", "composer-2026-03-09.log", "composer-2026-03-10.log",
        });
        await Assert.That((await File.ReadAllLinesAsync(Path.Combine(dir, "composer-2026-03-10.log"))).Length).IsEqualTo(2);
    }

    [Test]
    public async Task Concurrent_writers_produce_whole_lines()
    {
        var stdout = new StringWriter();
        var dir = TempDirectory();
        using (var logger = new Logger(LogLevel.Info, LogFormat.Json, stdout, dir, new FakeTimeProvider(T0), new StringWriter()))
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(t => Task.Run(() =>
            {
                for (var i = 0; i < 500; i++) logger.Info("tick", ("thread", t), ("i", i));
            })));
        }
        foreach (var lines in new[] { Lines(stdout), await File.ReadAllLinesAsync(Path.Combine(dir, "composer-2026-03-04.log")) })
        {
            await Assert.That(lines.Length).IsEqualTo(4000);
            await Assert.That(lines.All(l => JsonDocument.Parse(l).RootElement.GetProperty("message").GetString() == "tick")).IsTrue();
        }
    }

    [Test]
    public async Task Writing_after_dispose_is_ignored()
    {
        var stdout = new StringWriter();
        var logger = new Logger(LogLevel.Info, LogFormat.Json, stdout, TempDirectory(), new FakeTimeProvider(T0), new StringWriter());
        logger.Dispose();
        logger.Info("late");
        await Assert.That(stdout.ToString()).IsEqualTo("");
    }

    [Test]
    [Arguments("TRACE", LogLevel.Trace)]
    [Arguments("Debug", LogLevel.Debug)]
    [Arguments("info", LogLevel.Info)]
    [Arguments("Warn", LogLevel.Warn)]
    [Arguments("error", LogLevel.Error)]
    [Arguments("1", LogLevel.Error)]
    [Arguments("2", LogLevel.Warn)]
    [Arguments("3", LogLevel.Info)]
    [Arguments("4", LogLevel.Debug)]
    [Arguments("5", LogLevel.Trace)]
    public async Task Levels_parse_like_upstream(string text, LogLevel expected)
    {
        // tracing's Level::from_str: names in any case, or 1 (error) to 5 (trace).
        await Assert.That(Logger.TryParseLevel(text, out var level)).IsTrue();
        await Assert.That(level).IsEqualTo(expected);
    }

    [Test]
    [Arguments("warning")]
    [Arguments(" info")]
    [Arguments("0")]
    [Arguments("6")]
    [Arguments("")]
    public async Task Other_level_texts_are_rejected_as_upstream_does(string text)
    {
        await Assert.That(Logger.TryParseLevel(text, out _)).IsFalse();
    }

    [Test]
    [Arguments("json", LogFormat.Json)]
    [Arguments("PRETTY", LogFormat.Pretty)]
    public async Task Formats_parse(string text, LogFormat expected)
    {
        await Assert.That(Logger.TryParseFormat(text, out var format)).IsTrue();
        await Assert.That(format).IsEqualTo(expected);
        await Assert.That(Logger.TryParseFormat("text", out _)).IsFalse();
    }

    [Test]
    public async Task Invalid_level_and_format_are_reported_with_their_key_and_fall_back_to_defaults()
    {
        var settings = new LoggerSettings { Level = "verbose", Format = "xml" };
        var report = TestReport.New();
        var options = LoggerSetup.Resolve(settings, report.Report);
        var problems = report.Errors;
        await Assert.That(problems.Select(p => p.Key).ToArray()).IsEquivalentTo(new[] { "manager.logger.level", "manager.logger.format" });
        // One rule, the configuration's: the message is the one `config validate` prints.
        await Assert.That(problems[0].Message).Contains("\"verbose\"");
        await Assert.That(problems[0].Message).Contains("trace, debug, info, warn, error");
        await Assert.That(problems[1].Message).Contains("json or pretty");

        using var logger = LoggerSetup.Create(options, new StringWriter(), new StringWriter());
        await Assert.That(logger.MinimumLevel).IsEqualTo(LogLevel.Info);
        await Assert.That(logger.Format).IsEqualTo(LogFormat.Json);
        var valid = TestReport.New();
        LoggerSetup.Resolve(new LoggerSettings(), valid.Report);
        await Assert.That(valid.Errors.Count).IsEqualTo(0);
    }
}

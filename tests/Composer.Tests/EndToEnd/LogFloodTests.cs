using System.Globalization;
using System.Text;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd;

/// <summary>
/// Connectors that log without end (issue 14 point 6), end to end with the published binary on the Docker engine: a
/// connector printing long lines with control characters on stdout and stderr without pause gets uploads within
/// manager.logs (lines, bytes, bytes per line; the newest lines; control characters stripped), its container gets
/// bounded engine logs (json-file max-size / max-file) unless the user configured their own, and composer's resident
/// memory stays under 64 MB through the flood.
/// </summary>
[ClassDataSource<TestConnectorImage>(Shared = SharedType.PerTestSession)]
public class LogFloodTests(TestConnectorImage image)
{
    private const long RssLimitKb = 64 * 1024;

    [Test]
    public async Task A_flooding_connector_gets_bounded_uploads_and_engine_logs_and_composer_stays_small()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        var connector = Flooding(manager, "flood");
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start(new Dictionary<string, string>
        {
            ["MANAGER__LOGS__MAX_LINES"] = "80",
            ["MANAGER__LOGS__MAX_BYTES"] = "32768",
            ["MANAGER__LOGS__MAX_LINE_BYTES"] = "2048",
        });
        using var rss = new RssSampler(composer.Pid);

        var container = await manager.WaitForContainerAsync(connector.Id);
        await Assert.That(container.HostConfig!.LogConfig.Type).IsEqualTo("json-file");
        await Assert.That(container.HostConfig.LogConfig.Config).IsEquivalentTo(new Dictionary<string, string> { ["max-size"] = "10m", ["max-file"] = "3" });

        // Ten uploads of the flood (logs_schedule is 1 s): the flood runs for ten seconds at least.
        await manager.StandIn.WaitUntilAsync(s => FloodUploads(s, connector.Id).Count >= 10, TimeSpan.FromSeconds(120), "ten uploads of the flood");
        var uploads = FloodUploads(manager.StandIn, connector.Id);
        foreach (var lines in uploads)
        {
            await Assert.That(lines.Count).IsLessThanOrEqualTo(80);
            await Assert.That(lines.Sum(l => Encoding.UTF8.GetByteCount(l))).IsLessThanOrEqualTo(32768);
            foreach (var line in lines)
            {
                await Assert.That(Encoding.UTF8.GetByteCount(line)).IsLessThanOrEqualTo(2048);
                await Assert.That(line.Any(c => c != '\t' && char.IsControl(c))).IsFalse().Because(line[..Math.Min(60, line.Length)]);
            }
        }
        // 6000-byte lines: each cut, its escape sequences gone, its bad bytes replaced; the byte bound keeps the newest 16.
        var flood = uploads[^1].Where(l => l.StartsWith(TestConnectorImage.FloodLine, StringComparison.Ordinal)).ToList();
        await Assert.That(flood.Count).IsGreaterThan(8);
        await Assert.That(flood[0]).StartsWith("flood red bell  \uFFFD\uFFFDbad-utf8 xxx");
        await Assert.That(flood[0]).EndsWith("…");

        // The engine's copy stays within max-size (10 MB a file) however fast the connector writes.
        var inspected = await manager.Docker.Client.Containers.InspectContainerAsync(container.ID);
        if (File.Exists(inspected.LogPath)) await Assert.That(new FileInfo(inspected.LogPath).Length).IsLessThanOrEqualTo(11L * 1024 * 1024);

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        var (median, max) = rss.Stop();
        await Assert.That(max).IsLessThan(RssLimitKb).Because($"composer's RSS through the flood: median {median} kB, max {max} kB");
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task An_explicit_log_config_is_kept_as_given()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker,
            daemon: $"selector: docker\ndocker:\n  host: {image.Docker.DockerHost}\n  network_mode: none\n  log_driver: json-file\n  log_opts:\n    max-size: 1m\n    max-file: \"2\"\n    compress: \"false\"");
        var connector = manager.NewConnector("explicit-logs", TestConnectorImage.Reference);
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start();

        var container = await manager.WaitForContainerAsync(connector.Id);
        await Assert.That(container.HostConfig!.LogConfig.Type).IsEqualTo("json-file");
        await Assert.That(container.HostConfig.LogConfig.Config)
            .IsEquivalentTo(new Dictionary<string, string> { ["max-size"] = "1m", ["max-file"] = "2", ["compress"] = "false" });

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
    }

    /// <summary>A connector printing 6000-byte lines with escape sequences and bad UTF-8 on stdout and stderr without pause.</summary>
    internal static StandInConnector Flooding(EndToEndManager manager, string suffix)
    {
        var connector = manager.NewConnector(suffix, TestConnectorImage.Reference);
        return connector with
        {
            Configuration =
            [
                new StandInEntry("CONNECTOR_ID", connector.Id), new StandInEntry("FLOOD", "1"), new StandInEntry("FLOOD_CONTROL", "1"),
                new StandInEntry("FLOOD_STDERR", "1"), new StandInEntry("FLOOD_LINE_BYTES", "6000"),
            ],
        };
    }

    /// <summary>The uploads of the connector's log that hold flood lines.</summary>
    internal static List<IReadOnlyList<string>> FloodUploads(PlatformStandIn standIn, string connectorId) =>
        [.. standIn.LogReports.Where(r => r.ConnectorId == connectorId && r.Lines.Any(l => l.StartsWith(TestConnectorImage.FloodLine, StringComparison.Ordinal)))
            .Select(r => r.Lines)];
}

/// <summary>Reads VmRSS of a process every 200 ms until stopped (or the process is gone): its median and maximum in kB.</summary>
internal sealed class RssSampler : IDisposable
{
    private readonly List<long> _samples = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public RssSampler(int pid)
    {
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                if (Read(pid) is { } kb)
                {
                    lock (_samples) _samples.Add(kb);
                }
                try { await Task.Delay(200, _stop.Token); } catch (OperationCanceledException) { }
            }
        });
    }

    public (long Median, long Max) Stop()
    {
        _stop.Cancel();
        _loop.Wait();
        lock (_samples)
        {
            if (_samples.Count == 0) throw new InvalidOperationException("no RSS sample was taken");
            var sorted = _samples.Order().ToList();
            return (sorted[sorted.Count / 2], sorted[^1]);
        }
    }

    private static long? Read(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
            // The process ended.
        }
        return null;
    }

    public void Dispose()
    {
        if (!_stop.IsCancellationRequested) _stop.Cancel();
        _stop.Dispose();
    }
}

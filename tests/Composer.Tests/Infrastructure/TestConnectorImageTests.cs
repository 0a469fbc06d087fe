using Docker.DotNet.Models;

namespace Composer.Tests.Infrastructure;

/// <summary>The stand-in connector image's hostile modes, in the real engine: a crash loop and a log flood.</summary>
[ClassDataSource<TestConnectorImage>(Shared = SharedType.PerTestSession)]
public class TestConnectorImageTests(TestConnectorImage image)
{
    private DockerEngineFixture Docker => image.Docker;

    /// <summary>Starts the connector image detached (unique name, test label, no network); the caller removes it.</summary>
    private async Task<string> StartAsync(string name, Dictionary<string, string> environment, HostConfig hostConfig)
    {
        hostConfig.NetworkMode = "none";
        var created = await Docker.Client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = name,
            Image = TestConnectorImage.Reference,
            Env = [.. environment.Select(kv => $"{kv.Key}={kv.Value}")],
            Labels = new Dictionary<string, string> { ["composer.test"] = "true" },
            HostConfig = hostConfig,
        });
        await Docker.Client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters());
        return created.ID;
    }

    private async Task<(string Stdout, string Stderr)> LogsAsync(string id)
    {
        using var logs = await Docker.Client.Containers.GetContainerLogsAsync(id, new ContainerLogsParameters { ShowStdout = true, ShowStderr = true });
        return await logs.ReadOutputToEndAsync(CancellationToken.None);
    }

    [Test]
    public async Task The_crash_mode_exits_at_once_with_its_code_and_loops_under_unless_stopped()
    {
        image.Require();
        var id = await StartAsync("composer-test-crash-" + Guid.NewGuid().ToString("N")[..8],
            new Dictionary<string, string> { ["CONNECTOR_ID"] = "crasher", ["CRASH_EXIT_CODE"] = "7", ["CRASH_LINES"] = "2" },
            new HostConfig { RestartPolicy = new RestartPolicy { Name = RestartPolicyKind.UnlessStopped } });
        try
        {
            ContainerInspectResponse inspected;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            do
            {
                await Task.Delay(250);
                inspected = await Docker.Client.Containers.InspectContainerAsync(id);
            }
            while ((inspected.RestartCount < 2 || !inspected.State!.Restarting) && DateTime.UtcNow < deadline);

            await Assert.That(inspected.RestartCount).IsGreaterThanOrEqualTo(2).Because("the engine restarts it again and again");
            await Assert.That(inspected.State!.ExitCode).IsEqualTo(7).Because("between two runs the engine shows the last exit");
            var (stdout, stderr) = await LogsAsync(id);
            await Assert.That(stdout).Contains("connector started: crasher\ncrash line 1 of 2\ncrash line 2 of 2\n");
            await Assert.That(stderr).Contains(TestConnectorImage.CrashLine + " 7");
        }
        finally
        {
            await Docker.Client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true });
        }
    }

    [Test]
    public async Task The_flood_mode_logs_long_lines_without_pause_with_control_characters_and_invalid_utf8()
    {
        image.Require();
        // Engine logs bounded here: the flood must not fill the shared engine's disk.
        var id = await StartAsync("composer-test-flood-" + Guid.NewGuid().ToString("N")[..8],
            new Dictionary<string, string> { ["FLOOD"] = "1", ["FLOOD_CONTROL"] = "1", ["FLOOD_LINE_BYTES"] = "2000", ["FLOOD_STDERR"] = "1" },
            new HostConfig { LogConfig = new LogConfig { Type = "json-file", Config = new Dictionary<string, string> { ["max-size"] = "10m", ["max-file"] = "2" } } });
        try
        {
            // Flooding for a while (a loaded engine may take a moment to start it): until the tail shows the flood.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (DateTime.UtcNow < deadline)
            {
                using var tail = await Docker.Client.Containers.GetContainerLogsAsync(id, new ContainerLogsParameters { ShowStdout = true, Tail = "200" });
                var (recent, _) = await tail.ReadOutputToEndAsync(CancellationToken.None);
                if (recent.Split('\n').Count(l => l.StartsWith(TestConnectorImage.FloodLine, StringComparison.Ordinal)) >= 150) break;
                await Task.Delay(200);
            }
            await Docker.Client.Containers.StopContainerAsync(id, new ContainerStopParameters { WaitBeforeKillSeconds = 5 });
            var inspected = await Docker.Client.Containers.InspectContainerAsync(id);
            await Assert.That(inspected.State!.ExitCode).IsEqualTo(0).Because("SIGTERM stops the flood at once");

            var (stdout, stderr) = await LogsAsync(id);
            var lines = stdout.Split('\n');
            var floodLines = lines.Count(l => l.StartsWith(TestConnectorImage.FloodLine, StringComparison.Ordinal));
            await Assert.That(floodLines).IsGreaterThan(100).Because($"the flood gave {floodLines} lines");
            var line = lines.First(l => l.StartsWith(TestConnectorImage.FloodLine, StringComparison.Ordinal));
            await Assert.That(line).Contains("\u001b[31m").And.Contains("\u0007").And.Contains("\u0001");
            await Assert.That(line).Contains("\uFFFD").Because("the bytes 0xFF 0xFE are not UTF-8");
            await Assert.That(stderr.Length).IsGreaterThan(100_000);
        }
        finally
        {
            await Docker.Client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true });
        }
    }
}

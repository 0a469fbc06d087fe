using System.Diagnostics;

namespace Composer.Tests.Infrastructure;

/// <summary>scripts/stack.sh, which .ci/run and demo.sh share: the parts that can run against a scratch file.</summary>
public class StackScriptTests
{
    private static async Task<ProcessResult> RunStackAsync(string script, IReadOnlyDictionary<string, string> environment)
    {
        var psi = new ProcessStartInfo("bash", ["-c", "set -euo pipefail; source scripts/stack.sh; " + script])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepoPaths.Root,
        };
        psi.Environment["STACK_REPO_ROOT"] = RepoPaths.Root;
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }

    [Test]
    public async Task Add_test_hosts_adds_each_listed_name_once_and_keeps_existing_lines()
    {
        var hosts = Path.Combine(Directory.CreateTempSubdirectory("hosts-").FullName, "hosts");
        // An entry already there, and a last line without its newline.
        await File.WriteAllTextAsync(hosts, "127.0.0.1 localhost\n127.0.0.2 target.composer.test");
        var env = new Dictionary<string, string> { ["STACK_HOSTS_FILE"] = hosts };

        var first = await RunStackAsync("add_test_hosts", env);
        var second = await RunStackAsync("add_test_hosts", env);

        await Assert.That(first.ExitCode).IsEqualTo(0).Because(first.ToString());
        await Assert.That(second.ExitCode).IsEqualTo(0).Because(second.ToString());
        await Assert.That(second.Stderr).Contains("hosts: 0 added");
        var lines = (await File.ReadAllLinesAsync(hosts)).Where(l => l.Length > 0).ToArray();
        await Assert.That(lines[0]).IsEqualTo("127.0.0.1 localhost");
        await Assert.That(lines[1]).IsEqualTo("127.0.0.2 target.composer.test");
        foreach (var entry in HostsList.Entries)
        {
            await Assert.That(lines.Count(l => l == $"{entry.Address} {entry.Name}")).IsEqualTo(1);
        }
        await Assert.That(lines.Length).IsEqualTo(1 + HostsList.Entries.Count);
    }

    private const string PassingLog = """
        Running tests from Composer.Tests.dll (net10.0|x64)
        Composer.Tests.dll (net10.0|x64) passed (5s 669ms)
        Test run summary: Passed!
          total: 5
          failed: 0
          succeeded: 5
          skipped: 0
          duration: 6s 008ms
        """;

    [Test]
    [Arguments(PassingLog, 0, "5 passed, 0 failed", 0)]
    [Arguments("Test run summary: Failed!\n  total: 5\n  failed: 2\n  succeeded: 3\n  skipped: 0\n", 2, "3 passed, 2 failed", 1)]
    [Arguments("Test run summary: Passed!\n  total: 5\n  failed: 0\n  succeeded: 4\n  skipped: 1\n", 0, "4 passed, 0 failed, 1 skipped", 0)]
    [Arguments("\u001b[32mTest run summary: Passed!\u001b[0m\n  \u001b[1mtotal:\u001b[0m 7\n  failed: 0\n  succeeded: 7\n  skipped: 0\n", 0, "7 passed, 0 failed", 0)]
    [Arguments("Test run summary: Zero tests ran\n  total: 0\n  failed: 0\n  succeeded: 0\n  skipped: 0\n", 8, "0 passed, 0 failed", 1)]
    [Arguments(PassingLog, 3, "5 passed, 0 failed", 1)]
    [Arguments("error NU1603: restore failed\n", 1, "", 1)]
    public async Task Test_totals_reads_the_testing_platform_summary(string log, int testExitCode, string expectedLine, int expectedExitCode)
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("ci-log-").FullName, "test.log");
        await File.WriteAllTextAsync(file, log);
        var result = await RunStackAsync($"test_totals '{file}' {testExitCode}", new Dictionary<string, string>());
        await Assert.That(result.Stdout.Trim()).IsEqualTo(expectedLine);
        await Assert.That(result.ExitCode).IsEqualTo(expectedExitCode).Because(result.ToString());
        if (expectedLine.Length == 0) await Assert.That(result.Stderr).Contains("no test summary");
    }
}

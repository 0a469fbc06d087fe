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
}

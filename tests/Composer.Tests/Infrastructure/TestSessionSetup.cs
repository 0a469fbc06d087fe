using System.Diagnostics;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// What `dotnet test` does before the first test, so that the README's test command is all a fresh machine needs:
/// the stack (Debian packages, the Docker engine, the test host names; scripts/stack.sh, as root) and a freshly
/// published native binary (out/composer), the thing the binary tests drive. The binary is published again whenever
/// a source file is newer than it, and never reused after a failed publish (it is deleted first).
/// COMPOSER_BINARY (a binary built elsewhere) skips the publish; COMPOSER_TEST_SETUP=0 skips the stack.
/// </summary>
public static class TestSessionSetup
{
    private static string StateDirectory => Path.Combine(RepoPaths.Root, ".state");

    [Before(TestSession)]
    public static async Task PrepareAsync()
    {
        Directory.CreateDirectory(StateDirectory);
        await PrepareStackAsync();
        await PublishAsync();
    }

    private static async Task PrepareStackAsync()
    {
        if (Environment.GetEnvironmentVariable("COMPOSER_TEST_SETUP") == "0") return;
        if (Environment.UserName != "root")
        {
            Say("not root: the stack (packages, Docker engine, /etc/hosts entries) is left as it is; tests that need a missing part skip (or fail under CI=true)");
            return;
        }
        Say("stack: packages, Docker engine, test host names (scripts/stack.sh; log .state/setup.log)");
        var result = await RunAsync("bash", ["-c", "set -euo pipefail; source scripts/stack.sh; install_packages; start_dockerd; add_test_hosts"],
            TimeSpan.FromMinutes(15), "setup.log");
        if (result.ExitCode != 0)
        {
            // Not fatal here: the tests that need the missing part say which (and fail under CI=true).
            Say($"stack set-up failed (exit {result.ExitCode}); last lines:\n{Tail(result.Stderr + result.Stdout, 20)}");
        }
    }

    private static async Task PublishAsync()
    {
        if (Environment.GetEnvironmentVariable("COMPOSER_BINARY") is { Length: > 0 } given)
        {
            Say($"binary: {given} (COMPOSER_BINARY), not published here");
            return;
        }
        var binary = Path.Combine(RepoPaths.Root, "out", "composer");
        if (IsUpToDate(binary))
        {
            Say("binary: out/composer is newer than every source file");
            return;
        }
        Say("binary: publishing out/composer (dotnet publish src/Composer -c Release -o out; log .state/publish.log)");
        if (File.Exists(binary)) File.Delete(binary);
        var result = await RunAsync("dotnet", ["publish", "src/Composer", "-c", "Release", "-o", "out"], TimeSpan.FromMinutes(15), "publish.log");
        if (result.ExitCode != 0 || !File.Exists(binary))
        {
            throw new InvalidOperationException($"dotnet publish failed (exit {result.ExitCode}); the binary tests cannot run. Last lines:\n{Tail(result.Stdout + result.Stderr, 30)}");
        }
    }

    /// <summary>True when the binary exists and no file of src/ or the build settings is newer.</summary>
    private static bool IsUpToDate(string binary)
    {
        if (!File.Exists(binary)) return false;
        var built = File.GetLastWriteTimeUtc(binary);
        var inputs = Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "src"), "*", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Concat(new[] { "Directory.Build.props", "Directory.Packages.props", "global.json" }.Select(f => Path.Combine(RepoPaths.Root, f)));
        return inputs.All(f => !File.Exists(f) || File.GetLastWriteTimeUtc(f) <= built);
    }

    private static async Task<ProcessResult> RunAsync(string executable, string[] args, TimeSpan timeout, string logName)
    {
        var psi = new ProcessStartInfo(executable) { WorkingDirectory = RepoPaths.Root };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["STACK_REPO_ROOT"] = RepoPaths.Root;
        var result = await ProcessRunner.RunAsync(psi, stdin: null, timeout, $"{executable} {string.Join(' ', args)}");
        await File.WriteAllTextAsync(Path.Combine(StateDirectory, logName), result.ToString());
        return result;
    }

    private static string Tail(string text, int lines) => string.Join('\n', text.Split('\n').TakeLast(lines));

    private static void Say(string line) => Console.Error.WriteLine($"[test setup] {line}");
}

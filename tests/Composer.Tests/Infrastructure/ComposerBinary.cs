using System.Diagnostics;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// Runs the published native executable, the way a user does. Published by .ci/run (and by hand with
/// `dotnet publish src/Composer -c Release -o out`); COMPOSER_BINARY overrides the path.
/// </summary>
public static class ComposerBinary
{
    public static string Path { get; } =
        Environment.GetEnvironmentVariable("COMPOSER_BINARY") is { Length: > 0 } p ? p : System.IO.Path.Combine(RepoPaths.Root, "out", "composer");

    public static void EnsurePublished()
    {
        if (!File.Exists(Path))
        {
            throw new InvalidOperationException(
                $"The native binary {Path} does not exist. Publish it first: dotnet publish src/Composer -c Release -o out");
        }
    }

    /// <summary>Runs composer with a clean environment (only what is given plus PATH/HOME), in workingDirectory.</summary>
    public static async Task<ProcessResult> RunAsync(
        IEnumerable<string> args,
        IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null,
        TimeSpan? timeout = null,
        string? stdin = null)
    {
        EnsurePublished();
        return await RunProcessAsync(Path, args, environment, workingDirectory, timeout, stdin);
    }

    /// <summary>
    /// Runs a copy of composer as another user (uid/gid, no supplementary groups, through setpriv), the way a
    /// hardened deployment does (e.g. 65534, nobody). The copy sits in a root-owned read-only directory, so the
    /// repository's permissions do not matter. Needs root and setpriv (util-linux).
    /// </summary>
    public static async Task<ProcessResult> RunAsUserAsync(
        int uid, int gid,
        IEnumerable<string> args,
        IReadOnlyDictionary<string, string>? environment = null,
        string? workingDirectory = null,
        TimeSpan? timeout = null)
    {
        EnsurePublished();
        var setpriv = Requirements.Which("setpriv") ?? throw new InvalidOperationException("setpriv (util-linux) is not installed");
        var copy = CopyForOtherUsers();
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        string[] wrapped = [$"--reuid={uid.ToString(inv)}", $"--regid={gid.ToString(inv)}", "--clear-groups", "--", copy, .. args];
        return await RunProcessAsync(setpriv, wrapped, environment, workingDirectory, timeout, stdin: null);
    }

    /// <summary>
    /// A copy of the published binary in its own directory, both mode 0555 (readable and runnable by anyone), made
    /// once per test session. `cp` writes it, not this process: a child forked here while the copy was open for
    /// writing would keep that descriptor until its exec, and running the copy would then fail with ETXTBSY.
    /// </summary>
    public static string CopyForOtherUsers() => SharedCopy.Value;

    private static readonly Lazy<string> SharedCopy = new(() =>
    {
        EnsurePublished();
        var dir = Directory.CreateTempSubdirectory("composer-bin-").FullName;
        var copy = System.IO.Path.Combine(dir, "composer");
        using (var cp = Process.Start(new ProcessStartInfo("cp", [Path, copy]) { UseShellExecute = false })!)
        {
            cp.WaitForExit();
            if (cp.ExitCode != 0) throw new InvalidOperationException($"cp {Path} {copy} failed with exit code {cp.ExitCode}");
        }
        const UnixFileMode readExecute = UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead
            | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        File.SetUnixFileMode(copy, readExecute);
        File.SetUnixFileMode(dir, readExecute);
        return copy;
    });

    /// <summary>
    /// Starts composer as a long-running process (`composer run`, plain `composer`) with a clean environment (only
    /// what is given plus PATH/HOME), in workingDirectory; the caller stops it (SIGTERM, SIGKILL) and disposes it.
    /// </summary>
    public static ComposerProcess Start(IReadOnlyList<string> args, IReadOnlyDictionary<string, string>? environment, string workingDirectory)
    {
        EnsurePublished();
        return ComposerProcess.Start(CleanStartInfo(Path, args, environment, workingDirectory), $"composer {string.Join(' ', args)}".TrimEnd());
    }

    private static async Task<ProcessResult> RunProcessAsync(
        string executable,
        IEnumerable<string> args,
        IReadOnlyDictionary<string, string>? environment,
        string? workingDirectory,
        TimeSpan? timeout,
        string? stdin)
    {
        var list = args.ToList();
        var psi = CleanStartInfo(executable, list, environment, workingDirectory ?? Directory.CreateTempSubdirectory("composer-run-").FullName);
        return await ProcessRunner.RunAsync(psi, stdin, timeout ?? TimeSpan.FromSeconds(60), $"composer {string.Join(' ', list)}");
    }

    private static ProcessStartInfo CleanStartInfo(string executable, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment,
        string workingDirectory)
    {
        var psi = new ProcessStartInfo(executable) { WorkingDirectory = workingDirectory };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Clear();
        psi.Environment["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin";
        psi.Environment["HOME"] = Environment.GetEnvironmentVariable("HOME") ?? "/root";
        if (environment is not null)
        {
            foreach (var (k, v) in environment) psi.Environment[k] = v;
        }
        return psi;
    }
}

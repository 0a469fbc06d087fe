using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Composer.Soak;

/// <summary>Child processes of the soak: started with their output appended to a log file, signalled by pid.</summary>
internal static class Processes
{
    public const int SigTerm = 15;
    public const int SigKill = 9;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);

    /// <summary>Starts <paramref name="executable"/> through `sh -c exec` so that the pid is the program's own, output appended to <paramref name="log"/>.</summary>
    public static Process Start(string executable, IReadOnlyList<string> args, string log, IReadOnlyDictionary<string, string>? environment = null,
        bool cleanEnvironment = false)
    {
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardInput = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$0\" \"$@\" >>\"$SOAK_LOG\" 2>&1 </dev/null");
        psi.ArgumentList.Add(executable);
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (cleanEnvironment)
        {
            var keep = new[] { "PATH", "HOME" };
            foreach (var key in psi.Environment.Keys.ToList())
            {
                if (!keep.Contains(key)) psi.Environment.Remove(key);
            }
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) psi.Environment[key] = value;
        psi.Environment["SOAK_LOG"] = log;
        return Process.Start(psi) ?? throw new InvalidOperationException($"could not start {executable}");
    }

    public static void Signal(int pid, int signal) => _ = Kill(pid, signal);

    /// <summary>SIGTERM, then SIGKILL after <paramref name="grace"/>; true when it ended within the grace period.</summary>
    public static async Task<bool> StopAsync(Process process, TimeSpan grace)
    {
        if (process.HasExited) return true;
        Signal(process.Id, SigTerm);
        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            Signal(process.Id, SigKill);
            await process.WaitForExitAsync();
            return false;
        }
    }

    /// <summary>Runs a shell command line to completion; throws with its output when it fails.</summary>
    public static async Task<string> ShellAsync(string commandLine, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(commandLine);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) psi.Environment[key] = value;
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start /bin/sh");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`{commandLine}` did not finish within {timeout.TotalSeconds:0} s");
        }
        if (process.ExitCode != 0) throw new InvalidOperationException($"`{commandLine}` exited {process.ExitCode}: {await stderr}{await stdout}");
        return await stdout;
    }
}

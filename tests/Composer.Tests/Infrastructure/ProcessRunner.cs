using System.Diagnostics;

namespace Composer.Tests.Infrastructure;

public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>Runs a command to its end, capturing its output; the one place tests wait for a short-lived process.</summary>
public static class ProcessRunner
{
    /// <summary>
    /// Starts <paramref name="psi"/> (its redirections are set here), writes <paramref name="stdin"/> and closes it,
    /// and collects stdout and stderr. Past <paramref name="timeout"/> the process tree is killed and a
    /// TimeoutException names <paramref name="what"/>.
    /// </summary>
    public static async Task<ProcessResult> RunAsync(ProcessStartInfo psi, string? stdin, TimeSpan timeout, string what)
    {
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.RedirectStandardInput = stdin is not null;
        psi.UseShellExecute = false;
        using var process = Process.Start(psi)!;
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }
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
            throw new TimeoutException($"{what} did not exit in time");
        }
        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }
}

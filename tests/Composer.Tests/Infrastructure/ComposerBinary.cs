using System.Diagnostics;

namespace Composer.Tests.Infrastructure;

public sealed record ProcessResult(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

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
        var psi = new ProcessStartInfo(Path)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Directory.CreateTempSubdirectory("composer-run-").FullName,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment.Clear();
        psi.Environment["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin";
        psi.Environment["HOME"] = Environment.GetEnvironmentVariable("HOME") ?? "/root";
        if (environment is not null)
        {
            foreach (var (k, v) in environment) psi.Environment[k] = v;
        }
        using var process = Process.Start(psi)!;
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"composer {string.Join(' ', args)} did not exit in time");
        }
        return new ProcessResult(process.ExitCode, await stdout, await stderr);
    }
}

using System.Diagnostics;
using System.Text;

namespace Composer.Tests.Infrastructure;

/// <summary>A service started for the tests (registry, proxy, token server ...), killed on dispose.</summary>
public sealed class BackgroundProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    public string Name { get; }

    private BackgroundProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    public bool HasExited => _process.HasExited;

    public static BackgroundProcess Start(string name, string executable, IEnumerable<string> args,
        IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var psi = new ProcessStartInfo(executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (environment is not null)
        {
            foreach (var (k, v) in environment) psi.Environment[k] = v;
        }
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var bp = new BackgroundProcess(name, process);
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (bp._output) bp._output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (bp._output) bp._output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return bp;
    }

    public async Task WaitForPortAsync(string host, int port, TimeSpan? timeout = null) =>
        await FreePort.WaitUntilListeningAsync(host, port, timeout ?? TimeSpan.FromSeconds(30), () => $"{Name} output:\n{Output}");

    public async ValueTask DisposeAsync() => await KillAndDisposeAsync(_process);

    /// <summary>Kills the process tree if it still runs, waits (bounded) for it to go, and disposes it.</summary>
    internal static async Task KillAndDisposeAsync(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException) { }
        catch (TimeoutException) { }
        process.Dispose();
    }
}

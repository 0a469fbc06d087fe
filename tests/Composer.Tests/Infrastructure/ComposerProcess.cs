using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// A long-running composer process (`composer run`), started by <see cref="ComposerBinary.Start"/> with a clean
/// environment: its stdout and stderr captured line by line, waited on without polling (<see cref="WaitForOutputAsync"/>),
/// stopped the way orchestrators stop it (SIGTERM, SIGINT, SIGHUP) or killed (SIGKILL). Killed on dispose if still running.
/// </summary>
public sealed class ComposerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Lock _gate = new();
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ComposerProcess(Process process, string description)
    {
        _process = process;
        Description = description;
    }

    /// <summary>"composer run" and the like, for messages.</summary>
    public string Description { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Stdout { get { lock (_gate) return _stdout.ToString(); } }

    public string Stderr { get { lock (_gate) return _stderr.ToString(); } }

    /// <summary>stdout and stderr interleaved in arrival order.</summary>
    public string Output { get { lock (_gate) return _output.ToString(); } }

    internal static ComposerProcess Start(ProcessStartInfo psi, string description)
    {
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.RedirectStandardInput = false;
        psi.UseShellExecute = false;
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var composer = new ComposerProcess(process, description);
        process.OutputDataReceived += (_, e) => composer.Append(e.Data, composer._stdout, composer._stdoutClosed);
        process.ErrorDataReceived += (_, e) => composer.Append(e.Data, composer._stderr, composer._stderrClosed);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return composer;
    }

    private void Append(string? line, StringBuilder stream, TaskCompletionSource closed)
    {
        if (line is null)
        {
            closed.TrySetResult();
        }
        else
        {
            lock (_gate)
            {
                stream.AppendLine(line);
                _output.AppendLine(line);
            }
        }
        TaskCompletionSource previous;
        lock (_gate)
        {
            previous = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        previous.TrySetResult();
    }

    /// <summary>Waits until the output holds <paramref name="fragment"/>; fails early when the process exits without it.</summary>
    public Task WaitForOutputAsync(string fragment, TimeSpan timeout) =>
        WaitForOutputAsync(o => o.Contains(fragment, StringComparison.Ordinal), timeout, $"output containing '{fragment}'");

    /// <summary>Waits (without polling) until the condition holds on the output so far.</summary>
    public async Task WaitForOutputAsync(Func<string, bool> condition, TimeSpan timeout, string what)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            Task changed;
            lock (_gate) changed = _changed.Task;
            if (condition(Output)) return;
            if (_stdoutClosed.Task.IsCompleted && _stderrClosed.Task.IsCompleted)
            {
                throw new InvalidOperationException($"{Description} exited before {what}; output:\n{Output}");
            }
            try
            {
                await changed.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                if (condition(Output)) return;
                throw new TimeoutException($"{Description}: no {what} within {timeout}; output:\n{Output}");
            }
        }
    }

    /// <summary>Sends SIGTERM (what `docker stop` and Kubernetes send).</summary>
    public Task TerminateAsync() => SignalAsync("TERM");

    /// <summary>Sends SIGINT (Ctrl-C).</summary>
    public Task InterruptAsync() => SignalAsync("INT");

    /// <summary>Sends SIGHUP (the terminal or session went away; some supervisors stop with it).</summary>
    public Task HangUpAsync() => SignalAsync("HUP");

    /// <summary>SIGKILL: no chance to clean up, as with kill -9 or an OOM kill. Waits until the process is gone.</summary>
    public async Task KillAsync()
    {
        if (_process.HasExited) return;
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }

    private async Task SignalAsync(string signal)
    {
        // kill(1) rather than a P/Invoke: the tests stay free of native interop, and this is not a hot path.
        var psi = new ProcessStartInfo("kill", [$"-{signal}", _process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false };
        using var kill = Process.Start(psi)!;
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0 && !_process.HasExited) throw new InvalidOperationException($"kill -{signal} {_process.Id} failed with exit code {kill.ExitCode}");
    }

    /// <summary>Waits for the process to exit and for its output to be read to the end; the exit code. Throws past the timeout.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{Description} (pid {_process.Id}) did not exit within {timeout}; output:\n{Output}");
        }
        // The pipes close when the process (and any child holding them) is gone.
        await Task.WhenAll(_stdoutClosed.Task, _stderrClosed.Task).WaitAsync(TimeSpan.FromSeconds(5));
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync() => await BackgroundProcess.KillAndDisposeAsync(_process);
}

using System.Text.RegularExpressions;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// Which requests a test relay or stand-in holds unanswered (<see cref="DockerApiRelay"/>, <see cref="PortainerStandIn"/>,
/// <see cref="KubernetesStandIn"/>): those whose "METHOD /path" line matches the pattern of the last <see cref="Hold"/>,
/// until <see cref="StopHolding"/> (the held ones stay held until their client goes away) or <see cref="Release"/>
/// (the held ones go on, answered late, as from a slow server). Thread-safe.
/// </summary>
public sealed class RequestHold
{
    private readonly Lock _gate = new();
    private Regex? _pattern;
    private TaskCompletionSource<string> _held = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>From now on, requests matching <paramref name="pattern"/> are held; the task completes with the first one's line.</summary>
    public Task<string> Hold(string pattern)
    {
        lock (_gate)
        {
            _pattern = new Regex(pattern, RegexOptions.CultureInvariant);
            _held = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            return _held.Task;
        }
    }

    /// <summary>Requests are answered again (those held so far stay held until their client goes away).</summary>
    public void StopHolding()
    {
        lock (_gate) _pattern = null;
    }

    /// <summary>Requests are answered again, and so are those held so far (late: a slow answer, nothing else changes).</summary>
    public void Release()
    {
        TaskCompletionSource released;
        lock (_gate)
        {
            _pattern = null;
            released = _released;
            _released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        released.TrySetResult();
    }

    /// <summary>Whether this request is to be held; if so, the waiter of <see cref="Hold"/> learns it.</summary>
    public bool Holds(string line) => Holds(line, out _);

    /// <summary>Whether this request is to be held; if so, the waiter of <see cref="Hold"/> learns it and <paramref name="released"/> completes at its <see cref="Release"/>.</summary>
    public bool Holds(string line, out Task released)
    {
        TaskCompletionSource<string> held;
        lock (_gate)
        {
            released = _released.Task;
            if (_pattern is not { } pattern || !pattern.IsMatch(line)) return false;
            held = _held;
        }
        held.TrySetResult(line);
        return true;
    }

    /// <summary>Waits until the client of a held request goes away (its connection closed: the process was killed).</summary>
    public static async Task UntilAbortedAsync(CancellationToken requestAborted)
    {
        try { await Task.Delay(Timeout.Infinite, requestAborted); }
        catch (OperationCanceledException) { }
    }

    /// <summary>Waits until the held request is released (true: answer it now) or its client went away (false).</summary>
    public static async Task<bool> UntilReleasedAsync(Task released, CancellationToken requestAborted)
    {
        await Task.WhenAny(released, Task.Delay(Timeout.Infinite, requestAborted)).ConfigureAwait(false);
        return released.IsCompleted && !requestAborted.IsCancellationRequested;
    }
}

using System.Text.RegularExpressions;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// Which requests a test relay or stand-in holds unanswered (<see cref="DockerApiRelay"/>, <see cref="PortainerStandIn"/>,
/// <see cref="KubernetesStandIn"/>): those whose "METHOD /path" line matches the pattern of the last <see cref="Hold"/>,
/// until <see cref="StopHolding"/>. Thread-safe.
/// </summary>
public sealed class RequestHold
{
    private readonly Lock _gate = new();
    private Regex? _pattern;
    private TaskCompletionSource<string> _held = new(TaskCreationOptions.RunContinuationsAsynchronously);

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

    /// <summary>Whether this request is to be held; if so, the waiter of <see cref="Hold"/> learns it.</summary>
    public bool Holds(string line)
    {
        TaskCompletionSource<string> held;
        lock (_gate)
        {
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
}

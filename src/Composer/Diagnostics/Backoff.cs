namespace Composer.Diagnostics;

/// <summary>
/// The one backoff rule of every loop that waits after a failure (platform connection, reconcile cycles, a connector's
/// changes): the first delay, doubling per consecutive failure, capped (5 minutes, like the kubelet's
/// ImagePullBackOff), with "equal jitter" (between half the nominal delay and all of it) so that things failing
/// together spread their retries. Written here rather than taken from Polly.Core: Polly's jittered delay generator
/// is internal to its retry strategy, and these retries are later loop turns or later cycles, not a retried call.
/// </summary>
public static class Backoff
{
    /// <param name="failures">Consecutive failures, 1 or more.</param>
    /// <param name="first">The nominal delay after the first failure.</param>
    /// <param name="cap">The longest nominal delay.</param>
    /// <param name="random">A number in [0, 1) (tests pass their own).</param>
    public static TimeSpan Delay(int failures, TimeSpan first, TimeSpan cap, double random)
    {
        if (first <= TimeSpan.Zero) return TimeSpan.Zero;
        var nominal = first;
        for (var i = 1; i < failures && nominal < cap; i++) nominal += nominal;
        if (nominal > cap) nominal = cap;
        return nominal / 2 + nominal / 2 * random;
    }

    /// <summary><see cref="Delay(int, TimeSpan, TimeSpan, double)"/> with a shared random source.</summary>
    public static TimeSpan Delay(int failures, TimeSpan first, TimeSpan cap) => Delay(failures, first, cap, Random.Shared.NextDouble());
}

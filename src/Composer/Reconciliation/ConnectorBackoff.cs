namespace Composer.Reconciliation;

/// <summary>
/// How long a connector's changes are held back after consecutive failures: execute_schedule, doubling, capped
/// (5 minutes, like kubelet's ImagePullBackOff), with "equal jitter" (a delay drawn between half the nominal one and
/// the nominal one) so that connectors failing together (a registry down) spread their retries.
/// Written here rather than taken from Polly.Core: Polly's jittered delay generator is internal to its retry
/// strategy, which retries inside one call, whereas here the retry is a later cycle (the plan is recomputed from
/// observation each time) and only the delay is needed.
/// </summary>
internal static class ConnectorBackoff
{
    /// <param name="failures">Consecutive failures, 1 or more.</param>
    /// <param name="first">The nominal delay after the first failure.</param>
    /// <param name="cap">The longest nominal delay.</param>
    /// <param name="random">A number in [0, 1).</param>
    public static TimeSpan Delay(int failures, TimeSpan first, TimeSpan cap, double random)
    {
        if (first <= TimeSpan.Zero) return TimeSpan.Zero;
        var nominal = first;
        for (var i = 1; i < failures && nominal < cap; i++) nominal += nominal;
        if (nominal > cap) nominal = cap;
        return nominal / 2 + nominal / 2 * random;
    }
}

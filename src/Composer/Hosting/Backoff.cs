namespace Composer.Hosting;

/// <summary>Capped exponential backoff with ±20 % jitter: the pacing of every loop that waits after a failure.</summary>
public static class Backoff
{
    /// <summary><paramref name="first"/> doubled per failure after the first (failure ≥ 1), capped at <paramref name="max"/>, jittered.</summary>
    public static TimeSpan Delay(TimeSpan first, int failure, TimeSpan max)
    {
        var doubled = first.TotalSeconds * Math.Pow(2, Math.Clamp(failure - 1, 0, 30));
        var capped = Math.Min(doubled, max.TotalSeconds);
        return TimeSpan.FromSeconds(capped * (0.8 + Random.Shared.NextDouble() * 0.4));
    }
}

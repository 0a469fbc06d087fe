using System.Collections.Concurrent;

namespace Composer.Hosting;

/// <summary>
/// What /readyz answers: each component the manager needs (a platform, its orchestrator, the manager key) with its
/// last known state. Components register as not ready until their first check succeeds.
/// </summary>
public sealed class ReadinessState
{
    private readonly ConcurrentDictionary<string, string?> _components = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _details = new(StringComparer.Ordinal);

    /// <summary>Declares a component, not ready until <see cref="Ready"/> is called for it.</summary>
    public void Expect(string component, string reason) => _components.TryAdd(component, reason);

    public void Ready(string component) => _components[component] = null;

    /// <summary>Marks a component not ready; <paramref name="reason"/> is shown on /readyz (no secrets).</summary>
    public void NotReady(string component, string reason) => _components[component] = reason;

    /// <summary>What a component does besides being ready or not ("watching events", "polling: why"), shown after its line.</summary>
    public void Detail(string component, string detail) => _details[component] = detail;

    public bool IsReady => !_components.IsEmpty && _components.Values.All(r => r is null);

    /// <summary>One line per component: "ok  opencti platform", "FAIL docker orchestrator: reason", with its detail in brackets.</summary>
    public IReadOnlyList<string> Describe() =>
        _components.OrderBy(c => c.Key, StringComparer.Ordinal)
            .Select(c => (c.Value is null ? $"ok   {c.Key}" : $"FAIL {c.Key}: {c.Value}") + (_details.TryGetValue(c.Key, out var detail) ? $" [{detail}]" : ""))
            .ToList();
}

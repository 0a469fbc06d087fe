namespace Composer.Configuration;

/// <summary>"Did you mean" for unknown keys and environment variables (edit distance over the known names).</summary>
public static class KeySuggestions
{
    public static string UnknownKeyMessage(BindContext ctx, int parentSlot, string key)
    {
        var candidates = new List<string>();
        var slots = ctx.CurrentSlots;
        for (var i = 0; i < slots.Length; i++)
        {
            if (slots[i].Parent != parentSlot || i == parentSlot) continue;
            candidates.Add(slots[i].Key);
        }
        var best = Closest(key, candidates);
        var where = ctx.PathOf(parentSlot);
        var scope = where.Length == 0 ? "at the top level" : $"in {where}";
        if (best is not null) return $"unknown key \"{key}\" {scope}; did you mean \"{best}\"?";
        return $"unknown key \"{key}\" {scope}; known keys: {string.Join(", ", candidates)}";
    }

    public static string UnknownVariableMessage(ConfigSlot[] slots, EnvVar variable)
    {
        var candidates = new List<string>();
        foreach (var s in slots)
        {
            if (s.Kind == SlotKind.Section) continue;
            var env = s.EnvironmentName;
            candidates.Add(env);
            if (s.Secret) candidates.Add(env + "_FILE");
            foreach (var alias in s.Aliases) candidates.Add(alias.Replace(".", "__", StringComparison.Ordinal).ToUpperInvariant());
        }
        var name = variable.Name.ToUpperInvariant();
        var best = Closest(name, candidates);
        var path = string.Join('.', variable.Segments);
        return best is not null
            ? $"unknown setting {path}; did you mean {best}?"
            : $"unknown setting {path}; see 'composer config docs' for the list of variables";
    }

    /// <summary>The closest candidate within a distance proportional to the length, or null.</summary>
    public static string? Closest(string word, IEnumerable<string> candidates)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var c in candidates)
        {
            var d = Distance(word, c);
            if (d < bestDistance)
            {
                best = c;
                bestDistance = d;
            }
        }
        var limit = Math.Max(2, word.Length / 3);
        return bestDistance <= limit ? best : null;
    }

    /// <summary>Optimal string alignment distance (Levenshtein plus adjacent transpositions), case-insensitive.</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1;
                var v = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 2]) && char.ToLowerInvariant(a[i - 2]) == char.ToLowerInvariant(b[j - 1]))
                {
                    v = Math.Min(v, d[i - 2, j - 2] + 1);
                }
                d[i, j] = v;
            }
        }
        return d[a.Length, b.Length];
    }
}

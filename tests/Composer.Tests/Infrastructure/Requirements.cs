namespace Composer.Tests.Infrastructure;

/// <summary>
/// A test whose real component (dockerd, registry, proxy) is missing fails under CI=true and is skipped,
/// loudly, on a developer machine.
/// </summary>
public static class Requirements
{
    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static void Need(bool available, string what)
    {
        if (available) return;
        if (IsCi) throw new InvalidOperationException($"Required test component missing under CI: {what}");
        Console.Error.WriteLine($"SKIPPED (component missing): {what}");
        Skip.Test($"component missing: {what}");
    }

    /// <summary>Full path of an executable on PATH (or the usual sbin folders), or null.</summary>
    public static string? Which(string name)
    {
        var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"]);
        foreach (var d in dirs)
        {
            var p = Path.Combine(d, name);
            if (File.Exists(p)) return p;
        }
        return null;
    }
}

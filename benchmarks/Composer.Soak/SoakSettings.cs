using System.Globalization;

namespace Composer.Soak;

internal sealed class SoakSetupException(string message) : Exception(message);

/// <summary>The soak's knobs, from the environment (see Program.cs).</summary>
internal sealed record SoakSettings(double Minutes, int Seed, int Connectors, int ExecuteSchedule, string Binary, string RepoRoot, bool Keep)
{
    public string? Problem { get; init; }

    public TimeSpan Duration => TimeSpan.FromMinutes(Minutes);

    public static SoakSettings FromEnvironment()
    {
        var repo = FindRepoRoot();
        string? problem = null;
        double Number(string name, double fallback, double min)
        {
            var raw = Environment.GetEnvironmentVariable(name);
            if (string.IsNullOrWhiteSpace(raw)) return fallback;
            if (double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= min) return value;
            problem ??= $"{name}={raw}: expected a number >= {min}";
            return fallback;
        }
        var minutes = Number("SOAK_MINUTES", 10, 0.5);
        var seedText = Environment.GetEnvironmentVariable("SOAK_SEED");
        int seed;
        if (string.IsNullOrWhiteSpace(seedText)) seed = Random.Shared.Next(1, int.MaxValue);
        else if (!int.TryParse(seedText, NumberStyles.Integer, CultureInfo.InvariantCulture, out seed))
        {
            problem ??= $"SOAK_SEED={seedText}: expected an integer";
        }
        var connectors = (int)Number("SOAK_CONNECTORS", 20, 4);
        var schedule = (int)Number("SOAK_EXECUTE_SCHEDULE", 5, 1);
        var binary = Environment.GetEnvironmentVariable("COMPOSER_BINARY") is { Length: > 0 } b ? Path.GetFullPath(b) : Path.Combine(repo ?? ".", "out", "composer");
        if (repo is null) problem ??= "run it from the repository (no Composer.sln above the current directory)";
        else if (!File.Exists(binary)) problem ??= $"{binary} is missing: dotnet publish src/Composer -c Release -o out";
        if (Environment.UserName != "root") problem ??= "needs root (it starts a private dockerd)";
        return new SoakSettings(minutes, seed, connectors, schedule, binary, repo ?? ".", Environment.GetEnvironmentVariable("SOAK_KEEP") == "1")
        {
            Problem = problem,
        };
    }

    private static string? FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Composer.sln"))) return dir.FullName;
        }
        return null;
    }
}

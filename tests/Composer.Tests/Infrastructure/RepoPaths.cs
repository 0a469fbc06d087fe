namespace Composer.Tests.Infrastructure;

public static class RepoPaths
{
    /// <summary>The repository root: the nearest ancestor holding Composer.sln.</summary>
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Composer.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("Composer.sln not found above " + AppContext.BaseDirectory);
    }
}

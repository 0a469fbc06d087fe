using System.Runtime.CompilerServices;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// Small committed snapshots: text compared with Snapshots/&lt;Class&gt;.&lt;Test&gt;.verified.&lt;ext&gt; beside the test
/// file (Verify's layout and names). A mismatch or a missing snapshot fails and writes the text as .received.&lt;ext&gt;
/// (git-ignored) for review; it is accepted by renaming it, or by a run with COMPOSER_UPDATE_SNAPSHOTS=1, which CI
/// (CI set, as .ci/run sets it) refuses: there a snapshot is only ever compared.
/// </summary>
public static class Snapshot
{
    public const string UpdateVariable = "COMPOSER_UPDATE_SNAPSHOTS";

    /// <summary>True on a CI machine: the CI variable is set to anything but empty, false or 0.</summary>
    public static bool OnCi => Environment.GetEnvironmentVariable("CI") is { Length: > 0 } ci
        && !ci.Equals("false", StringComparison.OrdinalIgnoreCase) && ci != "0";

    /// <summary>The folder of a test class's snapshots: Snapshots/ beside its source file (as the compiler saw it).</summary>
    public static string Directory([CallerFilePath] string testFile = "")
    {
        var folder = Path.GetDirectoryName(testFile);
        if (folder is null || !System.IO.Directory.Exists(folder)) throw new InvalidOperationException($"the test source folder of {testFile} is not on this machine");
        return Path.Combine(folder, "Snapshots");
    }

    /// <param name="text">What the test produced; line endings are compared as \n.</param>
    /// <param name="extension">The snapshot file's extension (cs, txt, md...), so editors show it as what it is.</param>
    public static async Task MatchAsync(string text, string extension, [CallerFilePath] string testFile = "", [CallerMemberName] string test = "")
    {
        var directory = Directory(testFile);
        var name = $"{Path.GetFileNameWithoutExtension(testFile)}.{test}";
        var verified = Path.Combine(directory, $"{name}.verified.{extension}");
        var received = Path.Combine(directory, $"{name}.received.{extension}");
        var actual = Normalize(text);
        var expected = File.Exists(verified) ? Normalize(await File.ReadAllTextAsync(verified)) : null;
        if (expected == actual)
        {
            File.Delete(received);
            return;
        }
        if (!OnCi && Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            System.IO.Directory.CreateDirectory(directory);
            await File.WriteAllTextAsync(verified, actual);
            File.Delete(received);
            return;
        }
        System.IO.Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(received, actual);
        var what = expected is null ? "has no snapshot yet" : "differs from its snapshot";
        throw new SnapshotMismatchException(
            $"{name} {what}: compare {Relative(received)} with {Relative(verified)}; if the change is intended, rename the " +
            $".received file to .verified (or run with {UpdateVariable}=1 outside CI) and commit it." +
            (expected is null ? "" : "\n" + FirstDifference(expected, actual)));
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n");

    private static string Relative(string path) => Path.GetRelativePath(RepoPaths.Root, path);

    private static string FirstDifference(string expected, string actual)
    {
        var e = expected.Split('\n');
        var a = actual.Split('\n');
        for (var i = 0; i < Math.Max(e.Length, a.Length); i++)
        {
            var left = i < e.Length ? e[i] : "<end>";
            var right = i < a.Length ? a[i] : "<end>";
            if (left != right) return $"first difference at line {i + 1}:\n  verified: {left}\n  received: {right}";
        }
        return "";
    }
}

public sealed class SnapshotMismatchException(string message) : Exception(message);

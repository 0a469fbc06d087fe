namespace Composer.Tests.Infrastructure;

/// <summary>
/// The test host names of tests/hosts.txt ("&lt;ip&gt; &lt;name&gt;" lines, '#' comments): the one list that
/// .ci/run (scripts/stack.sh add_test_hosts) writes into /etc/hosts and that tests read.
/// </summary>
public static class HostsList
{
    public sealed record Entry(string Address, string Name);

    public static string FilePath => Path.Combine(RepoPaths.Root, "tests", "hosts.txt");

    public static IReadOnlyList<Entry> Entries { get; } = Parse(File.ReadAllLines(FilePath));

    /// <summary>The address a test host name maps to; throws for a name that is not in the list.</summary>
    public static string AddressOf(string name) =>
        Entries.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase))?.Address
        ?? throw new ArgumentException($"{name} is not in {FilePath}", nameof(name));

    internal static IReadOnlyList<Entry> Parse(IEnumerable<string> lines)
    {
        var entries = new List<Entry>();
        foreach (var raw in lines)
        {
            var hash = raw.IndexOf('#');
            var line = (hash >= 0 ? raw[..hash] : raw).Trim();
            if (line.Length == 0) continue;
            var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2) throw new FormatException($"{FilePath}: '{raw}' is not '<ip> <name>'");
            foreach (var name in parts.Skip(1)) entries.Add(new Entry(parts[0], name));
        }
        return entries;
    }
}

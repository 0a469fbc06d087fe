using System.Text;
using System.Text.RegularExpressions;

namespace Composer.Tests.Architecture;

/// <summary>
/// Which folder of src/Composer imports which, read from the source text: <c>using Composer.X</c> (also global, static
/// and aliased), qualified names <c>Composer.X.</c>, and names qualified by a sibling folder alone (<c>Images.Foo</c>
/// works from inside Composer.Network because C# looks names up in the parent namespace too). Comments and string
/// literals are ignored; interpolation holes are code. A folder may import only the folders before it in
/// <see cref="Order"/>; the root (Program.cs) only Cli.
/// </summary>
internal static partial class FolderDependencies
{
    /// <summary>Inner to outer, as docs/architecture.md draws them.</summary>
    public static readonly string[] Order =
        ["Diagnostics", "Configuration", "Network", "Images", "Reconciliation", "Platform", "Orchestration", "Resolution", "Hosting", "Cli"];

    /// <summary>The folder name of files directly under src/Composer.</summary>
    public const string Root = "(root)";

    public sealed record Import(string File, int Line, string From, string To);

    public sealed record Report(IReadOnlyList<Import> Imports, IReadOnlyList<string> Violations);

    /// <param name="files">Path relative to src/Composer ('/'-separated) and text of each source file.</param>
    public static Report Check(IEnumerable<(string Path, string Text)> files)
    {
        var imports = new List<Import>();
        var violations = new List<string>();
        foreach (var (path, text) in files.OrderBy(f => f.Path, StringComparer.Ordinal))
        {
            var slash = path.IndexOf('/');
            var folder = slash < 0 ? Root : path[..slash];
            if (folder != Root && !Order.Contains(folder))
            {
                violations.Add($"{path}: folder {folder} is not in the dependency order (tests/Composer.Tests/Architecture/FolderDependencies.cs)");
                continue;
            }
            var lines = MaskCommentsAndStrings(text).Split('\n');
            for (var n = 0; n < lines.Length; n++)
            {
                var line = lines[n];
                if (NamespaceDeclaration().Match(line) is { Success: true } ns)
                {
                    // A file in another folder's namespace sees that folder's types without any using.
                    var name = ns.Groups["name"].Value;
                    if (folder == Root || (name != "Composer." + folder && !name.StartsWith("Composer." + folder + ".", StringComparison.Ordinal)))
                    {
                        violations.Add($"{path}:{n + 1}: declares namespace {name} in folder {folder}");
                    }
                    continue;
                }
                foreach (var target in Targets(line).Distinct())
                {
                    if (target != folder) imports.Add(new Import(path, n + 1, folder, target));
                }
            }
        }
        foreach (var import in imports)
        {
            if (!Allowed(import.From, import.To))
            {
                violations.Add($"{import.File}:{import.Line}: {import.From} imports {import.To}, which is not inward of it");
            }
        }
        violations.AddRange(Cycles(imports).Select(cycle => "cycle between folders: " + string.Join(" -> ", cycle)));
        return new Report(imports, violations);
    }

    /// <summary>The folders a line of masked code refers to.</summary>
    private static IEnumerable<string> Targets(string line)
    {
        var using_ = UsingDirective().Match(line);
        if (using_.Success) yield return using_.Groups["folder"].Value;
        foreach (Match m in QualifiedName().Matches(line)) yield return m.Groups["folder"].Value;
        foreach (Match m in SiblingQualifiedName().Matches(line)) yield return m.Groups["folder"].Value;
    }

    private static bool Allowed(string from, string to)
    {
        if (from == Root) return to == "Cli";
        var target = Array.IndexOf(Order, to);
        return target >= 0 && target < Array.IndexOf(Order, from);
    }

    /// <summary>
    /// One cycle per group of folders that reach each other (a strongly connected component): the shortest one through
    /// the group's innermost folder. One line per tangle, however many paths it has.
    /// </summary>
    private static List<List<string>> Cycles(List<Import> imports)
    {
        var edges = imports.Select(i => (i.From, i.To)).Distinct().ToLookup(e => e.From, e => e.To);
        var nodes = imports.SelectMany(i => new[] { i.From, i.To }).Distinct().OrderBy(Rank).ThenBy(n => n, StringComparer.Ordinal).ToList();
        var reachable = nodes.ToDictionary(n => n, n => Reachable(n, edges));
        var grouped = new HashSet<string>();
        var cycles = new List<List<string>>();
        foreach (var start in nodes)
        {
            if (grouped.Contains(start) || !reachable[start].Contains(start)) continue;
            grouped.UnionWith(nodes.Where(n => reachable[start].Contains(n) && reachable[n].Contains(start)));
            cycles.Add(ShortestCycle(start, edges));
        }
        return cycles;
    }

    /// <summary>The folders reachable from <paramref name="from"/> in one or more steps.</summary>
    private static HashSet<string> Reachable(string from, ILookup<string, string> edges)
    {
        var seen = new HashSet<string>();
        var queue = new Queue<string>([from]);
        while (queue.TryDequeue(out var node))
        {
            foreach (var next in edges[node])
            {
                if (seen.Add(next)) queue.Enqueue(next);
            }
        }
        return seen;
    }

    private static List<string> ShortestCycle(string start, ILookup<string, string> edges)
    {
        var parent = new Dictionary<string, string>();
        var queue = new Queue<string>([start]);
        while (queue.TryDequeue(out var node))
        {
            foreach (var next in edges[node].OrderBy(Rank).ThenBy(n => n, StringComparer.Ordinal))
            {
                if (next == start)
                {
                    var path = new List<string> { start };
                    for (var at = node; at != start; at = parent[at]) path.Insert(1, at);
                    path.Add(start);
                    return path;
                }
                if (parent.TryAdd(next, node)) queue.Enqueue(next);
            }
        }
        throw new InvalidOperationException($"{start} is on no cycle");
    }

    private static int Rank(string folder) => folder == Root ? int.MaxValue : Array.IndexOf(Order, folder) is var i and >= 0 ? i : Order.Length;

    /// <summary>
    /// The text with comments and the content of string and character literals replaced by spaces (line breaks kept,
    /// so line numbers hold); the code inside interpolation holes is kept.
    /// </summary>
    public static string MaskCommentsAndStrings(string source)
    {
        var masked = new StringBuilder(source);
        var i = 0;
        MaskCode(source, masked, ref i, inHole: false);
        return masked.ToString();
    }

    /// <summary>Code from <paramref name="i"/> to the end, or to the '}' that closes an interpolation hole.</summary>
    private static void MaskCode(string s, StringBuilder o, ref int i, bool inHole)
    {
        var depth = 0;
        while (i < s.Length)
        {
            var c = s[i];
            if (c == '/' && At(s, i + 1) == '/')
            {
                while (i < s.Length && s[i] != '\n') Blank(o, i++);
            }
            else if (c == '/' && At(s, i + 1) == '*')
            {
                var end = s.IndexOf("*/", i + 2, StringComparison.Ordinal);
                end = end < 0 ? s.Length : end + 2;
                while (i < end) Blank(o, i++);
            }
            else if (c == '\'')
            {
                i++;
                while (i < s.Length && s[i] != '\'' && s[i] != '\n')
                {
                    if (s[i] == '\\') Blank(o, i++);
                    if (i < s.Length) Blank(o, i++);
                }
                i++;
            }
            else if (StringStart(s, i) is { } prefix)
            {
                i += prefix.Length;
                MaskString(s, o, ref i, prefix);
            }
            else
            {
                if (inHole && c == '{') depth++;
                else if (inHole && c == '}' && depth-- == 0) return;
                i++;
            }
        }
    }

    /// <summary>The prefix of a string literal starting at <paramref name="i"/> ($, @, $$, @$...), up to its first quote; else null.</summary>
    private static string? StringStart(string s, int i)
    {
        var j = i;
        while (j < s.Length && s[j] is '$' or '@') j++;
        if (j >= s.Length || s[j] != '"') return null;
        // A prefix glued to an identifier is not one (never valid C# anyway, but keeps the scan honest).
        if (j > i && i > 0 && (char.IsLetterOrDigit(s[i - 1]) || s[i - 1] == '_')) return null;
        return s[i..j];
    }

    /// <summary>Masks a string literal whose prefix was read; <paramref name="i"/> is at its first quote.</summary>
    private static void MaskString(string s, StringBuilder o, ref int i, string prefix)
    {
        var dollars = prefix.Count(ch => ch == '$');
        var verbatim = prefix.Contains('@');
        var quotes = 0;
        while (At(s, i + quotes) == '"') quotes++;
        if (quotes >= 3)
        {
            // Raw string: ends at as many quotes as opened it; holes open with as many braces as there are '$'.
            i += quotes;
            var closing = new string('"', quotes);
            while (i < s.Length && string.CompareOrdinal(s, i, closing, 0, quotes) != 0)
            {
                if (dollars > 0 && Repeats(s, i, '{', dollars) && !Repeats(s, i, '{', dollars + 1))
                {
                    i += dollars;
                    MaskCode(s, o, ref i, inHole: true);
                    i++;
                    continue;
                }
                Blank(o, i++);
            }
            i += quotes;
            return;
        }
        i++; // opening quote
        while (i < s.Length)
        {
            var c = s[i];
            if (c == '"')
            {
                if (verbatim && At(s, i + 1) == '"')
                {
                    Blank(o, i++);
                    Blank(o, i++);
                    continue;
                }
                i++;
                return;
            }
            if (!verbatim && c == '\\')
            {
                Blank(o, i++);
                if (i < s.Length) Blank(o, i++);
                continue;
            }
            if (dollars > 0 && c == '{')
            {
                if (At(s, i + 1) == '{')
                {
                    Blank(o, i++);
                    Blank(o, i++);
                    continue;
                }
                i++;
                MaskCode(s, o, ref i, inHole: true);
                i++;
                continue;
            }
            if (c == '\n' && !verbatim) return; // an unterminated literal: stop at the line's end
            Blank(o, i++);
        }
    }

    private static bool Repeats(string s, int i, char c, int count)
    {
        for (var k = 0; k < count; k++)
        {
            if (At(s, i + k) != c) return false;
        }
        return true;
    }

    private static char At(string s, int i) => i < s.Length ? s[i] : '\0';

    private static void Blank(StringBuilder o, int i)
    {
        if (o[i] != '\n' && o[i] != '\r') o[i] = ' ';
    }

    [GeneratedRegex(@"^\s*namespace\s+(?<name>[\w.]+)")]
    private static partial Regex NamespaceDeclaration();

    [GeneratedRegex(@"^\s*(?:global\s+)?using\s+(?:static\s+)?(?:\w+\s*=\s*)?(?:global::)?Composer\.(?<folder>\w+)")]
    private static partial Regex UsingDirective();

    [GeneratedRegex(@"(?<![\w.])(?:global::)?Composer\s*\.\s*(?<folder>\w+)\s*\.")]
    private static partial Regex QualifiedName();

    [GeneratedRegex(@"(?<![\w.:])(?<folder>Diagnostics|Configuration|Network|Images|Reconciliation|Platform|Orchestration|Resolution|Hosting|Cli)\s*\.\s*[A-Z]")]
    private static partial Regex SiblingQualifiedName();
}

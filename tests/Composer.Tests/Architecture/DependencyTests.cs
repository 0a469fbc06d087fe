using Composer.Tests.Infrastructure;

namespace Composer.Tests.Architecture;

/// <summary>
/// The folders of src/Composer import only inward (docs/architecture.md): Diagnostics, Configuration, Network, Images,
/// Reconciliation, Platform, Orchestration, Resolution, Hosting, Cli; no cycle between folders.
/// </summary>
public class DependencyTests
{
    private static IEnumerable<(string Path, string Text)> SourceFiles()
    {
        var root = Path.Combine(RepoPaths.Root, "src", "Composer");
        foreach (var file in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, file).Replace(Path.DirectorySeparatorChar, '/');
            if (relative.StartsWith("obj/", StringComparison.Ordinal) || relative.StartsWith("bin/", StringComparison.Ordinal)) continue;
            yield return (relative, File.ReadAllText(file));
        }
    }

    [Test]
    public async Task Every_folder_imports_only_folders_inward_of_it_and_none_forms_a_cycle()
    {
        var files = SourceFiles().ToList();
        var report = FolderDependencies.Check(files);

        await Assert.That(report.Violations).IsEmpty().Because(string.Join("\n", report.Violations));
        // The scan read the tree: every folder of the order is there, and the imports it found are the real ones.
        await Assert.That(files.Select(f => f.Path.Split('/')[0]).Distinct()).Contains("Reconciliation");
        await Assert.That(report.Imports).Contains(new FolderDependencies.Import("Program.cs", 1, FolderDependencies.Root, "Cli"));
    }

    [Test]
    public async Task The_checker_names_each_import_against_the_order_and_each_cycle()
    {
        (string, string)[] sample =
        [
            ("Diagnostics/Log.cs", """
                using Composer.Hosting;

                namespace Composer.Diagnostics;
                """),
            ("Hosting/Loop.cs", """
                using Composer.Diagnostics;
                using Composer.Network;
                using Composer.Reconciliation;

                namespace Composer.Hosting;
                """),
            ("Network/Proxy.cs", """
                namespace Composer.Network;

                internal sealed class Proxy
                {
                    // Hosting.Logger in a comment is no import, nor "Cli.Commands" in a string.
                    private readonly string _text = "Cli.Commands";
                    private readonly object _image = Images.ImageName.Parse("x");
                    private readonly string _hole = $"version {Composer.Hosting.Build.Version} ({@"Orchestration.X"})";
                }
                """),
            ("Images/Preflight.cs", """
                global using static Composer.Resolution.Settings;
                namespace Composer.Hosting;
                """),
            ("Program.cs", """
                using Composer.Hosting;
                """),
        ];

        var report = FolderDependencies.Check(sample);

        await Assert.That(report.Violations).IsEquivalentTo(new[]
        {
            "Diagnostics/Log.cs:1: Diagnostics imports Hosting, which is not inward of it",
            "Images/Preflight.cs:1: Images imports Resolution, which is not inward of it",
            "Images/Preflight.cs:2: declares namespace Composer.Hosting in folder Images",
            "Network/Proxy.cs:7: Network imports Images, which is not inward of it",
            "Network/Proxy.cs:8: Network imports Hosting, which is not inward of it",
            "Program.cs:1: (root) imports Hosting, which is not inward of it",
            // Diagnostics, Hosting and Network reach each other (Network -> Hosting -> Network too): one line for the tangle.
            "cycle between folders: Diagnostics -> Hosting -> Diagnostics",
        });
    }

    [Test]
    public async Task Inward_imports_member_access_and_system_namespaces_are_not_violations()
    {
        (string, string)[] sample =
        [
            ("Hosting/Runtime.cs", """
                using System.Diagnostics;
                using Composer.Orchestration.Docker;
                using Composer.Resolution;

                namespace Composer.Hosting;

                internal sealed class Runtime
                {
                    private string Section(Runtime runtime) => runtime.Platform.Section + System.Diagnostics.Stopwatch.Frequency;
                    private object Swarm() => Orchestration.Swarm.SwarmOrchestrator.Kind;
                    private char Quote => '"';
                    private string Text => "\" Cli.X";
                }
                """),
            ("Platform/OpenAev/Json.cs", """
                namespace Composer.Platform.OpenAev;
                """),
        ];

        var report = FolderDependencies.Check(sample);

        await Assert.That(report.Violations).IsEmpty().Because(string.Join("\n", report.Violations));
        await Assert.That(report.Imports.Select(i => (i.Line, i.To))).IsEquivalentTo(new[] { (2, "Orchestration"), (3, "Resolution"), (10, "Orchestration") });
    }

    [Test]
    public async Task A_folder_outside_the_order_is_reported()
    {
        var report = FolderDependencies.Check([("Plugins/Plugin.cs", "namespace Composer.Plugins;")]);

        await Assert.That(report.Violations.Single()).StartsWith("Plugins/Plugin.cs: folder Plugins is not in the dependency order");
    }
}

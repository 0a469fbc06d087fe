using Composer.Cli;
using Composer.Diagnostics;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Hosting;

/// <summary>
/// The published binary as hardened deployments run it: a non-root user (65534, nobody), a working directory
/// and HOME it cannot write, and (in a container) a read-only root filesystem. It must work and write nothing.
/// </summary>
public class ReadOnlyNonRootTests
{
    private const int Nobody = 65534;

    /// <summary>A root-owned directory with one file, mode 0555: nobody can read it but not write it.</summary>
    private static string ReadOnlyDirectory()
    {
        var dir = Directory.CreateTempSubdirectory("composer-ro-").FullName;
        File.WriteAllText(Path.Combine(dir, "marker"), "x");
        File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead
            | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return dir;
    }

    private static void NeedRootAndSetpriv() =>
        Requirements.Need(Environment.UserName == "root" && Requirements.Which("setpriv") is not null,
            "root and setpriv (util-linux), to run the binary as uid 65534");

    private static Dictionary<string, string> HardenedEnvironment(string dir) => new()
    {
        ["HOME"] = dir,
        ["TMPDIR"] = dir,
        ["COMPOSER_CONFIG_DIR"] = dir,
    };

    private static Task<ProcessResult> RunAsNobodyAsync(string dir, params string[] args) =>
        ComposerBinary.RunAsUserAsync(Nobody, Nobody, args, HardenedEnvironment(dir), dir);

    [Test]
    public async Task Setpriv_really_drops_to_uid_65534()
    {
        NeedRootAndSetpriv();
        // The harness itself: if setpriv did not change the user, the tests below would prove nothing.
        var dir = ReadOnlyDirectory();
        var probe = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(Requirements.Which("setpriv")!,
            ["--reuid=65534", "--regid=65534", "--clear-groups", "--", "sh", "-c", $"id -u; touch {dir}/w 2>/dev/null && echo wrote || echo refused"])
        { RedirectStandardOutput = true })!;
        var output = await probe.StandardOutput.ReadToEndAsync();
        await probe.WaitForExitAsync();
        await Assert.That(output.Split('\n', StringSplitOptions.RemoveEmptyEntries)).IsEquivalentTo(new[] { "65534", "refused" });
    }

    [Test]
    public async Task Version_works_as_nobody_in_a_read_only_working_directory()
    {
        NeedRootAndSetpriv();
        var dir = ReadOnlyDirectory();
        var result = await RunAsNobodyAsync(dir, "--version");
        await Assert.That(result.ExitCode).IsEqualTo(0).Because(result.ToString());
        await Assert.That(result.Stdout.Trim()).IsEqualTo(BuildInfo.Version);
        await Assert.That(result.Stderr).IsEqualTo("");
        await Assert.That(Directory.GetFileSystemEntries(dir).Select(p => Path.GetFileName(p)!).ToArray()).IsEquivalentTo(new[] { "marker" });
    }

    [Test]
    public async Task Help_and_usage_errors_work_as_nobody_in_a_read_only_working_directory()
    {
        NeedRootAndSetpriv();
        var dir = ReadOnlyDirectory();
        var help = await RunAsNobodyAsync(dir, "--help");
        await Assert.That(help.ExitCode).IsEqualTo(0).Because(help.ToString());
        await Assert.That(help.Stdout).Contains("Usage:");

        var wrong = await RunAsNobodyAsync(dir, "no-such-command");
        await Assert.That(wrong.ExitCode).IsEqualTo(ExitCodes.ConfigurationError).Because(wrong.ToString());
        await Assert.That(wrong.Stderr).Contains("no-such-command");
        await Assert.That(wrong.Stderr).DoesNotContain("   at ");
        await Assert.That(Directory.GetFileSystemEntries(dir).Select(p => Path.GetFileName(p)!).ToArray()).IsEquivalentTo(new[] { "marker" });
    }
}

/// <summary>The static binary inside a container: empty busybox rootfs, read-only root filesystem, user 65534, no network.</summary>
[ClassDataSource<TestImage>(Shared = SharedType.PerTestSession)]
public class ReadOnlyRootFilesystemContainerTests(TestImage image)
{
    private static ContainerRunOptions Hardened(string binaryDirectory) => new()
    {
        User = "65534:65534",
        ReadOnlyRootFilesystem = true,
        NetworkMode = "none",
        Binds = [$"{binaryDirectory}:/opt/composer:ro"],
        WorkingDirectory = "/",
        Environment = new Dictionary<string, string> { ["HOME"] = "/nonexistent" },
    };

    /// <summary>Runs a command in the hardened container; the published binary is at /opt/composer/composer.</summary>
    private Task<ProcessResult> RunHardenedAsync(params string[] command)
    {
        image.Require();
        var binary = ComposerBinary.CopyForOtherUsers();
        return image.Docker.RunContainerAsync(TestImage.Reference, command, Hardened(Path.GetDirectoryName(binary)!));
    }

    [Test]
    public async Task Version_runs_in_a_read_only_container_as_nobody()
    {
        var result = await RunHardenedAsync("/opt/composer/composer", "--version");
        await Assert.That(result.ExitCode).IsEqualTo(0).Because(result.ToString());
        await Assert.That(result.Stdout.Trim()).IsEqualTo(BuildInfo.Version);
    }

    [Test]
    public async Task The_container_really_is_read_only_and_unprivileged()
    {
        // The harness itself: the same options must refuse writes to / and /tmp, and run as 65534.
        var result = await RunHardenedAsync(
            "sh", "-c", "echo uid=$(busybox id -u); busybox touch /tmp/x 2>/dev/null && echo tmp-writable; busybox touch /x 2>/dev/null && echo root-writable; echo done");
        await Assert.That(result.ExitCode).IsEqualTo(0).Because(result.ToString());
        await Assert.That(result.Stdout).DoesNotContain("writable");
        await Assert.That(result.Stdout).Contains("uid=65534");
        await Assert.That(result.Stdout).Contains("done");
    }

    [Test]
    public async Task Usage_error_in_a_read_only_container_exits_2_without_a_stack_trace()
    {
        var result = await RunHardenedAsync("/opt/composer/composer", "no-such-command");
        await Assert.That(result.ExitCode).IsEqualTo(2).Because(result.ToString());
        await Assert.That(result.Stderr).Contains("no-such-command");
        await Assert.That(result.Stderr).DoesNotContain("   at ");
    }
}

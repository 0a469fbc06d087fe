using Composer.Diagnostics;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Cli;

public class BinaryBasicsTests
{
    [Test]
    public async Task Version_prints_the_assembly_version_and_exits_zero()
    {
        var result = await ComposerBinary.RunAsync(["--version"]);
        await Assert.That(result.ExitCode).IsEqualTo(0);
        await Assert.That(result.Stdout.Trim()).IsEqualTo(BuildInfo.Version);
    }

    [Test]
    public async Task Help_lists_usage_and_exits_zero()
    {
        var result = await ComposerBinary.RunAsync(["--help"]);
        await Assert.That(result.ExitCode).IsEqualTo(0);
        await Assert.That(result.Stdout).Contains("Usage:");
        await Assert.That(result.Stdout).Contains("--config-dir");
    }

    [Test]
    public async Task Unknown_command_is_a_usage_error_with_exit_code_2()
    {
        var result = await ComposerBinary.RunAsync(["no-such-command"]);
        await Assert.That(result.ExitCode).IsEqualTo(2);
        await Assert.That(result.Stderr).Contains("no-such-command");
    }

    [Test]
    public async Task Unknown_option_is_a_usage_error_on_stderr_only()
    {
        var result = await ComposerBinary.RunAsync(["--no-such-option"]);
        await Assert.That(result.ExitCode).IsEqualTo(2);
        await Assert.That(result.Stderr).Contains("--no-such-option");
        await Assert.That(result.Stderr).Contains("composer --help");
        await Assert.That(result.Stderr).DoesNotContain("   at ");
        await Assert.That(result.Stdout).IsEqualTo("");
    }

    [Test]
    public async Task No_command_at_all_runs_the_manager_as_the_rust_binary_does()
    {
        // Here without a manager key: the run refuses to start, naming the key, instead of printing usage.
        var result = await ComposerBinary.RunAsync([]);
        await Assert.That(result.ExitCode).IsEqualTo(2);
        await Assert.That(result.Stderr).Contains("manager.credentials_key");
        await Assert.That(result.Stderr).DoesNotContain("Required command was not provided");
    }

    [Test]
    public async Task Version_has_no_build_metadata_suffix()
    {
        var result = await ComposerBinary.RunAsync(["--version"]);
        await Assert.That(result.Stdout.Trim()).Matches(@"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$");
    }

    [Test]
    public async Task The_binary_is_a_single_native_file()
    {
        ComposerBinary.EnsurePublished();
        var dir = Path.GetDirectoryName(ComposerBinary.Path)!;
        // No managed assemblies next to it: it is the native AOT image, not a framework-dependent apphost.
        await Assert.That(File.Exists(Path.Combine(dir, "composer.dll"))).IsFalse();
        var header = new byte[4];
        await using (var f = File.OpenRead(ComposerBinary.Path)) { await f.ReadExactlyAsync(header); }
        await Assert.That(header).IsEquivalentTo(new byte[] { 0x7f, (byte)'E', (byte)'L', (byte)'F' });
    }

    [Test]
    public async Task The_binary_is_statically_linked()
    {
        // No program interpreter (ld-linux): it runs in an empty (distroless, scratch) image.
        ComposerBinary.EnsurePublished();
        await Assert.That(TestImage.IsStaticExecutable(ComposerBinary.Path)).IsTrue();
        await Assert.That(TestImage.IsStaticExecutable("/bin/ls")).IsFalse();
    }
}

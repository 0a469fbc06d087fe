using System.Formats.Tar;
using System.Text;
using Docker.DotNet.Models;
using TUnit.Core.Interfaces;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// A stand-in connector image, built locally on top of the busybox <see cref="TestImage"/> (one layer adding
/// /bin/connector, committed with CMD ["/bin/connector"]): it prints <see cref="StartLine"/> with the value of
/// CONNECTOR_ID, then <see cref="CaPresentLine"/> or <see cref="CaMissingLine"/> for the file at
/// /etc/ssl/certs/composer-ca-bundle.pem, then <see cref="StderrLine"/> on stderr, then "tick 1", "tick 2", ... one per
/// TICK_SECONDS (default 1). With EXIT_AFTER=n it exits with code 1 after tick n (for restart counts). SIGTERM ends it
/// within a tick, printing <see cref="StopLine"/>. Two more modes, chosen by the contract's environment:
/// CRASH_EXIT_CODE=n prints the start line, CRASH_LINES (default 3) lines "crash line i of n" and
/// <see cref="CrashLine"/> on stderr, then exits with code n at once (with restart policy unless-stopped it
/// crash-loops); FLOOD=1 prints the start line, then one line of FLOOD_LINE_BYTES (default 1000) again and again
/// without pause until stopped (FLOOD_CONTROL=1: with escape sequences, BEL, CR, other control characters and invalid
/// UTF-8 bytes; FLOOD_STDERR=1: on stderr too). Push it into a registry with <see cref="PushToAsync"/>.
/// Inject with [ClassDataSource&lt;TestConnectorImage&gt;(Shared = SharedType.PerTestSession)]; call <see cref="Require"/> first.
/// </summary>
public sealed class TestConnectorImage : IAsyncInitializer
{
    public const string Repository = "composer-test/connector";
    /// <summary>Moves with <see cref="Recipe"/>: branches sharing the engine build their own recipe under their own tag instead of fighting over one.</summary>
    public const string Tag = "2";
    public const string Reference = Repository + ":" + Tag;

    /// <summary>Bump when the script changes: an image under <see cref="Reference"/> with another value is rebuilt.</summary>
    public const string RecipeLabel = "composer-test.connector";
    public const string Recipe = "2";

    public const string StartLine = "connector started";
    public const string CaPresentLine = "ca bundle: present";
    public const string CaMissingLine = "ca bundle: missing";
    public const string StderrLine = "connector stderr ready";
    public const string StopLine = "connector stopping";
    public const string CrashLine = "connector crashing with exit code";
    public const string FloodLine = "flood ";
    public const string CaBundlePath = "/etc/ssl/certs/composer-ca-bundle.pem";

    /// <summary>The connector script, shared with the demo's image builder (scripts/stack.sh).</summary>
    private static readonly string ScriptPath = Path.Combine(RepoPaths.Root, "tests", "images", "connector.sh");

    [ClassDataSource<TestImage>(Shared = SharedType.PerTestSession)]
    public required TestImage Base { get; init; }

    public DockerEngineFixture Docker => Base.Docker;

    /// <summary>The image id (sha256:...) in the engine.</summary>
    public string Id { get; private set; } = "";

    public bool IsAvailable { get; private set; }
    public string UnavailableReason { get; private set; } = "not initialised";

    public void Require()
    {
        Base.Require();
        Requirements.Need(IsAvailable, $"the test connector image ({UnavailableReason})");
    }

    public async Task InitializeAsync()
    {
        if (!Base.IsAvailable)
        {
            UnavailableReason = Base.UnavailableReason;
            return;
        }
        if (await TestImage.TryInspectAsync(Docker, Reference, RecipeLabel) is not { } existing || existing.Recipe != Recipe)
        {
            await BuildAsync();
        }
        Id = (await TestImage.TryInspectAsync(Docker, Reference, RecipeLabel))?.Id
             ?? throw new InvalidOperationException($"{Reference} is not in the engine after its build");
        IsAvailable = true;
    }

    /// <summary>Copies the script into a container of the base image and commits it: no builder, no network.</summary>
    private async Task BuildAsync()
    {
        var container = await Docker.Client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = TestImage.Reference,
            Labels = new Dictionary<string, string> { ["composer.test"] = "true" },
            HostConfig = new HostConfig { NetworkMode = "none" },
        });
        try
        {
            using var archive = new MemoryStream();
            await using (var tar = new TarWriter(archive, TarEntryFormat.Ustar, leaveOpen: true))
            {
                using var script = new MemoryStream(Encoding.UTF8.GetBytes((await File.ReadAllTextAsync(ScriptPath)).ReplaceLineEndings("\n")));
                await tar.WriteEntryAsync(new UstarTarEntry(TarEntryType.RegularFile, "bin/connector")
                {
                    Mode = (UnixFileMode)0b111_101_101, // 0755
                    DataStream = script,
                });
            }
            archive.Position = 0;
            await Docker.Client.Containers.ExtractArchiveToContainerAsync(container.ID, new CopyToContainerParameters { Path = "/" }, archive);
            await Docker.Client.Images.CommitContainerChangesAsync(new CommitContainerChangesParameters
            {
                ContainerID = container.ID,
                RepositoryName = Repository,
                Tag = Tag,
                Changes = ["CMD [\"/bin/connector\"]", $"LABEL {RecipeLabel}={Recipe}"],
            });
        }
        finally
        {
            await Docker.Client.Containers.RemoveContainerAsync(container.ID, new ContainerRemoveParameters { Force = true });
        }
    }

    /// <summary>
    /// Tags the image as &lt;registryHostPort&gt;/&lt;repository&gt;:&lt;tag&gt; and pushes it through the engine with the
    /// given credentials (null for an open registry); returns that reference. The local tag stays: remove it to make a
    /// deploy really pull.
    /// </summary>
    /// <summary>
    /// Pushes the image into the htpasswd registry as &lt;repository&gt;:1.0 and removes that local tag, so that a deploy
    /// must pull it; returns "&lt;repository&gt;:1.0" (without the registry: the prefix adds it). The caller removes the
    /// pulled tag again (<paramref name="removeOnDispose"/>).
    /// </summary>
    public async Task<string> PushToRegistryOnlyAsync(HtpasswdRegistryFixture registry, string repository, Action<string> removeOnDispose)
    {
        var reference = await PushToAsync(registry.Host, HtpasswdRegistryFixture.User, HtpasswdRegistryFixture.Password, repository, "1.0");
        await Docker.Client.Images.DeleteImageAsync(reference, new ImageDeleteParameters());
        removeOnDispose(reference);
        return $"{repository}:1.0";
    }

    public Task<string> PushToAsync(string registryHostPort, string? username, string? password, string repository, string tag,
        CancellationToken cancellationToken = default)
    {
        Require();
        return TestImage.PushAsync(Docker, Reference, registryHostPort, username, password, repository, tag, cancellationToken);
    }
}

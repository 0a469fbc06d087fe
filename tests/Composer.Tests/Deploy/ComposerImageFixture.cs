using System.Diagnostics;
using Composer.Diagnostics;
using Composer.Tests.Infrastructure;
using TUnit.Core.Interfaces;

namespace Composer.Tests.Deploy;

/// <summary>
/// The Composer container image as a release builds it: deploy/image-context.sh prepares the context from the
/// published binary, `docker build` makes the FROM scratch image of deploy/Dockerfile (nothing pulled). Tagged
/// uniquely for the session and removed after it.
/// </summary>
public sealed class ComposerImageFixture : IAsyncInitializer, IAsyncDisposable
{
    [ClassDataSource<DockerEngineFixture>(Shared = SharedType.PerTestSession)]
    public required DockerEngineFixture Docker { get; init; }

    public string Tag { get; } = $"composer-test/composer-image:{Guid.NewGuid().ToString("N")[..10]}";

    public string ContextDirectory { get; private set; } = "";

    public bool IsAvailable { get; private set; }
    public string UnavailableReason { get; private set; } = "not initialised";

    public void Require()
    {
        Docker.Require();
        Requirements.Need(IsAvailable, $"the Composer image ({UnavailableReason})");
    }

    public async Task InitializeAsync()
    {
        if (!Docker.IsAvailable)
        {
            UnavailableReason = Docker.UnavailableReason;
            return;
        }
        ComposerBinary.EnsurePublished();
        ContextDirectory = Directory.CreateTempSubdirectory("composer-image-context-").FullName;
        var script = new ProcessStartInfo(Path.Combine(RepoPaths.Root, "deploy", "image-context.sh"), [ContextDirectory, ComposerBinary.Path]);
        var prepared = await ProcessRunner.RunAsync(script, null, TimeSpan.FromMinutes(1), "deploy/image-context.sh");
        if (prepared.ExitCode != 0) throw new InvalidOperationException($"deploy/image-context.sh failed: {prepared}");
        // DOCKER_BUILDKIT=0 is not forced: with either builder a scratch image needs no pull.
        await Docker.RunCliCheckedAsync(["build", "--build-arg", $"VERSION={BuildInfo.Version}", "-t", Tag, ContextDirectory],
            timeout: TimeSpan.FromMinutes(3));
        IsAvailable = true;
    }

    public async ValueTask DisposeAsync()
    {
        if (IsAvailable) await Docker.RunCliAsync(["image", "rm", "-f", Tag]);
        if (ContextDirectory.Length > 0) Directory.Delete(ContextDirectory, recursive: true);
    }
}

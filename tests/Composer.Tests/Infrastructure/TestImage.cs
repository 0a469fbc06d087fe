using System.Formats.Tar;
using Docker.DotNet.Models;
using TUnit.Core.Interfaces;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// A small image built locally, with no registry or internet: a rootfs holding Debian's static /bin/busybox
/// (package busybox-static) and applet links (sh, echo, sleep, cat, env, wget, ls), imported into the test
/// engine as <see cref="Reference"/> (reused when already there). <see cref="PushToAsync"/> puts it into a
/// registry under any name, for tests that need a "connector" image in a private registry.
/// Inject with [ClassDataSource&lt;TestImage&gt;(Shared = SharedType.PerTestSession)]; it brings its own
/// <see cref="Docker"/> engine fixture (the same shared instance). Call <see cref="Require"/> first.
/// </summary>
public sealed class TestImage : IAsyncInitializer
{
    public const string Repository = "composer-test/busybox";
    public const string Tag = "1";
    public const string Reference = Repository + ":" + Tag;
    public const string BusyboxPath = "/bin/busybox";

    /// <summary>
    /// Which recipe built the image (label composer-test.rootfs; scripts/stack.sh build_test_image uses the same
    /// value). An image under <see cref="Reference"/> with another value is rebuilt: bump both when the rootfs changes.
    /// </summary>
    public const string RecipeLabel = "composer-test.rootfs";
    public const string Recipe = "2";

    public static readonly IReadOnlyList<string> Applets = ["sh", "echo", "sleep", "cat", "env", "wget", "ls"];

    [ClassDataSource<DockerEngineFixture>(Shared = SharedType.PerTestSession)]
    public required DockerEngineFixture Docker { get; init; }

    /// <summary>The image id (sha256:...) in the engine.</summary>
    public string Id { get; private set; } = "";

    public bool IsAvailable { get; private set; }
    public string UnavailableReason { get; private set; } = "not initialised";

    /// <summary>Fails under CI=true, skips loudly elsewhere, when the engine or busybox-static is missing.</summary>
    public void Require()
    {
        Docker.Require();
        Requirements.Need(IsAvailable, $"the busybox test image ({UnavailableReason})");
    }

    public async Task InitializeAsync()
    {
        if (!Docker.IsAvailable)
        {
            UnavailableReason = "no Docker engine";
            return;
        }
        if (await TryInspectAsync(Docker, Reference, RecipeLabel) is { } existing && existing.Recipe == Recipe)
        {
            Id = existing.Id;
            IsAvailable = true;
            return;
        }
        if (!IsStaticExecutable(BusyboxPath))
        {
            UnavailableReason = $"{BusyboxPath} is missing or not statically linked (apt-get install busybox-static)";
            return;
        }
        await ImportAsync();
        Id = (await TryInspectAsync(Docker, Reference, RecipeLabel))?.Id ?? throw new InvalidOperationException($"{Reference} is not in the engine after its import");
        IsAvailable = true;
    }

    private async Task ImportAsync()
    {
        using var rootfs = new MemoryStream();
        await WriteRootfsAsync(rootfs);
        rootfs.Position = 0;
        var errors = new List<string>();
        await Docker.Client.Images.CreateImageAsync(
            new ImagesCreateParameters
            {
                FromSrc = "-",
                Repo = Repository,
                Tag = Tag,
                Changes = ["ENV PATH=/bin", "CMD [\"/bin/sh\"]", $"LABEL {RecipeLabel}={Recipe}"],
            },
            rootfs, null, new Progress<JSONMessage>(m => { if (m.Error?.Message is { Length: > 0 } e) lock (errors) errors.Add(e); }));
        lock (errors)
        {
            if (errors.Count > 0) throw new InvalidOperationException($"importing {Reference} failed: {string.Join("; ", errors)}");
        }
    }

    /// <summary>The image's root filesystem as a tar: /bin/busybox, applet symlinks, an empty /tmp and /etc.</summary>
    internal static async Task WriteRootfsAsync(Stream destination)
    {
        await using var tar = new TarWriter(destination, TarEntryFormat.Pax, leaveOpen: true);
        const UnixFileMode dirMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        // The root itself first: without an entry for "./" the engine may give / a restrictive mode.
        await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, "./") { Mode = dirMode });
        foreach (var dir in new[] { "bin/", "etc/", "tmp/" })
        {
            await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.Directory, dir) { Mode = dir == "tmp/" ? dirMode | UnixFileMode.GroupWrite | UnixFileMode.OtherWrite | UnixFileMode.StickyBit : dirMode });
        }
        await using (var busybox = File.OpenRead(BusyboxPath))
        {
            await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.RegularFile, "bin/busybox") { Mode = dirMode, DataStream = busybox });
        }
        foreach (var applet in Applets)
        {
            await tar.WriteEntryAsync(new PaxTarEntry(TarEntryType.SymbolicLink, "bin/" + applet) { LinkName = "busybox", Mode = dirMode });
        }
    }

    /// <summary>
    /// Tags the image as &lt;registryHostPort&gt;/&lt;repository&gt;:&lt;tag&gt; and pushes it through the engine with
    /// the given credentials (null for an open registry); returns that full reference. Docker talks plain HTTP to
    /// 127.0.0.0/8 registries without configuration; the engine performs basic or token authentication itself.
    /// </summary>
    public Task<string> PushToAsync(string registryHostPort, string? username, string? password, string repository, string tag,
        CancellationToken cancellationToken = default)
    {
        Require();
        return PushAsync(Docker, Reference, registryHostPort, username, password, repository, tag, cancellationToken);
    }

    /// <summary><see cref="PushToAsync"/> for any local image (<paramref name="source"/>).</summary>
    internal static async Task<string> PushAsync(DockerEngineFixture docker, string source, string registryHostPort, string? username, string? password,
        string repository, string tag, CancellationToken cancellationToken)
    {
        var target = $"{registryHostPort}/{repository}";
        await docker.Client.Images.TagImageAsync(source, new ImageTagParameters { RepositoryName = target, Tag = tag }, cancellationToken);
        var auth = new AuthConfig { ServerAddress = registryHostPort };
        if (username is not null)
        {
            auth.Username = username;
            auth.Password = password;
        }
        var errors = new List<string>();
        await docker.Client.Images.PushImageAsync(target, new ImagePushParameters { Tag = tag, RegistryAuth = auth }, auth,
            new Progress<JSONMessage>(m => { if (m.Error?.Message is { Length: > 0 } e) lock (errors) errors.Add(e); }), cancellationToken);
        // Progress<T> posts to the thread pool: give late reports a moment before reading the list.
        await Task.Delay(50, cancellationToken);
        lock (errors)
        {
            if (errors.Count > 0) throw new InvalidOperationException($"pushing {target}:{tag} failed: {string.Join("; ", errors)}");
        }
        return $"{target}:{tag}";
    }

    /// <summary>The id of a local image and the value of its recipe label, or null when the engine does not have it.</summary>
    internal static async Task<(string Id, string? Recipe)?> TryInspectAsync(DockerEngineFixture docker, string reference, string recipeLabel)
    {
        try
        {
            var image = await docker.Client.Images.InspectImageAsync(reference);
            string? recipe = null;
            image.Config?.Labels?.TryGetValue(recipeLabel, out recipe);
            return (image.ID, recipe);
        }
        catch (global::Docker.DotNet.DockerImageNotFoundException)
        {
            return null;
        }
        catch (global::Docker.DotNet.DockerApiException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>An ELF executable without a PT_INTERP program header (no dynamic loader): it runs in an empty rootfs.</summary>
    internal static bool IsStaticExecutable(string path)
    {
        if (!File.Exists(path)) return false;
        using var reader = new BinaryReader(File.OpenRead(path));
        var ident = reader.ReadBytes(16);
        if (ident.Length < 16 || ident[0] != 0x7f || ident[1] != 'E' || ident[2] != 'L' || ident[3] != 'F' || ident[4] != 2) return false; // 64-bit only
        reader.BaseStream.Position = 0x20;
        var programHeaderOffset = reader.ReadInt64();
        reader.BaseStream.Position = 0x36;
        var entrySize = reader.ReadUInt16();
        var count = reader.ReadUInt16();
        for (var i = 0; i < count; i++)
        {
            reader.BaseStream.Position = programHeaderOffset + (long)i * entrySize;
            if (reader.ReadUInt32() == 3) return false; // PT_INTERP
        }
        return true;
    }
}

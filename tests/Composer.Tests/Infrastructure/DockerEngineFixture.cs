using System.Diagnostics;
using Docker.DotNet;
using Docker.DotNet.Models;
using TUnit.Core.Interfaces;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// A real Docker engine for the tests. Uses the engine at /var/run/docker.sock when it answers (.ci/run starts
/// one there); otherwise, as root with dockerd installed, starts a private dockerd (vfs storage, no iptables,
/// no bridge, its own data and exec roots and socket under /tmp) and stops it on dispose.
/// There is no bridge network: containers run with network mode "none" or "host".
/// Inject it with [ClassDataSource&lt;DockerEngineFixture&gt;(Shared = SharedType.PerTestSession)] and call
/// <see cref="Require"/> first in each test: under CI=true a missing engine fails the test, elsewhere it skips.
/// </summary>
public sealed class DockerEngineFixture : IAsyncInitializer, IAsyncDisposable
{
    public const string DefaultSocket = "/var/run/docker.sock";

    private DockerClient? _client;
    private BackgroundProcess? _dockerd;
    private string? _privateRoot;

    /// <summary>True when an engine answered (the shared one, or the private one this fixture started).</summary>
    public bool IsAvailable { get; private set; }

    /// <summary>Why no engine is available (for the skip or failure message).</summary>
    public string UnavailableReason { get; private set; } = "not initialised";

    /// <summary>The engine's unix socket.</summary>
    public string SocketPath { get; private set; } = DefaultSocket;

    /// <summary>The engine endpoint, e.g. unix:///var/run/docker.sock: DOCKER_HOST for the CLI, the endpoint for API clients.</summary>
    public string DockerHost => "unix://" + SocketPath;

    public Uri Endpoint => new(DockerHost);

    /// <summary>True when this fixture started its own dockerd (and stops it on dispose).</summary>
    public bool StartedByFixture => _dockerd is not null;

    /// <summary>The engine version ("20.10.24+dfsg1") and its API version ("1.41"), as the engine reports them.</summary>
    public string ServerVersion { get; private set; } = "";
    public string ApiVersion { get; private set; } = "";

    /// <summary>A Docker.DotNet client for the engine, pinned to the engine's API version.</summary>
    public DockerClient Client => _client ?? throw new InvalidOperationException($"No Docker engine: {UnavailableReason}");

    /// <summary>Fails under CI=true, skips loudly elsewhere, when no engine is available.</summary>
    public void Require() => Requirements.Need(IsAvailable, $"a Docker engine ({UnavailableReason})");

    public async Task InitializeAsync()
    {
        // A second engine (StartSecondAsync) is already up; TUnit also initialises the fixtures it finds in the
        // properties of injected objects, which must not turn it into the shared one.
        if (_dockerd is not null) return;
        if (await TryConnectAsync(DefaultSocket, TimeSpan.FromSeconds(5)) is { } shared)
        {
            Use(DefaultSocket, shared);
            return;
        }
        var dockerd = Requirements.Which("dockerd");
        if (dockerd is null)
        {
            UnavailableReason = $"nothing answers at {DefaultSocket} and dockerd is not installed (apt-get install docker.io)";
            return;
        }
        if (Environment.UserName != "root")
        {
            UnavailableReason = $"nothing answers at {DefaultSocket} and starting dockerd needs root";
            return;
        }
        await StartPrivateEngineAsync(dockerd);
    }

    /// <summary>
    /// A second engine beside the shared one, never touching it: a dockerd of its own (data and exec roots, pid file,
    /// containerd and unix socket under a new temp directory) started with <paramref name="extraArguments"/> on top
    /// (a TLS listener, say). The caller disposes it, which stops that dockerd. Unavailable (with the reason) without
    /// dockerd or root.
    /// </summary>
    public static async Task<DockerEngineFixture> StartSecondAsync(IReadOnlyList<string> extraArguments)
    {
        var engine = new DockerEngineFixture();
        var dockerd = Requirements.Which("dockerd");
        if (dockerd is null) engine.UnavailableReason = "dockerd is not installed (apt-get install docker.io)";
        else if (Environment.UserName != "root") engine.UnavailableReason = "starting a second dockerd needs root";
        else await engine.StartPrivateEngineAsync(dockerd, extraArguments);
        return engine;
    }

    private async Task StartPrivateEngineAsync(string dockerd, IReadOnlyList<string>? extraArguments = null)
    {
        // Short paths: containerd's socket lives under the exec root and unix socket paths are limited to 108 bytes.
        _privateRoot = Directory.CreateTempSubdirectory("cdk-").FullName;
        var socket = Path.Combine(_privateRoot, "docker.sock");
        _dockerd = BackgroundProcess.Start("dockerd", dockerd,
        [
            "--storage-driver", "vfs", "--iptables=false", "--ip-masq=false", "--bridge=none",
            "--data-root", Path.Combine(_privateRoot, "data"),
            "--exec-root", Path.Combine(_privateRoot, "exec"),
            "--pidfile", Path.Combine(_privateRoot, "dockerd.pid"),
            "-H", "unix://" + socket,
            .. extraArguments ?? [],
        ]);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (DateTime.UtcNow < deadline && !_dockerd.HasExited)
        {
            if (File.Exists(socket) && await TryConnectAsync(socket, TimeSpan.FromSeconds(3)) is { } client)
            {
                Use(socket, client);
                return;
            }
            await Task.Delay(250);
        }
        UnavailableReason = $"the private dockerd did not answer within 60 s{(_dockerd.HasExited ? " (it exited)" : "")}; its output:\n{Tail(_dockerd.Output, 30)}";
        await _dockerd.DisposeAsync();
        _dockerd = null;
    }

    private void Use(string socket, (DockerClient Client, VersionResponse Version) engine)
    {
        SocketPath = socket;
        _client = engine.Client;
        ServerVersion = engine.Version.Version ?? "";
        ApiVersion = engine.Version.APIVersion ?? "";
        IsAvailable = true;
        UnavailableReason = "";
    }

    /// <summary>Pings the engine at socket; on success returns a client pinned to the engine's own API version.</summary>
    private static async Task<(DockerClient, VersionResponse)?> TryConnectAsync(string socket, TimeSpan timeout)
    {
        if (!File.Exists(socket)) return null;
        using var cts = new CancellationTokenSource(timeout);
        var probe = new DockerClientBuilder().WithEndpoint(new Uri("unix://" + socket)).Build();
        try
        {
            await probe.System.PingAsync(cts.Token);
            var version = await probe.System.GetVersionAsync(cts.Token);
            probe.Dispose();
            var pinned = System.Version.TryParse(version.APIVersion, out var api)
                ? new DockerClientBuilder().WithEndpoint(new Uri("unix://" + socket)).WithApiVersion(api).Build()
                : new DockerClientBuilder().WithEndpoint(new Uri("unix://" + socket)).Build();
            return (pinned, version);
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or DockerApiException or OperationCanceledException
                                       or TimeoutException or System.Net.Sockets.SocketException)
        {
            probe.Dispose();
            return null;
        }
    }

    /// <summary>
    /// Runs the docker CLI against this engine (DOCKER_HOST set; DOCKER_CONFIG when given, so a `docker login`
    /// never touches ~/.docker). The process environment of the tests is not modified.
    /// </summary>
    public async Task<ProcessResult> RunCliAsync(IEnumerable<string> args, string? dockerConfigDirectory = null,
        string? stdin = null, TimeSpan? timeout = null)
    {
        Require();
        var psi = new ProcessStartInfo(Requirements.Which("docker") ?? "docker");
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOCKER_HOST"] = DockerHost;
        psi.Environment.Remove("DOCKER_CONTEXT");
        if (dockerConfigDirectory is not null) psi.Environment["DOCKER_CONFIG"] = dockerConfigDirectory;
        return await ProcessRunner.RunAsync(psi, stdin, timeout ?? TimeSpan.FromMinutes(2), $"docker {string.Join(' ', psi.ArgumentList)}");
    }

    /// <summary>Like <see cref="RunCliAsync"/>, throwing with the full output when docker exits non-zero.</summary>
    public async Task<ProcessResult> RunCliCheckedAsync(IEnumerable<string> args, string? dockerConfigDirectory = null,
        string? stdin = null, TimeSpan? timeout = null)
    {
        var list = args.ToList();
        var result = await RunCliAsync(list, dockerConfigDirectory, stdin, timeout);
        if (result.ExitCode != 0) throw new InvalidOperationException($"docker {string.Join(' ', list)} failed: {result}");
        return result;
    }

    /// <summary>
    /// Runs a container to completion through the Engine API and removes it: network mode "none" unless told
    /// otherwise (the engine has no bridge). Returns the exit code and the container's stdout/stderr.
    /// </summary>
    public async Task<ProcessResult> RunContainerAsync(string image, IReadOnlyList<string> command, ContainerRunOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        Require();
        options ??= new ContainerRunOptions();
        var created = await Client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = image,
            Cmd = [.. command],
            User = options.User!,
            Env = options.Environment?.Select(kv => $"{kv.Key}={kv.Value}").ToList()!,
            WorkingDir = options.WorkingDirectory!,
            Labels = new Dictionary<string, string> { ["composer.test"] = "true" },
            HostConfig = new HostConfig
            {
                NetworkMode = options.NetworkMode,
                ReadonlyRootfs = options.ReadOnlyRootFilesystem,
                Binds = options.Binds?.ToList()!,
                Tmpfs = options.Tmpfs?.ToDictionary(p => p, _ => "")!,
            },
        }, cancellationToken);
        try
        {
            await Client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), cancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.Timeout);
            var exit = await Client.Containers.WaitContainerAsync(created.ID, timeout.Token);
            using var logs = await Client.Containers.GetContainerLogsAsync(created.ID,
                new ContainerLogsParameters { ShowStdout = true, ShowStderr = true }, cancellationToken);
            var (stdout, stderr) = await logs.ReadOutputToEndAsync(cancellationToken);
            return new ProcessResult((int)exit.StatusCode, stdout, stderr);
        }
        finally
        {
            await Client.Containers.RemoveContainerAsync(created.ID, new ContainerRemoveParameters { Force = true }, CancellationToken.None);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _client?.Dispose();
        _client = null;
        if (_dockerd is not null)
        {
            await StopPrivateEngineAsync(_dockerd);
            _dockerd = null;
        }
        if (_privateRoot is not null)
        {
            try { Directory.Delete(_privateRoot, recursive: true); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { } // a leftover container mount; /tmp is cleaned anyway
            _privateRoot = null;
        }
    }

    private async Task StopPrivateEngineAsync(BackgroundProcess dockerd)
    {
        // SIGTERM first: dockerd stops its containers and containerd cleanly; BackgroundProcess kills what is left.
        var pidFile = Path.Combine(_privateRoot!, "dockerd.pid");
        if (File.Exists(pidFile) && int.TryParse(File.ReadAllText(pidFile).Trim(), out var pid))
        {
            try
            {
                using var p = Process.GetProcessById(pid);
                using var term = Process.Start("kill", ["-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
                await term.WaitForExitAsync();
                await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or TimeoutException) { }
        }
        await dockerd.DisposeAsync();
    }

    private static string Tail(string text, int lines)
    {
        var all = text.Split('\n');
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }
}

/// <summary>How <see cref="DockerEngineFixture.RunContainerAsync"/> runs a container.</summary>
public sealed record ContainerRunOptions
{
    /// <summary>"none" (default) or "host": the test engine has no bridge network.</summary>
    public string NetworkMode { get; init; } = "none";
    public string? User { get; init; }
    public bool ReadOnlyRootFilesystem { get; init; }
    /// <summary>host-path:container-path[:ro] bind mounts.</summary>
    public IReadOnlyList<string>? Binds { get; init; }
    /// <summary>Paths mounted as tmpfs inside the container.</summary>
    public IReadOnlyList<string>? Tmpfs { get; init; }
    public IReadOnlyDictionary<string, string>? Environment { get; init; }
    public string? WorkingDirectory { get; init; }
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(1);
}

using System.Formats.Tar;
using System.Text;
using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Images;
using Composer.Network;
using Composer.Orchestration;
using Composer.Orchestration.Docker;
using Composer.Reconciliation;
using Composer.Tests.Infrastructure;
using Docker.DotNet.Models;

namespace Composer.Tests.Orchestration.Docker;

/// <summary>
/// One test's manager on the shared engine: a unique manager id, a <see cref="DockerOrchestrator"/> for it (or the
/// same code behind Portainer, <see cref="Wrap"/>), workloads with unique names, and on dispose the removal of every
/// container labelled with that manager id.
/// </summary>
internal sealed class DockerTestManager : IAsyncDisposable
{
    private readonly List<string> _images = [];

    private DockerTestManager(DockerEngineFixture docker, string managerId, DockerOrchestrator orchestrator, TestOutboundHandlerFactory handlers,
        RegistryAccess registry)
    {
        Docker = docker;
        ManagerId = managerId;
        Orchestrator = orchestrator;
        Handlers = handlers;
        Registry = registry;
    }

    public DockerEngineFixture Docker { get; }
    public string ManagerId { get; }
    public DockerOrchestrator Orchestrator { get; }

    /// <summary>The handlers the registry pre-flight (and a TCP engine endpoint) used: every request they sent.</summary>
    public TestOutboundHandlerFactory Handlers { get; }

    /// <summary>The registry access the orchestrator pulls with (and workloads' images are resolved with).</summary>
    public RegistryAccess Registry { get; }

    /// <summary>A short unique prefix for names of containers and images this test creates.</summary>
    public string Prefix => ManagerId;

    public static DockerTestManager Create(DockerEngineFixture docker, RegistrySettings? registry = null, DockerSettings? options = null,
        IOutboundHandlerFactory? preflightHandlers = null, string? managerId = null, string? endpoint = null, TestOutboundHandlerFactory? handlers = null)
    {
        docker.Require();
        managerId ??= "cmpt-" + Guid.NewGuid().ToString("N")[..10];
        handlers ??= new TestOutboundHandlerFactory();
        var settings = new ComposerSettings();
        settings.OpenCti.Daemon.Registry = registry;
        var resolved = TestSettings.Resolve(settings);
        var access = new RegistryAccess(resolved.Registry, preflightHandlers ?? handlers);
        var dockerEndpoint = DockerEndpoint.Parse(endpoint ?? docker.DockerHost, "test").Value ?? throw new InvalidOperationException(endpoint);
        // The options as the resolve step parses them: an incomplete ulimit is reported there and left out.
        var containers = DockerContainerOptions.Parse(options, "opencti.daemon.docker", TestReport.New().Report);
        var orchestrator = new DockerOrchestrator(dockerEndpoint, new DockerClientFactory(handlers),
            new DockerOrchestratorOptions(managerId, containers, access, Logger.Null, TimeProvider.System) { Workloads = WorkloadsOf(managerId) });
        return new DockerTestManager(docker, managerId, orchestrator, handlers, access);
    }

    /// <summary>A manager whose orchestrator was built elsewhere (Portainer's, on the same engine), with the same workloads and clean-up.</summary>
    public static DockerTestManager Wrap(DockerEngineFixture docker, string managerId, DockerOrchestrator orchestrator, TestOutboundHandlerFactory handlers,
        RegistryAccess registry) =>
        new(docker, managerId, orchestrator, handlers, registry);

    /// <summary>A connector of this manager, built the way the engine builds it (contract entries, hash variable, network variables).</summary>
    public ConnectorWorkload Workload(string name, string image = TestConnectorImage.Reference, bool start = true, string hash = "hash-1",
        IReadOnlyList<ContractEntry>? configuration = null, byte[]? caBundle = null, string? connectorId = null) =>
        WorkloadOf(ManagerId, Registry.Images, name, image, start, hash, configuration, caBundle, connectorId);

    /// <summary>
    /// The workload of connector &lt;managerId&gt;-&lt;name&gt; of manager <paramref name="managerId"/> (also the Swarm tests'), its
    /// image resolved with <paramref name="images"/> as the reconcile cycle resolves it.
    /// </summary>
    internal static ConnectorWorkload WorkloadOf(string managerId, ImageResolver images, string name, string image, bool start, string hash,
        IReadOnlyList<ContractEntry>? configuration, byte[]? caBundle, string? connectorId)
    {
        // The manager id makes it unique on a shared engine (Swarm CA configs are named after it).
        var id = connectorId ?? $"conn-{managerId}-{name}";
        var entries = new List<ContractEntry> { new("CONNECTOR_ID", id) };
        if (configuration is not null) entries.AddRange(configuration);
        var network = caBundle is null
            ? ConnectorNetworkEnvironment.None
            : new ConnectorNetworkEnvironment([new ConnectorEnvVar("SSL_CERT_FILE", ConnectorNetworkEnvironment.CaBundlePath)], caBundle);
        var resolved = images.Resolve(image);
        if (!resolved.IsSuccess) throw new InvalidOperationException(resolved.Failure.Message);
        var connector = new DesiredConnector(id, PlatformKind.OpenCti, $"{managerId}-{name}", image, hash,
            start ? RequestedStatus.Starting : RequestedStatus.Stopping, null, entries, PullImage: resolved.Value);
        return ConnectorWorkload.Build(connector, ContextOf(managerId, network));
    }

    /// <summary>How the orchestrator of manager <paramref name="managerId"/> builds workloads given as connectors (also the Swarm and Portainer tests').</summary>
    internal static WorkloadBuilder WorkloadsOf(string managerId) => new(ContextOf(managerId, ConnectorNetworkEnvironment.None), Logger.Null);

    private static WorkloadContext ContextOf(string managerId, ConnectorNetworkEnvironment network) =>
        new(managerId, "http://opencti.composer.test:8080", null, network, ConnectorNetworkEnvironment.None);

    public async Task<IReadOnlyList<ObservedWorkload>> ListAsync()
    {
        var list = await Orchestrator.ListAsync(CancellationToken.None);
        if (!list.IsSuccess) throw new InvalidOperationException(list.Failure!.Message);
        return list.Value;
    }

    public async Task<ObservedWorkload> ObservedAsync(string containerName) =>
        (await ListAsync()).SingleOrDefault(w => w.Name == containerName)
        ?? throw new InvalidOperationException($"{containerName} is not listed for {ManagerId}");

    public Task<ContainerInspectResponse> InspectAsync(string container) => Docker.Client.Containers.InspectContainerAsync(container);

    /// <summary>Deploys and fails the test with the orchestrator's message when the deploy fails.</summary>
    public async Task DeployAsync(ConnectorWorkload workload)
    {
        var error = await Orchestrator.DeployAsync(workload, CancellationToken.None);
        if (error is not null) throw new InvalidOperationException($"deploy of {workload.Name} failed: {error}");
    }

    /// <summary>The container's stdout and stderr as the docker CLI shows them (no timestamps).</summary>
    public async Task<string> LogsAsync(string container)
    {
        using var stream = await Docker.Client.Containers.GetContainerLogsAsync(container, new ContainerLogsParameters { ShowStdout = true, ShowStderr = true });
        var (stdout, stderr) = await stream.ReadOutputToEndAsync(CancellationToken.None);
        return stdout + stderr;
    }

    /// <summary>Waits (bounded) until the container's logs hold <paramref name="text"/>.</summary>
    public async Task<string> WaitForLogAsync(string container, string text, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var logs = await LogsAsync(container);
            if (logs.Contains(text, StringComparison.Ordinal)) return logs;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"'{text}' did not appear in the logs of {container} in time; logs:\n{logs}");
            await Task.Delay(100);
        }
    }

    /// <summary>Reads a file out of a container with the archive API; null when it does not exist.</summary>
    public async Task<(byte[] Content, UnixFileMode Mode)?> ReadFileAsync(string container, string path)
    {
        try
        {
            var archive = await Docker.Client.Containers.GetArchiveFromContainerAsync(container, new ContainerPathStatParameters { Path = path }, statOnly: false);
            await using var tar = new TarReader(archive.Stream ?? throw new InvalidOperationException($"no archive for {path}"));
            var entry = await tar.GetNextEntryAsync() ?? throw new InvalidOperationException($"empty archive for {path}");
            using var content = new MemoryStream();
            if (entry.DataStream is not null) await entry.DataStream.CopyToAsync(content);
            return (content.ToArray(), entry.Mode);
        }
        catch (global::Docker.DotNet.DockerContainerNotFoundException)
        {
            return null;
        }
    }

    /// <summary>
    /// A running container of this manager with a TTY, as the Rust version's adopted containers may be (labels and
    /// OPENCTI_CONFIG_HASH only): its log answer is raw bytes, not frames. Waits until it has printed its stderr line.
    /// </summary>
    public async Task<string> StartTtyContainerAsync(string name)
    {
        var created = await Docker.Client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = $"{Prefix}-{name}",
            Image = TestConnectorImage.Reference,
            Tty = true,
            Env = [$"CONNECTOR_ID=conn-{ManagerId}-{name}", "OPENCTI_CONFIG_HASH=rust-hash", "TICK_SECONDS=0.2"],
            Labels = new Dictionary<string, string>
            {
                [ConnectorLabels.Manager] = ManagerId, [ConnectorLabels.ConnectorId] = $"conn-{ManagerId}-{name}", [ConnectorLabels.Platform] = "opencti",
            },
            HostConfig = new HostConfig { NetworkMode = "none" },
        });
        await Docker.Client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters());
        await WaitForLogAsync(created.ID, TestConnectorImage.StderrLine);
        return created.ID;
    }

    /// <summary>Remembers an image tag to remove on dispose.</summary>
    public void RemoveImageOnDispose(string reference) => _images.Add(reference);

    public static byte[] Pem(string text) => Encoding.UTF8.GetBytes($"-----BEGIN CERTIFICATE-----\n{text}\n-----END CERTIFICATE-----\n");

    public async ValueTask DisposeAsync()
    {
        await Orchestrator.DisposeAsync();
        Registry.Dispose();
        await RemoveContainersAsync("label", $"{ConnectorLabels.Manager}={ManagerId}");
        await RemoveContainersAsync("name", Prefix); // hand-made containers of a test carry its prefix in their name
        foreach (var image in _images)
        {
            try { await Docker.Client.Images.DeleteImageAsync(image, new ImageDeleteParameters { Force = true }); }
            catch (global::Docker.DotNet.DockerApiException) { }
        }
    }

    private async Task RemoveContainersAsync(string filter, string value)
    {
        var containers = await Docker.Client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { [filter] = new Dictionary<string, bool> { [value] = true } },
        });
        foreach (var c in containers)
        {
            try { await Docker.Client.Containers.RemoveContainerAsync(c.ID, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }); }
            catch (global::Docker.DotNet.DockerContainerNotFoundException) { }
        }
    }
}

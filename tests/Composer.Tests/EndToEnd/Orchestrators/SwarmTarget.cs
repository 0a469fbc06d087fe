using Composer.Orchestration.Swarm;
using Composer.Reconciliation;
using Composer.Tests.Infrastructure;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Composer.Tests.EndToEnd.Orchestrators;

/// <summary>
/// Swarm: the shared single-node swarm, reached by composer through a <see cref="DockerApiRelay"/> (so the engine can
/// be made unreachable, and a service create held); workloads are the services labelled with the manager id, their
/// state from their tasks. The events streams (GET /events) go through the relay too, to be cut. On dispose, once composer is gone: those services and every config labelled with the
/// manager id.
/// </summary>
internal sealed class SwarmTarget : OrchestratorTarget, IEventsTarget
{
    private SwarmTarget(EndToEndManager manager, OrchestratorFixtures fixtures, DockerApiRelay relay) : base(manager, fixtures)
    {
        Relay = relay;
    }

    public DockerApiRelay Relay { get; }

    private DockerEngineFixture Docker => Fixtures.Docker;

    public override string Kind => "swarm";
    public override bool HasCaObject => true;
    public override string RunnableImage => TestConnectorImage.Reference;
    public override string ImageOutsideTheRegistry => "docker.io/" + TestConnectorImage.Reference;

    public static async Task<SwarmTarget> StartAsync(OrchestratorFixtures fixtures)
    {
        fixtures.Swarm.Require();
        var relay = DockerApiRelay.Start(fixtures.Docker.SocketPath);
        try
        {
            var manager = await EndToEndManager.CreateAsync(fixtures.Docker, daemon: $"selector: swarm\nswarm: {{}}\ndocker:\n  host: {relay.DockerHost}");
            var target = new SwarmTarget(manager, fixtures, relay);
            manager.CleanUpOnDispose(target.RemoveServicesAndConfigsAsync);
            manager.CleanUpOnDispose(() => relay.DisposeAsync().AsTask());
            return target;
        }
        catch
        {
            await relay.DisposeAsync();
            throw;
        }
    }

    public override async Task<IReadOnlyList<WorkloadView>> WorkloadsAsync()
    {
        var views = new List<WorkloadView>();
        foreach (var service in await ServicesAsync())
        {
            if (service.Spec is not { } spec) continue;
            IList<TaskResponse> tasks;
            try
            {
                tasks = await Docker.Client.Tasks.ListAsync(new TasksListParameters
                {
                    Filters = new Dictionary<string, IDictionary<string, bool>> { ["service"] = new Dictionary<string, bool> { [service.ID] = true } },
                });
            }
            catch (DockerApiException ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
            {
                continue; // removed (by the manager under test) between the service list and the task list
            }
            var replicas = spec.Mode?.Replicated?.Replicas ?? 0;
            var running = tasks.Any(t => t.Status?.State == TaskState.Running && t.DesiredState == TaskState.Running);
            var anyUp = tasks.Any(t => t.Status?.State is TaskState.Running or TaskState.Starting or TaskState.Preparing);
            var run = replicas >= 1 && running ? WorkloadRun.Running : replicas == 0 && !anyUp ? WorkloadRun.Stopped : WorkloadRun.Other;
            string? connectorId = null;
            spec.Labels?.TryGetValue(ConnectorLabels.ConnectorId, out connectorId);
            views.Add(new WorkloadView(service.ID, spec.Name ?? "", connectorId ?? "", spec.TaskTemplate?.ContainerSpec?.Image ?? "", run,
                [.. spec.TaskTemplate?.ContainerSpec?.Env ?? []])
            {
                MeantToRun = replicas >= 1,
                Logs = spec.TaskTemplate?.LogDriver is { } driver
                    ? (driver.Name ?? "", new Dictionary<string, string>(driver.Options ?? new Dictionary<string, string>(), StringComparer.Ordinal))
                    : null,
            });
        }
        return views;
    }

    public override async Task<string> PushAsync(string host, string user, string password, string repository) =>
        await Manager.PushForPullAsync(Fixtures.Image, host, user, password, repository);

    public override async Task AssertPulledAsync(WorkloadView workload, string reference, string user, string password, RegistryFixture registry)
    {
        // Pinned to the digest the registry gave, so that every node runs the same image; pulled onto this node.
        await Assert.That(workload.Image).StartsWith(reference + "@sha256:");
        await Assert.That(await Manager.ImageExistsAsync(reference)).IsTrue();
        // The engine keeps the registry auth of the create out of what it shows.
        var inspect = await Docker.RunCliCheckedAsync(["service", "inspect", workload.Id]);
        await Assert.That(inspect.Stdout).DoesNotContain(password);
    }

    public override async Task AssertCaBundleAsync(WorkloadView workload, TestCertificateAuthority ca)
    {
        var mounts = SwarmCaConfig.In((await Docker.Client.Swarm.InspectServiceAsync(workload.Id)).Spec).ToList();
        await Assert.That(mounts.Count).IsEqualTo(1);
        await Assert.That(mounts[0].File?.Name).IsEqualTo(TestConnectorImage.CaBundlePath);
        var config = await Docker.Client.Configs.InspectConfigAsync(mounts[0].ConfigID);
        await Assert.That(System.Text.Encoding.UTF8.GetString([.. config.Spec?.Data ?? []])).Contains(ca.CertificatePem.Trim());
        await StandIn.WaitUntilAsync(s => s.LogReports.Any(r => r.ConnectorId == workload.ConnectorId && r.Lines.Any(l => l.Contains(TestConnectorImage.CaPresentLine))),
            EndToEndManager.Timeout, "'ca bundle: present' uploaded");
    }

    public override async Task<int> CaObjectsAsync(WorkloadView workload) =>
        (await ConfigsAsync()).Count(c => SwarmCaConfig.BelongsTo(c, Manager.ManagerId, workload.ConnectorId));

    public override void BreakListing() => Relay.Stop();

    public override void RestoreListing() => Relay.Resume();

    /// <summary>The service create, after the CA config was created for it.</summary>
    public override Task<string> HoldMidDeploy() => Relay.Hold(@"^POST /v[\d.]+/services/create");

    public override void StopHolding() => Relay.StopHolding();

    /// <summary>The image pull through the engine (POST /images/create), as from a registry that is slow to answer.</summary>
    public override Task<string> HoldSlowStep() => Relay.Hold(PullRequest);

    public override void ReleaseHeld() => Relay.Release();

    public override int SlowSteps => Relay.Requests.Count(r => System.Text.RegularExpressions.Regex.IsMatch(r, PullRequest));

    private const string PullRequest = @"^POST /v[\d.]+/images/create\?";

    /// <summary>docker kill of the service's task container: Swarm replaces the task after its restart delay.</summary>
    public async Task CrashAsync(WorkloadView workload)
    {
        var containers = await Docker.Client.Containers.ListContainersAsync(new ContainersListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"com.docker.swarm.service.id={workload.Id}"] = true } },
        });
        foreach (var container in containers) await Docker.Client.Containers.KillContainerAsync(container.ID, new ContainerKillParameters());
    }

    public Task DeleteAsync(WorkloadView workload) => Docker.Client.Swarm.RemoveServiceAsync(workload.Id);

    /// <summary>GET /services (the list; an inspect is GET /services/{id}).</summary>
    public int WorkloadListings => Relay.Requests.Count(r => System.Text.RegularExpressions.Regex.IsMatch(r, @"^GET /v[\d.]+/services(\?|$)"));

    public void CutEvents() => Relay.Refuse(@"^GET /v[\d.]+/events");

    public void RestoreEvents() => Relay.StopRefusing();

    public async Task<IList<SwarmService>> ServicesAsync() =>
        await Docker.Client.Swarm.ListServicesAsync(new ServiceListParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { [$"{ConnectorLabels.Manager}={Manager.ManagerId}"] = true },
            },
        });

    /// <summary>The configs labelled with this manager id.</summary>
    public async Task<List<SwarmConfig>> ConfigsAsync() =>
        [.. (await Docker.Client.Configs.ListConfigsAsync())
            .Where(c => c.Spec?.Labels is { } labels && labels.TryGetValue(ConnectorLabels.Manager, out var m) && m == Manager.ManagerId)];

    private async Task RemoveServicesAndConfigsAsync()
    {
        foreach (var service in await ServicesAsync())
        {
            try { await Docker.Client.Swarm.RemoveServiceAsync(service.ID); }
            catch (global::Docker.DotNet.DockerApiException) { }
        }
        // A config can be removed once no service names it.
        foreach (var config in await ConfigsAsync())
        {
            try { await Docker.Client.Configs.RemoveConfigAsync(config.ID); }
            catch (global::Docker.DotNet.DockerApiException) { }
        }
    }
}

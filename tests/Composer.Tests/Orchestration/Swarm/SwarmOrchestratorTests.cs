using System.Text;
using System.Text.Json;
using Composer.Configuration;
using Composer.Orchestration;
using Composer.Orchestration.Swarm;
using Composer.Reconciliation;
using Composer.Tests.Infrastructure;
using Docker.DotNet.Models;

namespace Composer.Tests.Orchestration.Swarm;

/// <summary>The Swarm orchestrator against the real engine as a single-node swarm, with the local test connector image.</summary>
[ClassDataSource<SwarmFixture>(Shared = SharedType.PerTestSession)]
public class SwarmOrchestratorTests(SwarmFixture swarm)
{
    private SwarmTestManager Manager(SwarmSettings? options = null) => SwarmTestManager.Create(swarm, options);

    private static byte[] Pem(string text) => Encoding.UTF8.GetBytes($"-----BEGIN CERTIFICATE-----\n{text}\n-----END CERTIFICATE-----\n");

    [Test]
    public async Task List_returns_only_this_managers_services_with_state_labels_and_hash()
    {
        await using var mine = Manager();
        await using var other = Manager();
        var running = mine.Workload("running", hash: "h-run");
        var stopped = mine.Workload("stopped", start: false, hash: "h-stopped");
        await mine.DeployAsync(running);
        await mine.DeployAsync(stopped);
        await other.DeployAsync(other.Workload("foreign", start: false));

        var r = await mine.WaitForStateAsync(running.Name, WorkloadState.Running);
        var list = await mine.ListAsync();

        await Assert.That(list.Select(w => w.Name).Order()).IsEquivalentTo(new[] { running.Name, stopped.Name }.Order());
        await Assert.That(r.RawState).IsEqualTo("running");
        await Assert.That(r.ConfigHash).IsEqualTo("h-run");
        await Assert.That(r.ConnectorId).IsEqualTo(running.ConnectorId);
        await Assert.That(r.PlatformLabel).IsEqualTo("opencti");
        await Assert.That(r.WorkloadId).IsEqualTo((await mine.InspectAsync(running.Name)).ID);
        var s = list.Single(w => w.Name == stopped.Name);
        await Assert.That(s.State).IsEqualTo(WorkloadState.Stopped);
        await Assert.That(s.RawState).IsEqualTo("replicas 0");
        await Assert.That(s.ConfigHash).IsEqualTo("h-stopped");
    }

    [Test]
    public async Task Every_swarm_option_reaches_the_service_spec()
    {
        await using var manager = Manager(new SwarmSettings
        {
            ExtraHosts = ["opencti.internal:10.1.2.3", "10.9.9.9 already.swarm alias", "v6.internal:fd00::1"],
            Dns = ["10.0.0.53"],
            DnsSearch = ["corp.example"],
            CapAdd = ["NET_ADMIN"],
            CapDrop = ["MKNOD"],
            Sysctls = new Dictionary<string, string> { ["net.ipv4.ip_forward"] = "0" },
            Ulimits = [new UlimitSettings { Name = "nofile", Soft = 1024, Hard = 2048 }, new UlimitSettings { Name = "nproc", Soft = 10 }],
            Hostname = "connector-host",
            User = "1000:1000",
            ReadOnly = true,
            Init = true,
            StopGracePeriod = 20_000_000_000,
            Resources = new SwarmResourcesSettings { CpuLimit = 500_000_000, MemoryLimit = 256 * 1024 * 1024, MemoryReservation = 64 * 1024 * 1024 },
            PlacementConstraints = ["node.role==manager"],
            PlacementPreferences = ["node.labels.zone"],
            RestartCondition = "on-failure",
            RestartDelay = 3_000_000_000,
            RestartMaxAttempts = 7,
        });
        var workload = manager.Workload("options", start: false);

        await manager.DeployAsync(workload);

        var spec = (await manager.SpecAsync(workload.Name));
        var container = spec.TaskTemplate!.ContainerSpec!;
        await Assert.That(container.Hosts!).IsEquivalentTo(new[] { "10.1.2.3 opencti.internal", "10.9.9.9 already.swarm alias", "fd00::1 v6.internal" });
        await Assert.That(container.DNSConfig!.Nameservers!).IsEquivalentTo(new[] { "10.0.0.53" });
        await Assert.That(container.DNSConfig.Search!).IsEquivalentTo(new[] { "corp.example" });
        await Assert.That(container.CapabilityAdd!).IsEquivalentTo(new[] { "NET_ADMIN" });
        await Assert.That(container.CapabilityDrop!).IsEquivalentTo(new[] { "MKNOD" });
        await Assert.That(container.Sysctls!["net.ipv4.ip_forward"]).IsEqualTo("0");
        await Assert.That(container.Ulimits!.Select(u => $"{u.Name}:{u.Soft}:{u.Hard}")).IsEquivalentTo(new[] { "nofile:1024:2048" });
        await Assert.That(container.Hostname).IsEqualTo("connector-host");
        await Assert.That(container.User).IsEqualTo("1000:1000");
        await Assert.That(container.ReadOnly == true).IsTrue();
        await Assert.That(container.Init == true).IsTrue();
        await Assert.That(container.StopGracePeriod).IsEqualTo(TimeSpan.FromSeconds(20));
        // The task containers carry no ownership label, only the one their events are filtered on.
        await Assert.That(container.Labels!.Keys).IsEquivalentTo(new[] { SwarmServiceSpec.TaskManagerLabel });
        var resources = spec.TaskTemplate.Resources!;
        await Assert.That(resources.Limits!.NanoCPUs).IsEqualTo(500_000_000);
        await Assert.That(resources.Limits.MemoryBytes).IsEqualTo(256L * 1024 * 1024);
        await Assert.That(resources.Reservations!.MemoryBytes).IsEqualTo(64L * 1024 * 1024);
        await Assert.That(spec.TaskTemplate.Placement!.Constraints!).IsEquivalentTo(new[] { "node.role==manager" });
        await Assert.That(spec.TaskTemplate.Placement.Preferences!.Single().Spread!.SpreadDescriptor).IsEqualTo("node.labels.zone");
        await Assert.That(spec.TaskTemplate.RestartPolicy!.Condition).IsEqualTo("on-failure");
        await Assert.That(spec.TaskTemplate.RestartPolicy.Delay).IsEqualTo(TimeSpan.FromSeconds(3));
        await Assert.That(spec.TaskTemplate.RestartPolicy.MaxAttempts).IsEqualTo(7UL);
        await Assert.That(spec.TaskTemplate.Networks is null || spec.TaskTemplate.Networks.Count == 0).IsTrue();
        await Assert.That(spec.Mode!.Replicated!.Replicas).IsEqualTo(0UL);
        await Assert.That(spec.Labels[ConnectorLabels.Manager]).IsEqualTo(manager.ManagerId);
    }

    [Test]
    public async Task Unset_options_stay_out_of_the_spec()
    {
        await using var manager = Manager();
        var workload = manager.Workload("bare", start: false);

        await manager.DeployAsync(workload);

        var task = (await manager.SpecAsync(workload.Name)).TaskTemplate!;
        await Assert.That(task.ContainerSpec!.Hosts).IsNull();
        await Assert.That(task.ContainerSpec.DNSConfig is null || task.ContainerSpec.DNSConfig.Nameservers is null).IsTrue();
        await Assert.That(task.ContainerSpec.Configs).IsNull();
        await Assert.That(task.Placement is null || task.Placement.Constraints is null).IsTrue();
        await Assert.That(task.ContainerSpec.Env!).Contains($"{ConnectorLabels.ConfigHashVariable}=hash-1");
    }

    [Test]
    public async Task Start_and_stop_scale_the_service_between_one_and_zero_replicas()
    {
        await using var manager = Manager();
        var workload = manager.Workload("scaled", start: false);
        await manager.DeployAsync(workload);
        var stopped = await manager.ObservedAsync(workload.Name);
        await Assert.That(stopped.State).IsEqualTo(WorkloadState.Stopped);

        SwarmTestManager.Succeeded(await manager.Orchestrator.StartAsync(stopped, workload, CancellationToken.None), "start");
        var running = await manager.WaitForStateAsync(workload.Name, WorkloadState.Running);
        await Assert.That((await manager.SpecAsync(workload.Name)).Mode!.Replicated!.Replicas).IsEqualTo(1UL);
        await manager.WaitForLogAsync(workload.Name, TestConnectorImage.StartLine);
        var version = (await manager.InspectAsync(workload.Name)).Version!.Index;
        SwarmTestManager.Succeeded(await manager.Orchestrator.StartAsync(running, workload, CancellationToken.None), "second start");
        await Assert.That((await manager.InspectAsync(workload.Name)).Version!.Index).IsEqualTo(version); // nothing to change, nothing sent

        SwarmTestManager.Succeeded(await manager.Orchestrator.StopAsync(running, CancellationToken.None), "stop");

        await manager.WaitForStateAsync(workload.Name, WorkloadState.Stopped);
        await Assert.That((await manager.SpecAsync(workload.Name)).Mode!.Replicated!.Replicas).IsEqualTo(0UL);
        await Assert.That(running.WorkloadId).IsEqualTo(stopped.WorkloadId);
    }

    [Test]
    public async Task The_ca_bundle_is_a_swarm_config_mounted_at_the_bundle_path()
    {
        await using var manager = Manager();
        var bundle = Pem("c3dhcm0tY2E=");
        var workload = manager.Workload("ca", caBundle: bundle);

        await manager.DeployAsync(workload);

        await manager.WaitForLogAsync(workload.Name, TestConnectorImage.CaPresentLine);
        var inspect = await Docker.RunCliCheckedAsync(["service", "inspect", workload.Name]);
        using var json = JsonDocument.Parse(inspect.Stdout);
        var mounted = json.RootElement[0].GetProperty("Spec").GetProperty("TaskTemplate").GetProperty("ContainerSpec").GetProperty("Configs")[0];
        var name = mounted.GetProperty("ConfigName").GetString()!;
        await Assert.That(name).IsEqualTo(SwarmCaConfig.NameFor(workload.ConnectorId, bundle));
        await Assert.That(mounted.GetProperty("File").GetProperty("Name").GetString()).IsEqualTo(ConnectorNetworkEnvironment.CaBundlePath);
        await Assert.That(mounted.GetProperty("File").GetProperty("Mode").GetInt32()).IsEqualTo(0b100_100_100);
        var config = (await manager.ConfigsAsync()).Single();
        await Assert.That(config.Spec.Name).IsEqualTo(name);
        await Assert.That(config.Spec.Labels[ConnectorLabels.ConnectorId]).IsEqualTo(workload.ConnectorId);
        await Assert.That(config.Spec.Data!).IsEquivalentTo(bundle);
        var container = await manager.RunningContainerAsync(workload.Name);
        var read = await Docker.RunCliCheckedAsync(["exec", container!.ID, "cat", ConnectorNetworkEnvironment.CaBundlePath]);
        await Assert.That(read.Stdout).IsEqualTo(Encoding.UTF8.GetString(bundle));
    }

    [Test]
    public async Task A_refresh_updates_the_service_in_place_and_replaces_its_ca_config()
    {
        await using var manager = Manager();
        var first = manager.Workload("refreshed", hash: "h-1", caBundle: Pem("Zmlyc3Q="));
        await manager.DeployAsync(first);
        var before = await manager.WaitForStateAsync(first.Name, WorkloadState.Running);
        var second = manager.Workload("refreshed", hash: "h-2", caBundle: Pem("c2Vjb25k"),
            configuration: [new ContractEntry("EXTRA", "value-2")]);

        SwarmTestManager.Succeeded(await manager.Orchestrator.RefreshAsync(before, second, CancellationToken.None), "refresh");

        var after = await manager.ObservedAsync(first.Name);
        await Assert.That(after.WorkloadId).IsEqualTo(before.WorkloadId);
        await Assert.That(after.ConfigHash).IsEqualTo("h-2");
        var configs = await manager.ConfigsAsync();
        await Assert.That(configs.Select(c => c.Spec.Name!)).IsEquivalentTo(new[] { SwarmCaConfig.NameFor(second.ConnectorId, second.CaBundle!) });
        await manager.WaitForStateAsync(first.Name, WorkloadState.Running);
        var env = (await manager.SpecAsync(first.Name)).TaskTemplate!.ContainerSpec!.Env!;
        await Assert.That(env).Contains("EXTRA=value-2");
    }

    [Test]
    public async Task A_refresh_without_a_bundle_drops_the_config()
    {
        await using var manager = Manager();
        var first = manager.Workload("dropped", start: false, caBundle: Pem("ZHJvcA=="));
        await manager.DeployAsync(first);
        var current = await manager.ObservedAsync(first.Name);

        SwarmTestManager.Succeeded(await manager.Orchestrator.RefreshAsync(current, manager.Workload("dropped", start: false, hash: "h-2"), CancellationToken.None), "refresh");

        await Assert.That(await manager.ConfigsAsync()).IsEmpty();
        await Assert.That((await manager.SpecAsync(first.Name)).TaskTemplate!.ContainerSpec!.Configs).IsNull();
    }

    [Test]
    public async Task Start_puts_a_changed_ca_bundle_in_place()
    {
        await using var manager = Manager();
        var first = manager.Workload("restarted", start: false, caBundle: Pem("b2xk"));
        await manager.DeployAsync(first);
        var current = await manager.ObservedAsync(first.Name);
        var changed = manager.Workload("restarted", caBundle: Pem("bmV3"));

        SwarmTestManager.Succeeded(await manager.Orchestrator.StartAsync(current, changed, CancellationToken.None), "start");

        await Assert.That((await manager.ConfigsAsync()).Select(c => c.Spec.Name!)).IsEquivalentTo(new[] { SwarmCaConfig.NameFor(changed.ConnectorId, changed.CaBundle!) });
        await manager.WaitForLogAsync(first.Name, TestConnectorImage.CaPresentLine);
    }

    [Test]
    public async Task Remove_deletes_the_service_and_every_ca_config_of_the_connector()
    {
        await using var manager = Manager();
        var workload = manager.Workload("removed", caBundle: Pem("cmVtb3Zl"));
        await manager.DeployAsync(workload);
        // A config a crash left behind (an older bundle of the same connector, replaced but not yet removed).
        var leftover = Pem("bGVmdG92ZXI=");
        await Docker.Client.Configs.CreateConfigAsync(new SwarmCreateConfigParameters
        {
            Config = new SwarmConfigSpec
            {
                Name = SwarmCaConfig.NameFor(workload.ConnectorId, leftover), Labels = SwarmCaConfig.Labels(manager.ManagerId, workload, leftover), Data = leftover,
            },
        });
        var observed = await manager.ObservedAsync(workload.Name);

        SwarmTestManager.Succeeded(await manager.Orchestrator.RemoveAsync(observed, CancellationToken.None), "remove");

        await Assert.That(await manager.ListAsync()).IsEmpty();
        await Assert.That(await manager.ConfigsAsync()).IsEmpty();
        SwarmTestManager.Succeeded(await manager.Orchestrator.RemoveAsync(observed, CancellationToken.None), "second remove");
    }

    [Test]
    public async Task A_deploy_interrupted_after_its_config_or_its_service_completes_without_duplicates()
    {
        await using var manager = Manager();
        var workload = manager.Workload("crashed", caBundle: Pem("Y3Jhc2g="));
        // The config of a deploy killed right after creating it.
        await Docker.Client.Configs.CreateConfigAsync(new SwarmCreateConfigParameters
        {
            Config = new SwarmConfigSpec
            {
                Name = SwarmCaConfig.NameFor(workload.ConnectorId, workload.CaBundle!), Labels = SwarmCaConfig.Labels(manager.ManagerId, workload, workload.CaBundle!),
                Data = workload.CaBundle,
            },
        });

        await manager.DeployAsync(workload);
        // Killed after the create: the next cycle's deploy (it did not see the service yet) adopts it.
        await manager.DeployAsync(workload);

        await Assert.That((await manager.ListAsync()).Count).IsEqualTo(1);
        await Assert.That((await manager.ConfigsAsync()).Count).IsEqualTo(1);
        await manager.WaitForLogAsync(workload.Name, TestConnectorImage.CaPresentLine);
    }

    [Test]
    public async Task A_name_taken_by_a_service_of_someone_else_is_reported_and_left_alone()
    {
        await using var manager = Manager();
        var workload = manager.Workload("taken", start: false);
        await Docker.Client.Swarm.CreateServiceAsync(new ServiceCreateParameters
        {
            Service = new ServiceSpec
            {
                Name = workload.Name,
                Labels = new Dictionary<string, string> { ["owner"] = "someone-else", [ConnectorLabels.Manager] = manager.ManagerId + "-not" },
                TaskTemplate = new TaskSpec { ContainerSpec = new ContainerSpec { Image = TestConnectorImage.Reference } },
                Mode = new ServiceMode { Replicated = new ReplicatedService { Replicas = 0 } },
            },
        });
        try
        {
            var error = await manager.Orchestrator.DeployAsync(workload, CancellationToken.None);

            await Assert.That(error!.Message).Contains("which manager " + manager.ManagerId + " does not own");
            await Assert.That((await manager.SpecAsync(workload.Name)).Labels["owner"]).IsEqualTo("someone-else");
        }
        finally
        {
            await Docker.Client.Swarm.RemoveServiceAsync(workload.Name);
        }
    }

    [Test]
    public async Task Logs_are_demultiplexed_and_follow_the_cursor()
    {
        await using var manager = Manager();
        var workload = manager.Workload("logs", configuration: [new ContractEntry("TICK_SECONDS", "1")]);
        await manager.DeployAsync(workload);
        var lines = await manager.WaitForLogAsync(workload.Name, "tick 2");
        var observed = await manager.ObservedAsync(workload.Name);

        var first = await manager.Orchestrator.LogsAsync(observed, null, Composer.Reconciliation.LogLimits.Default, CancellationToken.None);

        await Assert.That(first.IsSuccess).IsTrue();
        await Assert.That(first.Value!.Lines).Contains($"{TestConnectorImage.StartLine}: {workload.ConnectorId}");
        await Assert.That(first.Value.Lines).Contains(TestConnectorImage.StderrLine);
        await Assert.That(first.Value.Lines.All(l => !l.Contains('\0') && !l.Contains('\u0001'))).IsTrue();
        await Assert.That(first.Value.LastTimestamp).IsNotNull();
        await Assert.That(lines.Count).IsGreaterThan(0);
        // Later lines only: nothing at or before the cursor comes back.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        LogBatch next;
        do
        {
            await Task.Delay(500);
            next = (await manager.Orchestrator.LogsAsync(observed, first.Value!.LastTimestamp, Composer.Reconciliation.LogLimits.Default, CancellationToken.None)).Value!;
        }
        while (next.Lines.Count == 0 && DateTime.UtcNow < deadline);
        await Assert.That(next.Lines.Count).IsGreaterThan(0);
        await Assert.That(next.Lines.Intersect(first.Value.Lines)).IsEmpty();
        await Assert.That(next.LastTimestamp!.Value).IsGreaterThan(first.Value.LastTimestamp!.Value);
    }

    [Test]
    public async Task Health_counts_the_restarts_of_a_crashing_connector_and_gives_the_start_time()
    {
        await using var manager = Manager(new SwarmSettings { RestartDelay = 100_000_000 });
        var workload = manager.Workload("crashing", configuration: [new ContractEntry("EXIT_AFTER", "1"), new ContractEntry("TICK_SECONDS", "1")]);
        await manager.DeployAsync(workload);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        WorkloadHealth health;
        do
        {
            await Task.Delay(500);
            health = (await manager.Orchestrator.HealthAsync(await manager.ObservedAsync(workload.Name), CancellationToken.None)).Value!;
        }
        while (health.RestartCount < 2 && DateTime.UtcNow < deadline);

        await Assert.That(health.RestartCount).IsGreaterThanOrEqualTo(2);
        await Assert.That(health.ExitCode).IsEqualTo(1);
        await Assert.That(health.StartedAt).IsNotNull();

        // Stopped by Composer (the service updated to 0 replicas): the failures of before no longer count.
        var stopped = await manager.ObservedAsync(workload.Name);
        await Assert.That(await manager.Orchestrator.StopAsync(stopped, CancellationToken.None)).IsNull();
        var afterStop = (await manager.Orchestrator.HealthAsync(await manager.ObservedAsync(workload.Name), CancellationToken.None)).Value!;
        await Assert.That(afterStop.RestartCount).IsEqualTo(0);
        await Assert.That(afterStop.Restarting).IsFalse();

        await using var steady = Manager();
        var ok = steady.Workload("steady");
        await steady.DeployAsync(ok);
        var running = await steady.WaitForStateAsync(ok.Name, WorkloadState.Running);
        var steadyHealth = (await steady.Orchestrator.HealthAsync(running, CancellationToken.None)).Value!;
        await Assert.That(steadyHealth.RestartCount).IsEqualTo(0);
        await Assert.That(steadyHealth.StartedAt).IsNotNull();
        await Assert.That((DateTimeOffset.UtcNow - steadyHealth.StartedAt!.Value).Duration()).IsLessThan(TimeSpan.FromMinutes(2));
    }

    [Test]
    public async Task A_decrypted_secret_reaches_the_connector_and_never_an_error_message()
    {
        await using var manager = Manager(new SwarmSettings { Network = "composer-no-such-network" });
        const string secret = "s3cr3t-Token+/=";
        var workload = manager.Workload("secret", configuration: [new ContractEntry("API_TOKEN", new Composer.Diagnostics.Secret(secret))]);

        var error = await manager.Orchestrator.DeployAsync(workload, CancellationToken.None);

        // The engine refuses the unknown network; its answer is not allowed to carry the secret.
        await Assert.That(error).IsNotNull();
        await Assert.That(error!.Message).DoesNotContain(secret);
        await Assert.That(await manager.ListAsync()).IsEmpty();
        await using var good = Manager();
        var ok = good.Workload("secret", configuration: [new ContractEntry("API_TOKEN", new Composer.Diagnostics.Secret(secret))]);
        await good.DeployAsync(ok);
        await good.WaitForStateAsync(ok.Name, WorkloadState.Running);
        var container = await good.RunningContainerAsync(ok.Name);
        var env = (await Docker.Client.Containers.InspectContainerAsync(container!.ID)).Config!.Env!;
        await Assert.That(env).Contains($"API_TOKEN={secret}");
        await Assert.That(workload.ToString()).DoesNotContain(secret);
    }

    [Test]
    public async Task A_name_swarm_cannot_take_is_a_clear_error()
    {
        await using var manager = Manager();
        var workload = manager.Workload("trailing-"); // "<prefix>-trailing-": a service name cannot end with '-'

        var error = await manager.Orchestrator.DeployAsync(workload, CancellationToken.None);

        await Assert.That(error!.Message).Contains("is not a valid Swarm service name");
        await Assert.That(await manager.ListAsync()).IsEmpty();
    }

    [Test]
    public async Task A_list_that_fails_is_an_error_and_never_an_empty_list()
    {
        swarm.Require();
        var socket = $"/tmp/composer-no-engine-{Guid.NewGuid():N}.sock";
        await using var manager = SwarmTestManager.Create(swarm, endpoint: "unix://" + socket);

        var list = await manager.Orchestrator.ListAsync(CancellationToken.None);

        await Assert.That(list.IsSuccess).IsFalse();
        await Assert.That(list.Failure!.Message).Contains($"cannot list the swarm services of manager {manager.ManagerId}");
        await Assert.That(list.Failure.Message).Contains(socket);
        await Assert.That((await manager.Orchestrator.CheckAsync(CancellationToken.None))!.Message).Contains("does not exist");
    }

    [Test]
    public async Task Check_answers_null_on_a_manager()
    {
        await using var manager = Manager();
        await Assert.That(await manager.Orchestrator.CheckAsync(CancellationToken.None)).IsNull();
    }

    private DockerEngineFixture Docker => swarm.Docker;
}

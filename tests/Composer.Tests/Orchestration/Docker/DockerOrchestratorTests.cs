using System.Text;
using Composer.Configuration;
using Composer.Orchestration;
using Composer.Orchestration.Docker;
using Composer.Reconciliation;
using Composer.Tests.Infrastructure;
using Docker.DotNet.Models;
using TUnit.Assertions.Enums;

namespace Composer.Tests.Orchestration.Docker;

/// <summary>The Docker orchestrator against the real engine, with the local test connector image (no registry).</summary>
[ClassDataSource<TestConnectorImage>(Shared = SharedType.PerTestSession)]
public class DockerOrchestratorTests(TestConnectorImage image)
{
    private DockerEngineFixture Docker => image.Docker;

    private DockerTestManager Manager(DockerSettings? options = null, string? managerId = null)
    {
        image.Require();
        return DockerTestManager.Create(Docker, options: options, managerId: managerId);
    }

    [Test]
    public async Task List_returns_only_this_managers_containers_with_state_labels_and_hash()
    {
        await using var mine = Manager();
        await using var other = Manager();
        var running = mine.Workload("running", hash: "h-run");
        var created = mine.Workload("created", start: false, hash: "h-created");
        await mine.DeployAsync(running);
        await mine.DeployAsync(created);
        await other.DeployAsync(other.Workload("foreign", start: false));

        var list = await mine.ListAsync();

        await Assert.That(list.Select(w => w.Name).Order()).IsEquivalentTo(new[] { created.Name, running.Name }.Order());
        var r = list.Single(w => w.Name == running.Name);
        await Assert.That(r.State).IsEqualTo(WorkloadState.Running);
        await Assert.That(r.RawState).IsEqualTo("running");
        await Assert.That(r.ConfigHash).IsEqualTo("h-run");
        await Assert.That(r.ConnectorId).IsEqualTo(running.ConnectorId);
        await Assert.That(r.PlatformLabel).IsEqualTo("opencti");
        await Assert.That(r.Labels[ConnectorLabels.Manager]).IsEqualTo(mine.ManagerId);
        await Assert.That(r.Name.StartsWith('/')).IsFalse();
        var c = list.Single(w => w.Name == created.Name);
        await Assert.That(c.State).IsEqualTo(WorkloadState.Stopped);
        await Assert.That(c.RawState).IsEqualTo("created");
        await Assert.That(c.ConfigHash).IsEqualTo("h-created");
    }

    [Test]
    public async Task A_list_that_fails_is_an_error_and_never_an_empty_list()
    {
        image.Require();
        var socket = $"/tmp/composer-no-engine-{Guid.NewGuid():N}.sock";
        await using var manager = DockerTestManager.Create(Docker, endpoint: "unix://" + socket);

        var list = await manager.Orchestrator.ListAsync(CancellationToken.None);

        await Assert.That(list.IsSuccess).IsFalse();
        await Assert.That(list.Failure!.Message).Contains($"cannot list the containers of manager {manager.ManagerId}");
        await Assert.That(list.Failure.Message).Contains(socket);
        await Assert.That(list.Failure.Message).DoesNotContain("\n");
        var check = await manager.Orchestrator.CheckAsync(CancellationToken.None);
        await Assert.That(check!.Message).Contains("does not exist");
        var deploy = await manager.Orchestrator.DeployAsync(manager.Workload("nothing"), CancellationToken.None);
        await Assert.That(deploy!.Message).Contains("cannot deploy container");
    }

    [Test]
    public async Task Check_answers_null_when_the_engine_answers()
    {
        await using var manager = Manager();
        await Assert.That(await manager.Orchestrator.CheckAsync(CancellationToken.None)).IsNull();
    }

    [Test]
    public async Task Every_docker_option_reaches_the_host_config_and_unset_ones_stay_out()
    {
        var options = new DockerSettings
        {
            NetworkMode = "none",
            ExtraHosts = ["opencti.composer.test:127.0.0.9"],
            Dns = ["127.0.0.53"],
            DnsSearch = ["composer.test"],
            Privileged = false,
            CapAdd = ["NET_ADMIN"],
            CapDrop = ["MKNOD"],
            SecurityOpt = ["no-new-privileges"],
            UsernsMode = "host",
            PidMode = "host",
            IpcMode = "shareable",
            UtsMode = "host",
            Runtime = "runc",
            ShmSize = 128 * 1024 * 1024,
            Sysctls = new Dictionary<string, string> { ["net.ipv4.ip_unprivileged_port_start"] = "1024" },
            Ulimits =
            [
                new UlimitSettings { Name = "nofile", Soft = 1024, Hard = 2048 },
                new UlimitSettings { Name = "nproc", Soft = 512 }, // no hard: dropped
            ],
        };
        await using var manager = Manager(options);
        var workload = manager.Workload("options");
        await manager.DeployAsync(workload);
        await manager.WaitForLogAsync(workload.Name, "tick 1");

        var host = (await manager.InspectAsync(workload.Name)).HostConfig!;

        await Assert.That(host.NetworkMode).IsEqualTo("none");
        await Assert.That(host.ExtraHosts).IsEquivalentTo(new[] { "opencti.composer.test:127.0.0.9" });
        await Assert.That(host.DNS).IsEquivalentTo(new[] { "127.0.0.53" });
        await Assert.That(host.DNSSearch).IsEquivalentTo(new[] { "composer.test" });
        await Assert.That(host.Privileged).IsFalse();
        await Assert.That(host.CapAdd).IsEquivalentTo(new[] { "NET_ADMIN" });
        await Assert.That(host.CapDrop).IsEquivalentTo(new[] { "MKNOD" });
        await Assert.That(host.SecurityOpt).Contains("no-new-privileges"); // the engine adds label=disable for pid_mode host
        await Assert.That(host.UsernsMode).IsEqualTo("host");
        await Assert.That(host.PidMode).IsEqualTo("host");
        await Assert.That(host.IpcMode).IsEqualTo("shareable");
        await Assert.That(host.UTSMode).IsEqualTo("host");
        await Assert.That(host.Runtime).IsEqualTo("runc");
        await Assert.That(host.ShmSize).IsEqualTo(128L * 1024 * 1024);
        await Assert.That(host.Sysctls!["net.ipv4.ip_unprivileged_port_start"]).IsEqualTo("1024");
        await Assert.That(host.Ulimits.Count).IsEqualTo(1);
        await Assert.That(host.Ulimits[0].Name).IsEqualTo("nofile");
        await Assert.That(host.Ulimits[0].Soft).IsEqualTo(1024L);
        await Assert.That(host.Ulimits[0].Hard).IsEqualTo(2048L);
        await Assert.That(host.RestartPolicy.Name).IsEqualTo(RestartPolicyKind.UnlessStopped);
        await Assert.That(host.Binds).IsNull();
    }

    [Test]
    public async Task Privileged_is_passed_when_set()
    {
        await using var manager = Manager(new DockerSettings { NetworkMode = "none", Privileged = true });
        var workload = manager.Workload("privileged", start: false);
        await manager.DeployAsync(workload);
        await Assert.That((await manager.InspectAsync(workload.Name)).HostConfig!.Privileged).IsTrue();
    }

    [Test]
    public async Task Without_options_the_host_config_has_only_the_restart_policy()
    {
        await using var manager = Manager();
        var workload = manager.Workload("defaults", start: false);
        await manager.DeployAsync(workload);
        var host = (await manager.InspectAsync(workload.Name)).HostConfig!;
        await Assert.That(host.RestartPolicy.Name).IsEqualTo(RestartPolicyKind.UnlessStopped);
        await Assert.That(host.CapAdd).IsNull();
        await Assert.That(host.ExtraHosts).IsNull();
        await Assert.That(host.Privileged).IsFalse();
        await Assert.That(host.Ulimits).IsNull();
    }

    [Test]
    public async Task Environment_values_keep_every_equals_sign_and_secrets_reach_the_container()
    {
        await using var manager = Manager();
        var secret = "s3cr=t+/==" + Guid.NewGuid().ToString("N");
        var workload = manager.Workload("environment", configuration:
        [
            new ContractEntry("QUERY_URL", "https://opencti.composer.test/?a=b&c==d"),
            new ContractEntry("EMPTY", ""),
            new ContractEntry("OPENCTI_TOKEN", new Composer.Diagnostics.Secret(secret)),
        ]);
        await manager.DeployAsync(workload);

        var env = (await manager.InspectAsync(workload.Name)).Config!.Env;

        await Assert.That(env).Contains("QUERY_URL=https://opencti.composer.test/?a=b&c==d");
        await Assert.That(env).Contains("EMPTY=");
        await Assert.That(env).Contains("OPENCTI_TOKEN=" + secret);
        await Assert.That(env).Contains("OPENCTI_CONFIG_HASH=hash-1");
        await Assert.That(env).Contains("OPENCTI_URL=http://opencti.composer.test:8080");
        await Assert.That((await manager.ObservedAsync(workload.Name)).ConfigHash).IsEqualTo("hash-1");
        await Assert.That(workload.ToString()).DoesNotContain(secret);
        await Assert.That(workload.DescribeEnvironment()).DoesNotContain(secret);
    }

    [Test]
    public async Task A_refused_environment_entry_is_reported_with_its_secret_masked()
    {
        await using var manager = Manager();
        var secret = "top-" + Guid.NewGuid().ToString("N");
        var workload = manager.Workload("refused", configuration: [new ContractEntry("", new Composer.Diagnostics.Secret(secret))]);

        var error = await manager.Orchestrator.DeployAsync(workload, CancellationToken.None);

        await Assert.That(error!.Message).Contains($"cannot create container {workload.Name}");
        await Assert.That(error.Message).Contains("invalid environment variable: =***");
        await Assert.That(error.Message).DoesNotContain(secret);
    }

    [Test]
    public async Task The_ca_bundle_is_in_the_container_before_it_starts_and_nothing_is_bind_mounted()
    {
        await using var manager = Manager();
        var bundle = DockerTestManager.Pem("SYSTEM+PROXY-" + Guid.NewGuid());
        var workload = manager.Workload("ca", caBundle: bundle);
        await manager.DeployAsync(workload);

        var logs = await manager.WaitForLogAsync(workload.Name, TestConnectorImage.StderrLine);

        await Assert.That(logs).Contains(TestConnectorImage.CaPresentLine); // the very first run saw it
        var file = await manager.ReadFileAsync(workload.Name, ConnectorNetworkEnvironment.CaBundlePath);
        await Assert.That(file).IsNotNull();
        await Assert.That(Encoding.UTF8.GetString(file!.Value.Content)).IsEqualTo(Encoding.UTF8.GetString(bundle));
        await Assert.That(file.Value.Mode).IsEqualTo((UnixFileMode)0b110_100_100); // 0644
        var inspect = await manager.InspectAsync(workload.Name);
        await Assert.That(inspect.Mounts).IsEmpty();
        await Assert.That(inspect.HostConfig!.Binds).IsNull();
        await Assert.That(inspect.Config!.Env).Contains($"SSL_CERT_FILE={ConnectorNetworkEnvironment.CaBundlePath}");
    }

    [Test]
    public async Task Without_a_ca_bundle_nothing_is_copied()
    {
        await using var manager = Manager();
        var workload = manager.Workload("no-ca");
        await manager.DeployAsync(workload);
        await Assert.That(await manager.WaitForLogAsync(workload.Name, TestConnectorImage.StderrLine)).Contains(TestConnectorImage.CaMissingLine);
    }

    [Test]
    public async Task A_symlinked_certs_directory_of_the_image_is_kept()
    {
        await using var manager = Manager();
        // An image whose /etc/ssl/certs is a symlink to /etc/pki/tls/certs, as RHEL-based images have it.
        var builder = await Docker.Client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Image = TestConnectorImage.Reference, Name = $"{manager.Prefix}-builder", HostConfig = new HostConfig { NetworkMode = "none" },
        });
        using (var tar = new MemoryStream())
        {
            await using (var writer = new System.Formats.Tar.TarWriter(tar, System.Formats.Tar.TarEntryFormat.Ustar, leaveOpen: true))
            {
                foreach (var dir in new[] { "etc/pki/", "etc/pki/tls/", "etc/pki/tls/certs/", "etc/ssl/" })
                {
                    await writer.WriteEntryAsync(new System.Formats.Tar.UstarTarEntry(System.Formats.Tar.TarEntryType.Directory, dir) { Mode = (UnixFileMode)0b111_101_101 });
                }
                await writer.WriteEntryAsync(new System.Formats.Tar.UstarTarEntry(System.Formats.Tar.TarEntryType.RegularFile, "etc/pki/tls/certs/ca-bundle.crt")
                {
                    Mode = (UnixFileMode)0b110_100_100, DataStream = new MemoryStream(DockerTestManager.Pem("IMAGE-ROOTS")),
                });
                await writer.WriteEntryAsync(new System.Formats.Tar.UstarTarEntry(System.Formats.Tar.TarEntryType.SymbolicLink, "etc/ssl/certs") { LinkName = "../pki/tls/certs" });
            }
            tar.Position = 0;
            await Docker.Client.Containers.ExtractArchiveToContainerAsync(builder.ID, new CopyToContainerParameters { Path = "/" }, tar);
        }
        var symlinked = $"composer-test/connector-symlinked-certs:{manager.Prefix}";
        manager.RemoveImageOnDispose(symlinked);
        await Docker.Client.Images.CommitContainerChangesAsync(new CommitContainerChangesParameters
        {
            ContainerID = builder.ID, RepositoryName = symlinked.Split(':')[0], Tag = manager.Prefix,
        });
        await Docker.Client.Containers.RemoveContainerAsync(builder.ID, new ContainerRemoveParameters { Force = true });

        var bundle = DockerTestManager.Pem("COMPOSER-BUNDLE");
        var workload = manager.Workload("symlinked", image: symlinked, caBundle: bundle);
        await manager.DeployAsync(workload);
        await manager.WaitForLogAsync(workload.Name, TestConnectorImage.CaPresentLine);

        var stat = await Docker.Client.Containers.GetArchiveFromContainerAsync(workload.Name, new ContainerPathStatParameters { Path = "/etc/ssl/certs" }, statOnly: true);
        await Assert.That(stat.Stat.LinkTarget).IsEqualTo("/etc/pki/tls/certs");
        var imageRoots = await manager.ReadFileAsync(workload.Name, "/etc/pki/tls/certs/ca-bundle.crt");
        await Assert.That(imageRoots).IsNotNull();
        var ours = await manager.ReadFileAsync(workload.Name, "/etc/pki/tls/certs/composer-ca-bundle.pem");
        await Assert.That(Encoding.UTF8.GetString(ours!.Value.Content)).IsEqualTo(Encoding.UTF8.GetString(bundle));
    }

    [Test]
    public async Task Start_stop_and_remove_are_idempotent()
    {
        await using var manager = Manager();
        var workload = manager.Workload("idempotent", start: false);
        await manager.DeployAsync(workload);
        var observed = await manager.ObservedAsync(workload.Name);
        await Assert.That(observed.State).IsEqualTo(WorkloadState.Stopped);

        await Assert.That(await manager.Orchestrator.StartAsync(observed, workload, CancellationToken.None)).IsNull();
        await Assert.That(await manager.Orchestrator.StartAsync(observed, workload, CancellationToken.None)).IsNull();
        await Assert.That((await manager.ObservedAsync(workload.Name)).State).IsEqualTo(WorkloadState.Running);

        await Assert.That(await manager.Orchestrator.StopAsync(observed, CancellationToken.None)).IsNull();
        await Assert.That(await manager.Orchestrator.StopAsync(observed, CancellationToken.None)).IsNull();
        var stopped = await manager.ObservedAsync(workload.Name);
        await Assert.That(stopped.State).IsEqualTo(WorkloadState.Stopped);
        await Assert.That(stopped.RawState).IsEqualTo("exited");
        await Assert.That(await manager.LogsAsync(workload.Name)).Contains(TestConnectorImage.StopLine); // SIGTERM, not the kill after 10 s

        await Assert.That(await manager.Orchestrator.RemoveAsync(observed, CancellationToken.None)).IsNull();
        await Assert.That(await manager.Orchestrator.RemoveAsync(observed, CancellationToken.None)).IsNull();
        await Assert.That(await manager.ListAsync()).IsEmpty();
        await Assert.That(await manager.Orchestrator.StopAsync(observed, CancellationToken.None)).IsNull();
        var start = await manager.Orchestrator.StartAsync(observed, workload, CancellationToken.None);
        await Assert.That(start!.Message).Contains($"cannot start container {workload.Name}");
    }

    [Test]
    public async Task Start_copies_the_ca_bundle_into_a_container_created_without_it()
    {
        await using var manager = Manager();
        var bare = manager.Workload("late-ca", start: false);
        await manager.DeployAsync(bare);
        var withCa = bare with { CaBundle = DockerTestManager.Pem("LATE"), Start = true };

        await Assert.That(await manager.Orchestrator.StartAsync(await manager.ObservedAsync(bare.Name), withCa, CancellationToken.None)).IsNull();

        await Assert.That(await manager.WaitForLogAsync(bare.Name, TestConnectorImage.StderrLine)).Contains(TestConnectorImage.CaPresentLine);
    }

    [Test]
    public async Task A_container_of_the_rust_version_is_listed_with_the_hash_of_its_environment()
    {
        await using var manager = Manager();
        var name = $"{manager.Prefix}-rust-made";
        await Docker.Client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = name,
            Image = TestConnectorImage.Reference,
            Env = ["OPENCTI_URL=http://opencti:8080", "OPENCTI_CONFIG_HASH=abc=def==", "OTHER=x"],
            Labels = new Dictionary<string, string>
            {
                [ConnectorLabels.Manager] = manager.ManagerId,
                [ConnectorLabels.ConnectorId] = "rust-connector",
                [ConnectorLabels.Platform] = "opencti",
            },
            HostConfig = new HostConfig { NetworkMode = "none" },
        });

        var first = await manager.ObservedAsync(name);
        var second = await manager.ObservedAsync(name);

        await Assert.That(first.ConfigHash).IsEqualTo("abc=def==");
        await Assert.That(second.ConfigHash).IsEqualTo("abc=def==");
        await Assert.That(first.ConnectorId).IsEqualTo("rust-connector");
        await Assert.That(first.State).IsEqualTo(WorkloadState.Stopped);
    }

    [Test]
    public async Task A_deploy_interrupted_after_its_create_is_completed_not_duplicated()
    {
        await using var manager = Manager();
        var workload = manager.Workload("interrupted", caBundle: DockerTestManager.Pem("INTERRUPTED"));
        // What a kill -9 between create and start leaves: the container, no CA bundle, not started.
        var created = await Docker.Client.Containers.CreateContainerAsync(
            DockerContainerSpec.CreateParameters(workload, TestConnectorImage.Reference, DockerContainerOptions.None with { NetworkMode = "none" }));

        await manager.DeployAsync(workload);

        var listed = await manager.ListAsync();
        await Assert.That(listed.Count).IsEqualTo(1);
        await Assert.That(listed[0].WorkloadId).IsEqualTo(created.ID);
        await Assert.That(listed[0].State).IsEqualTo(WorkloadState.Running);
        await Assert.That(await manager.WaitForLogAsync(workload.Name, TestConnectorImage.StderrLine)).Contains(TestConnectorImage.CaPresentLine);
    }

    [Test]
    public async Task A_name_taken_by_a_container_of_someone_else_is_reported_and_left_alone()
    {
        await using var manager = Manager();
        var workload = manager.Workload("taken");
        var foreign = await Docker.Client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = workload.Name, Image = TestConnectorImage.Reference, HostConfig = new HostConfig { NetworkMode = "none" },
            Labels = new Dictionary<string, string> { ["owner"] = "someone-else" },
        });

        var error = await manager.Orchestrator.DeployAsync(workload, CancellationToken.None);

        await Assert.That(error!.Message).Contains(workload.Name);
        await Assert.That(error.Message).Contains(foreign.ID[..12]);
        await Assert.That(error.Message).Contains("Composer will not touch it");
        var still = await manager.InspectAsync(workload.Name);
        await Assert.That(still.ID).IsEqualTo(foreign.ID);
        await Assert.That(still.State!.Status).IsEqualTo("created");
        await Assert.That(still.Config!.Labels["owner"]).IsEqualTo("someone-else");
    }

    [Test]
    public async Task A_name_used_by_another_connector_of_this_manager_is_a_collision()
    {
        await using var manager = Manager();
        var first = manager.Workload("same-name", start: false, connectorId: "connector-a");
        await manager.DeployAsync(first);

        var error = await manager.Orchestrator.DeployAsync(first with { ConnectorId = "connector-b" }, CancellationToken.None);

        await Assert.That(error!.Message).Contains("connector connector-b");
        await Assert.That(error.Message).Contains("of connector connector-a");
        await Assert.That((await manager.ListAsync()).Count).IsEqualTo(1);
    }

    [Test]
    [Arguments("x")]
    [Arguments("-leading-dash")]
    [Arguments("has space")]
    [Arguments("ünïcode")]
    public async Task An_invalid_container_name_is_refused_before_anything_is_done(string name)
    {
        await using var manager = Manager();
        var workload = manager.Workload("valid") with { Name = name };
        var error = await manager.Orchestrator.DeployAsync(workload, CancellationToken.None);
        await Assert.That(error!.Message).Contains($"'{name}' is not a valid Docker container name");
        await Assert.That(error.Message).Contains(workload.ConnectorId);
    }

    [Test]
    public async Task Refresh_replaces_the_container_under_the_same_name()
    {
        await using var manager = Manager();
        var v1 = manager.Workload("refresh", hash: "h1", caBundle: DockerTestManager.Pem("V1"));
        await manager.DeployAsync(v1);
        var before = await manager.ObservedAsync(v1.Name);
        var v2 = manager.Workload("refresh", hash: "h2", caBundle: DockerTestManager.Pem("V2"),
            configuration: [new ContractEntry("NEW_SETTING", "on")]);

        await Assert.That(await manager.Orchestrator.RefreshAsync(before, v2, CancellationToken.None)).IsNull();

        var list = await manager.ListAsync();
        await Assert.That(list.Count).IsEqualTo(1);
        var after = list[0];
        await Assert.That(after.Name).IsEqualTo(v1.Name);
        await Assert.That(after.WorkloadId).IsNotEqualTo(before.WorkloadId);
        await Assert.That(after.ConfigHash).IsEqualTo("h2");
        await Assert.That(after.State).IsEqualTo(WorkloadState.Running);
        await Assert.That((await manager.InspectAsync(after.WorkloadId)).Config!.Env).Contains("NEW_SETTING=on");
        var ca = await manager.ReadFileAsync(after.WorkloadId, ConnectorNetworkEnvironment.CaBundlePath);
        await Assert.That(Encoding.UTF8.GetString(ca!.Value.Content)).Contains("V2");
    }

    [Test]
    public async Task A_refresh_that_fails_after_the_rename_puts_the_old_container_back_running()
    {
        await using var manager = Manager();
        var v1 = manager.Workload("rollback", hash: "h1");
        await manager.DeployAsync(v1);
        await manager.WaitForLogAsync(v1.Name, "tick 1");
        var before = await manager.ObservedAsync(v1.Name);
        // The same manager with a runtime the engine does not have: the new container cannot be created.
        await using var broken = DockerTestManager.Create(Docker, options: new DockerSettings { Runtime = "no-such-runtime" }, managerId: manager.ManagerId);

        var error = await broken.Orchestrator.RefreshAsync(before, manager.Workload("rollback", hash: "h2"), CancellationToken.None);

        await Assert.That(error!.Message).Contains("no-such-runtime");
        await Assert.That(error.Message).Contains($"the previous container {v1.Name} was restored and restarted");
        var after = await manager.ObservedAsync(v1.Name);
        await Assert.That(after.WorkloadId).IsEqualTo(before.WorkloadId);
        await Assert.That(after.ConfigHash).IsEqualTo("h1");
        await Assert.That(after.State).IsEqualTo(WorkloadState.Running);
        await Assert.That((await manager.ListAsync()).Count).IsEqualTo(1);
    }

    [Test]
    public async Task A_container_put_aside_by_an_interrupted_refresh_keeps_its_labels_and_a_stale_name()
    {
        await using var manager = Manager();
        var workload = manager.Workload("aside");
        await manager.DeployAsync(workload);
        var observed = await manager.ObservedAsync(workload.Name);
        // What a kill -9 right after the rename step of a refresh leaves.
        var aside = DockerOrchestrator.AsideName(observed);
        await Docker.Client.Containers.StopContainerAsync(observed.WorkloadId, new ContainerStopParameters { WaitBeforeKillSeconds = 10 });
        await Docker.Client.Containers.RenameContainerAsync(observed.WorkloadId, new ContainerRenameParameters { NewName = aside });

        var listed = await manager.ObservedAsync(aside);

        await Assert.That(listed.WorkloadId).IsEqualTo(observed.WorkloadId);
        await Assert.That(listed.ConnectorId).IsEqualTo(workload.ConnectorId);
        await Assert.That(listed.PlatformLabel).IsEqualTo("opencti");
        await Assert.That(listed.Labels[ConnectorLabels.Manager]).IsEqualTo(manager.ManagerId);
        // A stale name for the reconciler: no connector name can produce it.
        await Assert.That(listed.Name).IsNotEqualTo(workload.Name);
        await Assert.That(WorkloadNames.ContainerName(listed.Name)).IsNotEqualTo(listed.Name);
        // And the connector deploys again beside it.
        await manager.DeployAsync(workload);
        await Assert.That((await manager.ListAsync()).Count).IsEqualTo(2);
    }

    [Test]
    public async Task Logs_after_a_cursor_never_repeat_a_line()
    {
        await using var manager = Manager();
        var workload = manager.Workload("logs", configuration: [new ContractEntry("TICK_SECONDS", "0.2")]);
        await manager.DeployAsync(workload);
        await manager.WaitForLogAsync(workload.Name, "tick 3");
        var observed = await manager.ObservedAsync(workload.Name);

        var first = await manager.Orchestrator.LogsAsync(observed, null, Composer.Reconciliation.LogLimits.Default, CancellationToken.None);
        await Assert.That(first.IsSuccess).IsTrue();
        // Across stdout and stderr the engine keeps no order: the start line is there, not necessarily first.
        await Assert.That(first.Value!.Lines).Contains($"{TestConnectorImage.StartLine}: {workload.ConnectorId}");
        await Assert.That(first.Value.Lines).Contains(TestConnectorImage.StderrLine);
        await Assert.That(first.Value.LastTimestamp).IsNotNull();
        var lastTick = Ticks(first.Value.Lines).Max();

        await manager.WaitForLogAsync(workload.Name, $"tick {lastTick + 3}");
        var second = await manager.Orchestrator.LogsAsync(observed, first.Value.LastTimestamp, Composer.Reconciliation.LogLimits.Default, CancellationToken.None);

        var ticks = Ticks(second.Value!.Lines).ToList();
        await Assert.That(ticks.Count).IsGreaterThanOrEqualTo(3);
        await Assert.That(ticks[0]).IsEqualTo(lastTick + 1);
        await Assert.That(ticks).IsEquivalentTo(Enumerable.Range(lastTick + 1, ticks.Count), CollectionOrdering.Matching);
        await Assert.That(second.Value.Lines).DoesNotContain(TestConnectorImage.StderrLine);
        await Assert.That(second.Value.LastTimestamp > first.Value.LastTimestamp).IsTrue();

        var third = await manager.Orchestrator.LogsAsync(observed, second.Value.LastTimestamp, Composer.Reconciliation.LogLimits.Default, CancellationToken.None);
        await Assert.That(Ticks(third.Value!.Lines).All(t => t > ticks[^1])).IsTrue();
    }

    [Test]
    public async Task The_last_hundred_lines_without_a_cursor()
    {
        await using var manager = Manager();
        var workload = manager.Workload("tail", configuration: [new ContractEntry("TICK_SECONDS", "0.01")]);
        await manager.DeployAsync(workload);
        await manager.WaitForLogAsync(workload.Name, "tick 150");

        var logs = await manager.Orchestrator.LogsAsync(await manager.ObservedAsync(workload.Name), null, Composer.Reconciliation.LogLimits.Default, CancellationToken.None);

        await Assert.That(logs.Value!.Lines.Count).IsEqualTo(100);
        await Assert.That(logs.Value.Lines).DoesNotContain(TestConnectorImage.StderrLine);
    }

    [Test]
    public async Task Health_gives_the_restarts_exit_code_and_last_start_of_a_crash_looping_connector()
    {
        await using var manager = Manager();
        var crashing = manager.Workload("crashing", configuration: [new ContractEntry("CRASH_EXIT_CODE", "3")]);
        var idle = manager.Workload("idle", start: false);
        await manager.DeployAsync(crashing);
        await manager.DeployAsync(idle);

        // Created, never started: nothing ran, nothing ended; the list tells when it was created.
        var idleObserved = await manager.ObservedAsync(idle.Name);
        var never = await manager.Orchestrator.HealthAsync(idleObserved, CancellationToken.None);
        await Assert.That(never.Value).IsEqualTo(new WorkloadHealth(0, null));
        await Assert.That((DateTimeOffset.UtcNow - idleObserved.CreatedAt!.Value).Duration()).IsLessThan(TimeSpan.FromMinutes(2));

        // unless-stopped restarts it after 100 ms, 200, 400, 800...: restarting most of the time, more than 3 restarts soon.
        var observed = await manager.ObservedAsync(crashing.Name);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        WorkloadHealth health;
        var seenRestarting = false;
        do
        {
            health = (await manager.Orchestrator.HealthAsync(observed, CancellationToken.None)).Value!;
            seenRestarting |= health.Restarting;
            if (health.RestartCount > 3 && seenRestarting) break;
            await Task.Delay(100);
        } while (DateTime.UtcNow < deadline);

        await Assert.That(health.RestartCount).IsGreaterThan(3);
        await Assert.That(seenRestarting).IsTrue();
        await Assert.That(health.ExitCode).IsEqualTo(3);
        await Assert.That(DateTimeOffset.UtcNow - health.StartedAt!.Value).IsLessThan(TimeSpan.FromMinutes(2));
    }

    private static IEnumerable<int> Ticks(IEnumerable<string> lines) =>
        lines.Where(l => l.StartsWith("tick ", StringComparison.Ordinal)).Select(l => int.Parse(l[5..], System.Globalization.CultureInfo.InvariantCulture));
}

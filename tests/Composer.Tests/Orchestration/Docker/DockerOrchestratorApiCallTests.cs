using Composer.Reconciliation;
using Composer.Tests.Infrastructure;
using Docker.DotNet.Models;
using TUnit.Assertions.Enums;

namespace Composer.Tests.Orchestration.Docker;

/// <summary>
/// Which Engine API requests the orchestrator sends, counted on the wire: the engine over TCP (socat in front of the
/// real engine) through a recording handler.
/// </summary>
[ClassDataSource<DockerTcpFixture>(Shared = SharedType.PerTestSession)]
public class DockerOrchestratorApiCallTests(DockerTcpFixture tcp)
{
    [ClassDataSource<TestConnectorImage>(Shared = SharedType.PerTestSession)]
    public required TestConnectorImage Image { get; init; }

    private DockerTestManager Manager()
    {
        tcp.Require();
        Image.Require();
        return DockerTestManager.Create(tcp.Engine, endpoint: tcp.DockerHost);
    }

    private static List<string> Calls(DockerTestManager manager)
    {
        var calls = manager.Handlers.Requests.Select(r => $"{r.Method} {r.Uri.AbsolutePath}").ToList();
        manager.Handlers.Requests.Clear();
        return calls;
    }

    [Test]
    public async Task The_api_version_is_learnt_once_then_every_request_names_it()
    {
        await using var manager = Manager();
        await manager.ListAsync();
        await manager.ListAsync();

        var calls = Calls(manager);

        await Assert.That(calls).IsEquivalentTo(new[]
        {
            "GET /_ping", "GET /version",
            $"GET /v{tcp.Engine.ApiVersion}/containers/json", $"GET /v{tcp.Engine.ApiVersion}/containers/json",
        }, CollectionOrdering.Matching);
    }

    [Test]
    public async Task An_idle_cycle_is_one_list_even_with_containers_of_the_rust_version()
    {
        await using var manager = Manager();
        var ours = manager.Workload("ours", start: false);
        await manager.DeployAsync(ours);
        var rust = await tcp.Engine.Client.Containers.CreateContainerAsync(new CreateContainerParameters
        {
            Name = $"{manager.Prefix}-rust",
            Image = TestConnectorImage.Reference,
            Env = ["OPENCTI_CONFIG_HASH=rust-hash"],
            Labels = new Dictionary<string, string>
            {
                [ConnectorLabels.Manager] = manager.ManagerId, [ConnectorLabels.ConnectorId] = "rust", [ConnectorLabels.Platform] = "opencti",
            },
            HostConfig = new HostConfig { NetworkMode = "none" },
        });
        Calls(manager);

        var first = await manager.ListAsync();
        var firstCalls = Calls(manager);
        var second = await manager.ListAsync();
        var secondCalls = Calls(manager);

        var v = $"/v{tcp.Engine.ApiVersion}";
        await Assert.That(firstCalls).IsEquivalentTo(new[] { $"GET {v}/containers/json", $"GET {v}/containers/{rust.ID}/json" }, CollectionOrdering.Matching);
        await Assert.That(secondCalls).IsEquivalentTo(new[] { $"GET {v}/containers/json" }, CollectionOrdering.Matching);
        await Assert.That(second.Single(w => w.ConnectorId == "rust").ConfigHash).IsEqualTo("rust-hash");
        await Assert.That(first.Single(w => w.Name == ours.Name).ConfigHash).IsEqualTo("hash-1");
    }

    [Test]
    public async Task A_deploy_of_a_present_image_with_a_ca_bundle_is_four_calls()
    {
        await using var manager = Manager();
        await manager.ListAsync();
        Calls(manager);

        await manager.DeployAsync(manager.Workload("four", caBundle: DockerTestManager.Pem("FOUR")));

        var calls = Calls(manager);
        var v = $"/v{tcp.Engine.ApiVersion}";
        // Plus GET /info: the engine's default log driver, asked once per orchestrator (the containers' log bound).
        await Assert.That(calls.Count).IsEqualTo(5);
        await Assert.That(calls[0]).IsEqualTo($"GET {v}/images/{TestConnectorImage.Reference}/json");
        await Assert.That(calls[1]).IsEqualTo($"GET {v}/info");
        await Assert.That(calls[2]).IsEqualTo($"POST {v}/containers/create");
        await Assert.That(calls[3]).StartsWith($"PUT {v}/containers/").And.EndsWith("/archive");
        await Assert.That(calls[4]).StartsWith($"POST {v}/containers/").And.EndsWith("/start");
    }

    [Test]
    public async Task A_log_read_is_one_request_framed_or_tty()
    {
        await using var manager = Manager();
        var framed = manager.Workload("framed");
        await manager.DeployAsync(framed);
        await manager.WaitForLogAsync(framed.Name, TestConnectorImage.StderrLine);
        var ttyId = await manager.StartTtyContainerAsync("tty");
        var listed = await manager.ListAsync();
        Calls(manager);

        var v = $"/v{tcp.Engine.ApiVersion}";
        foreach (var workload in listed)
        {
            var read = await manager.Orchestrator.LogsAsync(workload, null, LogLimits.Default, CancellationToken.None);

            // Docker.DotNet's own log read would be two: GET /containers/{id}/json for the TTY, then the logs.
            await Assert.That(Calls(manager)).IsEquivalentTo(new[] { $"GET {v}/containers/{workload.WorkloadId}/logs" }, CollectionOrdering.Matching);
            var lines = read.Value!.Lines;
            await Assert.That(lines).Contains($"{TestConnectorImage.StartLine}: {workload.ConnectorId}");
            await Assert.That(lines).Contains(TestConnectorImage.StderrLine);
            // No frame header read as text, no carriage return left by the TTY's \r\n.
            await Assert.That(lines.All(l => !l.Contains('\u0001') && !l.Contains('\u0002') && !l.Contains('\0') && !l.Contains('\r'))).IsTrue();
            await Assert.That(read.Value.LastTimestamp).IsNotNull();
        }
        await Assert.That(listed.Select(w => w.WorkloadId)).Contains(ttyId);
        await Assert.That(listed.Count).IsEqualTo(2);
    }
}

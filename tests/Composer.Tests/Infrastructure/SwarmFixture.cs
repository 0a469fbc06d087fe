using Docker.DotNet;
using Docker.DotNet.Models;
using TUnit.Core.Interfaces;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// The test engine as a single-node swarm manager: when it is not in a swarm yet, <c>docker swarm init
/// --advertise-addr 127.0.0.1</c> through the API (idempotent: an engine that already manages a swarm, or that another
/// test session initialised meanwhile, is used as it is). The swarm is left in place for the rest of the session and
/// for other sessions: leaving it would remove services that are not ours.
/// Services on this engine take no Networks entry: without a bridge there is no overlay attachment, and their tasks
/// run with only a loopback interface (like network mode none), which is what the connector image needs.
/// Inject with [ClassDataSource&lt;SwarmFixture&gt;(Shared = SharedType.PerTestSession)]; call <see cref="Require"/> first.
/// </summary>
public sealed class SwarmFixture : IAsyncInitializer
{
    [ClassDataSource<TestConnectorImage>(Shared = SharedType.PerTestSession)]
    public required TestConnectorImage Image { get; init; }

    public DockerEngineFixture Docker => Image.Docker;

    public bool IsAvailable { get; private set; }

    public string UnavailableReason { get; private set; } = "not initialised";

    /// <summary>True when this fixture ran the swarm init (the engine was not in a swarm before).</summary>
    public bool Initialised { get; private set; }

    public void Require()
    {
        Image.Require();
        Requirements.Need(IsAvailable, $"a single-node swarm on the test engine ({UnavailableReason})");
    }

    public async Task InitializeAsync()
    {
        if (!Image.IsAvailable)
        {
            UnavailableReason = Image.UnavailableReason;
            return;
        }
        var swarm = (await Docker.Client.System.GetSystemInfoAsync()).Swarm;
        if (swarm?.LocalNodeState == "active")
        {
            Use(swarm);
            return;
        }
        try
        {
            await Docker.Client.Swarm.InitSwarmAsync(new SwarmInitParameters { ListenAddr = "127.0.0.1:2377", AdvertiseAddr = "127.0.0.1" });
            Initialised = true;
        }
        catch (DockerApiException ex)
        {
            // Another session got there first ("already part of a swarm"): fine, read the state again.
            Console.Error.WriteLine($"swarm init: {ex.ResponseBody}");
        }
        Use((await Docker.Client.System.GetSystemInfoAsync()).Swarm);
    }

    private void Use(Info? swarm)
    {
        if (swarm?.LocalNodeState == "active" && swarm.ControlAvailable)
        {
            IsAvailable = true;
            UnavailableReason = "";
        }
        else
        {
            UnavailableReason = $"the engine is in swarm state {swarm?.LocalNodeState ?? "unknown"}{(swarm?.ControlAvailable == false ? " and not a manager" : "")}";
        }
    }
}

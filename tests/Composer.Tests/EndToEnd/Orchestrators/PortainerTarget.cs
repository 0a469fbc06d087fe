using System.Text;
using System.Text.Json.Nodes;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd.Orchestrators;

/// <summary>
/// Portainer: a <see cref="PortainerStandIn"/> of the test's own in front of the real engine (plain HTTP, or HTTPS
/// with a certificate of its test CA), configured as daemon.portainer with network_mode none and the engine's API
/// version; the API key is given as OPENCTI__DAEMON__PORTAINER__API_KEY (a test may start composer with another).
/// Workloads are the containers labelled with the manager id. The stand-in stops once composer is gone.
/// </summary>
internal sealed class PortainerTarget : OrchestratorTarget, IEventsTarget
{
    private PortainerTarget(EndToEndManager manager, OrchestratorFixtures fixtures, PortainerStandIn portainer) : base(manager, fixtures)
    {
        Portainer = portainer;
    }

    public PortainerStandIn Portainer { get; }

    public override string Kind => "portainer";
    public override bool HasCaObject => false;
    public override string RunnableImage => TestConnectorImage.Reference;
    public override string ImageOutsideTheRegistry => "docker.io/" + TestConnectorImage.Reference;

    /// <param name="https">Portainer over HTTPS with a certificate of its own test CA (not trusted unless daemon.portainer.ca says so).</param>
    /// <param name="apiVersion">daemon.portainer.api_version; null leaves it out (the default, v1.44).</param>
    public static async Task<PortainerTarget> StartAsync(OrchestratorFixtures fixtures, bool https = false, string? apiVersion = "")
    {
        fixtures.Image.Require();
        var portainer = await PortainerStandIn.StartAsync(fixtures.Docker.SocketPath, https);
        try
        {
            var version = apiVersion == "" ? "v" + fixtures.Docker.ApiVersion : apiVersion;
            var daemon = $"""
                selector: portainer
                portainer:
                  api: {portainer.Api.ToString().TrimEnd('/')}
                  env_id: "{portainer.EnvironmentId}"
                  network_mode: none
                """ + (version is null ? "" : $"\n  api_version: {version}");
            var manager = await EndToEndManager.CreateAsync(fixtures.Docker, daemon: daemon);
            manager.Environment["OPENCTI__DAEMON__PORTAINER__API_KEY"] = manager.Secret(portainer.ApiKey);
            manager.CleanUpOnDispose(() => portainer.DisposeAsync().AsTask());
            return new PortainerTarget(manager, fixtures, portainer);
        }
        catch
        {
            await portainer.DisposeAsync();
            throw;
        }
    }

    public override async Task<IReadOnlyList<WorkloadView>> WorkloadsAsync()
    {
        var views = new List<WorkloadView>();
        foreach (var container in await Manager.ContainersAsync())
        {
            global::Docker.DotNet.Models.ContainerInspectResponse inspect;
            try
            {
                inspect = await Fixtures.Docker.Client.Containers.InspectContainerAsync(container.ID);
            }
            catch (global::Docker.DotNet.DockerContainerNotFoundException)
            {
                continue; // removed since the list
            }
            var run = container.State switch
            {
                "running" => WorkloadRun.Running,
                "exited" or "created" => WorkloadRun.Stopped,
                _ => WorkloadRun.Other,
            };
            string? connectorId = null;
            container.Labels?.TryGetValue(Composer.Reconciliation.ConnectorLabels.ConnectorId, out connectorId);
            views.Add(new WorkloadView(container.ID, inspect.Name.TrimStart('/'), connectorId ?? "", inspect.Config?.Image ?? "", run,
                [.. inspect.Config?.Env ?? []])
            {
                MeantToRun = run == WorkloadRun.Running,
                Logs = inspect.HostConfig?.LogConfig is { } logs
                    ? (logs.Type ?? "", new Dictionary<string, string>(logs.Config ?? new Dictionary<string, string>(), StringComparer.Ordinal))
                    : null,
            });
        }
        return views;
    }

    public override Task<string> PushAsync(string host, string user, string password, string repository) =>
        Manager.PushForPullAsync(Fixtures.Image, host, user, password, repository);

    public override async Task AssertPulledAsync(WorkloadView workload, string reference, string user, string password, RegistryFixture registry)
    {
        await Assert.That(workload.Image).IsEqualTo(reference);
        await Assert.That(await Manager.ImageExistsAsync(reference)).IsTrue();
        // Through Portainer, with X-Registry-Auth in base64url holding exactly these credentials.
        var (name, tag) = (reference[..reference.LastIndexOf(':')], reference[(reference.LastIndexOf(':') + 1)..]);
        var pull = Portainer.Requests.Last(r => r.Method == "POST" && r.DockerPath.EndsWith("/images/create", StringComparison.Ordinal)
                                                && Uri.UnescapeDataString(r.Query).Contains($"fromImage={name}", StringComparison.Ordinal)
                                                && r.Query.Contains($"tag={tag}", StringComparison.Ordinal));
        await Assert.That(pull.Status).IsEqualTo(200);
        var auth = JsonNode.Parse(Encoding.UTF8.GetString(Base64UrlDecode(pull.RegistryAuth!)))!;
        await Assert.That(auth["username"]!.GetValue<string>()).IsEqualTo(user);
        await Assert.That(auth["password"]!.GetValue<string>()).IsEqualTo(password);
    }

    public override async Task AssertCaBundleAsync(WorkloadView workload, TestCertificateAuthority ca)
    {
        // Copied in through Portainer's Docker proxy (the archive API), before the start: the connector found it at once.
        await Assert.That(Portainer.Requests.Any(r => r.Method == "PUT" && r.DockerPath.EndsWith($"/containers/{workload.Id}/archive", StringComparison.Ordinal)
                                                      && r.Status == 200)).IsTrue();
        await StandIn.WaitUntilAsync(s => s.LogReports.Any(r => r.ConnectorId == workload.ConnectorId && r.Lines.Any(l => l.Contains(TestConnectorImage.CaPresentLine))),
            EndToEndManager.Timeout, "'ca bundle: present' uploaded");
        var text = (await Fixtures.Docker.RunCliCheckedAsync(["exec", workload.Id, "cat", TestConnectorImage.CaBundlePath])).Stdout;
        await Assert.That(text).Contains(ca.CertificatePem.Trim());
    }

    public override Task<int> CaObjectsAsync(WorkloadView workload) => Task.FromResult(0);

    public override void BreakListing() => Portainer.FailContainerLists = -1;

    public override void RestoreListing() => Portainer.FailContainerLists = 0;

    /// <summary>The start of the container just created (its CA bundle already copied in).</summary>
    public override Task<string> HoldMidDeploy() => Portainer.Hold(@"^POST /v[\d.]+/containers/[0-9a-f]{64}/start$");

    public override void StopHolding() => Portainer.StopHolding();

    /// <summary>The image pull through Portainer's Docker proxy (POST /images/create), as from a registry that is slow to answer.</summary>
    public override Task<string> HoldSlowStep() => Portainer.Hold("^POST " + PullPath);

    public override void ReleaseHeld() => Portainer.Release();

    public override int SlowSteps => Portainer.Requests.Count(r => r.Method == "POST" && System.Text.RegularExpressions.Regex.IsMatch(r.DockerPath, "^" + PullPath));

    private const string PullPath = @"/v[\d.]+/images/create$";

    private static byte[] Base64UrlDecode(string text)
    {
        var standard = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(standard.PadRight(standard.Length + (4 - standard.Length % 4) % 4, '='));
    }

    /// <summary>docker kill: the engine starts it again (restart policy).</summary>
    public Task CrashAsync(WorkloadView workload) =>
        Fixtures.Docker.Client.Containers.KillContainerAsync(workload.Id, new global::Docker.DotNet.Models.ContainerKillParameters());

    public Task DeleteAsync(WorkloadView workload) =>
        Fixtures.Docker.Client.Containers.RemoveContainerAsync(workload.Id, new global::Docker.DotNet.Models.ContainerRemoveParameters { Force = true });

    public int WorkloadListings => Portainer.Requests.Count(r => r.Method == "GET" && System.Text.RegularExpressions.Regex.IsMatch(r.DockerPath, @"^/v[\d.]+/containers/json$"));

    public void CutEvents() => Portainer.RefuseEvents = true;

    public void RestoreEvents() => Portainer.RefuseEvents = false;
}

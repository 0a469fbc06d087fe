using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// What the kubelet does with a container that exits at once under a Deployment (restartPolicy Always): it restarts
/// it after a back-off that doubles from <see cref="CrashBackoff"/> up to 30 times that (10 s to 5 minutes on a real
/// node), and between runs the pod shows what the API shows then: phase Running, the container not ready, state
/// waiting with reason CrashLoopBackOff, lastState.terminated with the exit code, reason Error, start and finish
/// times and a container id, restartCount counting the restarts, and the Ready and ContainersReady conditions False.
/// pods/log serves the output of that last terminated run (the kubelet reads the log of lastState's container while
/// the next one waits). The containers that crash are those the test connector image runs in its crash mode
/// (CRASH_EXIT_CODE=n in the environment; CRASH_LINES lines, 3 by default), with the lines that image prints.
/// Time is compressed only through <see cref="CrashBackoff"/>; the shapes are the API's.
/// </summary>
public sealed partial class KubernetesStandIn
{
    private readonly Dictionary<(string Ns, string Pod), CrashingContainer> _crashing = new();

    /// <summary>The first restart delay of a crashing container (the kubelet's is 10 s); later ones double, up to 30 times it.</summary>
    public TimeSpan CrashBackoff { get; set; } = TimeSpan.FromSeconds(10);

    private sealed class CrashingContainer(string name, int exitCode, IReadOnlyList<string> output, DateTimeOffset since)
    {
        public string Name { get; } = name;
        public int ExitCode { get; } = exitCode;

        /// <summary>What one run prints (stdout and stderr, as kubectl logs interleaves them).</summary>
        public IReadOnlyList<string> Output { get; } = output;

        public DateTimeOffset Since { get; } = since;

        /// <summary>The last run the pod status shows (-1: none yet).</summary>
        public int ShownRun { get; set; } = -1;
    }

    /// <summary>Starts watching a new pod's container when the test image would crash in it.</summary>
    private void WatchForCrash(string ns, string pod, JsonObject container)
    {
        var environment = (container["env"] as JsonArray ?? []).OfType<JsonObject>()
            .GroupBy(e => e["name"]?.GetValue<string>() ?? "")
            .ToDictionary(g => g.Key, g => g.Last()["value"]?.GetValue<string>() ?? "", StringComparer.Ordinal);
        if (!environment.TryGetValue("CRASH_EXIT_CODE", out var code) || !int.TryParse(code, CultureInfo.InvariantCulture, out var exitCode)) return;
        var lines = environment.TryGetValue("CRASH_LINES", out var count) && int.TryParse(count, CultureInfo.InvariantCulture, out var n) ? n : 3;
        var output = new List<string> { $"{TestConnectorImage.StartLine}: {environment.GetValueOrDefault("CONNECTOR_ID", "unknown")}" };
        for (var i = 1; i <= lines; i++) output.Add($"crash line {i} of {lines}");
        output.Add($"{TestConnectorImage.CrashLine} {exitCode}");
        _crashing[(ns, pod)] = new CrashingContainer(container["name"]!.GetValue<string>(), exitCode, output, Now);
    }

    /// <summary>Brings every crashing container's status and log to the run it is at now (under the lock, before pods are read).</summary>
    private void AdvanceCrashLoops()
    {
        foreach (var ((ns, podName), crashing) in _crashing.ToList())
        {
            if (!_pods.TryGetValue((ns, podName), out var pod))
            {
                _crashing.Remove((ns, podName));
                continue;
            }
            var (run, startedAt, nextDelay) = RunAt(Now - crashing.Since);
            if (run == crashing.ShownRun) continue;
            crashing.ShownRun = run;
            var at = crashing.Since + startedAt;
            var status = pod["status"]!["containerStatuses"]!.AsArray().OfType<JsonObject>().First(c => c["name"]!.GetValue<string>() == crashing.Name);
            var containerId = "containerd://" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{ns}/{podName}/{run}")));
            status["ready"] = false;
            status["started"] = false;
            status["restartCount"] = run;
            status["state"] = new JsonObject
            {
                ["waiting"] = new JsonObject
                {
                    ["reason"] = "CrashLoopBackOff",
                    ["message"] = $"back-off {(int)nextDelay.TotalSeconds}s restarting failed container={crashing.Name} pod={podName}_{ns}({pod["metadata"]!["uid"]})",
                },
            };
            status["lastState"] = new JsonObject
            {
                ["terminated"] = new JsonObject
                {
                    ["exitCode"] = crashing.ExitCode,
                    ["reason"] = "Error",
                    ["startedAt"] = Timestamp(at),
                    ["finishedAt"] = Timestamp(at),
                    ["containerID"] = containerId,
                },
            };
            status["containerID"] = containerId;
            foreach (var condition in pod["status"]!["conditions"]!.AsArray().OfType<JsonObject>())
            {
                if (condition["type"]!.GetValue<string>() is not ("Ready" or "ContainersReady")) continue;
                condition["status"] = "False";
                condition["reason"] = "ContainersNotReady";
                condition["message"] = $"containers with unready status: [{crashing.Name}]";
            }
            // The log of the last terminated run replaces the previous run's.
            if (!_logs.TryGetValue((ns, podName), out var log)) _logs[(ns, podName)] = log = [];
            log.RemoveAll(l => l.Container == crashing.Name);
            for (var i = 0; i < crashing.Output.Count; i++) log.Add((at + TimeSpan.FromMilliseconds(i), crashing.Name, crashing.Output[i]));
            pod["metadata"]!["resourceVersion"] = NextVersion();
            if (_podOwner.TryGetValue((ns, podName), out var deployment) && _deployments.ContainsKey((ns, deployment))) UpdateDeploymentStatus(ns, deployment);
        }
    }

    /// <summary>The run a crashing container is at after <paramref name="elapsed"/>, when it started, and the back-off before the next.</summary>
    private (int Run, TimeSpan StartedAt, TimeSpan NextDelay) RunAt(TimeSpan elapsed)
    {
        var run = 0;
        var start = TimeSpan.Zero;
        var delay = CrashBackoff;
        while (start + delay <= elapsed)
        {
            start += delay;
            run++;
            delay = delay * 2 > CrashBackoff * 30 ? CrashBackoff * 30 : delay * 2;
        }
        return (run, start, delay);
    }
}

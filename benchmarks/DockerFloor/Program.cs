using System.Diagnostics;
using Docker.DotNet;
using Docker.DotNet.Models;

// The engine's own floor for deploying connectors: for each of COUNT containers, the create and the start Composer
// sends (same image, name, environment, labels, restart policy and log settings), PARALLEL at a time, over the
// Docker socket with Docker.DotNet (the client Composer uses), with nothing else around them: no platform, no
// listing, no planning, no image inspect.
//   dotnet DockerFloor.dll --socket /var/run/docker.sock --image IMAGE --manager ID --count 100 --parallel 4 [--label K=V]
// Prints "floor_seconds=<first create to last start>".

var options = new Dictionary<string, string>(StringComparer.Ordinal)
{
    ["socket"] = "/var/run/docker.sock", ["count"] = "100", ["parallel"] = "4", ["prefix"] = "floor",
};
for (var i = 0; i + 1 < args.Length; i += 2)
{
    if (!args[i].StartsWith("--", StringComparison.Ordinal)) { Console.Error.WriteLine($"unexpected argument '{args[i]}'"); return 2; }
    options[args[i][2..]] = args[i + 1];
}
if (!options.TryGetValue("image", out var image) || !options.TryGetValue("manager", out var manager))
{
    Console.Error.WriteLine("usage: DockerFloor --image IMAGE --manager ID [--socket PATH] [--count N] [--parallel N] [--prefix NAME] [--label K=V]");
    return 2;
}
var count = int.Parse(options["count"], System.Globalization.CultureInfo.InvariantCulture);
var parallel = int.Parse(options["parallel"], System.Globalization.CultureInfo.InvariantCulture);
var prefix = options["prefix"];
// One more label (the benchmark script's, to find and remove what it made).
var extraLabel = options.TryGetValue("label", out var label) ? label.Split('=', 2) : null;

using var client = new DockerClientBuilder().WithEndpoint(new Uri("unix://" + options["socket"])).Build();
// Composer asks the engine for its default log driver once at start-up, and bounds json-file.
var info = await client.System.GetSystemInfoAsync();
LogConfig? logs = info.LoggingDriver is "json-file" or "local"
    ? new LogConfig { Type = info.LoggingDriver, Config = new Dictionary<string, string> { ["max-size"] = "10m", ["max-file"] = "3" } }
    : null;

var watch = Stopwatch.StartNew();
await Parallel.ForEachAsync(Enumerable.Range(1, count), new ParallelOptions { MaxDegreeOfParallelism = parallel }, async (n, token) =>
{
    var id = $"{prefix}-{n:D3}";
    var labels = new Dictionary<string, string>
    {
        ["opencti-manager"] = manager, ["opencti-connector-id"] = id, ["composer.platform-instance"] = "000000000000",
        ["opencti-platform"] = "opencti", ["composer.config-hash"] = "h1",
    };
    if (extraLabel is [var key, var value]) labels[key] = value;
    var created = await client.Containers.CreateContainerAsync(new CreateContainerParameters
    {
        Name = id,
        Image = image,
        Env = [$"CONNECTOR_ID={id}", "OPENCTI_URL=http://127.0.0.1:1", "OPENCTI_TOKEN=floor", "OPENCTI_CONFIG_HASH=h1"],
        Labels = labels,
        HostConfig = logs is null
            ? new HostConfig { RestartPolicy = new RestartPolicy { Name = RestartPolicyKind.UnlessStopped } }
            : new HostConfig { RestartPolicy = new RestartPolicy { Name = RestartPolicyKind.UnlessStopped }, LogConfig = logs },
    }, token);
    await client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters(), token);
});
Console.WriteLine($"floor_seconds={watch.Elapsed.TotalSeconds:F3}");
return 0;

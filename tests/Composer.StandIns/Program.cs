using System.Text.Json.Nodes;
using Composer.Tests.Infrastructure;

// Serves one platform stand-in until Ctrl-C / SIGTERM:
//   dotnet run --project tests/Composer.StandIns -- opencti|openaev [--port N] [--host 127.0.0.1] [--token T]
//       [--connectors FILE] [--version V]
// FILE holds a JSON list of connectors in the control API form (see PlatformStandIn). Once listening it prints one
// line: "<platform> stand-in listening on http://host:port". The control API is under /_standin/ on the same port.

if (args.Length == 0 || args[0] is not ("opencti" or "openaev"))
{
    Console.Error.WriteLine("usage: Composer.StandIns opencti|openaev [--port N] [--host 127.0.0.1] [--token T] [--connectors FILE] [--version V]");
    return 2;
}
var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (var i = 1; i < args.Length; i++)
{
    if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length || args[i] is not ("--port" or "--host" or "--token" or "--connectors" or "--version"))
    {
        Console.Error.WriteLine($"unexpected argument '{args[i]}'");
        return 2;
    }
    options[args[i][2..]] = args[++i];
}
var port = options.TryGetValue("port", out var p) ? int.Parse(p, System.Globalization.CultureInfo.InvariantCulture) : 0;
var host = options.GetValueOrDefault("host", "127.0.0.1");
var token = options.GetValueOrDefault("token", PlatformStandIn.DefaultToken);

await using PlatformStandIn standIn = args[0] == "opencti"
    ? await OpenCtiStandIn.StartAsync(token, port, host)
    : await OpenAevStandIn.StartAsync(token, port, host);
if (options.TryGetValue("version", out var version)) standIn.Version = version;
if (options.TryGetValue("connectors", out var file))
{
    foreach (var node in JsonNode.Parse(File.ReadAllText(file))!.AsArray())
    {
        standIn.AddConnector(StandInJson.ReadConnector(node!.AsObject()));
    }
}
Console.WriteLine($"{args[0]} stand-in listening on http://{host}:{standIn.Port}");
await standIn.WaitForShutdownAsync();
return 0;

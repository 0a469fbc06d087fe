using System.Text.Json.Nodes;

namespace Composer.Tests.Infrastructure;

/// <summary>The stand-ins' control API and connectors-file JSON (see <see cref="PlatformStandIn"/>).</summary>
public static class StandInJson
{
    public static StandInConnector ReadConnector(JsonObject o) =>
        new(Required(o, "id"), Required(o, "name"), Required(o, "image"), Required(o, "hash"),
            o["requested_status"]?.GetValue<string>() ?? "starting", o["current_status"]?.GetValue<string>())
        {
            Configuration = ReadConfiguration(o["configuration"]),
        };

    /// <summary>The connector with only the fields present in <paramref name="patch"/> changed.</summary>
    public static StandInConnector Patch(StandInConnector c, JsonObject patch) => c with
    {
        Name = patch["name"]?.GetValue<string>() ?? c.Name,
        Image = patch["image"]?.GetValue<string>() ?? c.Image,
        Hash = patch["hash"]?.GetValue<string>() ?? c.Hash,
        RequestedStatus = patch["requested_status"]?.GetValue<string>() ?? c.RequestedStatus,
        CurrentStatus = patch.ContainsKey("current_status") ? patch["current_status"]?.GetValue<string>() : c.CurrentStatus,
        Configuration = patch.ContainsKey("configuration") ? ReadConfiguration(patch["configuration"]) : c.Configuration,
    };

    public static JsonNode WriteConnector(StandInConnector c) => new JsonObject
    {
        ["id"] = c.Id,
        ["name"] = c.Name,
        ["image"] = c.Image,
        ["hash"] = c.Hash,
        ["requested_status"] = c.RequestedStatus,
        ["current_status"] = c.CurrentStatus,
        ["configuration"] = new JsonArray([.. c.Configuration.Select(e => (JsonNode)new JsonObject
        {
            ["key"] = e.Key,
            ["value"] = e.Value,
            ["encrypted"] = e.Encrypted,
            ["version"] = e.Version,
            ["raw_ciphertext"] = e.RawCiphertext,
        })]),
    };

    public static (StandInOperation Operation, StandInFault Fault) ReadFault(JsonObject o)
    {
        var operation = Enum.Parse<StandInOperation>(Required(o, "operation"), ignoreCase: true);
        var kind = Enum.Parse<StandInFaultKind>(Required(o, "kind").Replace("_", "", StringComparison.Ordinal), ignoreCase: true);
        var fault = new StandInFault(kind);
        if (o["status"] is { } status) fault = fault with { StatusCode = status.GetValue<int>() };
        if (o["message"] is { } message) fault = fault with { Message = message.GetValue<string>() };
        if (o["with_data"] is { } withData) fault = fault with { WithData = withData.GetValue<bool>() };
        if (o["delay_ms"] is { } delay) fault = fault with { Delay = TimeSpan.FromMilliseconds(delay.GetValue<int>()) };
        if (o["times"] is { } times) fault = fault with { Times = times.GetValue<int>() };
        return (operation, fault);
    }

    private static List<StandInEntry> ReadConfiguration(JsonNode? node) =>
        node is null ? [] : [.. node.AsArray().Select(e =>
        {
            var o = e!.AsObject();
            return new StandInEntry(Required(o, "key"), o["value"]?.GetValue<string>(), o["encrypted"]?.GetValue<bool>() ?? false,
                o["version"]?.GetValue<int>() ?? 2) { RawCiphertext = o["raw_ciphertext"]?.GetValue<string>() };
        })];

    private static string Required(JsonObject o, string name) =>
        o[name]?.GetValue<string>() ?? throw new ArgumentException($"\"{name}\" is required");
}

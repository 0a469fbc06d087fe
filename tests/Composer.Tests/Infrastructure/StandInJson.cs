using System.Globalization;
using System.Text.Json.Nodes;

namespace Composer.Tests.Infrastructure;

/// <summary>The stand-ins' control API and connectors-file JSON (see <see cref="PlatformStandIn"/>).</summary>
public static class StandInJson
{
    /// <summary>An explicit connector: {"id", "name", "image", "hash" (optional: computed), "requested_status", "current_status", "type", "state_timestamp", "snapshot_missing", "start_once_deployed", "configuration"}.</summary>
    public static StandInConnector ReadConnector(JsonObject o) =>
        new(Required(o, "id"), Required(o, "name"), Required(o, "image"), o["hash"]?.GetValue<string>(),
            o["requested_status"]?.GetValue<string>() ?? "starting", o["current_status"]?.GetValue<string>())
        {
            Configuration = ReadConfiguration(o["configuration"]),
            Type = o["type"]?.GetValue<string>() ?? "EXTERNAL_IMPORT",
            StateTimestamp = o["state_timestamp"] is { } t ? DateTimeOffset.Parse(t.GetValue<string>(), CultureInfo.InvariantCulture) : null,
            SnapshotMissing = o["snapshot_missing"]?.GetValue<bool>() ?? false,
            StartOnceDeployed = o["start_once_deployed"]?.GetValue<bool>() ?? false,
        };

    /// <summary>The connector with only the fields present in <paramref name="patch"/> changed.</summary>
    public static StandInConnector Patch(StandInConnector c, JsonObject patch) => c with
    {
        Name = patch["name"]?.GetValue<string>() ?? c.Name,
        Image = patch["image"]?.GetValue<string>() ?? c.Image,
        Hash = patch.ContainsKey("hash") ? patch["hash"]?.GetValue<string>() : c.Hash,
        RequestedStatus = patch["requested_status"]?.GetValue<string>() ?? c.RequestedStatus,
        CurrentStatus = patch.ContainsKey("current_status") ? patch["current_status"]?.GetValue<string>() : c.CurrentStatus,
        Configuration = patch.ContainsKey("configuration") ? ReadConfiguration(patch["configuration"]) : c.Configuration,
        Type = patch["type"]?.GetValue<string>() ?? c.Type,
        SnapshotMissing = patch["snapshot_missing"]?.GetValue<bool>() ?? c.SnapshotMissing,
    };

    public static JsonObject WriteConnector(StandInConnector c) => new()
    {
        ["id"] = c.Id,
        ["name"] = c.Name,
        ["image"] = c.Image,
        ["hash"] = c.Hash,
        ["requested_status"] = c.RequestedStatus,
        ["current_status"] = c.CurrentStatus,
        ["origin"] = c.Origin.ToString().ToLowerInvariant(),
        ["type"] = c.Type,
        ["state_timestamp"] = c.StateTimestamp?.ToString("O", CultureInfo.InvariantCulture),
        ["snapshot_missing"] = c.SnapshotMissing,
        ["start_once_deployed"] = c.StartOnceDeployed,
        ["configuration"] = new JsonArray([.. c.Configuration.Select(e => (JsonNode)new JsonObject
        {
            ["key"] = e.Key,
            ["value"] = e.Value,
            ["encrypted"] = e.Encrypted,
            ["version"] = e.Version,
            ["raw_ciphertext"] = e.RawCiphertext,
        })]),
    };

    public static JsonNode WriteHealth(StandInHealthArrival h) => new JsonObject
    {
        ["connector_id"] = h.Report.ConnectorId,
        ["restart_count"] = h.Report.RestartCount,
        ["started_at"] = h.Report.StartedAt,
        ["is_in_reboot_loop"] = h.Report.IsInRebootLoop,
        ["received_at"] = h.ReceivedAt.ToString("O", CultureInfo.InvariantCulture),
    };

    public static (StandInOperation Operation, StandInFault Fault) ReadFault(JsonObject o)
    {
        var operation = Enum.Parse<StandInOperation>(Required(o, "operation"), ignoreCase: true);
        var kind = Enum.Parse<StandInFaultKind>(Required(o, "kind").Replace("_", "", StringComparison.Ordinal), ignoreCase: true);
        var fault = new StandInFault(kind);
        if (o["status"] is { } status) fault = fault with { StatusCode = status.GetValue<int>() };
        if (o["message"] is { } message) fault = fault with { Message = message.GetValue<string>() };
        if (o["code"] is { } code) fault = fault with { Code = code.GetValue<string>() };
        if (o["with_data"] is { } withData) fault = fault with { WithData = withData.GetValue<bool>() };
        if (o["delay_ms"] is { } delay) fault = fault with { Delay = TimeSpan.FromMilliseconds(delay.GetValue<int>()) };
        if (o["times"] is { } times) fault = fault with { Times = times.GetValue<int>() };
        return (operation, fault);
    }

    public static StandInPlatformProxy ReadPlatformProxy(JsonObject o) => new(
        o["http_proxy"]?.GetValue<string>() ?? "",
        o["https_proxy"]?.GetValue<string>() ?? "",
        o["no_proxy"]?.GetValue<string>() ?? "",
        o["https_proxy_ca"] is JsonArray ca ? [.. ca.Select(c => c!.GetValue<string>())] : null,
        o["https_proxy_reject_unauthorized"]?.GetValue<bool>() ?? false,
        o["omit_empty"]?.GetValue<bool>() ?? false);

    public static StandInAutoUpgrade ReadAutoUpgrade(JsonObject o, DateTimeOffset now) => new(
        o["ready_in_seconds"] is { } ready ? now + TimeSpan.FromSeconds(ready.GetValue<double>()) : null,
        TimeSpan.FromSeconds(o["timeout_seconds"]?.GetValue<double>() ?? 90),
        TimeSpan.FromSeconds(o["poll_seconds"]?.GetValue<double>() ?? 5));

    public static StandInListingShape ReadListingShape(JsonObject o) => new(
        o["pad_bytes"]?.GetValue<long>() ?? 0,
        (o["pad_as"]?.GetValue<string>() ?? "value") switch
        {
            "value" => false,
            "connectors" => true,
            var other => throw new ArgumentException($"pad_as is \"{other}\", expected value or connectors"),
        },
        o["dribble_bytes"]?.GetValue<int>() ?? 0,
        TimeSpan.FromMilliseconds(o["dribble_interval_ms"]?.GetValue<int>() ?? 0));

    public static List<StandInEntry> ReadConfiguration(JsonNode? node) =>
        node is null ? [] : [.. node.AsArray().Select(e =>
        {
            var o = e!.AsObject();
            return new StandInEntry(Required(o, "key"), o["value"]?.GetValue<string>(), o["encrypted"]?.GetValue<bool>() ?? false,
                o["version"]?.GetValue<int>() ?? 2) { RawCiphertext = o["raw_ciphertext"]?.GetValue<string>() };
        })];

    public static string Required(JsonObject o, string name) =>
        o[name]?.GetValue<string>() ?? throw new ArgumentException($"\"{name}\" is required");
}

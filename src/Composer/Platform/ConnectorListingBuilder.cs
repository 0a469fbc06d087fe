using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Composer.Configuration;
using Composer.Reconciliation;

namespace Composer.Platform;

/// <summary>One listing entry as the platform sent it, every field optional (the builder decides what is missing).</summary>
internal sealed record ListingEntry(
    string? Id,
    string? Name,
    string? Image,
    string? Hash,
    string? RequestedStatus,
    string? CurrentStatus,
    IReadOnlyList<ListingConfigurationEntry?>? Configuration);

internal sealed record ListingConfigurationEntry(string? Key, string? Value, bool? Encrypted);

/// <summary>The platform's wire names of the listing fields, for skip reasons that name the field.</summary>
internal sealed record ListingFieldNames(string Id, string Name, string Image, string Hash, string RequestedStatus, string Configuration, string ConfigurationKey);

/// <summary>
/// Turns listing entries into <see cref="DesiredConnector"/>s (secrets decrypted) and <see cref="SkippedConnector"/>s
/// with a reason, in platform order. A secret that cannot be decrypted does not skip its connector: it is listed
/// with <see cref="DesiredConnector.Blocked"/> so its workload is kept and never started with an empty secret. An id
/// listed twice is passed on as it is: the planner decides which entry is managed and reports the others.
/// </summary>
internal sealed class ConnectorListingBuilder(PlatformKind platform, ListingFieldNames fields, ManagerKey key)
{
    private readonly List<DesiredConnector> _connectors = [];
    private readonly List<SkippedConnector> _skipped = [];

    private void Skip(int index, string? id, string? name, string reason) =>
        _skipped.Add(new SkippedConnector(id, name, $"listing entry {index}: {reason}"));

    /// <summary>A listing (a JSON array, checked by the caller) read entry by entry.</summary>
    public static ConnectorListing FromJson<TEntry>(PlatformKind platform, ListingFieldNames fields, ManagerKey key, JsonElement list,
        JsonTypeInfo<TEntry> info, Func<TEntry, ListingEntry> convert) where TEntry : class
    {
        var builder = new ConnectorListingBuilder(platform, fields, key);
        var index = 0;
        foreach (var element in list.EnumerateArray()) builder.Add(index++, element, info, convert);
        return builder.Build();
    }

    /// <summary>
    /// One listing element as JSON: null or malformed entries (a field of the wrong type) are skipped with a reason
    /// and, when they have a readable id, that id, so their workloads stay protected.
    /// </summary>
    private void Add<TEntry>(int index, JsonElement element, JsonTypeInfo<TEntry> info, Func<TEntry, ListingEntry> convert) where TEntry : class
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            Skip(index, null, null, element.ValueKind == JsonValueKind.Null ? "the entry is null" : $"the entry is a {element.ValueKind}, expected an object");
            return;
        }
        TEntry? entry;
        try
        {
            entry = element.Deserialize(info);
        }
        catch (JsonException ex)
        {
            Skip(index, StringField(element, fields.Id), StringField(element, fields.Name), $"malformed entry: {ex.Message}");
            return;
        }
        Add(index, convert(entry!));
    }

    private static string? StringField(JsonElement entry, string name) =>
        entry.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private void Add(int index, ListingEntry entry)
    {
        var id = string.IsNullOrEmpty(entry.Id) ? null : entry.Id;
        var name = string.IsNullOrEmpty(entry.Name) ? null : entry.Name;
        string? missing = id is null ? fields.Id
            : name is null ? fields.Name
            : string.IsNullOrEmpty(entry.Image) ? fields.Image
            : string.IsNullOrEmpty(entry.Hash) ? fields.Hash
            : entry.RequestedStatus is null ? fields.RequestedStatus
            : entry.Configuration is null ? fields.Configuration
            : null;
        if (missing is not null)
        {
            Skip(index, id, name, $"{missing} is missing");
            return;
        }
        RequestedStatus requested;
        switch (entry.RequestedStatus)
        {
            case "starting": requested = RequestedStatus.Starting; break;
            case "stopping": requested = RequestedStatus.Stopping; break;
            default:
                Skip(index, id, name, $"{fields.RequestedStatus} is \"{entry.RequestedStatus}\"; expected starting or stopping");
                return;
        }

        var configuration = new List<ContractEntry>(entry.Configuration!.Count);
        List<string>? undecryptable = null;
        for (var i = 0; i < entry.Configuration.Count; i++)
        {
            if (entry.Configuration[i] is not { } e)
            {
                Skip(index, id, name, $"{fields.Configuration} entry {i} is null");
                return;
            }
            if (string.IsNullOrEmpty(e.Key))
            {
                Skip(index, id, name, $"{fields.Configuration} entry {i} has no {fields.ConfigurationKey}");
                return;
            }
            if (e.Encrypted != true)
            {
                configuration.Add(new ContractEntry(e.Key, e.Value ?? "", Sensitive: false));
            }
            else if (string.IsNullOrEmpty(e.Value))
            {
                // Nothing was encrypted (an optional secret left unset): there is no secret to lose.
                configuration.Add(new ContractEntry(e.Key, "", Sensitive: true));
            }
            else if (SecretDecryption.TryDecrypt(key, e.Value, out var value, out var failure))
            {
                configuration.Add(new ContractEntry(e.Key, value, Sensitive: true));
            }
            else
            {
                configuration.Add(new ContractEntry(e.Key, "", Sensitive: true));
                (undecryptable ??= []).Add($"cannot decrypt {e.Key}: {failure}");
            }
        }

        _connectors.Add(new DesiredConnector(id!, platform, name!, entry.Image!, entry.Hash!, requested,
            CurrentStatus(entry.CurrentStatus), configuration, undecryptable is null ? null : string.Join("; ", undecryptable)));
    }

    private ConnectorListing Build() => new(_connectors, _skipped);

    /// <summary>upstream-behaviour §5.4 step 1, except that nothing recorded or an unknown word is null, not "stopped".</summary>
    private static ConnectorStatus? CurrentStatus(string? status) => status switch
    {
        "started" or "healthy" or "running" => ConnectorStatus.Started,
        "stopped" or "created" or "exited" => ConnectorStatus.Stopped,
        _ => null,
    };
}

using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Composer.Configuration;
using Composer.Diagnostics;
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
/// with a reason, in platform order. A secret that cannot be decrypted, or a contract key that cannot be an
/// environment variable, does not skip its connector: it is listed with <see cref="DesiredConnector.Blocked"/> (every
/// reason, joined) so its workload is kept and never started with an empty secret or a missing variable. An id listed
/// twice is passed on as it is: the planner decides which entry is managed and reports the others.
/// </summary>
internal sealed class ConnectorListingBuilder(PlatformKind platform, ListingFieldNames fields, ManagerKey key)
{
    private readonly List<DesiredConnector> _connectors = [];
    private readonly List<SkippedConnector> _skipped = [];

    private void Skip(int index, string? id, string? name, string reason) =>
        _skipped.Add(new SkippedConnector(id, name, $"listing entry {index}: {reason}"));

    /// <summary>
    /// A listing read entry by entry from <paramref name="reader"/>, positioned on the array's start (checked by the
    /// caller): each entry is parsed on its own, so memory holds one entry's document at a time, never the whole listing's.
    /// </summary>
    public static ConnectorListing FromJson<TEntry>(PlatformKind platform, ListingFieldNames fields, ManagerKey key, ref Utf8JsonReader reader,
        JsonTypeInfo<TEntry> info, Func<TEntry, ListingEntry> convert) where TEntry : class
    {
        var builder = new ConnectorListingBuilder(platform, fields, key);
        var index = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            using var entry = JsonDocument.ParseValue(ref reader);
            builder.Add(index++, entry.RootElement, info, convert);
        }
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
        // What the platform stores, read as the Rust manager reads it: "starting" runs the connector, any other word
        // (OpenCTI's catalog adds are stored "stopped", the stop button writes "stopping") keeps it deployed and stopped.
        var requested = entry.RequestedStatus == "starting" ? RequestedStatus.Starting : RequestedStatus.Stopping;

        var configuration = new List<ContractEntry>(entry.Configuration!.Count);
        List<string>? blocked = null;
        for (var i = 0; i < entry.Configuration.Count; i++)
        {
            if (entry.Configuration[i] is not { } e)
            {
                Skip(index, id, name, $"{fields.Configuration} entry {i} is null");
                return;
            }
            if (KeyProblem(e.Key) is { } problem)
            {
                // Never given to the workload under another name, never dropped: the connector waits for a fixed contract.
                (blocked ??= []).Add($"{fields.Configuration} entry {i}: the {fields.ConfigurationKey} {problem}, so it cannot be an environment variable");
                continue;
            }
            if (e.Encrypted != true)
            {
                configuration.Add(new ContractEntry(e.Key!, e.Value ?? ""));
            }
            else if (string.IsNullOrEmpty(e.Value))
            {
                // Nothing was encrypted (an optional secret left unset): there is no secret to lose.
                configuration.Add(new ContractEntry(e.Key!, new Secret("")));
            }
            else
            {
                var decrypted = SecretDecryption.Decrypt(key, e.Value);
                if (decrypted.IsSuccess)
                {
                    configuration.Add(new ContractEntry(e.Key!, decrypted.Value));
                }
                else
                {
                    configuration.Add(new ContractEntry(e.Key!, new Secret("")));
                    (blocked ??= []).Add($"cannot decrypt {e.Key}: {decrypted.Failure.Message}");
                }
            }
        }

        _connectors.Add(new DesiredConnector(id!, platform, name!, entry.Image!, entry.Hash!, requested,
            CurrentStatus(entry.CurrentStatus), configuration, blocked is null ? null : string.Join("; ", blocked)));
    }

    /// <summary>
    /// Why a contract key cannot be an environment variable, or null: empty, or holding '=' (the first '=' ends a
    /// name in NAME=value) or a control character. Such a key is shown quoted and escaped, never as is.
    /// </summary>
    private static string? KeyProblem(string? key)
    {
        if (string.IsNullOrEmpty(key)) return "is empty";
        if (key.Contains('=')) return $"{QuotedText.Quote(key, QuoteStyle.Message)} holds '='";
        foreach (var c in key)
        {
            if (char.IsControl(c)) return $"{QuotedText.Quote(key, QuoteStyle.Message)} holds a control character";
        }
        return null;
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

using System.Text;
using System.Text.Json.Nodes;
using Composer.Configuration;
using Composer.Diagnostics;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Composer.Orchestration.Kubernetes;

/// <summary>clusters[].cluster of a kubeconfig; <see cref="Directory"/> is where the file that defined it lives (relative paths).</summary>
internal sealed record KubeCluster(string Name, string? Server, string? CertificateAuthority, string? CertificateAuthorityData,
    bool InsecureSkipTlsVerify, string? TlsServerName, string? ProxyUrl, string Directory);

/// <summary>users[].user of a kubeconfig. Holds credentials: ToString prints none.</summary>
internal sealed record KubeUser(string Name, Secret? Token, string? TokenFile, string? ClientCertificate, string? ClientCertificateData,
    string? ClientKey, Secret? ClientKeyData, string? UnsupportedMethod, string Directory)
{
    public override string ToString() => $"KubeUser {{ name = {Name} }}";
}

/// <summary>contexts[].context of a kubeconfig.</summary>
internal sealed record KubeContext(string Name, string? Cluster, string? User, string? Namespace);

/// <summary>
/// Problems with what connects Composer to the Kubernetes API (the kubeconfig, the service account): configuration
/// diagnostics under the platform's daemon.kubernetes, whose source is where the files came from (KUBECONFIG,
/// ~/.kube/config, the in-cluster service account), reported at load with every other configuration problem.
/// </summary>
internal sealed class KubeconfigProblems(ConfigReport report, string key, string source)
{
    public int Count { get; private set; }

    public void Add(string message)
    {
        Count++;
        report.Error(new ConfigDiagnostic(key, source, message));
    }

    public void Warn(string message) => report.Warning(new ConfigDiagnostic(key, source, message));
}

/// <summary>
/// The kubeconfig files named by KUBECONFIG (a ':'-separated list; missing files are skipped, like kubectl), else
/// ~/.kube/config, merged as kubectl merges them: the first file to define a cluster, user or context name wins, and
/// the first current-context set wins. Read with YamlDotNet's parser (no reflection); only the fields Composer uses
/// are kept, and the ways of authenticating it cannot use (exec plugins, auth providers, basic auth) are remembered
/// so that the error can name them.
/// </summary>
internal sealed class KubeConfig
{
    private KubeConfig(List<string> files) => Files = files;

    /// <summary>The files that were read, in precedence order.</summary>
    public IReadOnlyList<string> Files { get; }

    public Dictionary<string, KubeCluster> Clusters { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, KubeUser> Users { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, KubeContext> Contexts { get; } = new(StringComparer.Ordinal);
    public string? CurrentContext { get; private set; }

    /// <summary>The candidate files: KUBECONFIG's entries, else $HOME/.kube/config.</summary>
    public static IReadOnlyList<string> CandidateFiles(IReadOnlyDictionary<string, string> environment)
    {
        if (environment.TryGetValue("KUBECONFIG", out var list) && !string.IsNullOrWhiteSpace(list))
        {
            return list.Split(':', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        }
        return environment.TryGetValue("HOME", out var home) && home.Length > 0 ? [Path.Combine(home, ".kube", "config")] : [];
    }

    /// <summary>Where the candidate files come from, for diagnostics: "environment KUBECONFIG" or "~/.kube/config".</summary>
    public static string CandidateSource(IReadOnlyDictionary<string, string> environment) =>
        environment.TryGetValue("KUBECONFIG", out var list) && !string.IsNullOrWhiteSpace(list) ? "environment KUBECONFIG" : "~/.kube/config";

    /// <summary>Reads and merges the existing files; null when none exists. Problems (unreadable, invalid YAML) are reported.</summary>
    public static KubeConfig? Load(IReadOnlyList<string> candidates, KubeconfigProblems problems)
    {
        var existing = candidates.Where(File.Exists).ToList();
        if (existing.Count == 0) return null;
        var config = new KubeConfig(existing);
        foreach (var file in existing)
        {
            JsonNode? root;
            try
            {
                root = ParseYaml(File.ReadAllBytes(file));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                problems.Add($"kubeconfig {file}: {FileErrors.Describe(ex, file)}");
                continue;
            }
            catch (YamlException ex)
            {
                problems.Add($"kubeconfig {file}:{ex.Start.Line}:{ex.Start.Column}: invalid YAML");
                continue;
            }
            if (root is not JsonObject document)
            {
                if (root is not null) problems.Add($"kubeconfig {file}: expected a mapping with clusters, users and contexts");
                continue;
            }
            config.Add(document, file);
        }
        return config;
    }

    private void Add(JsonObject document, string file)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(file)) ?? "/";
        CurrentContext ??= Text(document["current-context"]) is { Length: > 0 } current ? current : null;
        foreach (var (name, body) in Named(document, "clusters", "cluster"))
        {
            Clusters.TryAdd(name, new KubeCluster(name,
                Text(body["server"]),
                Text(body["certificate-authority"]),
                Text(body["certificate-authority-data"]),
                Text(body["insecure-skip-tls-verify"]) is "true" or "True" or "TRUE",
                Text(body["tls-server-name"]),
                Text(body["proxy-url"]),
                directory));
        }
        foreach (var (name, body) in Named(document, "users", "user"))
        {
            var unsupported = body["exec"] is JsonObject ? "exec (credential plugins)"
                : body["auth-provider"] is JsonObject ? "auth-provider"
                : Text(body["username"]) is not null || Text(body["password"]) is not null ? "username/password (basic auth)"
                : null;
            Users.TryAdd(name, new KubeUser(name,
                Secret.From(Text(body["token"])),
                Text(body["tokenFile"]),
                Text(body["client-certificate"]),
                Text(body["client-certificate-data"]),
                Text(body["client-key"]),
                Secret.From(Text(body["client-key-data"])),
                unsupported,
                directory));
        }
        foreach (var (name, body) in Named(document, "contexts", "context"))
        {
            Contexts.TryAdd(name, new KubeContext(name, Text(body["cluster"]), Text(body["user"]), Text(body["namespace"])));
        }
    }

    /// <summary>The entries of a named list (clusters: [{name, cluster: {...}}]) that have a name.</summary>
    private static IEnumerable<(string Name, JsonObject Body)> Named(JsonObject document, string list, string field)
    {
        if (document[list] is not JsonArray items) yield break;
        foreach (var item in items)
        {
            if (item is JsonObject entry && Text(entry["name"]) is { Length: > 0 } name)
            {
                yield return (name, entry[field] as JsonObject ?? []);
            }
        }
    }

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    /// <summary>One YAML document as a tree whose scalars are all strings (a token of digits stays as written).</summary>
    internal static JsonNode? ParseYaml(byte[] bytes)
    {
        using var reader = Utf8BytesReader.Create(bytes);
        var parser = new Parser(reader);
        parser.Consume<StreamStart>();
        if (parser.Accept<StreamEnd>(out _)) return null;
        parser.Consume<DocumentStart>();
        return ReadNode(parser);
    }

    private static JsonNode? ReadNode(IParser parser)
    {
        switch (parser.Current)
        {
            case MappingStart:
            {
                parser.MoveNext();
                var map = new JsonObject();
                while (!parser.TryConsume<MappingEnd>(out _))
                {
                    var key = parser.Current is Scalar k ? k.Value : null;
                    if (key is null) parser.SkipThisAndNestedEvents();
                    else parser.MoveNext();
                    var value = ReadNode(parser);
                    if (key is not null) map[key] = value;
                }
                return map;
            }
            case SequenceStart:
            {
                parser.MoveNext();
                var list = new JsonArray();
                while (!parser.TryConsume<SequenceEnd>(out _)) list.Add(ReadNode(parser));
                return list;
            }
            case Scalar s:
                parser.MoveNext();
                return s.Style == ScalarStyle.Plain && s.Value is "" or "~" or "null" or "Null" or "NULL" ? null : JsonValue.Create(s.Value);
            default:
                // Aliases and other events: no value.
                parser.SkipThisAndNestedEvents();
                return null;
        }
    }

    /// <summary>Base64 *-data fields, decoded; null (reported) when they are not base64.</summary>
    internal static byte[]? DecodeData(string value, string field, KubeconfigProblems problems)
    {
        var text = value.Trim();
        var bytes = new byte[text.Length];
        if (Convert.TryFromBase64String(text, bytes, out var length)) return bytes[..length];
        problems.Add($"{field} is not base64");
        return null;
    }

    /// <summary>A path of the kubeconfig, resolved against the directory of the file that named it.</summary>
    internal static string ResolvePath(string path, string directory) => Path.IsPathRooted(path) ? path : Path.Combine(directory, path);

    internal static string Utf8(byte[] bytes) => Encoding.UTF8.GetString(bytes);
}

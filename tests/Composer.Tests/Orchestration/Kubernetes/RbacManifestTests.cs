using System.Text.Json.Nodes;
using Composer.Resolution;
using Composer.Tests.Infrastructure;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Composer.Tests.Orchestration.Kubernetes;

/// <summary>
/// deploy/kubernetes/: the Role grants exactly the (resource, verb) pairs the code calls, measured by the stand-in on
/// a run through every orchestrator operation (and never exceeded by any Composer call of the test session), and the
/// other manifests are what the issue asks for (non-root, read-only root filesystem, resources, health probes).
/// </summary>
[ClassDataSource<HtpasswdRegistryFixture>(Shared = SharedType.PerTestSession)]
public class RbacManifestTests(HtpasswdRegistryFixture registry)
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static string ManifestDirectory => Path.Combine(RepoPaths.Root, "deploy", "kubernetes");

    /// <summary>Every document of every manifest, read with YamlDotNet's parser.</summary>
    private static List<JsonObject> Documents()
    {
        var documents = new List<JsonObject>();
        foreach (var file in Directory.GetFiles(ManifestDirectory, "*.yaml").Order(StringComparer.Ordinal))
        {
            var parser = new Parser(new StringReader(File.ReadAllText(file)));
            parser.Consume<StreamStart>();
            while (parser.TryConsume<DocumentStart>(out _))
            {
                if (Read(parser) is JsonObject document) documents.Add(document);
                parser.Consume<DocumentEnd>();
            }
        }
        return documents;
    }

    private static JsonNode? Read(IParser parser)
    {
        if (parser.TryConsume<MappingStart>(out _))
        {
            var map = new JsonObject();
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                var key = parser.Consume<Scalar>().Value;
                map[key] = Read(parser);
            }
            return map;
        }
        if (parser.TryConsume<SequenceStart>(out _))
        {
            var list = new JsonArray();
            while (!parser.TryConsume<SequenceEnd>(out _)) list.Add(Read(parser));
            return list;
        }
        var scalar = parser.Consume<Scalar>();
        return scalar.Style == ScalarStyle.Plain && scalar.Value is "null" or "~" or "" ? null : JsonValue.Create(scalar.Value);
    }

    private static JsonObject Only(List<JsonObject> documents, string kind) => documents.Single(d => Text(d["kind"]) == kind);

    private static string? Text(JsonNode? node) => node?.GetValue<string>();

    /// <summary>The Role's rules as "group/resource verb" (group empty for the core API).</summary>
    private static HashSet<string> RoleRules()
    {
        var rules = new HashSet<string>(StringComparer.Ordinal);
        foreach (var rule in Only(Documents(), "Role")["rules"]!.AsArray())
        {
            foreach (var group in rule!["apiGroups"]!.AsArray())
            foreach (var resource in rule["resources"]!.AsArray())
            foreach (var verb in rule["verbs"]!.AsArray())
            {
                rules.Add($"{Text(group)}/{Text(resource)} {Text(verb)}");
            }
        }
        return rules;
    }

    private static string Rule(KubernetesRequest r) => $"{(r.Path.StartsWith("/apis/apps/", StringComparison.Ordinal) ? "apps" : "")}/{r.Resource} {r.Verb}";

    [Test]
    public async Task The_role_grants_exactly_what_every_orchestrator_operation_calls()
    {
        await using var h = await KubernetesHarness.StartAsync(registry);
        var o = h.Orchestrator;
        await Assert.That((await o.CheckAsync(None))?.Message).IsNull();
        var workload = h.Workload("connector-rbac", start: false, caBundle: KubernetesHarness.Bundle("A"));
        await Assert.That((await o.DeployAsync(workload, None))?.Message).IsNull();
        await Assert.That((await o.StartAsync(await h.ObservedAsync("connector-rbac"), workload, None))?.Message).IsNull();
        h.Api.ConflictOnNextSecretUpdate(h.Namespace, "connector-rbac-proxy-ca");
        var changed = workload with { ConfigHash = "h2", CaBundle = KubernetesHarness.Bundle("B"), Start = true };
        await Assert.That((await o.RefreshAsync(await h.ObservedAsync("connector-rbac"), changed, None))?.Message).IsNull();
        h.Api.AppendLog(h.Namespace, "connector-rbac", "hello", DateTimeOffset.UtcNow);
        await Assert.That((await o.LogsAsync(await h.ObservedAsync("connector-rbac"), null, Composer.Reconciliation.LogLimits.Default, None)).Value!.Lines).IsEquivalentTo(new[] { "hello" });
        await Assert.That((await o.HealthAsync(await h.ObservedAsync("connector-rbac"), None)).IsSuccess).IsTrue();
        await Assert.That((await o.RefreshAsync(await h.ObservedAsync("connector-rbac"), changed with { ConfigHash = "h3", CaBundle = null }, None))?.Message).IsNull();
        await Assert.That((await o.StopAsync(await h.ObservedAsync("connector-rbac"), None))?.Message).IsNull();
        await Assert.That((await o.RemoveAsync(await h.ObservedAsync("connector-rbac"), None))?.Message).IsNull();
        // The events: deployments and pods listed, then watched.
        await using (var watching = o.WatchAsync(None).GetAsyncEnumerator())
        {
            await Assert.That(await watching.MoveNextAsync()).IsTrue();
            await Assert.That(watching.Current).IsTypeOf<Composer.Reconciliation.WatchStarted>();
        }

        var used = h.Api.ComposerRequests.Where(r => r.Resource is not null).Select(Rule).ToHashSet(StringComparer.Ordinal);
        await Assert.That(used.Order(StringComparer.Ordinal).ToList()).IsEquivalentTo(RoleRules().Order(StringComparer.Ordinal).ToList(),
            TUnit.Assertions.Enums.CollectionOrdering.Matching);
        // Composer never calls anything the authorizer would not see as a namespaced resource (no discovery).
        await Assert.That(h.Api.ComposerRequests.All(r => r.Resource is not null)).IsTrue();
    }

    [Test]
    [DependsOn(typeof(KubernetesOrchestratorTests))]
    [DependsOn(typeof(PullSecretTests))]
    [DependsOn(typeof(InClusterTests))]
    [DependsOn(typeof(KubernetesWatchTests))]
    public async Task No_Composer_call_of_the_test_session_needs_more_than_the_role()
    {
        var role = RoleRules();
        var resources = role.Select(r => r[(r.IndexOf('/') + 1)..]).ToHashSet(StringComparer.Ordinal);
        var beyond = KubernetesStandIn.SessionComposerCalls.Keys.Select(k => $"{k.Resource} {k.Verb}").Where(c => !resources.Contains(c)).ToList();
        await Assert.That(KubernetesStandIn.SessionComposerCalls).IsNotEmpty();
        await Assert.That(beyond).IsEmpty();
    }

    [Test]
    public async Task The_manifests_run_composer_hardened_with_its_service_account_key_secret_and_probes()
    {
        var documents = Documents();
        var ns = Text(Only(documents, "Namespace")["metadata"]!["name"]);
        await Assert.That(documents.Where(d => Text(d["kind"]) != "Namespace").All(d => Text(d["metadata"]!["namespace"]) == ns)).IsTrue();
        var account = Text(Only(documents, "ServiceAccount")["metadata"]!["name"]);
        var binding = Only(documents, "RoleBinding");
        await Assert.That(Text(binding["roleRef"]!["name"])).IsEqualTo(Text(Only(documents, "Role")["metadata"]!["name"]));
        await Assert.That(Text(binding["subjects"]![0]!["name"])).IsEqualTo(account);

        var secret = Only(documents, "Secret");
        await Assert.That(secret["stringData"]!["private_key.pem"]!.GetValue<string>()).Contains("BEGIN PRIVATE KEY");
        await Assert.That(File.ReadAllText(Path.Combine(ManifestDirectory, "secret.yaml"))).Contains("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096");

        var deployment = Only(documents, "Deployment");
        await Assert.That(Text(deployment["spec"]!["replicas"])).IsEqualTo("1");
        await Assert.That(Text(deployment["spec"]!["strategy"]!["type"])).IsEqualTo("Recreate");
        var pod = deployment["spec"]!["template"]!["spec"]!;
        await Assert.That(Text(pod["serviceAccountName"])).IsEqualTo(account);
        await Assert.That(Text(pod["securityContext"]!["runAsNonRoot"])).IsEqualTo("true");
        var container = pod["containers"]![0]!;
        await Assert.That(Text(container["securityContext"]!["readOnlyRootFilesystem"])).IsEqualTo("true");
        await Assert.That(Text(container["securityContext"]!["allowPrivilegeEscalation"])).IsEqualTo("false");
        await Assert.That(container["resources"]!["requests"]).IsNotNull();
        await Assert.That(container["resources"]!["limits"]).IsNotNull();
        await Assert.That(Text(container["livenessProbe"]!["httpGet"]!["path"])).IsEqualTo("/healthz");
        await Assert.That(Text(container["readinessProbe"]!["httpGet"]!["path"])).IsEqualTo("/readyz");
        await Assert.That(Text(container["ports"]![0]!["containerPort"])).IsEqualTo("8080");
        var env = container["env"]!.AsArray().ToDictionary(e => Text(e!["name"])!, e => Text(e!["value"]));
        await Assert.That(env["MANAGER__HEALTH__ENABLE"]).IsEqualTo("true");
        await Assert.That(env["MANAGER__HEALTH__LISTEN"]).IsEqualTo("0.0.0.0:8080");
        await Assert.That(env["MANAGER__CREDENTIALS_KEY_FILEPATH"]!.StartsWith(Text(container["volumeMounts"]![0]!["mountPath"])!, StringComparison.Ordinal)).IsTrue();
        await Assert.That(Text(pod["volumes"]![0]!["secret"]!["secretName"])).IsEqualTo(Text(secret["metadata"]!["name"]));

        // Every variable is a configuration key.
        var known = env.ToDictionary(e => e.Key, e => e.Value ?? "");
        var loaded = SettingsLoader.Load(new Composer.Configuration.ConfigLoadRequest
        {
            ConfigDirectory = ManifestDirectory,
            Environment = known,
            RequireManagerKey = false,
        });
        await Assert.That(loaded.Errors.Where(e => e.Message.StartsWith("unknown setting", StringComparison.Ordinal))).IsEmpty();
        await Assert.That(loaded.Settings.OpenCti.Daemon.Selector).IsEqualTo("kubernetes");
    }
}

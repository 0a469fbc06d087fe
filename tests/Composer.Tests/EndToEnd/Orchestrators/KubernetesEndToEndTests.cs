using System.Diagnostics;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd.Orchestrators;

/// <summary>
/// What only Kubernetes shows, with the published binary against the API stand-in: a registry password file rotated
/// while composer runs reaches the pull secret in place (same uid, new resourceVersion) within one token_ttl, and a 409
/// on that update is retried with the fresh resourceVersion; an invalid base deployment is a configuration error at
/// load (exit 2, key and source named), never a failure at deploy time.
/// </summary>
public class KubernetesEndToEndTests : OrchestratorTestBase
{
    private const int TokenTtlSeconds = 3;

    [Test]
    public async Task A_rotated_password_file_updates_the_pull_secret_in_place_within_one_token_ttl_and_a_409_is_retried()
    {
        await using var target = await KubernetesTarget.StartAsync(Fixtures);
        var manager = target.Manager;
        var (host, user) = (Htpasswd.Host, HtpasswdRegistryFixture.SymbolUser);
        var passwordFile = Path.Combine(manager.Directory, "registry_password");
        await File.WriteAllTextAsync(passwordFile, HtpasswdRegistryFixture.SymbolPassword + "\n");
        manager.Environment["OPENCTI__DAEMON__REGISTRY__SERVER"] = host;
        manager.Environment["OPENCTI__DAEMON__REGISTRY__USERNAME"] = user;
        manager.Environment["OPENCTI__DAEMON__REGISTRY__PASSWORD_FILE"] = passwordFile;
        manager.Environment["OPENCTI__DAEMON__REGISTRY__TOKEN_TTL"] = TokenTtlSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await target.PushAsync(host, user, HtpasswdRegistryFixture.SymbolPassword, $"{manager.ManagerId}/rotated");
        var connector = manager.NewConnector("rotated", $"{manager.ManagerId}/rotated:1", manager.NewSecret());
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start();

        var deployed = await target.WaitForWorkloadAsync(connector.Id);
        var secretName = KubernetesTarget.PullSecretName(host);
        var created = target.Api.Secret(target.Namespace, secretName)!;
        await Assert.That(target.PullSecretAuth(host)["password"]!.GetValue<string>()).IsEqualTo(HtpasswdRegistryFixture.SymbolPassword);

        var first = await RotateAsync(target, passwordFile, host);
        var updated = target.Api.Secret(target.Namespace, secretName)!;
        await Assert.That(Uid(updated)).IsEqualTo(Uid(created));
        await Assert.That(Version(updated)).IsNotEqualTo(Version(created));

        // Another writer changes the Secret between Composer's read and its update: the update gets 409, and is
        // made again on the object read afresh.
        target.Api.ConflictOnNextSecretUpdate(target.Namespace, secretName);
        await RotateAsync(target, passwordFile, host);
        var retried = target.Api.Secret(target.Namespace, secretName)!;
        await Assert.That(Uid(retried)).IsEqualTo(Uid(created));
        await Assert.That(retried["metadata"]!["annotations"]!["standin/concurrent-writer"]!.GetValue<string>()).IsEqualTo("touched");
        var writes = target.Api.ComposerRequests.Where(r => r.Path.EndsWith("/secrets/" + secretName, StringComparison.Ordinal) && r.Method is "PUT" or "DELETE")
            .Select(r => $"{r.Method} {r.Status}").ToList();
        await Assert.That(writes).IsEquivalentTo(new[] { "PUT 200", "PUT 409", "PUT 200" }, TUnit.Assertions.Enums.CollectionOrdering.Matching);
        await Assert.That(target.Api.ComposerRequests.Count(r => r.Resource == "secrets" && r.Verb == "create" && r.Status == 201)).IsEqualTo(1);
        // The connector was not touched: the kubelet reads the Secret when it pulls.
        await Assert.That((await target.WorkloadsOfAsync(connector.Id)).Single().Id).IsEqualTo(deployed.Id);
        await Assert.That(first).IsNotEqualTo(HtpasswdRegistryFixture.SymbolPassword);

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    /// <summary>Writes a new password into the file; waits until the pull secret holds it, at most one token_ttl and two cycles later; the password.</summary>
    private static async Task<string> RotateAsync(KubernetesTarget target, string passwordFile, string host)
    {
        var password = target.Manager.Secret("rotated+/" + Guid.NewGuid().ToString("N")[..16]);
        var watch = Stopwatch.StartNew();
        await File.WriteAllTextAsync(passwordFile, password + "\n");
        await target.Manager.EventuallyAsync(() => Task.FromResult(target.PullSecretAuth(host)["password"]!.GetValue<string>() == password),
            "the rotated password in the pull secret");
        // Rendered every token_ttl, on the first cycle after it ran out (cycles every second, here slowed by a loaded machine).
        await Assert.That(watch.Elapsed).IsLessThan(TimeSpan.FromSeconds(TokenTtlSeconds + 5));
        var auth = target.PullSecretAuth(host);
        await Assert.That(System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(auth["auth"]!.GetValue<string>()))).IsEqualTo($"{HtpasswdRegistryFixture.SymbolUser}:{password}");
        return password;
    }

    private static string Uid(System.Text.Json.Nodes.JsonObject o) => o["metadata"]!["uid"]!.GetValue<string>();

    private static string Version(System.Text.Json.Nodes.JsonObject o) => o["metadata"]!["resourceVersion"]!.GetValue<string>();

    [Test]
    [Arguments("""{"spec": {"template": """, "expected a JSON object")]
    [Arguments("""{"kind":"Service"}""", "kind is \"Service\", expected \"Deployment\"")]
    public async Task An_invalid_base_deployment_json_is_a_configuration_error_at_load(string json, string reason)
    {
        await using var target = await KubernetesTarget.StartAsync(Fixtures);
        var manager = target.Manager;
        const string variable = "OPENCTI__DAEMON__KUBERNETES__BASE_DEPLOYMENT_JSON";
        manager.Environment[variable] = json;
        manager.StandIn.AddConnector(manager.NewConnector("based", target.RunnableImage));

        var run = await manager.RunAsync("run");

        await Assert.That(run.ExitCode).IsEqualTo(2).Because(run.ToString());
        var output = run.Stdout + run.Stderr;
        var line = output.Split('\n').First(l => l.Contains("opencti.daemon.kubernetes.base_deployment_json", StringComparison.Ordinal));
        await Assert.That(line).Contains(reason);
        await Assert.That(line).Contains($"environment {variable}");
        await Assert.That(output).DoesNotContain("Unhandled exception");
        // Refused before anything was contacted.
        await Assert.That(target.Api.Requests).IsEmpty();
        await Assert.That(manager.StandIn.Requests).IsEmpty();
        await manager.AssertNoSecretInOutputAsync();
    }
}

using System.Text;
using System.Text.Json.Nodes;
using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Images;
using Composer.Resolution;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Orchestration.Kubernetes;

/// <summary>
/// The image pull secret: what the kubelet will read, rendered in place again every token_ttl from the registry
/// credentials, their password file read again (a rotated *_FILE password), or existing secrets named instead.
/// </summary>
[ClassDataSource<HtpasswdRegistryFixture>(Shared = SharedType.PerTestSession)]
public class PullSecretTests(HtpasswdRegistryFixture registry)
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static JsonObject Auths(KubernetesHarness h) =>
        JsonNode.Parse(h.Api.SecretValue(h.Namespace, h.PullSecretName, ".dockerconfigjson")!)!["auths"]!.AsObject();

    [Test]
    public async Task The_pull_secret_decodes_to_the_configured_credentials_under_the_host_and_url_forms()
    {
        await using var h = await KubernetesHarness.StartAsync(registry, s => s.OpenCti.Daemon.Registry!.Email = "ops@example.com");
        await Assert.That((await h.Orchestrator.DeployAsync(h.Workload("connector-pull"), None))?.Message).IsNull();

        await Assert.That(h.PullSecretName).IsEqualTo(RegistryConfiguration.Slug(registry.Host));
        var auths = Auths(h);
        await Assert.That(auths.Select(a => a.Key).ToList()).IsEquivalentTo(new[] { registry.Host, "https://" + registry.Host });
        foreach (var (_, entry) in auths)
        {
            await Assert.That(entry!["username"]!.GetValue<string>()).IsEqualTo(HtpasswdRegistryFixture.User);
            await Assert.That(entry["password"]!.GetValue<string>()).IsEqualTo(HtpasswdRegistryFixture.Password);
            await Assert.That(entry["email"]!.GetValue<string>()).IsEqualTo("ops@example.com");
            var auth = Encoding.UTF8.GetString(Convert.FromBase64String(entry["auth"]!.GetValue<string>()));
            await Assert.That(auth).IsEqualTo($"{HtpasswdRegistryFixture.User}:{HtpasswdRegistryFixture.Password}");
        }
        // The host key is the image's host exactly: the kubelet compares host and port as written.
        var image = h.Api.Deployment(h.Namespace, "connector-pull")!["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>();
        await Assert.That(image.StartsWith(registry.Host + "/", StringComparison.Ordinal)).IsTrue();
        await Assert.That(h.Api.Secret(h.Namespace, h.PullSecretName)!["metadata"]!["labels"]!["app.kubernetes.io/managed-by"]!.GetValue<string>()).IsEqualTo("composer");
    }

    [Test]
    public async Task A_rotated_password_file_updates_the_secret_in_place_within_one_token_ttl()
    {
        var directory = Directory.CreateTempSubdirectory("composer-rotation-").FullName;
        try
        {
            var passwordFile = Path.Combine(directory, "registry_password");
            await File.WriteAllTextAsync(passwordFile, HtpasswdRegistryFixture.Password + "\n");
            var request = new ConfigLoadRequest
            {
                ConfigDirectory = directory,
                RequireManagerKey = false,
                Environment = new Dictionary<string, string>
                {
                    ["OPENCTI__DAEMON__REGISTRY__SERVER"] = registry.Host,
                    ["OPENCTI__DAEMON__REGISTRY__USERNAME"] = HtpasswdRegistryFixture.User,
                    ["OPENCTI__DAEMON__REGISTRY__PASSWORD_FILE"] = passwordFile,
                    ["OPENCTI__DAEMON__REGISTRY__TOKEN_TTL"] = "600",
                    ["OPENCTI__DAEMON__REGISTRY__RETRY_ATTEMPTS"] = "0",
                },
            };
            var loaded = SettingsLoader.Load(request);
            await Assert.That(loaded.Success).IsTrue().Because(string.Join("; ", loaded.Errors));
            await using var h = await KubernetesHarness.StartAsync(registry, settings: loaded.Settings, registryConfiguration: loaded.Resolved!.Registry);

            await Assert.That((await h.Orchestrator.DeployAsync(h.Workload("connector-rotate"), None))?.Message).IsNull();
            var created = h.Api.Secret(h.Namespace, h.PullSecretName)!;
            await Assert.That(Auths(h)[registry.Host]!["password"]!.GetValue<string>()).IsEqualTo(HtpasswdRegistryFixture.Password);

            await File.WriteAllTextAsync(passwordFile, "rotated-Passw0rd\n");
            // Before token_ttl: the list cycles do not touch the secret.
            h.Time.Advance(TimeSpan.FromSeconds(599));
            await Assert.That((await h.Orchestrator.ListAsync(None)).IsSuccess).IsTrue();
            await Assert.That(Auths(h)[registry.Host]!["password"]!.GetValue<string>()).IsEqualTo(HtpasswdRegistryFixture.Password);

            h.Time.Advance(TimeSpan.FromSeconds(1));
            await Assert.That((await h.Orchestrator.ListAsync(None)).IsSuccess).IsTrue();

            var updated = h.Api.Secret(h.Namespace, h.PullSecretName)!;
            foreach (var (_, entry) in Auths(h))
            {
                await Assert.That(entry!["password"]!.GetValue<string>()).IsEqualTo("rotated-Passw0rd");
                await Assert.That(Encoding.UTF8.GetString(Convert.FromBase64String(entry["auth"]!.GetValue<string>()))).IsEqualTo($"{HtpasswdRegistryFixture.User}:rotated-Passw0rd");
            }
            await Assert.That(updated["metadata"]!["uid"]!.GetValue<string>()).IsEqualTo(created["metadata"]!["uid"]!.GetValue<string>());
            await Assert.That(updated["metadata"]!["resourceVersion"]!.GetValue<string>()).IsNotEqualTo(created["metadata"]!["resourceVersion"]!.GetValue<string>());
            var writes = h.Api.ComposerRequests.Where(r => r.Resource == "secrets" && r.Verb is "create" or "update" or "delete")
                .Select(r => $"{r.Verb} {r.Status}").ToList();
            await Assert.That(writes).IsEquivalentTo(new[] { "create 201", "update 200" }, TUnit.Assertions.Enums.CollectionOrdering.Matching);
            // The pre-flight checks with what the kubelet now gets.
            await Assert.That(h.Access.Credentials.Current!.Password.Reveal()).IsEqualTo("rotated-Passw0rd");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Test]
    public async Task An_unchanged_render_writes_nothing()
    {
        await using var h = await KubernetesHarness.StartAsync(registry);
        await Assert.That((await h.Orchestrator.DeployAsync(h.Workload("connector-same"), None))?.Message).IsNull();
        h.Time.Advance(TimeSpan.FromSeconds(1800));
        await Assert.That((await h.Orchestrator.ListAsync(None)).IsSuccess).IsTrue();
        var secretCalls = h.Api.ComposerRequests.Where(r => r.Path.EndsWith("/secrets/" + h.PullSecretName, StringComparison.Ordinal) || r.Verb == "create" && r.Resource == "secrets")
            .Select(r => $"{r.Method} {r.Status}").ToList();
        await Assert.That(secretCalls).IsEquivalentTo(new[] { "GET 404", "POST 201", "GET 200" }, TUnit.Assertions.Enums.CollectionOrdering.Matching);
    }

    [Test]
    public async Task Named_image_pull_secrets_are_referenced_and_Composer_writes_none()
    {
        await using var h = await KubernetesHarness.StartAsync(registry, s => s.OpenCti.Daemon.Kubernetes!.ImagePullSecrets = ["corp-pull", "mirror-pull"]);
        await Assert.That((await h.Orchestrator.DeployAsync(h.Workload("connector-named"), None))?.Message).IsNull();

        var names = h.Api.Deployment(h.Namespace, "connector-named")!["spec"]!["template"]!["spec"]!["imagePullSecrets"]!.AsArray()
            .Select(s => s!["name"]!.GetValue<string>()).ToList();
        await Assert.That(names).IsEquivalentTo(new[] { "corp-pull", "mirror-pull" }, TUnit.Assertions.Enums.CollectionOrdering.Matching);
        await Assert.That(h.Api.SecretNames(h.Namespace)).IsEmpty();
        await Assert.That(h.Api.ComposerRequests.Any(r => r.Resource == "secrets")).IsFalse();
    }

    [Test]
    public async Task Without_credentials_there_is_no_pull_secret()
    {
        // No registry section: the image names the htpasswd registry, which refuses anonymous pulls, and the pre-flight says so.
        await using var h = await KubernetesHarness.StartAsync(registry, settings: new ComposerSettings());
        var error = await h.Orchestrator.DeployAsync(h.Workload("connector-anon", image: $"{registry.Host}/{KubernetesHarness.ConnectorImage}"), None);
        await Assert.That(error?.Message).IsNotNull();
        await Assert.That(h.Api.ComposerRequests.Any(r => r.Resource == "secrets")).IsFalse();
        await Assert.That(h.Api.DeploymentNames(h.Namespace)).IsEmpty();
    }
}

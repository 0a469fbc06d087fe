using System.Diagnostics;
using Composer.Images;
using Microsoft.Extensions.Time.Testing;

namespace Composer.Tests.Images.Registry;

/// <summary>
/// The docker-credential-helpers protocol with real helper programs (shell scripts on PATH): the server on stdin,
/// {"ServerURL","Username","Secret"} on stdout, "&lt;token&gt;" for an identity token, "credentials not found" for
/// anonymous; a helper that fails, hangs, floods or is missing is one bounded failure naming it and the server, its
/// words escaped and long token-like words masked. The per-registry lookup asks the helper again after token_ttl.
/// </summary>
public class CredentialHelperTests
{
    private static readonly string HelperDirectory = InstallHelpers();

    /// <summary>Scripts named docker-credential-composer-test-*, in a directory appended to this process's PATH (names no one else uses).</summary>
    private static string InstallHelpers()
    {
        var directory = Directory.CreateTempSubdirectory("composer-cred-helpers-").FullName;
        void Script(string name, string body)
        {
            var path = Path.Combine(directory, "docker-credential-composer-test-" + name);
            File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        Script("good", """
            [ "$1" = get ] || exit 9
            server=$(cat)
            echo "$server" >> "$0.calls"
            case "$server" in
              reg.example.com:5000|ttl.example.com:5000) printf '{"ServerURL":"%s","Username":"helper-user","Secret":"helper+/secret"}' "$server" ;;
              https://index.docker.io/v1/) printf '{"ServerURL":"%s","Username":"<token>","Secret":"refresh-token-value"}' "$server" ;;
              *) echo "credentials not found in native keychain"; exit 1 ;;
            esac
            """);
        Script("fail", """
            cat > /dev/null
            echo "error: vault login refused; token AbCdEfGhIjKlMnOpQrStUvWxYz0123456789 expired" >&2
            printf 'line\001two'
            exit 3
            """);
        Script("hang", "sleep 600");
        Script("flood", "head -c 200000 /dev/zero | tr '\\000' x");
        Script("notjson", """cat > /dev/null; echo 'Secret=raw-secret-value'""");
        var path = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin";
        Environment.SetEnvironmentVariable("PATH", path + ":" + directory);
        return directory;
    }

    private static Task<Composer.Diagnostics.Result<RegistryLogin>> Get(string helper, string host, TimeSpan? timeout = null)
    {
        // The field's initializer installs the helpers on PATH: it must have run before any helper is started.
        _ = HelperDirectory;
        return CredentialHelper.GetAsync("composer-test-" + helper, host, "credsStore of /cfg/config.json", CancellationToken.None, timeout);
    }

    [Test]
    public async Task A_helper_answers_with_the_username_and_secret_of_the_server_it_is_given()
    {
        var login = await Get("good", "reg.example.com:5000");
        var credentials = login.Value!.Credentials!;
        await Assert.That((credentials.Username, credentials.Password.Reveal(), credentials.ServerAddress)).IsEqualTo(("helper-user", "helper+/secret", "reg.example.com:5000"));
        await Assert.That(credentials.Source).Contains("docker-credential-composer-test-good");
        await Assert.That(File.ReadAllText(Path.Combine(HelperDirectory, "docker-credential-composer-test-good.calls"))).Contains("reg.example.com:5000\n");
    }

    [Test]
    public async Task Docker_hub_is_asked_by_its_legacy_key_and_token_means_an_identity_token()
    {
        var credentials = (await Get("good", "docker.io")).Value!.Credentials!;
        await Assert.That(credentials.IdentityToken?.Reveal()).IsEqualTo("refresh-token-value");
        await Assert.That(credentials.HasPassword).IsFalse();
        await Assert.That(credentials.ServerAddress).IsNull();
    }

    [Test]
    public async Task Not_found_means_anonymous()
    {
        var login = await Get("good", "elsewhere.example.com");
        await Assert.That(login.IsSuccess).IsTrue();
        await Assert.That(login.Value!.Credentials).IsNull();
    }

    [Test]
    public async Task A_failing_helper_is_named_with_its_words_escaped_and_tokens_masked()
    {
        var login = await Get("fail", "reg.example.com:5000");
        var message = login.Failure!.Message;
        await Assert.That(message).StartsWith("credential helper docker-credential-composer-test-fail (credsStore of /cfg/config.json) failed for reg.example.com:5000: exit code 3");
        await Assert.That(message).Contains("vault login refused");
        await Assert.That(message).DoesNotContain("AbCdEfGhIjKlMnOpQrStUvWxYz0123456789");
        await Assert.That(message).DoesNotContain("\u0001");
    }

    [Test]
    public async Task A_hanging_helper_is_stopped_after_the_timeout()
    {
        var watch = Stopwatch.StartNew();
        var login = await Get("hang", "reg.example.com:5000", TimeSpan.FromSeconds(1));
        await Assert.That(watch.Elapsed).IsLessThan(TimeSpan.FromSeconds(15));
        await Assert.That(login.Failure!.Message).Contains("no answer within 1 s (the helper was stopped)");
    }

    [Test]
    public async Task A_flooding_helper_is_stopped_at_the_output_bound()
    {
        var login = await Get("flood", "reg.example.com:5000");
        await Assert.That(login.Failure!.Message).Contains($"more than {CredentialHelper.MaxOutputBytes / 1024} KiB");
    }

    [Test]
    public async Task An_answer_that_is_not_json_is_refused_without_quoting_it()
    {
        var login = await Get("notjson", "reg.example.com:5000");
        await Assert.That(login.Failure!.Message).Contains("not the JSON");
        await Assert.That(login.Failure!.Message).DoesNotContain("raw-secret-value");
    }

    [Test]
    public async Task A_missing_helper_says_to_install_it()
    {
        var login = await Get("absent-" + Guid.NewGuid().ToString("N"), "reg.example.com:5000");
        await Assert.That(login.Failure!.Message).Contains("cannot run it");
        await Assert.That(login.Failure!.Message).Contains("PATH");
        var invalid = await CredentialHelper.GetAsync("../evil", "reg.example.com:5000", "credsStore", CancellationToken.None);
        await Assert.That(invalid.Failure!.Message).Contains("is not a helper name");
    }

    [Test]
    public async Task The_lookup_prefers_the_registry_block_for_its_server_and_asks_the_helper_again_after_token_ttl()
    {
        var directory = Directory.CreateTempSubdirectory("composer-dockercfg-").FullName;
        _ = HelperDirectory;
        try
        {
            var config = Path.Combine(directory, "config.json");
            var calls = Path.Combine(HelperDirectory, "docker-credential-composer-test-good.calls");
            await File.WriteAllTextAsync(config, """{"credsStore":"composer-test-good","auths":{"block.example.com":{"auth":"bm90OnVzZWQ="}}}""");
            var errors = new List<Composer.Configuration.ConfigDiagnostic>();
            var configuration = RegistryConfiguration.FromSettings(new Composer.Configuration.RegistrySettings
            {
                Server = "block.example.com", Username = "block-user", Password = new Composer.Diagnostics.Secret("block-password"), DockerConfig = config, TokenTtl = 60,
            }, Composer.Configuration.ConfigProvenance.None, new Dictionary<string, string>(), new Composer.Configuration.ConfigReport(Composer.Configuration.ConfigProvenance.None, errors, []))!;
            await Assert.That(errors).IsEmpty();
            var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
            using var access = new RegistryAccess(configuration, new Composer.Tests.Infrastructure.TestOutboundHandlerFactory(), time: clock);

            var block = (await access.CredentialsForAsync("block.example.com", CancellationToken.None)).Value!.Credentials!;
            await Assert.That((block.Username, block.Source)).IsEqualTo(("block-user", RegistryCredentials.SettingsSource));

            // A server only this test asks for: the calls file is shared with the tests running beside it.
            int Calls() => File.Exists(calls) ? File.ReadAllLines(calls).Count(l => l == "ttl.example.com:5000") : 0;
            var before = Calls();
            var helper = (await access.CredentialsForAsync("ttl.example.com:5000", CancellationToken.None)).Value!.Credentials!;
            await Assert.That(helper.Username).IsEqualTo("helper-user");
            await access.CredentialsForAsync("ttl.example.com:5000", CancellationToken.None);
            await Assert.That(Calls()).IsEqualTo(before + 1);
            clock.Advance(TimeSpan.FromSeconds(61));
            await access.CredentialsForAsync("ttl.example.com:5000", CancellationToken.None);
            await Assert.That(Calls()).IsEqualTo(before + 2);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}

using System.Net;

namespace Composer.Tests.Infrastructure;

/// <summary>The Docker engine fixture and the busybox test image, against the real engine.</summary>
[ClassDataSource<TestImage>(Shared = SharedType.PerTestSession)]
public class DockerInfrastructureTests(TestImage image)
{
    private DockerEngineFixture Docker => image.Docker;

    [Test]
    public async Task Engine_answers_and_reports_its_version()
    {
        Docker.Require();
        await Docker.Client.System.PingAsync();
        await Assert.That(Docker.ServerVersion).IsNotEmpty();
        await Assert.That(Version.TryParse(Docker.ApiVersion, out _)).IsTrue();
        var cli = await Docker.RunCliCheckedAsync(["version", "--format", "{{.Server.Version}}"]);
        await Assert.That(cli.Stdout.Trim()).IsEqualTo(Docker.ServerVersion);
    }

    [Test]
    public async Task Test_image_runs_busybox_applets_without_a_network()
    {
        image.Require();
        var result = await Docker.RunContainerAsync(TestImage.Reference, ["sh", "-c", "echo hello from $(cat /proc/1/comm); ls /bin"]);
        await Assert.That(result.ExitCode).IsEqualTo(0).Because(result.ToString());
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        await Assert.That(lines[0]).IsEqualTo("hello from sh");
        foreach (var applet in TestImage.Applets) await Assert.That(lines).Contains(applet);
    }

    [Test]
    public async Task Container_exit_code_and_stderr_come_back()
    {
        image.Require();
        var result = await Docker.RunContainerAsync(TestImage.Reference, ["sh", "-c", "echo oops >&2; exit 3"]);
        await Assert.That(result.ExitCode).IsEqualTo(3);
        await Assert.That(result.Stderr.Trim()).IsEqualTo("oops");
        await Assert.That(result.Stdout).IsEqualTo("");
    }

    [Test]
    public async Task Rootfs_holds_the_static_busybox_and_applet_links()
    {
        await Assert.That(TestImage.IsStaticExecutable(TestImage.BusyboxPath)).IsTrue();
        using var tar = new MemoryStream();
        await TestImage.WriteRootfsAsync(tar);
        tar.Position = 0;
        await using var reader = new System.Formats.Tar.TarReader(tar);
        var entries = new Dictionary<string, string>();
        while (await reader.GetNextEntryAsync() is { } entry) entries[entry.Name] = entry.EntryType + ":" + entry.LinkName;
        await Assert.That(entries["bin/busybox"]).IsEqualTo("RegularFile:");
        foreach (var applet in TestImage.Applets) await Assert.That(entries["bin/" + applet]).IsEqualTo("SymbolicLink:busybox");
    }

    [Test]
    public async Task Pushed_image_can_be_pulled_back_from_an_open_registry()
    {
        image.Require();
        await using var registry = await ThrowawayRegistry.StartAsync(htpasswd: null);
        var repository = $"composer-test/pushed-{Guid.NewGuid():N}";

        var reference = await image.PushToAsync(registry.HostPort, null, null, repository, "1.0.0");

        await Assert.That(reference).IsEqualTo($"{registry.HostPort}/{repository}:1.0.0");
        await RemoveLocalTagAsync(reference);
        var pull = await Docker.RunCliAsync(["pull", reference]);
        await Assert.That(pull.ExitCode).IsEqualTo(0).Because(pull.ToString());
        var inspect = await Docker.RunCliCheckedAsync(["image", "inspect", "--format", "{{.Id}}", reference]);
        await Assert.That(inspect.Stdout.Trim()).IsEqualTo(image.Id);
        await RemoveLocalTagAsync(reference);
    }

    [Test]
    public async Task Push_with_credentials_to_an_htpasswd_registry_then_login_and_pull()
    {
        image.Require();
        var htpasswd = Requirements.Which("htpasswd");
        Requirements.Need(htpasswd is not null, "htpasswd (apt-get install apache2-utils)");
        await using var registry = await ThrowawayRegistry.StartAsync(htpasswd: ("pusher", "s3cret-Pass"));
        var repository = $"opencti/connector-{Guid.NewGuid():N}";

        var reference = await image.PushToAsync(registry.HostPort, "pusher", "s3cret-Pass", repository, "2.0");
        await RemoveLocalTagAsync(reference);

        var config = Directory.CreateTempSubdirectory("docker-config-").FullName;
        var anonymous = await Docker.RunCliAsync(["pull", reference], config);
        await Assert.That(anonymous.ExitCode).IsNotEqualTo(0);
        await Assert.That(anonymous.Stderr.ToLowerInvariant()).Contains("no basic auth credentials");

        var login = await Docker.RunCliAsync(["login", "--username", "pusher", "--password-stdin", registry.HostPort], config, stdin: "s3cret-Pass");
        await Assert.That(login.ExitCode).IsEqualTo(0).Because(login.ToString());
        var pull = await Docker.RunCliAsync(["pull", reference], config);
        await Assert.That(pull.ExitCode).IsEqualTo(0).Because(pull.ToString());
        await RemoveLocalTagAsync(reference);
    }

    [Test]
    public async Task Push_with_a_wrong_password_fails_with_the_registry_refusal()
    {
        image.Require();
        Requirements.Need(Requirements.Which("htpasswd") is not null, "htpasswd (apt-get install apache2-utils)");
        await using var registry = await ThrowawayRegistry.StartAsync(htpasswd: ("pusher", "right-password"));
        var repository = $"composer-test/refused-{Guid.NewGuid():N}";

        var failure = await Assert.That(async () => { await image.PushToAsync(registry.HostPort, "pusher", "wrong-password", repository, "1"); })
            .Throws<Exception>();

        await Assert.That(failure!.Message.ToLowerInvariant()).Contains("unauthorized");
        await Assert.That(failure.Message).DoesNotContain("wrong-password");
        await RemoveLocalTagAsync($"{registry.HostPort}/{repository}:1");
    }

    private async Task RemoveLocalTagAsync(string reference) => await Docker.RunCliAsync(["image", "rm", reference]);

    /// <summary>
    /// A minimal docker-registry for these tests only (storage in a temp directory, optional htpasswd). The
    /// project's registry fixture, with htpasswd and token auth, lives with the registry tests.
    /// </summary>
    private sealed class ThrowawayRegistry : IAsyncDisposable
    {
        private readonly BackgroundProcess _process;
        public string HostPort { get; }

        private ThrowawayRegistry(BackgroundProcess process, string hostPort)
        {
            _process = process;
            HostPort = hostPort;
        }

        public static async Task<ThrowawayRegistry> StartAsync((string User, string Password)? htpasswd)
        {
            var executable = Requirements.Which("docker-registry");
            Requirements.Need(executable is not null, "docker-registry (apt-get install docker-registry)");
            var dir = Directory.CreateTempSubdirectory("registry-").FullName;
            var port = FreePort.Next();
            var auth = "";
            if (htpasswd is { } credentials)
            {
                var file = Path.Combine(dir, "htpasswd");
                var hash = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("htpasswd", ["-Bbn", credentials.User, credentials.Password])
                { RedirectStandardOutput = true })!;
                await File.WriteAllTextAsync(file, await hash.StandardOutput.ReadToEndAsync());
                await hash.WaitForExitAsync();
                auth = $"auth:\n  htpasswd:\n    realm: composer-test\n    path: {file}\n";
            }
            var config = Path.Combine(dir, "config.yml");
            await File.WriteAllTextAsync(config,
                $"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {dir}/data\nhttp:\n  addr: 127.0.0.1:{port}\n{auth}");
            var process = BackgroundProcess.Start("docker-registry", executable!, ["serve", config]);
            await process.WaitForPortAsync("127.0.0.1", port);
            var registry = new ThrowawayRegistry(process, $"127.0.0.1:{port}");
            using var http = new HttpClient();
            var status = (await http.GetAsync($"http://{registry.HostPort}/v2/")).StatusCode;
            if (status != (htpasswd is null ? HttpStatusCode.OK : HttpStatusCode.Unauthorized))
            {
                await registry.DisposeAsync();
                throw new InvalidOperationException($"registry answered {status} on /v2/:\n{process.Output}");
            }
            return registry;
        }

        public ValueTask DisposeAsync() => _process.DisposeAsync();
    }
}

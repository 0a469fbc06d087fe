using System.Text;
using Composer.Tests.Infrastructure;
using Composer.Tests.Platform;
using Docker.DotNet.Models;

namespace Composer.Tests.EndToEnd;

/// <summary>
/// One end-to-end test's manager: a unique manager id, a platform stand-in of its own (with a token of its own), a
/// temp directory holding the manager key and a config directory (default.yaml: short schedules, the Docker
/// orchestrator on the test engine, connector containers on network mode none), and the published binary started
/// from there with a clean environment, the way a user runs it. Keeps every output of every composer it ran, so the
/// test can check that no secret reached any of them (<see cref="AssertNoSecretInOutputAsync"/>). On dispose: composer
/// killed, every container labelled with this manager id removed, images registered with <see cref="RemoveImageOnDispose"/>
/// removed, stand-in stopped, directory deleted.
/// </summary>
internal sealed class EndToEndManager : IAsyncDisposable
{
    /// <summary>Bound for everything awaited: generous (a shared 2-core machine), never infinite.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>SIGTERM must end composer within this (orchestrators kill after their grace period).</summary>
    public static readonly TimeSpan StopWithin = TimeSpan.FromSeconds(5);

    private readonly List<ComposerProcess> _processes = [];
    private readonly List<(string What, string Output)> _outputs = [];
    private readonly List<string> _secrets = [];
    private readonly List<string> _images = [];
    private readonly List<Func<Task>> _cleanUps = [];

    private readonly bool _ownsStandIn;

    private EndToEndManager(DockerEngineFixture docker, PlatformStandIn standIn, bool ownsStandIn, string managerId, string directory)
    {
        Docker = docker;
        StandIn = standIn;
        _ownsStandIn = ownsStandIn;
        ManagerId = managerId;
        Directory = directory;
        _secrets.Add(standIn.Token);
        // Every password the fixtures know, used by this test or not: none may ever be printed.
        _secrets.AddRange([HtpasswdRegistryFixture.Password, HtpasswdRegistryFixture.SymbolPassword, HtpasswdRegistryFixture.OtherPassword,
            TokenRegistryFixture.PusherPassword, AuthenticatedTinyproxyFixture.Password]);
    }

    public DockerEngineFixture Docker { get; }
    public PlatformStandIn StandIn { get; }
    public string ManagerId { get; }
    public string Directory { get; }
    public string ConfigDirectory => Path.Combine(Directory, "config");
    public string KeyPath => Path.Combine(Directory, "manager-key.pem");

    /// <summary>Variables given to every composer this manager starts (on top of PATH and HOME), e.g. OPENCTI__DAEMON__REGISTRY__SERVER.</summary>
    public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);

    /// <summary>A manager for OpenCTI (or, with <paramref name="openAev"/>, for OpenAEV only: openaev.enable true, opencti.enable false).</summary>
    /// <param name="sharedStandIn">The platform of another manager (which disposes it); default: a stand-in of its own.</param>
    /// <param name="daemon">
    /// The body of opencti.daemon in default.yaml, unindented ("selector: swarm\nswarm: {}"); default: the Docker
    /// orchestrator on the test engine, connector containers on network mode none.
    /// </param>
    /// <param name="managerId">Another manager's id, for a second Composer sharing it; default: a unique one.</param>
    public static async Task<EndToEndManager> CreateAsync(DockerEngineFixture docker, bool openAev = false, PlatformStandIn? sharedStandIn = null,
        string? daemon = null, string? managerId = null)
    {
        docker.Require();
        ComposerBinary.EnsurePublished();
        managerId ??= "e2e-" + Guid.NewGuid().ToString("N")[..10];
        // A token of its own with characters that need care in headers and logs.
        var token = $"tok+/{Guid.NewGuid():N}=";
        var standIn = sharedStandIn ?? (openAev ? await OpenAevStandIn.StartAsync(token) : await OpenCtiStandIn.StartAsync(token));
        var directory = System.IO.Directory.CreateTempSubdirectory("composer-e2e-").FullName;
        var manager = new EndToEndManager(docker, standIn, sharedStandIn is null, managerId, directory);
        System.IO.Directory.CreateDirectory(manager.ConfigDirectory);
        await File.WriteAllTextAsync(manager.KeyPath, PlatformTestKeys.Rsa(4096).ExportPkcs8PrivateKeyPem());
        await File.WriteAllTextAsync(Path.Combine(manager.ConfigDirectory, "default.yaml"), manager.DefaultYaml(openAev, daemon));
        return manager;
    }

    private string DefaultYaml(bool openAev, string? daemon)
    {
        daemon ??= $"selector: docker\ndocker:\n  host: {Docker.DockerHost}\n  network_mode: none";
        var daemonBlock = string.Join("\n", daemon.Split('\n').Select(l => "    " + l));
        var platform = $$"""
              url: {{StandIn.Url}}
              token: "{{StandIn.Token}}"
              logs_schedule: 1
              request_timeout: 3
              connect_timeout: 2
            """;
        return $$"""
            manager:
              id: {{ManagerId}}
              name: Composer end-to-end {{ManagerId}}
              execute_schedule: 1
              ping_alive_schedule: 1
              credentials_key_filepath: {{KeyPath}}
              logger:
                level: info
                format: json
            opencti:
              enable: {{(openAev ? "false" : "true")}}
            {{platform}}
              daemon:
            {{daemonBlock}}
            openaev:
              enable: {{(openAev ? "true" : "false")}}
            {{platform}}
              daemon:
                selector: docker

            """;
    }

    /// <summary>A value that must never appear in composer's output (a decrypted secret, a password, proxy credentials).</summary>
    public string Secret(string value)
    {
        lock (_secrets) _secrets.Add(value);
        return value;
    }

    /// <summary>A secret connector value with characters that matter: '+', '/', '=' and a space.</summary>
    public string NewSecret() => Secret($"s3cret+/={Guid.NewGuid():N} end");

    /// <summary>
    /// A connector as a user adds it, from the catalog: stored with the platform's catalog status (OpenCTI
    /// <c>stopped</c>; OpenAEV <c>stopping</c>, current <c>stopped</c>), listed with the platform's own entries
    /// (CONNECTOR_ID, which the test image prints, CONNECTOR_NAME, CONNECTOR_TYPE, an encrypted OPENCTI_TOKEN, the proxy
    /// keys; on OpenAEV, CONNECTOR_ID is a contract entry), an encrypted CONNECTOR_SECRET when <paramref name="secret"/> is given, and config hash hash-1.
    /// With <paramref name="requestedStatus"/> starting (the default) the user presses start once the platform sees it
    /// deployed (<see cref="StandInConnector.StartOnceDeployed"/>), so it is deployed stopped first, then started, as in
    /// the field; anything else leaves it stopped. The name is unique (prefixed with the manager id) and kept as given.
    /// </summary>
    public StandInConnector NewConnector(string suffix, string image, string? secret = null, string requestedStatus = "starting")
    {
        var id = Guid.NewGuid().ToString();
        // The connector's own platform token (OPENCTI_TOKEN, decrypted into its environment) is a secret like any other.
        Secret(StandIn.ConnectorToken(id));
        var entries = new List<StandInEntry>();
        // OpenCTI lists CONNECTOR_ID itself; the OpenAEV stand-in adds no entries of its own, so the contract carries it.
        if (StandIn is OpenAevStandIn) entries.Add(new StandInEntry("CONNECTOR_ID", id));
        if (secret is not null) entries.Add(StandInEntry.Secret("CONNECTOR_SECRET", secret));
        return new StandInConnector(id, $"{ManagerId} {suffix}", image, "hash-1", StandIn.CatalogRequestedStatus, StandIn.CatalogCurrentStatus)
        {
            Configuration = entries,
            Origin = StandInOrigin.Catalog,
            StartOnceDeployed = requestedStatus == "starting",
        };
    }

    /// <summary>
    /// A catalog connector the user started before this Composer came up (requested <c>starting</c> from the first
    /// listing): for tests that measure what happens to a running connector, not how it came to run.
    /// </summary>
    public StandInConnector StartedConnector(string suffix, string image) =>
        NewConnector(suffix, image) with { RequestedStatus = "starting", StartOnceDeployed = false };

    /// <summary>Polls /readyz until it answers 200 with a line containing <paramref name="fragment"/>; that line.</summary>
    public static async Task<string> ReadyzAsync(HttpClient http, string fragment)
    {
        var deadline = DateTime.UtcNow + Timeout;
        var last = "";
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var response = await http.GetAsync("readyz");
                var body = await response.Content.ReadAsStringAsync();
                last = $"{(int)response.StatusCode} {body}";
                if (response.IsSuccessStatusCode && body.Split('\n').FirstOrDefault(l => l.Contains(fragment, StringComparison.Ordinal)) is { } line) return line.Trim();
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"/readyz never said '{fragment}'; last: {last}");
    }

    /// <summary>Starts `composer run --config-dir ...` (plain `composer --config-dir ...` with <paramref name="plain"/>) in the manager's directory.</summary>
    public ComposerProcess Start(IReadOnlyDictionary<string, string>? extraEnvironment = null, bool plain = false)
    {
        var env = new Dictionary<string, string>(Environment, StringComparer.Ordinal);
        foreach (var (k, v) in extraEnvironment ?? new Dictionary<string, string>()) env[k] = v;
        string[] command = plain ? [] : ["run"];
        var process = ComposerBinary.Start([.. command, "--config-dir", ConfigDirectory], env, Directory);
        lock (_processes) _processes.Add(process);
        return process;
    }

    /// <summary>Runs a short composer command (plan, ...) to its end; its output is kept for the secret check.</summary>
    public async Task<ProcessResult> RunAsync(params string[] args)
    {
        var result = await ComposerBinary.RunAsync([.. args, "--config-dir", ConfigDirectory], Environment, Directory, Timeout);
        lock (_outputs) _outputs.Add(($"composer {string.Join(' ', args)}", result.Stdout + result.Stderr));
        return result;
    }

    /// <summary>Waits for the manager to register with the stand-in.</summary>
    public Task WaitForRegistrationAsync() =>
        StandIn.WaitUntilAsync(s => s.Manager?.Id == ManagerId, Timeout, $"manager {ManagerId} registered");

    /// <summary>SIGTERM, then exit code 0 within <see cref="StopWithin"/> (measured from the signal).</summary>
    public static async Task AssertStopsCleanlyAsync(ComposerProcess composer)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await composer.TerminateAsync();
        var exit = await composer.WaitForExitAsync(TimeSpan.FromSeconds(15));
        watch.Stop();
        await Assert.That(exit).IsEqualTo(0).Because(composer.Output);
        await Assert.That(watch.Elapsed).IsLessThan(StopWithin).Because($"SIGTERM to exit took {watch.Elapsed}; output:\n{composer.Output}");
    }

    /// <summary>Every container labelled with this manager id (stopped ones too).</summary>
    public async Task<IList<ContainerListResponse>> ContainersAsync() =>
        await Docker.Client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["label"] = new Dictionary<string, bool> { [$"opencti-manager={ManagerId}"] = true },
            },
        });

    /// <summary>This manager's containers of one connector.</summary>
    public async Task<List<ContainerListResponse>> ContainersOfAsync(string connectorId) =>
        [.. (await ContainersAsync()).Where(c => c.Labels.TryGetValue("opencti-connector-id", out var id) && id == connectorId)];

    /// <summary>Polls the engine until the connector has exactly one container in <paramref name="state"/> (e.g. running); its inspection.</summary>
    public async Task<ContainerInspectResponse> WaitForContainerAsync(string connectorId, string state = "running", Func<ContainerInspectResponse, bool>? also = null)
    {
        ContainerInspectResponse? found = null;
        await EventuallyAsync(async () =>
        {
            var containers = await ContainersOfAsync(connectorId);
            if (containers.Count != 1 || containers[0].State != state) return false;
            found = await Docker.Client.Containers.InspectContainerAsync(containers[0].ID);
            return also?.Invoke(found) ?? true;
        }, $"exactly one {state} container for connector {connectorId}", async () => Describe(await ContainersAsync()));
        return found!;
    }

    /// <summary>Polls (every 200 ms, up to <see cref="Timeout"/>) until the condition holds; the failure shows <paramref name="describe"/>.</summary>
    public async Task EventuallyAsync(Func<Task<bool>> condition, string what, Func<Task<string>>? describe = null)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                var seen = describe is null ? "" : "; seen: " + await describe();
                throw new TimeoutException($"{what}: not within {Timeout}{seen}\ncomposer output:\n{AllOutput()}");
            }
            await Task.Delay(200);
        }
    }

    public static string Describe(IEnumerable<ContainerListResponse> containers) =>
        "[" + string.Join(", ", containers.Select(c => $"{string.Join(',', c.Names)} {c.State} {c.Image}")) + "]";

    /// <summary>The value of one variable in a container's environment (everything after the first '='), or null.</summary>
    public static string? EnvironmentValue(ContainerInspectResponse container, string name) =>
        container.Config?.Env?.LastOrDefault(e => e.StartsWith(name + "=", StringComparison.Ordinal)) is { } entry ? entry[(name.Length + 1)..] : null;

    /// <summary>
    /// Runs when the test ends, once every composer of this manager is gone (so nothing recreates what it removes) and
    /// before this manager's containers are removed: e.g. the swarm services and configs of an orchestrator under test.
    /// </summary>
    public void CleanUpOnDispose(Func<Task> cleanUp)
    {
        lock (_cleanUps) _cleanUps.Add(cleanUp);
    }

    /// <summary>Removes this image reference (a tag) from the engine when the test ends.</summary>
    public void RemoveImageOnDispose(string reference)
    {
        lock (_images) _images.Add(reference);
    }

    /// <summary>
    /// opencti.daemon.registry.server/username/password for every composer this manager starts. The password is a
    /// secret, and so are its encodings in the headers Composer sends (Basic, X-Registry-Auth): not even trace-level
    /// logging may print them.
    /// </summary>
    public void UseRegistry(string server, string username, string password)
    {
        Environment["OPENCTI__DAEMON__REGISTRY__SERVER"] = server;
        Environment["OPENCTI__DAEMON__REGISTRY__USERNAME"] = username;
        Environment["OPENCTI__DAEMON__REGISTRY__PASSWORD"] = Secret(password);
        var host = server.Contains("://", StringComparison.Ordinal) ? new Uri(server).Authority : server.Split('/')[0];
        var credentials = new Composer.Images.RegistryCredentials(username, new Composer.Diagnostics.Secret(password), null, host);
        Secret(credentials.BasicParameter());
        Secret(credentials.ToXRegistryAuth());
    }

    /// <summary>
    /// A Docker CLI config.json for every composer this manager starts, found as the docker CLI finds it: in the
    /// directory DOCKER_CONFIG names. <paramref name="logins"/> become auths entries (auth = base64 of user:password,
    /// marked secret) under their key exactly as given ("https://host:port", "host:port/v2/"...); the helpers
    /// become credHelpers (key → helper name) and credsStore.
    /// </summary>
    public void UseDockerConfig(IReadOnlyDictionary<string, (string User, string Password)> logins,
        IReadOnlyDictionary<string, string>? credHelpers = null, string? credsStore = null)
    {
        var directory = Path.Combine(Directory, "docker-config");
        System.IO.Directory.CreateDirectory(directory);
        var auths = new System.Text.Json.Nodes.JsonObject();
        foreach (var (key, (user, password)) in logins)
        {
            Secret(password);
            auths[key] = new System.Text.Json.Nodes.JsonObject { ["auth"] = Secret(Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(user + ":" + password))) };
        }
        var document = new System.Text.Json.Nodes.JsonObject { ["auths"] = auths };
        if (credHelpers is not null)
        {
            var helpers = new System.Text.Json.Nodes.JsonObject();
            foreach (var (key, helper) in credHelpers) helpers[key] = helper;
            document["credHelpers"] = helpers;
        }
        if (credsStore is not null) document["credsStore"] = credsStore;
        File.WriteAllText(Path.Combine(directory, "config.json"), document.ToJsonString());
        Environment["DOCKER_CONFIG"] = directory;
    }

    /// <summary>
    /// A docker-credential-helpers helper program, docker-credential-<paramref name="name"/>, on the PATH of every
    /// composer this manager starts: `get` answers {"ServerURL","Username","Secret"} for the servers of
    /// <paramref name="logins"/> (passwords marked secret) and "credentials not found in native keychain" for any other;
    /// with <paramref name="failure"/>, it prints that on stderr and exits 3 instead. Every server asked is appended to
    /// the returned file.
    /// </summary>
    public string InstallCredentialHelper(string name, IReadOnlyDictionary<string, (string User, string Password)> logins, string? failure = null)
    {
        var bin = Path.Combine(Directory, "bin");
        System.IO.Directory.CreateDirectory(bin);
        var calls = Path.Combine(bin, name + ".calls");
        var script = new System.Text.StringBuilder("#!/bin/sh\n[ \"$1\" = get ] || exit 9\nserver=$(cat)\n");
        script.Append("echo \"$server\" >> '").Append(calls).Append("'\n");
        if (failure is not null)
        {
            script.Append("echo '").Append(failure).Append("' >&2\nexit 3\n");
        }
        else
        {
            script.Append("case \"$server\" in\n");
            foreach (var (server, (user, password)) in logins)
            {
                Secret(password);
                script.Append("  '").Append(server).Append("') printf '%s' '{\"ServerURL\":\"").Append(server).Append("\",\"Username\":\"").Append(user)
                    .Append("\",\"Secret\":\"").Append(password).Append("\"}' ;;\n");
            }
            script.Append("  *) echo 'credentials not found in native keychain'; exit 1 ;;\nesac\n");
        }
        var path = Path.Combine(bin, "docker-credential-" + name);
        File.WriteAllText(path, script.ToString());
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Environment["PATH"] = bin + ":" + (System.Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin");
        return calls;
    }

    /// <summary>
    /// Pushes the test connector image as host/repository:tag, then removes that local tag so that a deploy has to pull
    /// it (removed again when the test ends); the reference.
    /// </summary>
    public async Task<string> PushForPullAsync(TestConnectorImage image, string host, string user, string password, string repository, string tag = "1")
    {
        var reference = await image.PushToAsync(host, user, password, repository, tag);
        RemoveImageOnDispose(reference);
        await RemoveLocalImageAsync(reference);
        return reference;
    }

    /// <summary>Untags a local image so that a deploy really pulls it (the layers stay, shared with the source image).</summary>
    public async Task RemoveLocalImageAsync(string reference)
    {
        try
        {
            await Docker.Client.Images.DeleteImageAsync(reference, new ImageDeleteParameters { Force = true });
        }
        catch (global::Docker.DotNet.DockerImageNotFoundException) { }
    }

    public async Task<bool> ImageExistsAsync(string reference)
    {
        try
        {
            await Docker.Client.Images.InspectImageAsync(reference);
            return true;
        }
        catch (global::Docker.DotNet.DockerImageNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Everything every composer of this test printed, so far.</summary>
    public string AllOutput()
    {
        var sb = new StringBuilder();
        lock (_processes)
        {
            foreach (var p in _processes) sb.Append("--- ").AppendLine(p.Description).Append(p.Output);
        }
        lock (_outputs)
        {
            foreach (var (what, output) in _outputs) sb.Append("--- ").AppendLine(what).Append(output);
        }
        return sb.ToString();
    }

    /// <summary>
    /// No secret (token, passwords, decrypted values, proxy credentials) is anywhere composer writes: the stdout and
    /// stderr of every composer this test ran, the log files under the manager's directory, and what the platform
    /// received (every request body and path, and the log lines it recorded), in any of the forms a secret takes on
    /// its way out (<see cref="EchoForms"/>).
    /// </summary>
    public async Task AssertNoSecretInOutputAsync()
    {
        var output = AllOutput();
        await Assert.That(output.Length).IsGreaterThan(0);
        var places = new List<(string Where, string Text)> { ("composer's output", output) };
        foreach (var file in System.IO.Directory.EnumerateFiles(Directory, "composer-*.log", SearchOption.AllDirectories))
        {
            places.Add(($"log file {file}", await File.ReadAllTextAsync(file)));
        }
        places.Add(("the requests the platform received", string.Join("\n", StandIn.Requests.Select(r => r.Path + " " + r.Body))));
        places.Add(("the log lines the platform recorded", string.Join("\n", StandIn.LogReports.SelectMany(r => r.Lines))));
        List<string> secrets;
        lock (_secrets) secrets = [.. _secrets.Distinct()];
        // Values shorter than 4 characters are not masked by design (docs/configuration.md, Secrets): not checked here.
        foreach (var secret in secrets.Where(s => s.Length >= 4))
        {
            foreach (var form in EchoForms(secret))
            {
                foreach (var (where, text) in places)
                {
                    await Assert.That(text.Contains(form, StringComparison.Ordinal)).IsFalse()
                        .Because($"a secret ({secret.Length} characters, starting '{secret[..Math.Min(3, secret.Length)]}') is in {where}, as {Printable(form)}");
                }
            }
        }
    }

    /// <summary>
    /// The forms a secret takes where it could leak, written here independently of the product's scrubber: as is,
    /// JSON-escaped with .NET's relaxed and default encoders (JSON log lines, request bodies), Go-quoted (%q: how dockerd and runc quote what they refused),
    /// JSON of that (an engine's error inside a JSON log line or request), and without its control characters (as
    /// uploaded log lines are cleaned).
    /// </summary>
    internal static IEnumerable<string> EchoForms(string secret)
    {
        var relaxed = new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        string Json(string value) => System.Text.Json.JsonSerializer.Serialize(value, relaxed)[1..^1];
        var quoted = GoQuoted(secret);
        var stripped = new string([.. secret.Where(c => c == '\t' || !char.IsControl(c))]);
        string StrictJson(string value) => System.Text.Json.JsonSerializer.Serialize(value)[1..^1];
        return new[] { secret, Json(secret), StrictJson(secret), quoted, Json(quoted), StrictJson(quoted), stripped }
            .Select(f => f.Length >= 4 ? f : secret).Distinct(StringComparer.Ordinal);
    }

    private static string GoQuoted(string value)
    {
        var sb = new StringBuilder();
        foreach (var c in value)
        {
            sb.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when c < 0x20 || c == 0x7f => $"\\x{(int)c:x2}",
                _ => c.ToString(),
            });
        }
        return sb.ToString();
    }

    private static string Printable(string form) => new([.. form.Take(12).Select(c => char.IsControl(c) ? '?' : c)]);

    public async ValueTask DisposeAsync()
    {
        List<ComposerProcess> processes;
        lock (_processes) processes = [.. _processes];
        foreach (var p in processes) await p.DisposeAsync();
        List<Func<Task>> cleanUps;
        lock (_cleanUps) cleanUps = [.. _cleanUps];
        foreach (var cleanUp in cleanUps)
        {
            try { await cleanUp(); }
            catch (Exception ex) { Console.Error.WriteLine($"clean-up of {ManagerId} failed: {ex.Message}"); }
        }
        try
        {
            foreach (var c in await ContainersAsync())
            {
                await Docker.Client.Containers.RemoveContainerAsync(c.ID, new ContainerRemoveParameters { Force = true, RemoveVolumes = true });
            }
            foreach (var image in _images) await RemoveLocalImageAsync(image);
        }
        catch (global::Docker.DotNet.DockerApiException) { } // best effort: the assertion that failed says more
        if (_ownsStandIn) await StandIn.DisposeAsync();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}

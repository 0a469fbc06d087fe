using System.Globalization;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.EndToEnd;

/// <summary>
/// What the real platform sends, handled by the published binary on the Docker engine (issue 14, points 1 to 4):
/// connectors added from the catalog (stored stopped) deployed stopped and started when asked; the platform's own
/// contract entries given once each, with Composer's proxy settings winning; contract keys that cannot be variables;
/// listings the platform holds or that are too large; errors that say what to fix; a platform that forgot the manager;
/// manager settings the platform would refuse.
/// </summary>
[ClassDataSource<TestConnectorImage>(Shared = SharedType.PerTestSession)]
public class PlatformAnswersTests(TestConnectorImage image)
{
    [Test]
    [Arguments(false)]
    [Arguments(true)]
    public async Task A_catalog_connector_is_deployed_stopped_without_a_warning_then_started_when_asked(bool openAev)
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker, openAev);
        // Added from the catalog: OpenCTI stores "stopped", OpenAEV "stopping" (current "stopped"); nobody presses start yet.
        var connector = manager.NewConnector("catalog", TestConnectorImage.Reference, manager.NewSecret(), requestedStatus: "stopped");
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start();

        var created = await manager.WaitForContainerAsync(connector.Id, "created");
        await manager.StandIn.WaitUntilAsync(s => s.GetConnector(connector.Id)?.CurrentStatus == "stopped", EndToEndManager.Timeout, "shown stopped");
        await Assert.That(created.State!.StartedAt).StartsWith("0001-01-01");
        // Two more cycles: still created, never started, and nothing about it was a warning or an error.
        var listings = manager.StandIn.Requests.Count;
        await manager.StandIn.WaitUntilAsync(s => s.Requests.Count >= listings + 4, EndToEndManager.Timeout, "more cycles");
        await Assert.That((await manager.ContainersOfAsync(connector.Id)).Single().State).IsEqualTo("created");
        await Assert.That(WarningsAndErrors(composer.Output)).IsEmpty().Because(composer.Output);

        manager.StandIn.RequestStatus(connector.Id, start: true);
        var running = await manager.WaitForContainerAsync(connector.Id);
        await Assert.That(running.ID).IsEqualTo(created.ID);
        await manager.StandIn.WaitUntilAsync(s => s.GetConnector(connector.Id)?.CurrentStatus == "started", EndToEndManager.Timeout, "started reported");
        await Assert.That(manager.StandIn.Rejections).IsEmpty();

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task The_platform_entries_reach_the_container_once_each_and_composer_proxy_settings_win()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        using var composerCa = new TestCertificateAuthority("Composer proxy CA " + manager.ManagerId);
        using var platformCa = new TestCertificateAuthority("Platform proxy CA " + manager.ManagerId);
        // with_proxy: Composer's HTTP(S)_PROXY and its CA; no NO_PROXY of its own (so the platform's passes through).
        var composerProxy = $"http://composer-proxy:{manager.Secret("px-" + Guid.NewGuid().ToString("N")[..10])}@proxy.e2e.invalid:3128";
        manager.Environment["OPENCTI__WITH_PROXY"] = "true";
        manager.Environment["OPENCTI__HTTP_PROXY"] = composerProxy;
        manager.Environment["OPENCTI__HTTPS_PROXY"] = composerProxy;
        manager.Environment["OPENCTI__HTTPS_PROXY_CA"] = composerCa.WritePem(manager.Directory, "composer-ca");
        manager.Environment["NO_PROXY"] = "127.0.0.1"; // the stand-in itself stays direct; only opencti.no_proxy is unset
        manager.StandIn.PlatformProxy = new StandInPlatformProxy(HttpProxy: "http://platform-proxy.example:8080", HttpsProxy: "",
            NoProxy: "platform.internal", CaCertificates: [platformCa.CertificatePem], RejectUnauthorized: false);
        var secret = manager.NewSecret();
        var connector = manager.NewConnector("entries", TestConnectorImage.Reference, secret) with
        {
            // What a user may have stored under the same names: the platform's own entries replace them.
            Configuration = [StandInEntry.Secret("CONNECTOR_SECRET", secret), new StandInEntry("HTTP_PROXY", "http://stored.example:1")],
        };
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start();

        var container = await manager.WaitForContainerAsync(connector.Id);
        var env = container.Config!.Env;
        var names = env.Select(e => e[..e.IndexOf('=')]).ToList();
        await Assert.That(names.Distinct().Count()).IsEqualTo(names.Count).Because("each variable once: " + string.Join(", ", names));
        string? Value(string name) => EndToEndManager.EnvironmentValue(container, name);
        // The platform's entries: identity and the connector's own token, decrypted.
        await Assert.That(Value("CONNECTOR_ID")).IsEqualTo(connector.Id);
        await Assert.That(Value("CONNECTOR_NAME")).IsEqualTo(connector.Name);
        await Assert.That(Value("CONNECTOR_TYPE")).IsEqualTo("EXTERNAL_IMPORT");
        await Assert.That(Value("OPENCTI_TOKEN")).IsEqualTo(manager.StandIn.ConnectorToken(connector.Id));
        await Assert.That(Value("CONNECTOR_SECRET")).IsEqualTo(secret);
        // Composer's settings win (an empty platform HTTPS_PROXY never erases Composer's), the platform's pass where Composer sets none.
        await Assert.That(Value("HTTP_PROXY")).IsEqualTo(composerProxy);
        await Assert.That(Value("HTTPS_PROXY")).IsEqualTo(composerProxy);
        await Assert.That(Value("http_proxy")).IsEqualTo(composerProxy);
        await Assert.That(Value("NO_PROXY")).IsEqualTo("127.0.0.1").Because("the top-level NO_PROXY is Composer's with_proxy setting too");
        await Assert.That(Value("HTTPS_CA_CERTIFICATES")).Contains(composerCa.CertificatePem.Trim());
        await Assert.That(Value("HTTPS_CA_CERTIFICATES")).DoesNotContain(platformCa.CertificatePem.Trim());
        await Assert.That(Value("HTTPS_PROXY_REJECT_UNAUTHORIZED")).IsEqualTo("true");
        await Assert.That(manager.StandIn.Rejections).IsEmpty();

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task Without_with_proxy_the_platform_entries_pass_through_as_sent()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        using var platformCa = new TestCertificateAuthority("Platform proxy CA " + manager.ManagerId);
        manager.StandIn.PlatformProxy = new StandInPlatformProxy(HttpProxy: "http://platform-proxy.example:8080", HttpsProxy: "",
            NoProxy: "platform.internal,10.0.0.0/8", CaCertificates: [platformCa.CertificatePem], RejectUnauthorized: true);
        var connector = manager.NewConnector("passthrough", TestConnectorImage.Reference);
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start();

        var container = await manager.WaitForContainerAsync(connector.Id);
        var names = container.Config!.Env.Select(e => e[..e.IndexOf('=')]).ToList();
        await Assert.That(names.Distinct().Count()).IsEqualTo(names.Count).Because(string.Join(", ", names));
        string? Value(string name) => EndToEndManager.EnvironmentValue(container, name);
        await Assert.That(Value("HTTP_PROXY")).IsEqualTo("http://platform-proxy.example:8080");
        await Assert.That(Value("HTTPS_PROXY")).IsEqualTo("").Because("an empty platform value is passed as it is");
        await Assert.That(Value("NO_PROXY")).IsEqualTo("platform.internal").Because("OpenCTI drops CIDR entries itself");
        await Assert.That(Value("HTTPS_CA_CERTIFICATES")).IsEqualTo(platformCa.CertificatePem);
        await Assert.That(Value("HTTPS_PROXY_REJECT_UNAUTHORIZED")).IsEqualTo("true");
        await Assert.That(Value("http_proxy")).IsNull();
        await Assert.That(Value("SSL_CERT_FILE")).IsNull();

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task A_contract_key_that_cannot_be_a_variable_blocks_its_connector_with_the_reason()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        var bad = manager.NewConnector("bad-key", TestConnectorImage.Reference) with
        {
            Configuration = [new StandInEntry("LOG=LEVEL", "info"), new StandInEntry("SCOPE\u001b[31m", "x")],
        };
        var fine = manager.NewConnector("fine", TestConnectorImage.Reference);
        manager.StandIn.AddConnector(bad);
        manager.StandIn.AddConnector(fine);
        var composer = manager.Start();

        await manager.WaitForContainerAsync(fine.Id);
        await composer.WaitForOutputAsync("is not deployed, started or refreshed", EndToEndManager.Timeout);
        await Assert.That(composer.Output).Contains("the key \\\"LOG=LEVEL\\\" holds '=', so it cannot be an environment variable");
        await Assert.That(composer.Output).Contains("the key \\\"SCOPE\\\\x1b[31m\\\" holds a control character");
        await Assert.That(await manager.ContainersOfAsync(bad.Id)).IsEmpty();

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task A_listing_held_longer_than_request_timeout_succeeds()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        // request_timeout is 3 s here; the catalog manager's auto-upgrades settle 7 s from now, and until then OpenCTI
        // holds every listing: the first one, sent about a second after the start, waits about 6 s.
        manager.StandIn.AutoUpgrade = new StandInAutoUpgrade(manager.StandIn.Clock.GetUtcNow() + TimeSpan.FromSeconds(7), TimeSpan.FromSeconds(90),
            TimeSpan.FromMilliseconds(500));
        var connector = manager.NewConnector("held", TestConnectorImage.Reference);
        manager.StandIn.AddConnector(connector);
        var started = DateTime.UtcNow;
        var composer = manager.Start();

        await manager.WaitForContainerAsync(connector.Id);
        await Assert.That(DateTime.UtcNow - started).IsGreaterThan(TimeSpan.FromSeconds(5));
        // The held listing itself succeeded: no cycle failed, nothing timed out.
        await Assert.That(composer.Output).DoesNotContain("Reconcile cycle changed nothing");
        await Assert.That(composer.Output).DoesNotContain("no complete answer");

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task The_auto_upgrade_timeout_is_logged_as_such_and_nothing_is_removed()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        var connector = manager.NewConnector("upgrading", TestConnectorImage.Reference);
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start();
        var container = await manager.WaitForContainerAsync(connector.Id);

        // OpenCTI waits for auto-upgrades that never settle, then fails the listing (90 s in the field, 1 s here).
        manager.StandIn.AutoUpgrade = new StandInAutoUpgrade(null, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(200));
        await composer.WaitForOutputAsync(o => Count(o, "OpenCTI is still upgrading managed connectors") >= 2, EndToEndManager.Timeout, "two failed listings logged");
        await Assert.That(composer.Output).Contains("Managed connector auto-upgrade timed out): nothing is changed or removed; the listing is tried again next cycle");
        await Assert.That((await manager.ContainersOfAsync(connector.Id)).Single().ID).IsEqualTo(container.ID);
        await Assert.That((await manager.ContainersOfAsync(connector.Id)).Single().State).IsEqualTo("running");

        manager.StandIn.AutoUpgrade = null;
        var requests = manager.StandIn.Requests.Count;
        await manager.StandIn.WaitUntilAsync(s => s.Requests.Count > requests + 3, EndToEndManager.Timeout, "listings again");
        await Assert.That((await manager.ContainersOfAsync(connector.Id)).Single().ID).IsEqualTo(container.ID);

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task An_oversized_listing_fails_removes_nothing_and_memory_stays_bounded()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        var connector = manager.NewConnector("kept", TestConnectorImage.Reference);
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start();
        var container = await manager.WaitForContainerAsync(connector.Id);

        // 50 MB of listing (one contract value), over the default listing_max_size of 16 MiB.
        manager.StandIn.ListingShape = new StandInListingShape(PadBytes: 50_000_000);
        // Four in a row: each refused read must give its memory back, not pile it up until a full collection.
        await composer.WaitForOutputAsync(o => Count(o, "is larger than allowed (opencti.listing_max_size, 16 MiB") >= 4, 2 * EndToEndManager.Timeout,
            "four oversized listings refused (the cycle backs off 1, 2, 4 s between them)");
        await Assert.That((await manager.ContainersOfAsync(connector.Id)).Single().ID).IsEqualTo(container.ID);
        await Assert.That((await manager.ContainersOfAsync(connector.Id)).Single().State).IsEqualTo("running");
        var peak = KilobytesOf(composer.Pid, "VmHWM");
        await Assert.That(peak).IsLessThan(64 * 1024).Because($"peak RSS {peak} kB through four 50 MB listings");

        manager.StandIn.ListingShape = new StandInListingShape();
        var requests = manager.StandIn.Requests.Count;
        await manager.StandIn.WaitUntilAsync(s => s.Requests.Count > requests + 3, EndToEndManager.Timeout, "listings again");
        await Assert.That((await manager.ContainersOfAsync(connector.Id)).Single().ID).IsEqualTo(container.ID);

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task A_token_without_the_capabilities_is_named_with_the_capability_never_cannot_reach()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        // A user that may use the connector API (register, ping, reports) but not list managed connectors.
        var limited = manager.Secret("limited-" + Guid.NewGuid().ToString("N"));
        manager.StandIn.AddToken(limited, ["CONNECTORAPI"]);
        manager.Environment["OPENCTI__TOKEN"] = limited;
        var composer = manager.Start();

        await manager.WaitForRegistrationAsync();
        await composer.WaitForOutputAsync("lacks the capability SETTINGS_SETACCESSES, which the connector listing needs", EndToEndManager.Timeout);
        await Assert.That(composer.Output).Contains("the user of opencti.token (OPENCTI__TOKEN) lacks the capability SETTINGS_SETACCESSES");
        await EndToEndManager.AssertStopsCleanlyAsync(composer);

        // A user without CONNECTORAPI cannot register: one error line naming it.
        var reader = manager.Secret("reader-" + Guid.NewGuid().ToString("N"));
        manager.StandIn.AddToken(reader, ["KNOWLEDGE"]);
        var refused = manager.Start(new Dictionary<string, string> { ["OPENCTI__TOKEN"] = reader });
        await refused.WaitForOutputAsync("lacks the capability CONNECTORAPI, which the manager registration needs", EndToEndManager.Timeout);
        await Assert.That(ErrorLines(refused.Output).Count(l => l.Contains("CONNECTORAPI", StringComparison.Ordinal))).IsEqualTo(1).Because(refused.Output);

        // An unknown token: AUTH_REQUIRED, answered HTTP 200 as OpenCTI does.
        var unknown = manager.Start(new Dictionary<string, string> { ["OPENCTI__TOKEN"] = manager.Secret("unknown-" + Guid.NewGuid().ToString("N")) });
        await unknown.WaitForOutputAsync("OpenCTI did not accept the token (AUTH_REQUIRED", EndToEndManager.Timeout);
        await Assert.That(unknown.Output).Contains("set opencti.token (OPENCTI__TOKEN) to the API token of the OpenCTI user Composer acts as");
        foreach (var output in new[] { composer.Output, refused.Output, unknown.Output }) await Assert.That(output).DoesNotContain("cannot reach");

        await EndToEndManager.AssertStopsCleanlyAsync(refused);
        await EndToEndManager.AssertStopsCleanlyAsync(unknown);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    public async Task Check_runs_the_listing_once_and_reports_a_missing_capability()
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        var limited = manager.Secret("limited-" + Guid.NewGuid().ToString("N"));
        manager.StandIn.AddToken(limited, ["CONNECTORAPI"]);
        manager.Environment["OPENCTI__TOKEN"] = limited;

        var check = await manager.RunAsync("check");

        await Assert.That(check.ExitCode).IsEqualTo(1).Because(check.ToString());
        await Assert.That(check.Stdout).Contains("ok    opencti platform");
        var line = check.Stdout.Split('\n').Single(l => l.Contains("opencti listing", StringComparison.Ordinal));
        await Assert.That(line).StartsWith("FAIL  opencti listing").And.Contains("lacks the capability SETTINGS_SETACCESSES, which the connector listing needs");
        await Assert.That(check.Stdout).Contains("hint: give the user of the token a role with the capability SETTINGS_SETACCESSES");
        await Assert.That(manager.StandIn.Registrations).IsEmpty().Because("check changes nothing on the platform");

        // With the capability, the same check lists the connectors: secrets decrypted, nothing registered.
        manager.Environment["OPENCTI__TOKEN"] = manager.StandIn.Token;
        var ok = await manager.RunAsync("check");
        await Assert.That(ok.Stdout).Contains("ok    opencti listing").Because(ok.ToString());
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    [Arguments(false)]
    [Arguments(true)]
    public async Task A_platform_that_forgot_the_manager_gets_it_registered_again_at_once(bool openAev)
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker, openAev);
        // Pings every 2 s; a failed ping that says the manager is unknown registers again at once, without the backoff.
        manager.Environment["MANAGER__PING_ALIVE_SCHEDULE"] = "2";
        var connector = manager.NewConnector("kept", TestConnectorImage.Reference);
        manager.StandIn.AddConnector(connector);
        var composer = manager.Start();
        var container = await manager.WaitForContainerAsync(connector.Id);
        var pings = manager.StandIn.Pings.Count;
        await manager.StandIn.WaitUntilAsync(s => s.Pings.Count > pings, EndToEndManager.Timeout, "a ping");

        manager.StandIn.ForgetManager(); // the platform's data reset, or the manager deleted
        var forgotten = DateTime.UtcNow;
        await manager.StandIn.WaitUntilAsync(s => s.Registrations.Count >= 2, EndToEndManager.Timeout, "registered again");
        await Assert.That(DateTime.UtcNow - forgotten).IsLessThan(TimeSpan.FromSeconds(10));
        await composer.WaitForOutputAsync("no longer knows this manager; registering again", EndToEndManager.Timeout);
        await manager.StandIn.WaitUntilAsync(s => s.ManagerActive && s.Pings.Count > pings + 1, EndToEndManager.Timeout, "pinging again");
        await Assert.That((await manager.ContainersOfAsync(connector.Id)).Single().ID).IsEqualTo(container.ID);

        await EndToEndManager.AssertStopsCleanlyAsync(composer);
        await manager.AssertNoSecretInOutputAsync();
    }

    [Test]
    [Arguments("MANAGER__NAME", " ", "manager.name", "expected a name of at least 2 characters, not only spaces, got \" \"")]
    [Arguments("MANAGER__NAME", "x", "manager.name", "expected a name of at least 2 characters, not only spaces, got \"x\"")]
    [Arguments("MANAGER__PING_ALIVE_SCHEDULE", "300", "manager.ping_alive_schedule", "expected less than 300 seconds, got 300")]
    public async Task A_manager_setting_the_platform_would_refuse_stops_composer_with_exit_code_2(string variable, string value, string key, string message)
    {
        image.Require();
        await using var manager = await EndToEndManager.CreateAsync(image.Docker);
        manager.Environment[variable] = value;

        var run = await manager.RunAsync("run");

        await Assert.That(run.ExitCode).IsEqualTo(2).Because(run.ToString());
        await Assert.That(run.Stderr).Contains(key).And.Contains(message).And.Contains(variable);
        await Assert.That(manager.StandIn.Requests).IsEmpty();
    }

    private static int Count(string text, string fragment) => text.Split(fragment).Length - 1;

    private static List<string> ErrorLines(string output) =>
        [.. output.Split('\n').Where(l => l.Contains("\"level\":\"error\"", StringComparison.Ordinal))];

    private static List<string> WarningsAndErrors(string output) =>
        [.. output.Split('\n').Where(l => l.Contains("\"level\":\"warn\"", StringComparison.Ordinal) || l.Contains("\"level\":\"error\"", StringComparison.Ordinal))];

    /// <summary>A line of /proc/pid/status in kB (VmRSS, VmHWM).</summary>
    private static long KilobytesOf(int pid, string field)
    {
        var line = File.ReadAllLines($"/proc/{pid}/status").Single(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }
}

using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Reconciliation;
using Composer.Tests.Infrastructure;
using static Composer.Tests.Platform.OpenCtiClientTests;

namespace Composer.Tests.Platform;

public class OpenAevClientTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private static StandInConnector Connector(string id, string requested = "starting", string? current = null, params StandInEntry[] configuration) =>
        new(id, $"Injector {id}", $"openaev/injector-{id}:2.1.0", $"hash-{id}", requested, current) { Configuration = configuration };

    [Test]
    public async Task Every_operation_sends_exactly_the_documented_request()
    {
        await using var h = await PlatformHarness.OpenAevAsync();
        h.StandIn.AddConnector(Connector("c-1"));
        var client = h.Client(url: h.StandIn.Url + "/");
        var startedAt = new DateTimeOffset(2026, 1, 2, 3, 4, 5, 123, TimeSpan.FromHours(2));

        await Assert.That((await client.GetVersionAsync(None)).Value).IsEqualTo("6.9.4");
        await Assert.That(await client.RegisterAsync(None)).IsNull();
        await Assert.That((await client.PingAsync(None)).Value).IsEqualTo("6.9.4");
        await Assert.That((await client.ListConnectorsAsync(None)).Value!.Connectors.Count).IsEqualTo(1);
        await Assert.That(await client.ReportStatusAsync("c-1", ConnectorStatus.Started, None)).IsNull();
        await Assert.That(await client.ReportLogsAsync("c-1", ["line one", "line \"two\""], None)).IsNull();
        await Assert.That(await client.ReportHealthAsync("c-1", new ConnectorHealth(3, startedAt, true), None)).IsNull();

        var manager = $"/api/xtm-composer/{h.ManagerId}";
        (string Method, string Path, string? ContentType, string Body)[] expected =
        [
            ("GET", "/api/settings/version", null, ""),
            ("POST", "/api/xtm-composer/register", "application/json",
                $$$"""{"id":"{{{h.ManagerId}}}","name":"Composer test manager","public_key":{{{Q(h.Key.PublicKeySpkiPem)}}}}"""),
            ("PUT", $"{manager}/refresh-connectivity", "application/json", ""),
            ("GET", $"{manager}/connector-instances", null, ""),
            ("PUT", $"{manager}/connector-instances/c-1/status", "application/json", """{"connector_instance_current_status":"started"}"""),
            ("POST", $"{manager}/connector-instances/c-1/logs", "application/json", """{"connector_instance_logs":["line one","line \"two\""]}"""),
            ("PUT", $"{manager}/connector-instances/c-1/health-check", "application/json",
                """{"connector_instance_restart_count":3,"connector_instance_started_at":"2026-01-02T01:04:05.123Z","connector_instance_is_in_reboot_loop":true}"""),
        ];
        var requests = h.StandIn.Requests;
        await Assert.That(h.StandIn.Rejections).IsEmpty();
        await Assert.That(requests.Count).IsEqualTo(expected.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            await Assert.That((requests[i].Method, requests[i].Path, requests[i].ContentType, requests[i].Body)).IsEqualTo(expected[i]);
            await Assert.That(requests[i].Authorization).IsEqualTo("Bearer " + h.StandIn.Token);
        }
        await Assert.That(h.StandIn.Registrations.Single()).IsEqualTo(new StandInRegistration(h.ManagerId, h.ManagerName, h.Key.PublicKeySpkiPem));
        await Assert.That(h.StandIn.Pings.Single()).IsEqualTo(h.ManagerId);
        await Assert.That(h.StandIn.StatusReports.Single()).IsEqualTo(new StandInStatusReport("c-1", "started"));
        await Assert.That(h.StandIn.LogReports.Single().Lines).IsEquivalentTo(["line one", "line \"two\""]);
        await Assert.That(h.StandIn.HealthReports.Single()).IsEqualTo(new StandInHealthReport("c-1", 3, "2026-01-02T01:04:05.123Z", true));
        await Assert.That(h.Log).Contains("Manager registered with OpenAEV");
    }

    [Test]
    public async Task The_version_is_the_trimmed_body_text()
    {
        await using var h = await PlatformHarness.OpenAevAsync();
        h.StandIn.Version = "  2.1.0-rc1 \n";

        await Assert.That((await h.Client().GetVersionAsync(None)).Value).IsEqualTo("2.1.0-rc1");
    }

    [Test]
    public async Task Ids_are_escaped_in_paths()
    {
        await using var h = await PlatformHarness.OpenAevAsync();
        h.StandIn.AddConnector(Connector("c 1/ü"));
        var client = h.Client(managerId: "manager ü/1");

        await Assert.That(await client.RegisterAsync(None)).IsNull();
        await Assert.That((await client.PingAsync(None)).IsSuccess).IsTrue();
        await Assert.That((await client.ListConnectorsAsync(None)).Value!.Connectors.Single().Id).IsEqualTo("c 1/ü");
        await Assert.That(await client.ReportStatusAsync("c 1/ü", ConnectorStatus.Stopped, None)).IsNull();
        await Assert.That(h.StandIn.StatusReports.Single()).IsEqualTo(new StandInStatusReport("c 1/ü", "stopped"));
        await Assert.That(h.StandIn.Rejections).IsEmpty();
    }

    [Test]
    public async Task Lists_instances_with_their_secrets_decrypted_and_unusable_ones_skipped()
    {
        await using var h = await PlatformHarness.OpenAevAsync(keyBits: 3072);
        h.StandIn.AddConnector(Connector("c-1", "starting", "started",
            new StandInEntry("INJECTOR_MODE", "fast"), StandInEntry.Secret("API_KEY", "aev-v1-secret", 1), StandInEntry.Secret("PASSWORD", "aev-v2-secret", 2)));
        h.StandIn.AddConnector(Connector("c-2", "stopping", "stopped",
            new StandInEntry("TOKEN", "x", Encrypted: true) { RawCiphertext = "AAAA" }));
        h.StandIn.AddRawListingEntry("null", position: 0);
        h.StandIn.AddRawListingEntry("""{"connector_instance_id":"c-3","connector_instance_name":"No image","connector_instance_hash":"h","connector_instance_current_status":"stopped","connector_instance_requested_status":"starting","connector_instance_configurations":[]}""");
        var client = h.Client();
        await client.RegisterAsync(None);

        var listing = (await client.ListConnectorsAsync(None)).Value!;

        await Assert.That(listing.Connectors.Select(c => c.Id)).IsEquivalentTo(["c-1", "c-2"]);
        var c1 = listing.Connectors[0];
        await Assert.That(c1.Platform).IsEqualTo(PlatformKind.OpenAev);
        await Assert.That(c1.Image).IsEqualTo("openaev/injector-c-1:2.1.0");
        await Assert.That(c1.ContractHash).IsEqualTo("hash-c-1");
        await Assert.That(c1.CurrentStatus).IsEqualTo(ConnectorStatus.Started);
        await Assert.That(c1.Configuration).IsEquivalentTo(new[]
        {
            new ContractEntry("INJECTOR_MODE", "fast", false),
            new ContractEntry("API_KEY", "aev-v1-secret", true),
            new ContractEntry("PASSWORD", "aev-v2-secret", true),
        });
        await Assert.That(listing.Connectors[1].RequestedStatus).IsEqualTo(RequestedStatus.Stopping);
        await Assert.That(listing.Connectors[1].Blocked).StartsWith("cannot decrypt TOKEN: the value is too short");
        await Assert.That(listing.Skipped.Select(s => (s.Id, s.Reason))).IsEquivalentTo(new (string?, string)[]
        {
            (null, "listing entry 0: the entry is null"),
            ("c-3", "listing entry 3: connector_image is missing"),
        });
        await h.AssertNothingLeakedAsync([], "aev-v1-secret", "aev-v2-secret");
    }

    [Test]
    public async Task Listing_before_registration_is_an_error_never_an_empty_listing()
    {
        await using var h = await PlatformHarness.OpenAevAsync();
        h.StandIn.AddConnector(Connector("c-1"));

        var result = await h.Client().ListConnectorsAsync(None);

        await Assert.That(result.IsSuccess).IsFalse();
        await Assert.That(result.Failure!.Kind).IsEqualTo(FailureKind.UnknownManager);
        await Assert.That(result.Failure.HttpStatus).IsEqualTo(404);
        await Assert.That(result.Failure.Message).Contains("Connector manager not found");
    }

    [Test]
    public async Task A_second_manager_id_is_refused()
    {
        await using var h = await PlatformHarness.OpenAevAsync();
        await Assert.That(await h.Client().RegisterAsync(None)).IsNull();

        var error = await h.Client(managerId: "another-" + Guid.NewGuid().ToString("N")[..6]).RegisterAsync(None);

        await Assert.That(error!.Kind).IsEqualTo(FailureKind.Refused);
        await Assert.That(error.HttpStatus).IsEqualTo(409);
        await Assert.That(error.Message).StartsWith($"OpenAEV answered HTTP 409: {{\"message\":\"{OpenAevStandIn.OnlyOneManagerMessage}\"}}: another manager, "
            + "with another id, is registered with this OpenAEV. Either set manager.id to that manager's id (this Composer then takes its place), "
            + "or remove that manager in OpenAEV's settings; manager.id is now \"another-");
    }

    [Test]
    public async Task A_failed_health_report_is_an_error()
    {
        await using var h = await PlatformHarness.OpenAevAsync();
        h.StandIn.AddConnector(Connector("c-1"));
        var client = h.Client();
        await client.RegisterAsync(None);

        var unknown = await client.ReportHealthAsync("c-unknown", new ConnectorHealth(1, DateTimeOffset.UnixEpoch, false), None);

        await Assert.That(unknown!.Kind).IsEqualTo(FailureKind.HttpStatus);
        await Assert.That(unknown.HttpStatus).IsEqualTo(404);
        await Assert.That(h.Log).Contains("OpenAEV connector health report failed");
    }

    [Test]
    public async Task A_wrong_token_is_reported_without_the_token()
    {
        await using var h = await PlatformHarness.OpenAevAsync();
        const string wrong = "wrong-aev-token-81b2";

        var error = (await h.Client(token: wrong).GetVersionAsync(None)).Failure!;

        await Assert.That(error.Kind).IsEqualTo(FailureKind.Unauthenticated);
        await Assert.That(error.HttpStatus).IsEqualTo(401);
        await Assert.That(error.Message).Contains("the token was not accepted (check openaev.token (OPENAEV__TOKEN))");
        await h.AssertNothingLeakedAsync([error], wrong);
    }

    [Test]
    public async Task A_403_names_the_access_the_operation_needs()
    {
        await using var h = await PlatformHarness.OpenAevAsync();
        var client = h.Client();
        await client.RegisterAsync(None);
        h.StandIn.InjectFault(StandInOperation.List, new StandInFault(StandInFaultKind.HttpStatus) { StatusCode = 403, Message = "Forbidden" });
        h.StandIn.InjectFault(StandInOperation.Status, new StandInFault(StandInFaultKind.HttpStatus) { StatusCode = 403, Message = "Forbidden" });

        var listing = (await client.ListConnectorsAsync(None)).Failure!;
        var status = (await client.ReportStatusAsync("c-1", ConnectorStatus.Started, None))!;

        await Assert.That(listing.Kind).IsEqualTo(FailureKind.Forbidden);
        await Assert.That(listing.Message).IsEqualTo("OpenAEV answered HTTP 403: Forbidden: the user of openaev.token (OPENAEV__TOKEN) lacks read access to the "
            + "connector catalog, which the connector listing needs: give that user a role with it (the listing needs read access, every other operation write access)");
        await Assert.That(status.Kind).IsEqualTo(FailureKind.Forbidden);
        await Assert.That(status.Message).Contains("lacks write access to the connector catalog, which the connector status report needs");
    }

    [Test]
    public async Task A_ping_for_a_manager_the_platform_does_not_know_says_so()
    {
        await using var h = await PlatformHarness.OpenAevAsync();
        var client = h.Client();
        await client.RegisterAsync(None);
        h.StandIn.ForgetManager();

        var error = (await client.PingAsync(None)).Failure!;

        await Assert.That(error.Kind).IsEqualTo(FailureKind.UnknownManager);
        await Assert.That(error.Message).IsEqualTo(
            $"OpenAEV does not know the manager {h.ManagerId} (HTTP 404: {{\"message\":\"Connector manager not found\"}}): its data was reset or the manager was removed");
    }

    [Test]
    public async Task A_catalog_instance_stored_stopping_is_deployed_stopped_and_a_listing_over_its_bound_fails()
    {
        await using var h = await PlatformHarness.OpenAevAsync();
        var client = h.Client(listingMaxSize: 64 * 1024);
        await client.RegisterAsync(None);
        h.StandIn.AddCatalogConnector("Nmap injector", "openaev/injector-nmap:2.1.0");

        var connector = (await client.ListConnectorsAsync(None)).Value!.Connectors.Single();
        await Assert.That(connector.RequestedStatus).IsEqualTo(RequestedStatus.Stopping);
        await Assert.That(connector.CurrentStatus).IsEqualTo(ConnectorStatus.Stopped);

        h.StandIn.ListingShape = new StandInListingShape(PadBytes: 1_000_000);
        var error = (await client.ListConnectorsAsync(None)).Failure!;
        await Assert.That(error.Kind).IsEqualTo(FailureKind.TooLarge);
        await Assert.That(error.Message).Contains("(openaev.listing_max_size, 64 KiB;");
    }

    [Test]
    public async Task An_unreachable_platform_is_an_error()
    {
        await using var h = await PlatformHarness.OpenAevAsync();
        var url = $"http://127.0.0.1:{FreePort.Next()}";

        var error = await h.Client(url: url).RegisterAsync(None);

        await Assert.That(error!.Kind).IsEqualTo(FailureKind.Unreachable);
        await Assert.That(error.Message).StartsWith($"cannot reach OpenAEV at {url}");
    }

    public static IEnumerable<Func<(StandInOperation Operation, StandInFault Fault, FailureKind? Expected)>> Faults()
    {
        var kinds = new[]
        {
            new StandInFault(StandInFaultKind.HttpStatus) { StatusCode = 500, Message = "Internal failure" },
            new StandInFault(StandInFaultKind.GraphQlErrors) { Message = "bad request" },
            new StandInFault(StandInFaultKind.Timeout) { Delay = TimeSpan.FromSeconds(20) },
            new StandInFault(StandInFaultKind.NullData),
            new StandInFault(StandInFaultKind.MalformedJson),
            new StandInFault(StandInFaultKind.EmptyBody),
            new StandInFault(StandInFaultKind.WrongType),
        };
        foreach (var operation in Enum.GetValues<StandInOperation>())
        {
            foreach (var fault in kinds)
            {
                FailureKind? expected = fault.Kind switch
                {
                    StandInFaultKind.HttpStatus or StandInFaultKind.GraphQlErrors => FailureKind.HttpStatus,
                    StandInFaultKind.Timeout => FailureKind.Timeout,
                    // The version is whatever text the body holds; status, logs and health do not use their answer.
                    _ when operation is StandInOperation.Version or StandInOperation.Status or StandInOperation.Logs or StandInOperation.Health => null,
                    StandInFaultKind.NullData => FailureKind.NullResult,
                    _ => FailureKind.Malformed,
                };
                yield return () => (operation, fault, expected);
            }
        }
    }

    [Test]
    [MethodDataSource(nameof(Faults))]
    public async Task Every_fault_of_every_operation_is_an_error_where_the_answer_matters(
        (StandInOperation Operation, StandInFault Fault, FailureKind? Expected) c)
    {
        await using var h = await PlatformHarness.OpenAevAsync();
        h.StandIn.AddConnector(Connector("c-1", configuration: StandInEntry.Secret("API_KEY", "fault-secret")));
        var timeout = c.Fault.Kind == StandInFaultKind.Timeout ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(10);
        var client = h.Client(timeout: timeout);
        if (c.Operation != StandInOperation.Register) await Assert.That(await client.RegisterAsync(None)).IsNull();
        h.StandIn.InjectFault(c.Operation, c.Fault);

        var error = await Invoke(client, c.Operation);

        if (c.Expected is null)
        {
            await Assert.That(error).IsNull();
        }
        else
        {
            await Assert.That(error?.Kind).IsEqualTo(c.Expected).Because(error?.ToString() ?? "no error");
            await Assert.That(h.Log).Contains("OpenAEV ").And.Contains("failed: ");
        }
        if (c.Fault.Kind == StandInFaultKind.HttpStatus) await Assert.That(error!.Message).Contains("HTTP 500").And.Contains("Internal failure");
        await Assert.That(h.StandIn.Rejections).IsEmpty();
        await h.AssertNothingLeakedAsync([error], "fault-secret");
    }
}

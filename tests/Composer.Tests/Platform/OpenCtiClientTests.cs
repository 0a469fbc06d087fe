using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Composer.Configuration;
using Composer.Diagnostics;
using Composer.Reconciliation;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Platform;

public class OpenCtiClientTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    /// <summary>A JSON string as serde_json writes it: only quote, backslash and newline escaped here.</summary>
    internal static string Q(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n") + "\"";

    private static StandInConnector Connector(string id, string requested = "starting", string? current = null, params StandInEntry[] configuration) =>
        new(id, $"Connector {id}", $"opencti/connector-{id}:6.9.4", $"hash-{id}", requested, current) { Configuration = configuration };

    [Test]
    public async Task Every_operation_sends_exactly_the_documented_request()
    {
        await using var h = await PlatformHarness.OpenCtiAsync();
        h.StandIn.AddConnector(Connector("c-1"));
        var client = h.Client();
        var startedAt = new DateTimeOffset(2026, 1, 2, 3, 4, 5, 123, TimeSpan.FromHours(2));

        await Assert.That((await client.GetVersionAsync(None)).Value).IsEqualTo("6.9.4");
        await Assert.That(await client.RegisterAsync(None)).IsNull();
        await Assert.That((await client.PingAsync(None)).Value).IsEqualTo("6.9.4");
        await Assert.That((await client.ListConnectorsAsync(None)).Value!.Connectors.Count).IsEqualTo(1);
        await Assert.That(await client.ReportStatusAsync("c-1", ConnectorStatus.Started, None)).IsNull();
        await Assert.That(await client.ReportLogsAsync("c-1", ["line one", "line \"two\""], None)).IsNull();
        await Assert.That(await client.ReportHealthAsync("c-1", new ConnectorHealth(3, startedAt, true), None)).IsNull();

        string[] expected =
        [
            // Verbatim from upstream-behaviour §2.2 (a).
            """{"query":"query GetVersion {\n  about {\n    version\n  }\n}\n","variables":null,"operationName":"GetVersion"}""",
            $$$"""{"query":{{{Q(OpenCtiStandIn.RegisterDocument)}}},"variables":{"input":{"id":"{{{h.ManagerId}}}","name":"Composer test manager","public_key":{{{Q(h.Key.PublicKeyPkcs1Pem)}}}}},"operationName":"RegisterConnectorsManager"}""",
            $$$"""{"query":{{{Q(OpenCtiStandIn.PingDocument)}}},"variables":{"input":{"id":"{{{h.ManagerId}}}"}},"operationName":"UpdateConnectorManagerStatus"}""",
            $$$"""{"query":{{{Q(OpenCtiStandIn.GetConnectorsDocument)}}},"variables":null,"operationName":"GetConnectors"}""",
            $$$"""{"query":{{{Q(OpenCtiStandIn.StatusDocument)}}},"variables":{"input":{"id":"c-1","status":"started"}},"operationName":"UpdateConnectorCurrentStatus"}""",
            $$$"""{"query":{{{Q(OpenCtiStandIn.LogsDocument)}}},"variables":{"input":{"id":"c-1","logs":["line one","line \"two\""]}},"operationName":"ReportConnectorLogs"}""",
            $$$"""{"query":{{{Q(OpenCtiStandIn.HealthDocument)}}},"variables":{"input":{"id":"c-1","restart_count":3,"started_at":"2026-01-02T01:04:05.123Z","is_in_reboot_loop":true}},"operationName":"UpdateConnectorHealth"}""",
        ];
        var requests = h.StandIn.Requests;
        await Assert.That(h.StandIn.Rejections).IsEmpty();
        await Assert.That(requests.Count).IsEqualTo(expected.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            await Assert.That(requests[i].Body).IsEqualTo(expected[i]);
            await Assert.That(requests[i].Method).IsEqualTo("POST");
            await Assert.That(requests[i].Path).IsEqualTo("/graphql");
            await Assert.That(requests[i].Authorization).IsEqualTo("Bearer " + h.StandIn.Token);
            await Assert.That(requests[i].ContentType).IsEqualTo("application/json");
        }
        await Assert.That(h.StandIn.Registrations.Single()).IsEqualTo(new StandInRegistration(h.ManagerId, h.ManagerName, h.Key.PublicKeyPkcs1Pem));
        await Assert.That(h.StandIn.StatusReports.Single()).IsEqualTo(new StandInStatusReport("c-1", "started"));
        await Assert.That(h.StandIn.LogReports.Single().Lines).IsEquivalentTo(["line one", "line \"two\""]);
        await Assert.That(h.StandIn.HealthReports.Single()).IsEqualTo(new StandInHealthReport("c-1", 3, "2026-01-02T01:04:05.123Z", true));
        await Assert.That(h.Log).Contains("Manager registered with OpenCTI");
    }

    [Test]
    public async Task A_trailing_slash_in_the_url_gives_no_double_slash()
    {
        await using var h = await PlatformHarness.OpenCtiAsync();

        var version = await h.Client(url: h.StandIn.Url + "/").GetVersionAsync(None);

        await Assert.That(version.Value).IsEqualTo("6.9.4");
        await Assert.That(h.StandIn.Requests.Single().Path).IsEqualTo("/graphql");
    }

    [Test]
    [Arguments(2048)]
    [Arguments(3072)]
    [Arguments(4096)]
    public async Task Lists_connectors_with_their_secrets_decrypted(int keyBits)
    {
        await using var h = await PlatformHarness.OpenCtiAsync(keyBits);
        h.StandIn.AddConnector(Connector("c-1", "starting", "started",
            new StandInEntry("CONNECTOR_SCOPE", "report"), StandInEntry.Secret("API_KEY", "k-v1-secret", 1), StandInEntry.Secret("PASSWORD", "p-v2-secret", 2)));
        h.StandIn.AddConnector(Connector("c-2", "stopping", "exited"));
        h.StandIn.AddConnector(Connector("c-3", "starting", null));
        h.StandIn.AddConnector(Connector("c-4", "starting", "something-new"));
        var client = h.Client();
        await client.RegisterAsync(None);

        var listing = (await client.ListConnectorsAsync(None)).Value!;

        await Assert.That(listing.Skipped).IsEmpty();
        await Assert.That(listing.IsComplete).IsTrue();
        await Assert.That(listing.Connectors.Select(c => c.Id)).IsEquivalentTo(["c-1", "c-2", "c-3", "c-4"]);
        var c1 = listing.Connectors[0];
        await Assert.That(c1.Platform).IsEqualTo(PlatformKind.OpenCti);
        await Assert.That(c1.Name).IsEqualTo("Connector c-1");
        await Assert.That(c1.Image).IsEqualTo("opencti/connector-c-1:6.9.4");
        await Assert.That(c1.ContractHash).IsEqualTo("hash-c-1");
        await Assert.That(c1.RequestedStatus).IsEqualTo(RequestedStatus.Starting);
        await Assert.That(c1.CurrentStatus).IsEqualTo(ConnectorStatus.Started);
        await Assert.That(c1.Blocked).IsNull();
        await Assert.That(c1.Configuration).IsEquivalentTo(new[]
        {
            new ContractEntry("CONNECTOR_SCOPE", "report", false),
            new ContractEntry("API_KEY", "k-v1-secret", true),
            new ContractEntry("PASSWORD", "p-v2-secret", true),
        });
        await Assert.That(listing.Connectors[1].RequestedStatus).IsEqualTo(RequestedStatus.Stopping);
        await Assert.That(listing.Connectors[1].CurrentStatus).IsEqualTo(ConnectorStatus.Stopped);
        await Assert.That(listing.Connectors[2].CurrentStatus).IsNull();
        await Assert.That(listing.Connectors[3].CurrentStatus).IsNull();
        await h.AssertNothingLeakedAsync([], "k-v1-secret", "p-v2-secret");
    }

    /// <summary>A ManagedConnector as raw JSON, with the fields given (null: left out).</summary>
    internal static string Raw(string? id, object? name = null, string? image = "img:1", string? hash = "h", string? requested = "starting", string configuration = "[]")
    {
        var o = new JsonObject();
        if (id is not null) o["id"] = id;
        if (name is string s) o["name"] = s;
        else if (name is int n) o["name"] = n;
        if (image is not null) o["manager_contract_image"] = image;
        if (hash is not null) o["manager_contract_hash"] = hash;
        o["manager_current_status"] = null;
        if (requested is not null) o["manager_requested_status"] = requested;
        o["manager_contract_configuration"] = JsonNode.Parse(configuration);
        return o.ToJsonString();
    }

    [Test]
    public async Task Unusable_entries_are_skipped_with_a_reason_and_the_others_kept()
    {
        await using var h = await PlatformHarness.OpenCtiAsync();
        h.StandIn.AddConnector(Connector("c-1"));
        h.StandIn.AddConnector(Connector("c-2"));
        h.StandIn.AddRawListingEntry("null", position: 1);
        h.StandIn.AddRawListingEntry(Raw("c-noimage", "No image", image: null));
        h.StandIn.AddRawListingEntry(Raw("c-nohash", "No hash", hash: ""));
        h.StandIn.AddRawListingEntry(Raw("c-norequest", "No request", requested: null));
        h.StandIn.AddRawListingEntry(Raw("c-badtype", 5));
        h.StandIn.AddRawListingEntry(Raw("c-paused", "Paused", requested: "paused"));
        h.StandIn.AddRawListingEntry(Raw("c-1", "Duplicate"));
        h.StandIn.AddRawListingEntry(Raw("c-nullentry", "Null entry", configuration: "[null]"));
        h.StandIn.AddRawListingEntry(Raw("c-nokey", "No key", configuration: """[{"key":null,"value":"v","encrypted":false}]"""));
        h.StandIn.AddRawListingEntry(Raw(null, "No id"));
        h.StandIn.AddRawListingEntry("42");
        var client = h.Client();
        await client.RegisterAsync(None);

        var listing = (await client.ListConnectorsAsync(None)).Value!;

        // An id listed twice is passed on: the planner decides which entry is managed (ReconcilerTests).
        await Assert.That(listing.Connectors.Select(c => $"{c.Id}|{c.Name}")).IsEquivalentTo(["c-1|Connector c-1", "c-2|Connector c-2", "c-1|Duplicate"]);
        var reasons = listing.Skipped.Select(s => $"{s.Id}|{s.Reason}").ToList();
        string[] expected =
        [
            "|listing entry 1: the entry is null",
            "c-noimage|listing entry 3: manager_contract_image is missing",
            "c-nohash|listing entry 4: manager_contract_hash is missing",
            "c-norequest|listing entry 5: manager_requested_status is missing",
            "c-badtype|listing entry 6: malformed entry: ",
            "c-paused|listing entry 7: manager_requested_status is \"paused\"; expected starting or stopping",
            "c-nullentry|listing entry 9: manager_contract_configuration entry 0 is null",
            "c-nokey|listing entry 10: manager_contract_configuration entry 0 has no key",
            "|listing entry 11: id is missing",
            "|listing entry 12: the entry is a Number, expected an object",
        ];
        await Assert.That(reasons.Count).IsEqualTo(expected.Length).Because(string.Join("\n", reasons));
        for (var i = 0; i < expected.Length; i++) await Assert.That(reasons[i]).StartsWith(expected[i]);
        await Assert.That(listing.Skipped.Single(s => s.Id == "c-paused").Name).IsEqualTo("Paused");
        await Assert.That(listing.IsComplete).IsFalse().Because("entries without an id make orphan removal unsafe");
    }

    [Test]
    public async Task A_secret_that_cannot_be_decrypted_blocks_its_connector_only()
    {
        await using var h = await PlatformHarness.OpenCtiAsync(keyBits: 2048);
        using var otherKey = RSA.Create(2048);
        h.StandIn.AddConnector(Connector("c-good", configuration: StandInEntry.Secret("API_KEY", "good-secret")));
        h.StandIn.AddConnector(Connector("c-garbage", configuration:
            [new StandInEntry("TOKEN", "x", Encrypted: true) { RawCiphertext = "not base64!" }, StandInEntry.Secret("OTHER", "other-secret")]));
        h.StandIn.AddConnector(Connector("c-otherkey", configuration:
            new StandInEntry("PASSWORD", "x", Encrypted: true) { RawCiphertext = SecretEncryption.Encrypt(otherKey, "foreign-secret", 2) }));
        h.StandIn.AddConnector(Connector("c-unset", configuration: new StandInEntry("OPTIONAL_SECRET", null, Encrypted: true)));
        var client = h.Client();
        await client.RegisterAsync(None);

        var listing = (await client.ListConnectorsAsync(None)).Value!;

        await Assert.That(listing.Skipped).IsEmpty();
        var byId = listing.Connectors.ToDictionary(c => c.Id);
        await Assert.That(byId["c-good"].Blocked).IsNull();
        await Assert.That(byId["c-good"].Configuration.Single().Value).IsEqualTo("good-secret");
        await Assert.That(byId["c-garbage"].Blocked).IsEqualTo("cannot decrypt TOKEN: the value is not base64");
        await Assert.That(byId["c-garbage"].Configuration[1]).IsEqualTo(new ContractEntry("OTHER", "other-secret", true));
        await Assert.That(byId["c-otherkey"].Blocked).StartsWith("cannot decrypt PASSWORD: RSA decryption (version 2) failed");
        await Assert.That(byId["c-unset"].Blocked).IsNull().Because("an unset optional secret has nothing to lose");
        await Assert.That(byId["c-unset"].Configuration.Single()).IsEqualTo(new ContractEntry("OPTIONAL_SECRET", "", true));
        await h.AssertNothingLeakedAsync([], "good-secret", "other-secret", "foreign-secret");
    }

    [Test]
    public async Task Listing_before_registration_is_an_error_never_an_empty_listing()
    {
        await using var h = await PlatformHarness.OpenCtiAsync();
        h.StandIn.AddConnector(Connector("c-1", configuration: StandInEntry.Secret("API_KEY", "secret")));

        var result = await h.Client().ListConnectorsAsync(None);

        await Assert.That(result.IsSuccess).IsFalse();
        await Assert.That(result.Failure!.Kind).IsEqualTo(FailureKind.GraphQl);
        await Assert.That(result.Failure.Message).Contains(OpenCtiStandIn.NotRegisteredMessage);
    }

    [Test]
    public async Task A_reported_status_becomes_the_current_status()
    {
        await using var h = await PlatformHarness.OpenCtiAsync();
        h.StandIn.AddConnector(Connector("c-1"));
        var client = h.Client();
        await client.RegisterAsync(None);

        await Assert.That(await client.ReportStatusAsync("c-1", ConnectorStatus.Started, None)).IsNull();
        await Assert.That((await client.ListConnectorsAsync(None)).Value!.Connectors.Single().CurrentStatus).IsEqualTo(ConnectorStatus.Started);
        await Assert.That(await client.ReportStatusAsync("c-1", ConnectorStatus.Stopped, None)).IsNull();
        await Assert.That(h.StandIn.GetConnector("c-1")!.CurrentStatus).IsEqualTo("stopped");

        var unknown = await client.ReportStatusAsync("c-unknown", ConnectorStatus.Started, None);
        await Assert.That(unknown!.Kind).IsEqualTo(FailureKind.GraphQl);
        await Assert.That(unknown.Message).Contains(OpenCtiStandIn.NotFoundMessage);
    }

    [Test]
    public async Task A_second_manager_id_is_refused()
    {
        await using var h = await PlatformHarness.OpenCtiAsync();
        await Assert.That(await h.Client().RegisterAsync(None)).IsNull();
        await Assert.That(await h.Client().RegisterAsync(None)).IsNull().Because("the same id may register again");

        var error = await h.Client(managerId: "another-" + Guid.NewGuid().ToString("N")[..6]).RegisterAsync(None);

        await Assert.That(error!.Kind).IsEqualTo(FailureKind.Refused);
        await Assert.That(error.Operation).IsEqualTo("register");
        await Assert.That(error.Message).Contains(OpenCtiStandIn.OnlyOneManagerMessage);
        await Assert.That(h.StandIn.Manager!.Id).IsEqualTo(h.ManagerId);
    }

    [Test]
    public async Task Ping_before_registration_is_an_error()
    {
        await using var h = await PlatformHarness.OpenCtiAsync();

        var result = await h.Client().PingAsync(None);

        await Assert.That(result.Failure!.Kind).IsEqualTo(FailureKind.GraphQl);
        await Assert.That(h.StandIn.Pings).IsEmpty();
    }

    [Test]
    public async Task A_response_with_both_data_and_errors_is_an_error()
    {
        await using var h = await PlatformHarness.OpenCtiAsync();
        h.StandIn.InjectFault(StandInOperation.Version, new StandInFault(StandInFaultKind.GraphQlErrors) { WithData = true, Message = "partial failure" });

        var result = await h.Client().GetVersionAsync(None);

        await Assert.That(result.IsSuccess).IsFalse();
        await Assert.That(result.Failure!.Kind).IsEqualTo(FailureKind.GraphQl);
        await Assert.That(result.Failure.Message).IsEqualTo("OpenCTI answered with GraphQL errors: partial failure");
        await Assert.That(h.StandIn.Requests.Count).IsEqualTo(1);
    }

    [Test]
    public async Task A_non_2xx_answer_with_a_graphql_body_is_read_as_graphql()
    {
        await using var h = await PlatformHarness.OpenCtiAsync();
        h.StandIn.InjectFault(StandInOperation.Version,
            new StandInFault(StandInFaultKind.HttpStatus) { StatusCode = 503, Message = """{"errors":[{"message":"Redis is down"},{"message":"try later"}]}""" });

        var error = (await h.Client().GetVersionAsync(None)).Failure!;

        await Assert.That(error.Kind).IsEqualTo(FailureKind.GraphQl);
        await Assert.That(error.HttpStatus).IsEqualTo(503);
        await Assert.That(error.Message).IsEqualTo("OpenCTI answered with GraphQL errors: Redis is down; try later");
    }

    [Test]
    public async Task A_wrong_token_is_reported_without_the_token()
    {
        await using var h = await PlatformHarness.OpenCtiAsync();
        const string wrong = "wrong-token-5f3a9c";

        var error = (await h.Client(token: wrong).GetVersionAsync(None)).Failure!;

        await Assert.That(error.HttpStatus).IsEqualTo(401);
        await Assert.That(error.Message).Contains("You must be logged in").And.Contains("check opencti.token");
        await h.AssertNothingLeakedAsync([error], wrong);
    }

    [Test]
    public async Task A_token_echoed_by_the_platform_is_masked()
    {
        await using var h = await PlatformHarness.OpenCtiAsync();
        h.StandIn.InjectFault(StandInOperation.Version, new StandInFault(StandInFaultKind.GraphQlErrors) { Message = $"token {h.StandIn.Token} is revoked" });

        var error = (await h.Client().GetVersionAsync(None)).Failure!;

        await Assert.That(error.Message).Contains("token *** is revoked");
        await h.AssertNothingLeakedAsync([error]);
    }

    [Test]
    public async Task An_unreachable_platform_is_an_error()
    {
        await using var h = await PlatformHarness.OpenCtiAsync();
        var url = $"http://127.0.0.1:{FreePort.Next()}";

        var result = await h.Client(url: url).ListConnectorsAsync(None);

        await Assert.That(result.Failure!.Kind).IsEqualTo(FailureKind.Unreachable);
        await Assert.That(result.Failure.Message).StartsWith($"cannot reach OpenCTI at {url}");
        await Assert.That(h.Log).Contains("OpenCTI connector listing failed: cannot reach OpenCTI");
    }

    public static IEnumerable<Func<(StandInOperation Operation, StandInFault Fault, FailureKind Expected)>> Faults()
    {
        (StandInFault Fault, FailureKind Expected)[] kinds =
        [
            (new StandInFault(StandInFaultKind.HttpStatus) { StatusCode = 500, Message = "Internal failure" }, FailureKind.HttpStatus),
            (new StandInFault(StandInFaultKind.GraphQlErrors) { Message = "resolver exploded" }, FailureKind.GraphQl),
            (new StandInFault(StandInFaultKind.GraphQlErrors) { Message = "resolver exploded", WithData = true }, FailureKind.GraphQl),
            (new StandInFault(StandInFaultKind.Timeout) { Delay = TimeSpan.FromSeconds(20) }, FailureKind.Timeout),
            (new StandInFault(StandInFaultKind.NullData), FailureKind.NullResult),
            (new StandInFault(StandInFaultKind.NullRootField), FailureKind.NullResult),
            (new StandInFault(StandInFaultKind.MalformedJson), FailureKind.Malformed),
            (new StandInFault(StandInFaultKind.EmptyBody), FailureKind.Malformed),
            (new StandInFault(StandInFaultKind.WrongType), FailureKind.Malformed),
        ];
        foreach (var operation in Enum.GetValues<StandInOperation>())
        {
            foreach (var (fault, expected) in kinds) yield return () => (operation, fault, expected);
        }
    }

    [Test]
    [MethodDataSource(nameof(Faults))]
    public async Task Every_fault_of_every_operation_is_an_error((StandInOperation Operation, StandInFault Fault, FailureKind Expected) c)
    {
        await using var h = await PlatformHarness.OpenCtiAsync();
        h.StandIn.AddConnector(Connector("c-1", configuration: StandInEntry.Secret("API_KEY", "fault-secret")));
        var timeout = c.Fault.Kind == StandInFaultKind.Timeout ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(10);
        var client = h.Client(timeout: timeout);
        if (c.Operation != StandInOperation.Register) await Assert.That(await client.RegisterAsync(None)).IsNull();
        h.StandIn.InjectFault(c.Operation, c.Fault);

        var error = await Invoke(client, c.Operation);

        await Assert.That(error).IsNotNull();
        await Assert.That(error!.Kind).IsEqualTo(c.Expected).Because(error.ToString());
        if (c.Expected == FailureKind.HttpStatus) await Assert.That(error.HttpStatus).IsEqualTo(500);
        await Assert.That(h.Log).Contains("OpenCTI ").And.Contains("failed: ");
        await Assert.That(h.StandIn.Rejections).IsEmpty();
        await h.AssertNothingLeakedAsync([error], "fault-secret");
    }

    /// <summary>Runs one operation; a failed listing must be a failure (never an empty listing).</summary>
    internal static async Task<Failure?> Invoke(IPlatformClient client, StandInOperation operation) => operation switch
    {
        StandInOperation.Version => (await client.GetVersionAsync(None)).Failure,
        StandInOperation.Register => await client.RegisterAsync(None),
        StandInOperation.Ping => (await client.PingAsync(None)).Failure,
        StandInOperation.List => (await client.ListConnectorsAsync(None)) is var r && r.IsSuccess ? null : r.Failure,
        StandInOperation.Status => await client.ReportStatusAsync("c-1", ConnectorStatus.Started, None),
        StandInOperation.Logs => await client.ReportLogsAsync("c-1", ["a line"], None),
        _ => await client.ReportHealthAsync("c-1", new ConnectorHealth(0, DateTimeOffset.UnixEpoch, false), None),
    };

    private static readonly AsyncLocal<bool> Counting = new();

    [Test]
    public async Task Every_request_is_counted_by_channel()
    {
        long calls = 0, errors = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == ComposerMetrics.MeterName && instrument.Name is "composer_api_calls" or "composer_api_errors") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            // Only this test's calls (the callback runs in the caller's execution context).
            if (!Counting.Value || tags.ToArray().Single(t => t.Key == "channel").Value as string != "opencti") return;
            if (instrument.Name == "composer_api_calls") Interlocked.Add(ref calls, value);
            else Interlocked.Add(ref errors, value);
        });
        listener.Start();
        await using var h = await PlatformHarness.OpenCtiAsync();
        var client = h.Client();
        Counting.Value = true;

        await client.GetVersionAsync(None);
        await client.PingAsync(None); // not registered: an error

        await Assert.That(Interlocked.Read(ref calls)).IsEqualTo(2);
        await Assert.That(Interlocked.Read(ref errors)).IsEqualTo(1);
    }
}

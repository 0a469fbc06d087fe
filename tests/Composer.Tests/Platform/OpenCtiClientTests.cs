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
        // The stored entries, then the platform's own (OPENCTI_TOKEN decrypted, the proxy keys present even when empty).
        await Assert.That(c1.Configuration).IsEquivalentTo(new[]
        {
            new ContractEntry("CONNECTOR_SCOPE", "report", false),
            new ContractEntry("API_KEY", "k-v1-secret", true),
            new ContractEntry("PASSWORD", "p-v2-secret", true),
            new ContractEntry("CONNECTOR_ID", "c-1", false),
            new ContractEntry("CONNECTOR_NAME", "Connector c-1", false),
            new ContractEntry("CONNECTOR_TYPE", "EXTERNAL_IMPORT", false),
            new ContractEntry("OPENCTI_TOKEN", h.StandIn.ConnectorToken("c-1"), true),
            new ContractEntry("HTTP_PROXY", "", false),
            new ContractEntry("HTTPS_PROXY", "", false),
            new ContractEntry("NO_PROXY", "", false),
            new ContractEntry("HTTPS_CA_CERTIFICATES", "", false),
            new ContractEntry("HTTPS_PROXY_REJECT_UNAUTHORIZED", "false", false),
        });
        await Assert.That(listing.Connectors[1].RequestedStatus).IsEqualTo(RequestedStatus.Stopping);
        await Assert.That(listing.Connectors[1].CurrentStatus).IsEqualTo(ConnectorStatus.Stopped);
        await Assert.That(listing.Connectors[2].CurrentStatus).IsNull();
        await Assert.That(listing.Connectors[3].CurrentStatus).IsNull();
        await h.AssertNothingLeakedAsync([], "k-v1-secret", "p-v2-secret", h.StandIn.ConnectorToken("c-1"));
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
        h.StandIn.AddRawListingEntry(Raw("c-keys", "Bad keys", configuration:
            """[{"key":"A=B","value":"v","encrypted":false},{"key":"","value":"v","encrypted":false},{"key":"BELL\u0007","value":"v","encrypted":false},{"key":"FINE","value":"v","encrypted":false}]"""));
        h.StandIn.AddRawListingEntry(Raw("c-1", "Duplicate"));
        h.StandIn.AddRawListingEntry(Raw("c-nullentry", "Null entry", configuration: "[null]"));
        h.StandIn.AddRawListingEntry(Raw("c-nokey", "No key", configuration: """[{"key":null,"value":"v","encrypted":false}]"""));
        h.StandIn.AddRawListingEntry(Raw(null, "No id"));
        h.StandIn.AddRawListingEntry("42");
        var client = h.Client();
        await client.RegisterAsync(None);

        var listing = (await client.ListConnectorsAsync(None)).Value!;

        // A requested status other than "starting" is a stopped connector, not an unusable one; keys that cannot be
        // environment variables block their connector (kept, never deployed), with every reason.
        // An id listed twice is passed on: the planner decides which entry is managed (ReconcilerTests).
        await Assert.That(listing.Connectors.Select(c => $"{c.Id}|{c.Name}")).IsEquivalentTo(
            ["c-1|Connector c-1", "c-2|Connector c-2", "c-paused|Paused", "c-keys|Bad keys", "c-1|Duplicate", "c-nokey|No key"]);
        await Assert.That(listing.Connectors.Single(c => c.Id == "c-paused").RequestedStatus).IsEqualTo(RequestedStatus.Stopping);
        await Assert.That(listing.Connectors.Single(c => c.Id == "c-paused").Blocked).IsNull();
        await Assert.That(listing.Connectors.Single(c => c.Id == "c-keys").Blocked).IsEqualTo(
            "manager_contract_configuration entry 0: the key \"A=B\" holds '=', so it cannot be an environment variable; "
            + "manager_contract_configuration entry 1: the key is empty, so it cannot be an environment variable; "
            + "manager_contract_configuration entry 2: the key \"BELL\\x07\" holds a control character, so it cannot be an environment variable");
        await Assert.That(listing.Connectors.Single(c => c.Id == "c-keys").Configuration.Select(e => e.Key)).Contains("FINE");
        await Assert.That(listing.Connectors.Single(c => c.Id == "c-nokey").Blocked)
            .IsEqualTo("manager_contract_configuration entry 0: the key is empty, so it cannot be an environment variable");
        var reasons = listing.Skipped.Select(s => $"{s.Id}|{s.Reason}").ToList();
        string[] expected =
        [
            "|listing entry 1: the entry is null",
            "c-noimage|listing entry 3: manager_contract_image is missing",
            "c-nohash|listing entry 4: manager_contract_hash is missing",
            "c-norequest|listing entry 5: manager_requested_status is missing",
            "c-badtype|listing entry 6: malformed entry: ",
            "c-nullentry|listing entry 10: manager_contract_configuration entry 0 is null",
            "|listing entry 12: id is missing",
            "|listing entry 13: the entry is a Number, expected an object",
        ];
        await Assert.That(reasons.Count).IsEqualTo(expected.Length).Because(string.Join("\n", reasons));
        for (var i = 0; i < expected.Length; i++) await Assert.That(reasons[i]).StartsWith(expected[i]);
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
        await Assert.That(byId["c-good"].Configuration.Single(e => e.Key == "API_KEY").Value).IsEqualTo("good-secret");
        await Assert.That(byId["c-garbage"].Blocked).IsEqualTo("cannot decrypt TOKEN: the value is not base64");
        await Assert.That(byId["c-garbage"].Configuration[1]).IsEqualTo(new ContractEntry("OTHER", "other-secret", true));
        await Assert.That(byId["c-otherkey"].Blocked).StartsWith("cannot decrypt PASSWORD: RSA decryption (version 2) failed");
        await Assert.That(byId["c-unset"].Blocked).IsNull().Because("an unset optional secret has nothing to lose");
        await Assert.That(byId["c-unset"].Configuration.Single(e => e.Key == "OPTIONAL_SECRET")).IsEqualTo(new ContractEntry("OPTIONAL_SECRET", "", true));
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
        await Assert.That(error.Message).StartsWith($"UNSUPPORTED_ERROR: {OpenCtiStandIn.OnlyOneManagerMessage}: another manager, with another id, "
            + "is registered with this OpenCTI. Either set manager.id to that manager's id (this Composer then takes its place), or remove that "
            + "manager in OpenCTI's settings; manager.id is now \"another-");
        await Assert.That(h.StandIn.Manager!.Id).IsEqualTo(h.ManagerId);
    }

    [Test]
    public async Task A_ping_for_a_manager_the_platform_does_not_know_says_so()
    {
        await using var h = await PlatformHarness.OpenCtiAsync();
        var client = h.Client();
        await Assert.That((await client.PingAsync(None)).Failure!.Kind).IsEqualTo(FailureKind.UnknownManager).Because("never registered");
        await Assert.That(await client.RegisterAsync(None)).IsNull();
        await Assert.That((await client.PingAsync(None)).IsSuccess).IsTrue();

        h.StandIn.ForgetManager(); // the platform's data reset, or the manager deleted
        var error = (await client.PingAsync(None)).Failure!;

        await Assert.That(error.Kind).IsEqualTo(FailureKind.UnknownManager);
        await Assert.That(error.Message).IsEqualTo(
            $"OpenCTI does not know the manager {h.ManagerId} (FUNCTIONAL_ERROR: {OpenCtiStandIn.NotFoundMessage}): its data was reset or the manager was deleted");
        await Assert.That(h.StandIn.Pings.Count).IsEqualTo(1);
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
    public async Task An_unknown_token_is_named_on_every_operation_never_cannot_reach()
    {
        await using var h = await PlatformHarness.OpenCtiAsync();
        const string wrong = "wrong-token-5f3a9c";
        await h.Client().RegisterAsync(None);
        var client = h.Client(token: wrong);

        foreach (var operation in Enum.GetValues<StandInOperation>())
        {
            // OpenCTI answers HTTP 200 with AUTH_REQUIRED (the stand-in's default, as OpenCTI).
            var error = (await Invoke(client, operation))!;
            await Assert.That(error.Kind).IsEqualTo(FailureKind.Unauthenticated).Because($"{operation}: {error}");
            await Assert.That(error.HttpStatus).IsNull();
            await Assert.That(error.Message).IsEqualTo(
                "OpenCTI did not accept the token (AUTH_REQUIRED: You must be logged in to do this.): set opencti.token (OPENCTI__TOKEN) "
                + "to the API token of the OpenCTI user Composer acts as");
        }
        await h.AssertNothingLeakedAsync([], wrong);
    }

    [Test]
    public async Task A_401_from_a_proxy_or_ingress_is_about_authentication_too()
    {
        await using var h = await PlatformHarness.OpenCtiAsync();
        h.StandIn.AuthFailureStatus = 401; // answered before GraphQL runs, with OpenCTI's error body
        const string wrong = "wrong-token-7d1e0b";

        var graphQl = (await h.Client(token: wrong).GetVersionAsync(None)).Failure!;
        await Assert.That(graphQl.Kind).IsEqualTo(FailureKind.Unauthenticated);
        await Assert.That(graphQl.HttpStatus).IsEqualTo(401);
        await Assert.That(graphQl.Message).Contains("set opencti.token (OPENCTI__TOKEN)");

        // An ingress with its own authentication: a 401 whose body is no GraphQL at all.
        h.StandIn.InjectFault(StandInOperation.List, new StandInFault(StandInFaultKind.HttpStatus) { StatusCode = 401, Message = "<html>401 Authorization Required</html>" });
        var plain = (await h.Client().ListConnectorsAsync(None)).Failure!;
        await Assert.That(plain.Kind).IsEqualTo(FailureKind.Unauthenticated);
        await Assert.That(plain.Message).StartsWith("OpenCTI answered HTTP 401 (Unauthorized): the token was not accepted (check opencti.token (OPENCTI__TOKEN)), "
            + "or a proxy or ingress in front of OpenCTI asks for its own authentication; body: <html>401 Authorization Required</html>");
        await h.AssertNothingLeakedAsync([graphQl, plain], wrong);
    }

    [Test]
    public async Task A_missing_capability_names_the_one_the_operation_needs()
    {
        await using var h = await PlatformHarness.OpenCtiAsync();
        h.StandIn.AddConnector(Connector("c-1"));
        await h.Client().RegisterAsync(None);
        const string reader = "token-without-capabilities-3e9";
        h.StandIn.AddToken(reader, ["KNOWLEDGE"]);
        var client = h.Client(token: reader);

        await Assert.That((await client.GetVersionAsync(None)).IsSuccess).IsTrue().Because("about needs only a login");
        foreach (var operation in Enum.GetValues<StandInOperation>().Where(o => o != StandInOperation.Version))
        {
            var error = (await Invoke(client, operation))!;
            var capability = operation == StandInOperation.List ? "SETTINGS_SETACCESSES" : "CONNECTORAPI";
            await Assert.That(error.Kind).IsEqualTo(FailureKind.Forbidden).Because($"{operation}: {error}");
            await Assert.That(error.Message).StartsWith($"the user of opencti.token (OPENCTI__TOKEN) lacks the capability {capability}, which the ");
            await Assert.That(error.Message).Contains("(FORBIDDEN_ACCESS: You are not allowed to do this.)");
            await Assert.That(error.Message).DoesNotContain("cannot reach");
        }

        // The code as written in OpenCTI's documentation (FORBIDDEN) is read the same.
        h.StandIn.InjectFault(StandInOperation.List, new StandInFault(StandInFaultKind.GraphQlErrors) { Code = "FORBIDDEN", Message = "Forbidden" });
        var forbidden = (await h.Client().ListConnectorsAsync(None)).Failure!;
        await Assert.That(forbidden.Kind).IsEqualTo(FailureKind.Forbidden);
        await Assert.That(forbidden.Message).Contains("lacks the capability SETTINGS_SETACCESSES, which the connector listing needs (FORBIDDEN: Forbidden)");
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

    [Test]
    public async Task A_catalog_connector_stored_stopped_is_listed_as_a_stopped_connector()
    {
        await using var h = await PlatformHarness.OpenCtiAsync();
        var client = h.Client();
        await client.RegisterAsync(None);
        var added = h.StandIn.AddCatalogConnector("MITRE ATT&CK", "opencti/connector-mitre:6.9.4", [StandInEntry.Secret("API_KEY", "catalog-secret")]);
        await Assert.That(added.RequestedStatus).IsEqualTo("stopped");

        var listing = (await client.ListConnectorsAsync(None)).Value!;

        await Assert.That(listing.Skipped).IsEmpty();
        var connector = listing.Connectors.Single();
        await Assert.That(connector.RequestedStatus).IsEqualTo(RequestedStatus.Stopping);
        await Assert.That(connector.Blocked).IsNull();
        await Assert.That(connector.Configuration.Select(e => e.Key)).IsEquivalentTo(["API_KEY", "CONNECTOR_ID", "CONNECTOR_NAME", "CONNECTOR_TYPE", "OPENCTI_TOKEN",
            "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "HTTPS_CA_CERTIFICATES", "HTTPS_PROXY_REJECT_UNAUTHORIZED"]);

        h.StandIn.RequestStatus(added.Id, start: true);
        await Assert.That((await client.ListConnectorsAsync(None)).Value!.Connectors.Single().RequestedStatus).IsEqualTo(RequestedStatus.Starting);
        await h.AssertNothingLeakedAsync([], "catalog-secret", h.StandIn.ConnectorToken(added.Id));
    }

    [Test]
    public async Task A_listing_held_longer_than_request_timeout_is_read_within_listing_timeout()
    {
        await using var h = await PlatformHarness.OpenCtiAsync();
        h.StandIn.AddConnector(Connector("c-1"));
        var client = h.Client(timeout: TimeSpan.FromSeconds(1), listingTimeout: TimeSpan.FromSeconds(20));
        await client.RegisterAsync(None);
        // The catalog manager's auto-upgrades settle after 3 s, polled every 0.5 s: the listing is held that long.
        h.StandIn.AutoUpgrade = new StandInAutoUpgrade(h.StandIn.Clock.GetUtcNow() + TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(500));
        var watch = System.Diagnostics.Stopwatch.StartNew();

        var listing = await client.ListConnectorsAsync(None);

        await Assert.That(listing.IsSuccess).IsTrue().Because(listing.Failure?.ToString() ?? "");
        await Assert.That(watch.Elapsed).IsGreaterThan(TimeSpan.FromSeconds(2.5));
        // Every other operation keeps request_timeout.
        h.StandIn.InjectFault(StandInOperation.Ping, new StandInFault(StandInFaultKind.Timeout) { Delay = TimeSpan.FromSeconds(5) });
        var ping = (await client.PingAsync(None)).Failure!;
        await Assert.That(ping.Kind).IsEqualTo(FailureKind.Timeout);
        await Assert.That(ping.Message).IsEqualTo($"no complete answer from OpenCTI at {h.StandIn.Url} within 1 s (opencti.request_timeout)");
    }

    [Test]
    public async Task A_listing_held_past_listing_timeout_is_a_timeout_naming_the_key()
    {
        await using var h = await PlatformHarness.OpenCtiAsync();
        var client = h.Client(timeout: TimeSpan.FromSeconds(5), listingTimeout: TimeSpan.FromSeconds(1));
        await client.RegisterAsync(None);
        h.StandIn.AutoUpgrade = new StandInAutoUpgrade(null, TimeSpan.FromSeconds(90), TimeSpan.FromMilliseconds(200));

        var error = (await client.ListConnectorsAsync(None)).Failure!;

        await Assert.That(error.Kind).IsEqualTo(FailureKind.Timeout);
        await Assert.That(error.Message).IsEqualTo($"no complete answer from OpenCTI at {h.StandIn.Url} within 1 s (opencti.listing_timeout) "
            + "(the platform may hold a listing while managed connectors auto-upgrade)");
    }

    [Test]
    public async Task The_auto_upgrade_timeout_is_said_for_what_it_is()
    {
        await using var h = await PlatformHarness.OpenCtiAsync();
        h.StandIn.AddConnector(Connector("c-1"));
        var client = h.Client();
        await client.RegisterAsync(None);
        // OpenCTI gives up waiting for the auto-upgrades (90 s in the field; 1 s here) and fails the listing.
        h.StandIn.AutoUpgrade = new StandInAutoUpgrade(null, TimeSpan.FromSeconds(1), TimeSpan.FromMilliseconds(200));

        var error = (await client.ListConnectorsAsync(None)).Failure!;

        await Assert.That(error.Kind).IsEqualTo(FailureKind.GraphQl);
        await Assert.That(error.Message).IsEqualTo($"OpenCTI is still upgrading managed connectors and did not list them (FUNCTIONAL_ERROR: "
            + $"{OpenCtiStandIn.AutoUpgradeTimedOutMessage}): nothing is changed or removed; the listing is tried again next cycle");
    }

    [Test]
    [Arguments(false)]
    [Arguments(true)]
    public async Task A_listing_over_its_size_bound_fails_and_is_not_read_further(bool dribbled)
    {
        await using var h = await PlatformHarness.OpenCtiAsync();
        h.StandIn.AddConnector(Connector("c-1"));
        var client = h.Client(listingTimeout: TimeSpan.FromSeconds(30), listingMaxSize: 64 * 1024);
        await client.RegisterAsync(None);
        // 8 MB dribbled in 64 KiB pieces every 100 ms would take over 12 s to send: the client stops at the bound.
        h.StandIn.ListingShape = dribbled
            ? new StandInListingShape(PadBytes: 8_000_000, DribbleBytes: 64 * 1024, DribbleInterval: TimeSpan.FromMilliseconds(100))
            : new StandInListingShape(PadBytes: 8_000_000);
        var watch = System.Diagnostics.Stopwatch.StartNew();

        var result = await client.ListConnectorsAsync(None);

        await Assert.That(result.IsSuccess).IsFalse().Because("an oversized listing is a failure, never an empty listing");
        await Assert.That(result.Failure!.Kind).IsEqualTo(FailureKind.TooLarge);
        await Assert.That(result.Failure.Message).IsEqualTo("OpenCTI's answer to the connector listing is larger than allowed (opencti.listing_max_size, "
            + "64 KiB; raise it if the platform really lists that much); it was not read further: nothing is changed this cycle");
        if (dribbled) await Assert.That(watch.Elapsed).IsLessThan(TimeSpan.FromSeconds(5));

        // Within the bound, the same listing is read.
        h.StandIn.ListingShape = new StandInListingShape(PadBytes: 30_000);
        await Assert.That((await client.ListConnectorsAsync(None)).IsSuccess).IsTrue();
    }

    [Test]
    public async Task Every_other_answer_is_read_within_a_bound_too()
    {
        await using var h = await PlatformHarness.OpenCtiAsync();
        h.StandIn.Version = new string('9', 2 * 1024 * 1024);

        var error = (await h.Client().GetVersionAsync(None)).Failure!;

        await Assert.That(error.Kind).IsEqualTo(FailureKind.TooLarge);
        await Assert.That(error.Message).IsEqualTo("OpenCTI's answer to the version query is larger than allowed (1 MiB, the bound of every answer but the listing); "
            + "it was not read further");
    }

    [Test]
    public async Task A_large_listing_within_its_bound_is_read_entry_by_entry()
    {
        await using var h = await PlatformHarness.OpenCtiAsync();
        h.StandIn.AddConnector(Connector("c-1", configuration: StandInEntry.Secret("API_KEY", "large-secret")));
        var client = h.Client();
        await client.RegisterAsync(None);
        // About 3 MB of connectors of 1 KiB each: many chunks of the body, each entry parsed on its own.
        h.StandIn.ListingShape = new StandInListingShape(PadBytes: 3_000_000, PadAsConnectors: true);

        var listing = (await client.ListConnectorsAsync(None)).Value!;

        await Assert.That(listing.Connectors.Count).IsEqualTo(3001);
        await Assert.That(listing.Connectors[0].Configuration.Single(e => e.Key == "API_KEY").Value).IsEqualTo("large-secret");
        await Assert.That(listing.Connectors[^1].Id).IsEqualTo("standin-padding-2999");
    }

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

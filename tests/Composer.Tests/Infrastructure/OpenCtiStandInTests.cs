using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Composer.Tests.Platform;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// The OpenCTI stand-in itself, over real HTTP with hand-written GraphQL requests: it must refuse what OpenCTI
/// refuses, with OpenCTI's codes, and answer what OpenCTI answers (platform-facts.md), or the end-to-end tests built
/// on it prove nothing.
/// </summary>
public class OpenCtiStandInTests
{
    private const string ListAll = "query { connectorsForManagers { id name manager_requested_status manager_contract_hash manager_contract_image manager_contract_configuration { key value encrypted } } }";

    private static RSA Key => PlatformTestKeys.Rsa(2048);

    private static string Pkcs1Pem => Key.ExportRSAPublicKeyPem() + "\n";

    private static async Task<(HttpStatusCode Status, JsonObject Body, TimeSpan Took)> PostAsync(PlatformStandIn standIn, string query, JsonObject? variables = null,
        string? token = null, string? operationName = null)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        using var request = new HttpRequestMessage(HttpMethod.Post, standIn.Url + "/graphql");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + (token ?? standIn.Token));
        var body = new JsonObject { ["query"] = query, ["variables"] = variables, ["operationName"] = operationName };
        // Exactly "application/json", as Composer sends it (StringContent would add a charset).
        request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8);
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        var clock = Stopwatch.StartNew();
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonNode.Parse(text)!.AsObject(), clock.Elapsed);
    }

    private static async Task RegisterAsync(PlatformStandIn standIn, string id = "mgr-1", string name = "Manager one")
    {
        var (_, body, _) = await PostAsync(standIn, "mutation R($input: RegisterConnectorsManagerInput!) { registerConnectorsManager(input: $input) { id } }",
            new JsonObject { ["input"] = new JsonObject { ["id"] = id, ["name"] = name, ["public_key"] = Pkcs1Pem } });
        if (body["errors"] is not null) throw new InvalidOperationException(body.ToJsonString());
    }

    private static string Code(JsonObject body, int i = 0) => body["errors"]![i]!["extensions"]!["code"]!.GetValue<string>();

    private static string Message(JsonObject body, int i = 0) => body["errors"]![i]!["message"]!.GetValue<string>();

    /// <summary>What the platform's encryption hides, read back with the manager's private key.</summary>
    private static string Decrypt(string wire)
    {
        var all = Convert.FromBase64String(wire);
        var material = Key.Decrypt(all.AsSpan(1, Key.KeySize / 8).ToArray(), SecretEncryption.Padding(all[0]));
        var sealedValue = all.AsSpan(1 + Key.KeySize / 8);
        var plain = new byte[sealedValue.Length - 16];
        using var aes = new AesGcm(material.AsSpan(0, 32), 16);
        aes.Decrypt(material.AsSpan(32, 12), sealedValue[..^16], sealedValue[^16..], plain);
        return Encoding.UTF8.GetString(plain);
    }

    [Test]
    public async Task A_document_selecting_an_unknown_field_is_refused_as_openCTI_refuses_it()
    {
        await using var standIn = await OpenCtiStandIn.StartAsync();

        var (status, body, _) = await PostAsync(standIn, "query { connectorsForManagers { id manager_contract_version } }");

        await Assert.That(status).IsEqualTo(HttpStatusCode.OK).Because("OpenCTI's httpResponsePlugin answers every error with 200");
        await Assert.That(Code(body)).IsEqualTo("GRAPHQL_VALIDATION_FAILED");
        await Assert.That(Message(body)).IsEqualTo("Cannot query field \"manager_contract_version\" on type \"ManagedConnector\".");
        await Assert.That(body["errors"]![0]!["locations"]![0]!["column"]!.GetValue<int>()).IsEqualTo(36);
        await Assert.That(body.ContainsKey("data")).IsFalse();
        await Assert.That(standIn.Rejections.Single()).Contains("manager_contract_version");
    }

    public static IEnumerable<Func<(string Query, string? Variables, string Code, string Message)>> RefusedDocuments()
    {
        yield return () => ("query {", null, "GRAPHQL_PARSE_FAILED", "Syntax Error:");
        yield return () => ("mutation { updateConnectorLogs(input: {id: \"c\", logs: []}, force: true) }", null, "GRAPHQL_VALIDATION_FAILED",
            "Unknown argument \"force\" on field \"Mutation.updateConnectorLogs\".");
        yield return () => ("mutation M($input: LogsConnectorStatusInput) { updateConnectorLogs(input: $input) }", """{"input":{"id":"c","logs":[]}}""",
            "GRAPHQL_VALIDATION_FAILED", "Variable \"$input\" of type \"LogsConnectorStatusInput\" used in position expecting type \"LogsConnectorStatusInput!\".");
        yield return () => ("mutation M($input: HealthConnectorStatusInput!) { updateConnectorLogs(input: $input) }", """{"input":{"id":"c","logs":[]}}""",
            "GRAPHQL_VALIDATION_FAILED", "Variable \"$input\" of type \"HealthConnectorStatusInput!\" used in position expecting type \"LogsConnectorStatusInput!\".");
        yield return () => ("mutation { updateConnectorLogs }", null, "GRAPHQL_VALIDATION_FAILED",
            "Field \"updateConnectorLogs\" argument \"input\" of type \"LogsConnectorStatusInput!\" is required, but it was not provided.");
        yield return () => ("query { about }", null, "GRAPHQL_VALIDATION_FAILED", "Field \"about\" of type \"AppInfo\" must have a selection of subfields. Did you mean \"about { ... }\"?");
        yield return () => ("query { about { version { major } } }", null, "GRAPHQL_VALIDATION_FAILED", "Field \"version\" must not have a selection since type \"String!\" has no subfields.");
        yield return () => ("mutation { updateConnectorCurrentStatus(input: {id: \"c\", status: running}) { id } }", null, "GRAPHQL_VALIDATION_FAILED",
            "Value \"running\" does not exist in \"ConnectorCurrentStatus\" enum.");
        yield return () => ("mutation M($input: CurrentConnectorStatusInput!) { updateConnectorCurrentStatus(input: $input) { id } }", """{"input":{"id":"c"}}""",
            "BAD_USER_INPUT", "Variable \"$input\" got invalid value { id: \"c\" }; Field \"status\" of required type \"ConnectorCurrentStatus!\" was not provided.");
        yield return () => ("mutation M($input: CurrentConnectorStatusInput!) { updateConnectorCurrentStatus(input: $input) { id } }", """{"input":{"id":"c","status":"running"}}""",
            "BAD_USER_INPUT", "Variable \"$input\" got invalid value \"running\" at \"input.status\"; Value \"running\" does not exist in \"ConnectorCurrentStatus\" enum.");
        yield return () => ("mutation M($input: LogsConnectorStatusInput!) { updateConnectorLogs(input: $input) }", """{"input":{"id":"c","logs":["a"],"level":"info"}}""",
            "BAD_USER_INPUT", "Field \"level\" is not defined by type \"LogsConnectorStatusInput\".");
        yield return () => ("mutation M($input: HealthConnectorStatusInput!) { updateConnectorHealth(input: $input) }",
            """{"input":{"id":"c","restart_count":1,"started_at":"2026-01-02 03:04:05","is_in_reboot_loop":false}}""",
            "BAD_USER_INPUT", "Variable \"$input\" got invalid value \"2026-01-02 03:04:05\" at \"input.started_at\"; DateTime cannot represent an invalid date-time-string 2026-01-02 03:04:05.");
        yield return () => ("mutation M($input: HealthConnectorStatusInput!) { updateConnectorHealth(input: $input) }",
            """{"input":{"id":"c","restart_count":1,"started_at":"2026-02-30T03:04:05Z","is_in_reboot_loop":false}}""",
            "BAD_USER_INPUT", "DateTime cannot represent an invalid date-time-string 2026-02-30T03:04:05Z.");
        yield return () => ("mutation M($input: HealthConnectorStatusInput!) { updateConnectorHealth(input: $input) }",
            """{"input":{"id":"c","restart_count":4294967295,"started_at":"2026-01-02T03:04:05Z","is_in_reboot_loop":false}}""",
            "BAD_USER_INPUT", "Int cannot represent non 32-bit signed integer value: 4294967295");
        yield return () => ("mutation M($input: HealthConnectorStatusInput!) { updateConnectorHealth(input: $input) }", null,
            "BAD_USER_INPUT", "Variable \"$input\" of required type \"HealthConnectorStatusInput!\" was not provided.");
        yield return () => ("mutation M($input: RegisterConnectorsManagerInput!) { registerConnectorsManager(input: $input) { id } }",
            """{"input":{"id":"m","name":"x","public_key":"k"}}""", "BAD_USER_INPUT",
            "Variable \"$input\" got invalid value \"x\" at \"input.name\". Must be at least 2 characters in length");
        yield return () => ("mutation M($input: RegisterConnectorsManagerInput!) { registerConnectorsManager(input: $input) { id } }",
            """{"input":{"id":"m","name":"   ","public_key":"k"}}""", "BAD_USER_INPUT", "Value cannot have only whitespace(s)");
    }

    [Test]
    [MethodDataSource(nameof(RefusedDocuments))]
    public async Task Every_refused_document_gets_openCTIs_code_and_message((string Query, string? Variables, string Code, string Message) c)
    {
        await using var standIn = await OpenCtiStandIn.StartAsync();

        var (status, body, _) = await PostAsync(standIn, c.Query, c.Variables is null ? null : JsonNode.Parse(c.Variables)!.AsObject());

        await Assert.That(status).IsEqualTo(HttpStatusCode.OK);
        await Assert.That(Code(body)).IsEqualTo(c.Code).Because(body.ToJsonString());
        await Assert.That(Message(body)).Contains(c.Message);
        await Assert.That(standIn.Rejections).IsNotEmpty();
        await Assert.That(standIn.LogReports.Count + standIn.HealthReports.Count + standIn.Registrations.Count).IsEqualTo(0).Because("nothing refused is performed");
    }

    [Test]
    public async Task Answers_are_shaped_by_the_selection_set()
    {
        await using var standIn = await OpenCtiStandIn.StartAsync();
        await RegisterAsync(standIn);
        standIn.AddConnector(new StandInConnector("c-1", "first", "img:1", "h1"));

        var (_, body, _) = await PostAsync(standIn, """
            query Shaped { __typename v: about { version } connectorsForManagers { ...Ids n: name __typename } }
            fragment Ids on ManagedConnector { id manager_contract_hash }
            """, operationName: "Shaped");

        await Assert.That(body.ToJsonString()).IsEqualTo(
            """{"data":{"__typename":"Query","v":{"version":"6.9.4"},"connectorsForManagers":[{"id":"c-1","manager_contract_hash":"h1","n":"first","__typename":"ManagedConnector"}]}}""");
        await Assert.That(standIn.Rejections).IsEmpty();
    }

    [Test]
    public async Task A_token_without_the_capability_is_forbidden_and_an_unknown_token_is_not_logged_in()
    {
        await using var standIn = await OpenCtiStandIn.StartAsync();
        await RegisterAsync(standIn);
        standIn.AddToken("connector-api-only", ["CONNECTORAPI"]);
        standIn.AddToken("set-accesses-only", ["SETTINGS_SETACCESSES"]);

        var (listStatus, list, _) = await PostAsync(standIn, ListAll, token: "connector-api-only");
        await Assert.That(listStatus).IsEqualTo(HttpStatusCode.OK);
        await Assert.That(Code(list)).IsEqualTo("FORBIDDEN_ACCESS");
        await Assert.That(Message(list)).IsEqualTo("You are not allowed to do this.");
        await Assert.That(list["data"]!.ToJsonString()).IsEqualTo("""{"connectorsForManagers":null}""");

        var (_, logs, _) = await PostAsync(standIn, "mutation { updateConnectorLogs(input: {id: \"c\", logs: [\"x\"]}) }", token: "set-accesses-only");
        await Assert.That(Code(logs)).IsEqualTo("FORBIDDEN_ACCESS");
        await Assert.That(logs["data"]).IsNull().Because("updateConnectorLogs is ID!: its null nulls data");
        await Assert.That(standIn.LogReports).IsEmpty();

        var (_, allowed, _) = await PostAsync(standIn, ListAll, token: "set-accesses-only");
        await Assert.That(allowed["errors"]).IsNull();
        var (_, version, _) = await PostAsync(standIn, "{ about { version } }", token: "connector-api-only");
        await Assert.That(version["data"]!["about"]!["version"]!.GetValue<string>()).IsEqualTo("6.9.4").Because("about needs a login only");

        var (unknownStatus, unknown, _) = await PostAsync(standIn, ListAll, token: "nobody");
        await Assert.That(unknownStatus).IsEqualTo(HttpStatusCode.OK).Because("OpenCTI answers an unknown token at HTTP 200 (the default)");
        await Assert.That(Code(unknown)).IsEqualTo("AUTH_REQUIRED");
        await Assert.That(Message(unknown)).IsEqualTo("You must be logged in to do this.");
        await Assert.That(unknown["data"]!.ToJsonString()).IsEqualTo("""{"connectorsForManagers":null}""");
        standIn.AuthFailureStatus = 401; // a proxy or ingress in front of OpenCTI
        (unknownStatus, unknown, _) = await PostAsync(standIn, ListAll, token: "nobody");
        await Assert.That(unknownStatus).IsEqualTo(HttpStatusCode.Unauthorized);
        await Assert.That(Code(unknown)).IsEqualTo("AUTH_REQUIRED");
    }

    [Test]
    public async Task One_manager_per_platform_and_a_ping_for_an_unknown_manager_finds_nothing_to_update()
    {
        await using var standIn = await OpenCtiStandIn.StartAsync();
        const string ping = "mutation P($input: UpdateConnectorManagerStatusInput!) { updateConnectorManagerStatus(input: $input) { id about_version active } }";
        var input = (string id) => new JsonObject { ["input"] = new JsonObject { ["id"] = id } };

        var (_, early, _) = await PostAsync(standIn, ping, input("mgr-1"));
        await Assert.That(Code(early)).IsEqualTo("FUNCTIONAL_ERROR");
        await Assert.That(Message(early)).IsEqualTo(OpenCtiStandIn.NotFoundMessage);
        await Assert.That(early["data"]!.ToJsonString()).IsEqualTo("""{"updateConnectorManagerStatus":null}""");

        await RegisterAsync(standIn, "mgr-1", "First name");
        await RegisterAsync(standIn, "mgr-1", "Second name");
        await Assert.That(standIn.Manager!.Name).IsEqualTo("Second name").Because("a known id is updated");
        var (_, other, _) = await PostAsync(standIn, "mutation R($input: RegisterConnectorsManagerInput!) { registerConnectorsManager(input: $input) { id } }",
            new JsonObject { ["input"] = new JsonObject { ["id"] = "mgr-2", ["name"] = "Other", ["public_key"] = Pkcs1Pem } });
        await Assert.That(Code(other)).IsEqualTo("UNSUPPORTED_ERROR");
        await Assert.That(Message(other)).IsEqualTo(OpenCtiStandIn.OnlyOneManagerMessage);
        await Assert.That(standIn.Manager!.Id).IsEqualTo("mgr-1");

        var (_, pinged, _) = await PostAsync(standIn, ping, input("mgr-1"));
        await Assert.That(pinged["data"]!.ToJsonString()).IsEqualTo("""{"updateConnectorManagerStatus":{"id":"mgr-1","about_version":"6.9.4","active":true}}""");

        // Reset platform data: the manager is gone, its pings fail until it registers again.
        using var control = new HttpClient();
        (await control.DeleteAsync(standIn.Url + "/_standin/manager")).EnsureSuccessStatusCode();
        var (_, forgotten, _) = await PostAsync(standIn, ping, input("mgr-1"));
        await Assert.That(Message(forgotten)).IsEqualTo(OpenCtiStandIn.NotFoundMessage);
        await Assert.That(standIn.Pings.Count).IsEqualTo(1);
    }

    [Test]
    public async Task A_catalog_connector_is_stored_stopped_and_lists_the_platforms_entries_after_its_own()
    {
        await using var standIn = await OpenCtiStandIn.StartAsync();
        await RegisterAsync(standIn);
        standIn.PlatformProxy = new StandInPlatformProxy("http://proxy:3128", "", " a.example, *.wild, .suffix.example, 10.0.0.0/8, a.example ,", ["PEM-1", "PEM-2"], RejectUnauthorized: true);
        var added = standIn.AddCatalogConnector("My  MITRE Connector!", "opencti/connector-mitre:6.9.4",
            [new StandInEntry("MITRE_INTERVAL", "7"), StandInEntry.Secret("API_KEY", "catalog-secret"), new StandInEntry("HTTP_PROXY", "stored-proxy")], type: "EXTERNAL_IMPORT");
        await Assert.That(added.Name).IsEqualTo("my-mitre-connector");
        await Assert.That(() => standIn.AddCatalogConnector("my mitre connector", "img:2")).Throws<InvalidOperationException>().Because("the catalog refuses a taken name");

        var (_, first, _) = await PostAsync(standIn, ListAll);
        var listed = first["data"]!["connectorsForManagers"]![0]!;
        await Assert.That(listed["manager_requested_status"]!.GetValue<string>()).IsEqualTo("stopped");
        var entries = listed["manager_contract_configuration"]!.AsArray();
        await Assert.That(entries.Select(e => e!["key"]!.GetValue<string>())).IsEquivalentTo(new[]
        {
            "MITRE_INTERVAL", "API_KEY", "CONNECTOR_ID", "CONNECTOR_NAME", "CONNECTOR_TYPE", "OPENCTI_TOKEN",
            "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "HTTPS_CA_CERTIFICATES", "HTTPS_PROXY_REJECT_UNAUTHORIZED",
        }, TUnit.Assertions.Enums.CollectionOrdering.Matching);
        string Value(JsonArray list, string key) => list.Single(e => e!["key"]!.GetValue<string>() == key)!["value"]!.GetValue<string>();
        await Assert.That(Value(entries, "CONNECTOR_ID")).IsEqualTo(added.Id);
        await Assert.That(Value(entries, "CONNECTOR_NAME")).IsEqualTo("my-mitre-connector");
        await Assert.That(Value(entries, "CONNECTOR_TYPE")).IsEqualTo("EXTERNAL_IMPORT");
        await Assert.That(Decrypt(Value(entries, "OPENCTI_TOKEN"))).IsEqualTo(standIn.ConnectorToken(added.Id));
        await Assert.That(Decrypt(Value(entries, "API_KEY"))).IsEqualTo("catalog-secret");
        await Assert.That(Value(entries, "HTTP_PROXY")).IsEqualTo("http://proxy:3128").Because("the platform's proxy replaces a stored one");
        await Assert.That(Value(entries, "HTTPS_PROXY")).IsEqualTo("").Because("present even when empty");
        await Assert.That(Value(entries, "NO_PROXY")).IsEqualTo("a.example,.suffix.example");
        await Assert.That(Value(entries, "HTTPS_CA_CERTIFICATES")).IsEqualTo("PEM-1\nPEM-2");
        await Assert.That(Value(entries, "HTTPS_PROXY_REJECT_UNAUTHORIZED")).IsEqualTo("true");
        await Assert.That(entries.Single(e => e!["key"]!.GetValue<string>() == "OPENCTI_TOKEN")!["encrypted"]!.GetValue<bool>()).IsTrue();
        await Assert.That(entries.Single(e => e!["key"]!.GetValue<string>() == "CONNECTOR_ID")!["encrypted"]).IsNull();

        var hash = listed["manager_contract_hash"]!.GetValue<string>();
        var (_, again, _) = await PostAsync(standIn, ListAll);
        await Assert.That(again["data"]!["connectorsForManagers"]![0]!["manager_contract_hash"]!.GetValue<string>()).IsEqualTo(hash).Because("stored ciphertexts do not change");

        standIn.RenewToken(added.Id);
        var (_, renewed, _) = await PostAsync(standIn, ListAll);
        var renewedHash = renewed["data"]!["connectorsForManagers"]![0]!["manager_contract_hash"]!.GetValue<string>();
        await Assert.That(renewedHash).IsNotEqualTo(hash);
        await Assert.That(Decrypt(Value(renewed["data"]!["connectorsForManagers"]![0]!["manager_contract_configuration"]!.AsArray(), "OPENCTI_TOKEN")))
            .IsEqualTo(standIn.ConnectorToken(added.Id));
        standIn.Clock.Advance(TimeSpan.FromSeconds(1));
        standIn.ResetState(added.Id);
        var (_, reset, _) = await PostAsync(standIn, ListAll);
        await Assert.That(reset["data"]!["connectorsForManagers"]![0]!["manager_contract_hash"]!.GetValue<string>()).IsNotEqualTo(renewedHash);

        standIn.RequestStatus(added.Id, start: true);
        await Assert.That(standIn.GetConnector(added.Id)!.RequestedStatus).IsEqualTo("starting");
    }

    [Test]
    public async Task Without_a_manager_a_listing_cannot_be_encrypted_and_an_explicit_connector_lists_only_its_own_entries()
    {
        await using var standIn = await OpenCtiStandIn.StartAsync();
        standIn.InjectPlatformEntries = false; // explicit connectors as our own picture had them; a real OpenCTI injects (the default)
        var (_, empty, _) = await PostAsync(standIn, ListAll);
        await Assert.That(empty.ToJsonString()).IsEqualTo("""{"data":{"connectorsForManagers":[]}}""");

        standIn.AddConnector(new StandInConnector("c-1", "explicit", "img:1", "given-hash") { Configuration = [new StandInEntry("MODE", "full")] });
        var (_, failed, _) = await PostAsync(standIn, ListAll);
        await Assert.That(Message(failed)).IsEqualTo(OpenCtiStandIn.NotRegisteredMessage);
        await Assert.That(failed["data"]!.ToJsonString()).IsEqualTo("""{"connectorsForManagers":null}""");

        await RegisterAsync(standIn);
        var (_, listed, _) = await PostAsync(standIn, ListAll);
        var connector = listed["data"]!["connectorsForManagers"]![0]!;
        await Assert.That(connector["manager_contract_hash"]!.GetValue<string>()).IsEqualTo("given-hash");
        await Assert.That(connector["manager_contract_configuration"]!.AsArray().Count).IsEqualTo(1);
        standIn.InjectPlatformEntries = true;
        (_, listed, _) = await PostAsync(standIn, ListAll);
        await Assert.That(listed["data"]!["connectorsForManagers"]![0]!["manager_contract_configuration"]!.AsArray().Count).IsEqualTo(10);
    }

    [Test]
    public async Task A_missing_contract_snapshot_nulls_the_whole_list_with_one_error()
    {
        await using var standIn = await OpenCtiStandIn.StartAsync();
        await RegisterAsync(standIn);
        standIn.AddConnector(new StandInConnector("c-good", "good", "img:1", "h1"));
        standIn.AddConnector(new StandInConnector("c-broken", "broken", "img:2", "h2") { SnapshotMissing = true });

        var (status, body, _) = await PostAsync(standIn, ListAll);

        await Assert.That(status).IsEqualTo(HttpStatusCode.OK);
        await Assert.That(body["data"]!.ToJsonString()).IsEqualTo("""{"connectorsForManagers":null}""");
        await Assert.That(body["errors"]!.AsArray().Count).IsEqualTo(1);
        await Assert.That(Message(body)).IsEqualTo(OpenCtiStandIn.InvalidSnapshotMessage);
        await Assert.That(Code(body)).IsEqualTo("FUNCTIONAL_ERROR");
        await Assert.That(body["errors"]![0]!["path"]!.ToJsonString()).StartsWith("""["connectorsForManagers",1,""");
    }

    [Test]
    public async Task A_held_listing_answers_once_upgrades_settle_and_fails_after_the_timeout()
    {
        await using var standIn = await OpenCtiStandIn.StartAsync();
        await RegisterAsync(standIn);
        standIn.AddConnector(new StandInConnector("c-1", "one", "img:1", "h1"));
        using var control = new HttpClient { BaseAddress = new Uri(standIn.Url + "/_standin/") };

        (await control.PutAsync("auto-upgrade", new StringContent("""{"ready_in_seconds": 1.2, "poll_seconds": 0.4, "timeout_seconds": 10}"""))).EnsureSuccessStatusCode();
        var (_, held, took) = await PostAsync(standIn, ListAll);
        await Assert.That(held["errors"]).IsNull();
        await Assert.That(took).IsGreaterThanOrEqualTo(TimeSpan.FromSeconds(1.1));
        await Assert.That(took).IsLessThan(TimeSpan.FromSeconds(5));
        var (_, settled, tookAfter) = await PostAsync(standIn, ListAll);
        await Assert.That(settled["errors"]).IsNull();
        await Assert.That(tookAfter).IsLessThan(TimeSpan.FromSeconds(1)).Because("once settled, listings are not held");

        (await control.PutAsync("auto-upgrade", new StringContent("""{"ready_in_seconds": null, "poll_seconds": 0.5, "timeout_seconds": 1.5}"""))).EnsureSuccessStatusCode();
        var (status, timedOut, tookTimeout) = await PostAsync(standIn, ListAll);
        await Assert.That(status).IsEqualTo(HttpStatusCode.OK);
        await Assert.That(Message(timedOut)).IsEqualTo(OpenCtiStandIn.AutoUpgradeTimedOutMessage);
        await Assert.That(Code(timedOut)).IsEqualTo("FUNCTIONAL_ERROR");
        await Assert.That(timedOut["data"]!.ToJsonString()).IsEqualTo("""{"connectorsForManagers":null}""");
        await Assert.That(tookTimeout).IsGreaterThanOrEqualTo(TimeSpan.FromSeconds(1.4));

        (await control.DeleteAsync("auto-upgrade")).EnsureSuccessStatusCode();
        await Assert.That(standIn.AutoUpgrade).IsNull();
        await Assert.That(StandInJson.ReadAutoUpgrade(new JsonObject(), DateTimeOffset.UnixEpoch))
            .IsEqualTo(new StandInAutoUpgrade(null, TimeSpan.FromSeconds(90), TimeSpan.FromSeconds(5))).Because("the platform's own wait by default");
    }

    [Test]
    public async Task Health_is_kept_five_minutes_logs_are_replaced_and_the_manager_is_active_five_minutes_after_its_ping()
    {
        await using var standIn = await OpenCtiStandIn.StartAsync();
        await RegisterAsync(standIn);
        standIn.AddConnector(new StandInConnector("c-1", "one", "img:1", "h1"));
        const string health = "mutation H($input: HealthConnectorStatusInput!) { updateConnectorHealth(input: $input) }";
        const string logs = "mutation L($input: LogsConnectorStatusInput!) { updateConnectorLogs(input: $input) }";
        const string shown = "{ connectorsForManagers { manager_connector_logs manager_health_metrics { restart_count last_update } } }";

        await PostAsync(standIn, health, new JsonObject { ["input"] = new JsonObject { ["id"] = "c-1", ["restart_count"] = 2, ["started_at"] = "2026-01-02T03:04:05Z", ["is_in_reboot_loop"] = false } });
        await PostAsync(standIn, logs, new JsonObject { ["input"] = new JsonObject { ["id"] = "c-1", ["logs"] = new JsonArray("first") } });
        await PostAsync(standIn, logs, new JsonObject { ["input"] = new JsonObject { ["id"] = "c-1", ["logs"] = new JsonArray("second", "third") } });
        var (_, body, _) = await PostAsync(standIn, shown);
        var connector = body["data"]!["connectorsForManagers"]![0]!;
        await Assert.That(connector["manager_connector_logs"]!.ToJsonString()).IsEqualTo("""["second","third"]""");
        await Assert.That(connector["manager_health_metrics"]!["restart_count"]!.GetValue<int>()).IsEqualTo(2);
        var arrival = standIn.HealthArrivals.Single();
        await Assert.That(arrival.Report.ConnectorId).IsEqualTo("c-1");

        standIn.Clock.Advance(TimeSpan.FromSeconds(299));
        await Assert.That(standIn.CurrentHealth("c-1")).IsNotNull();
        await Assert.That(standIn.ManagerActive).IsTrue();
        standIn.Clock.Advance(TimeSpan.FromSeconds(2));
        (_, body, _) = await PostAsync(standIn, shown);
        await Assert.That(body["data"]!["connectorsForManagers"]![0]!["manager_health_metrics"]).IsNull().Because("health expires after 300 s");
        await Assert.That(standIn.ManagerActive).IsFalse().Because("no ping for 5 minutes");
        await Assert.That(standIn.HealthArrivals.Single().ReceivedAt).IsEqualTo(arrival.ReceivedAt);

        // A report for a connector the platform does not know is stored all the same, as OpenCTI does.
        var (_, unknown, _) = await PostAsync(standIn, logs, new JsonObject { ["input"] = new JsonObject { ["id"] = "c-unknown", ["logs"] = new JsonArray("x") } });
        await Assert.That(unknown.ToJsonString()).IsEqualTo("""{"data":{"updateConnectorLogs":"c-unknown"}}""");
    }

    [Test]
    public async Task A_listing_can_be_padded_to_megabytes_and_dribbled_slowly()
    {
        await using var standIn = await OpenCtiStandIn.StartAsync();
        await RegisterAsync(standIn);
        standIn.AddConnector(new StandInConnector("c-1", "one", "img:1", "h1"));

        standIn.ListingShape = new StandInListingShape(PadBytes: 3_000_000);
        var (_, value, _) = await PostAsync(standIn, ListAll);
        var padded = value["data"]!["connectorsForManagers"]!.AsArray();
        await Assert.That(padded.Count).IsEqualTo(1);
        await Assert.That(value.ToJsonString().Length).IsGreaterThan(3_000_000);

        standIn.ListingShape = new StandInListingShape(PadBytes: 2_000_000, PadAsConnectors: true);
        var (_, many, _) = await PostAsync(standIn, ListAll);
        await Assert.That(many["data"]!["connectorsForManagers"]!.AsArray().Count).IsEqualTo(2001);
        await Assert.That(many.ToJsonString().Length).IsGreaterThan(2_000_000);

        standIn.ListingShape = new StandInListingShape(DribbleBytes: 64, DribbleInterval: TimeSpan.FromMilliseconds(100));
        var (_, slow, took) = await PostAsync(standIn, ListAll);
        await Assert.That(slow["data"]!["connectorsForManagers"]!.AsArray().Count).IsEqualTo(1);
        var chunks = Encoding.UTF8.GetByteCount(slow.ToJsonString()) / 64;
        await Assert.That(took).IsGreaterThanOrEqualTo(TimeSpan.FromMilliseconds(100 * (chunks - 1)));
    }

    [Test]
    public async Task Strict_documents_accept_only_composers_documents()
    {
        await using var standIn = await OpenCtiStandIn.StartAsync();
        standIn.StrictDocuments = true;

        var (_, exact, _) = await PostAsync(standIn, OpenCtiStandIn.GetVersionDocument, operationName: "GetVersion");
        var (_, other, _) = await PostAsync(standIn, "query GetVersion { about { version } }", operationName: "GetVersion");

        await Assert.That(exact["data"]!["about"]!["version"]!.GetValue<string>()).IsEqualTo("6.9.4");
        await Assert.That(Message(other)).StartsWith("strict documents: not one of Composer's documents");
        await Assert.That(standIn.Rejections.Count).IsEqualTo(1);
    }
}

using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Composer.Tests.Infrastructure;

/// <summary>The control API of the stand-ins run as a process (as demo.sh and binary tests drive them).</summary>
public class StandInControlApiTests
{
    private static async Task<(HttpStatusCode Status, string Body)> SendAsync(StandInProcess standIn, HttpMethod method, string path, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await standIn.Control.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static async Task<JsonObject> GraphQlAsync(StandInProcess standIn, string query, string token = PlatformStandIn.DefaultToken)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, standIn.Url + "/graphql");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        request.Content = new StringContent(new JsonObject { ["query"] = query }.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    [Test]
    public async Task Catalog_adds_tokens_settings_and_the_clock_are_driven_over_http()
    {
        await using var standIn = await StandInProcess.StartAsync("opencti");
        var key = Composer.Tests.Platform.PlatformTestKeys.Rsa(2048).ExportRSAPublicKeyPem() + "\n";
        var register = await GraphQlAsync(standIn, $$"""mutation { registerConnectorsManager(input: {id: "m-1", name: "Process", public_key: {{JsonValue.Create(key).ToJsonString()}}}) { id } }""");
        await Assert.That(register["errors"]).IsNull().Because(register.ToJsonString());

        var (added, addedBody) = await SendAsync(standIn, HttpMethod.Post, "connectors", """{"origin": "catalog", "name": "Import Files!", "image": "opencti/connector-import:6.9.4"}""");
        await Assert.That(added).IsEqualTo(HttpStatusCode.OK);
        var id = JsonNode.Parse(addedBody)![0]!["id"]!.GetValue<string>();
        await Assert.That(JsonNode.Parse(addedBody)![0]!["name"]!.GetValue<string>()).IsEqualTo("import-files");
        var (taken, _) = await SendAsync(standIn, HttpMethod.Post, "connectors", """{"origin": "catalog", "name": "import files", "image": "x:1"}""");
        await Assert.That(taken).IsEqualTo(HttpStatusCode.Conflict);
        await SendAsync(standIn, HttpMethod.Post, "connectors", """{"origin": "migrated", "name": "import-files", "image": "x:1"}""");

        var state = await standIn.StateAsync();
        await Assert.That(state["connectors"]!.AsArray().Select(c => c!["requested_status"]!.GetValue<string>())).IsEquivalentTo(["stopped", "stopped"]);
        await Assert.That(state["connectors"]!.AsArray().Select(c => c!["origin"]!.GetValue<string>())).IsEquivalentTo(["catalog", "migrated"]);
        await Assert.That((await SendAsync(standIn, HttpMethod.Post, $"connectors/{id}/start")).Status).IsEqualTo(HttpStatusCode.NoContent);
        await Assert.That((await SendAsync(standIn, HttpMethod.Post, "connectors/nope/stop")).Status).IsEqualTo(HttpStatusCode.NotFound);

        await SendAsync(standIn, HttpMethod.Put, "platform-proxy", """{"https_proxy": "http://corp:8080", "no_proxy": "*.corp,localhost"}""");
        var listing = await GraphQlAsync(standIn, "{ connectorsForManagers { id manager_requested_status manager_contract_configuration { key value } } }");
        var first = listing["data"]!["connectorsForManagers"]![0]!;
        await Assert.That(first["manager_requested_status"]!.GetValue<string>()).IsEqualTo("starting");
        var entries = first["manager_contract_configuration"]!.AsArray().ToDictionary(e => e!["key"]!.GetValue<string>(), e => e!["value"]?.GetValue<string>());
        await Assert.That(entries["HTTPS_PROXY"]).IsEqualTo("http://corp:8080");
        await Assert.That(entries["NO_PROXY"]).IsEqualTo("localhost");

        await SendAsync(standIn, HttpMethod.Post, "tokens", """{"token": "api-only", "capabilities": ["CONNECTORAPI"]}""");
        var forbidden = await GraphQlAsync(standIn, "{ connectorsForManagers { id } }", "api-only");
        await Assert.That(forbidden["errors"]![0]!["extensions"]!["code"]!.GetValue<string>()).IsEqualTo("FORBIDDEN_ACCESS");

        var (settingsStatus, settings) = await SendAsync(standIn, HttpMethod.Put, "settings", """{"auth_failure_status": 200, "inject_platform_entries": true}""");
        await Assert.That(settingsStatus).IsEqualTo(HttpStatusCode.OK);
        await Assert.That(settings).IsEqualTo("""{"inject_platform_entries":true,"strict_documents":false,"auth_failure_status":200}""");
        await Assert.That((await SendAsync(standIn, HttpMethod.Put, "settings", """{"bogus": 1}""")).Status).IsEqualTo(HttpStatusCode.BadRequest);

        var before = (await standIn.StateAsync())["manager"]!["active"]!.GetValue<bool>();
        await SendAsync(standIn, HttpMethod.Post, "clock", """{"advance_seconds": 301}""");
        var after = (await standIn.StateAsync())["manager"]!["active"]!.GetValue<bool>();
        await Assert.That((before, after)).IsEqualTo((true, false));

        await Assert.That((await SendAsync(standIn, HttpMethod.Put, "listing-shape", """{"pad_bytes": 10, "pad_as": "sideways"}""")).Status).IsEqualTo(HttpStatusCode.BadRequest);
        await Assert.That((await SendAsync(standIn, HttpMethod.Put, "auto-upgrade", """{"ready_in_seconds": 0}""")).Status).IsEqualTo(HttpStatusCode.NoContent);
        await Assert.That((await standIn.StateAsync())["rejections"]!.AsArray().Count).IsEqualTo(1).Because("only the FORBIDDEN_ACCESS listing was refused");
    }
}

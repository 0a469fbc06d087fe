using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Composer.Images;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Images.Registry;

/// <summary>
/// The X-Registry-Auth header as the real Docker Engine decodes it: a pull through the Engine API from the real
/// htpasswd registry, with credentials whose encoding differs between base64url and standard base64.
/// </summary>
[ClassDataSource<HtpasswdRegistryFixture>(Shared = SharedType.PerTestSession)]
public class XRegistryAuthDockerEngineTests(HtpasswdRegistryFixture registry)
{
    private const string DockerSocket = "/var/run/docker.sock";

    private static HttpClient Engine() => new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, ct) =>
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(DockerSocket), ct);
            return new NetworkStream(socket, ownsSocket: true);
        },
    }) { BaseAddress = new Uri("http://docker/v1.41/"), Timeout = TimeSpan.FromMinutes(2) };

    /// <summary>POST /images/create; returns the progress stream's error messages (empty when the pull worked).</summary>
    private static async Task<List<string>> PullAsync(HttpClient engine, string image, string tag, string? xRegistryAuth)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"images/create?fromImage={Uri.EscapeDataString(image)}&tag={Uri.EscapeDataString(tag)}");
        if (xRegistryAuth is not null) request.Headers.Add("X-Registry-Auth", xRegistryAuth);
        using var response = await engine.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        var errors = new List<string>();
        if (!response.IsSuccessStatusCode) errors.Add($"{(int)response.StatusCode}: {body}");
        foreach (var line in body.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var json = JsonDocument.Parse(line);
            if (json.RootElement.TryGetProperty("error", out var error)) errors.Add(error.GetString() ?? "");
        }
        return errors;
    }

    [Test]
    public async Task The_engine_decodes_our_base64url_header_and_pulls_while_standard_base64_fails()
    {
        Requirements.Need(File.Exists(DockerSocket), $"Docker engine socket {DockerSocket}");
        var credentials = new RegistryCredentials(HtpasswdRegistryFixture.EngineUser, new Composer.Diagnostics.Secret(registry.EnginePassword), null, registry.Host);
        var header = credentials.ToXRegistryAuth();
        var json = Encoding.UTF8.GetString(Convert.FromBase64String(header.Replace('-', '+').Replace('_', '/')));
        var standard = Convert.ToBase64String(Encoding.UTF8.GetBytes(json)); // upstream's (bollard's) encoding
        await Assert.That(standard.Contains('+') && standard.Contains('/')).IsTrue();

        // A repository of its own so parallel tests and earlier runs never share the engine's image.
        var repository = $"composer-tests/engine-{Guid.NewGuid():N}";
        await RegistryPusher.PushImageAsync(registry.Registry.BaseUri, repository, "1.0", HtpasswdRegistryFixture.User, HtpasswdRegistryFixture.Password);
        var image = $"{registry.Host}/{repository}";
        using var engine = Engine();
        try
        {
            var withStandard = await PullAsync(engine, image, "1.0", standard);
            await Assert.That(withStandard).IsNotEmpty(); // the engine could not decode it and pulled anonymously: refused

            var withOurs = await PullAsync(engine, image, "1.0", header);
            await Assert.That(withOurs).IsEmpty().Because(string.Join("\n", withOurs));
            using var inspect = await engine.GetAsync($"images/{Uri.EscapeDataString(image + ":1.0")}/json");
            await Assert.That((int)inspect.StatusCode).IsEqualTo(200);

            var anonymous = await PullAsync(engine, image, "1.0", null);
            await Assert.That(string.Join("\n", anonymous)).Contains("no basic auth credentials");
        }
        finally
        {
            using var _ = await engine.DeleteAsync($"images/{Uri.EscapeDataString(image + ":1.0")}?force=true");
        }
    }
}

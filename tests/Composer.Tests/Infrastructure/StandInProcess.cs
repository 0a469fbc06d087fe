using System.Text;
using System.Text.Json.Nodes;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// A platform stand-in running as a process of its own (tests/Composer.StandIns, built with the tests), as demo.sh
/// and tests that drive the native binary use it; <see cref="Control"/> speaks its control API (see PlatformStandIn).
/// </summary>
public sealed class StandInProcess : IAsyncDisposable
{
    private readonly BackgroundProcess _process;

    private StandInProcess(BackgroundProcess process, int port)
    {
        _process = process;
        Port = port;
        Control = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/_standin/"), Timeout = TimeSpan.FromSeconds(10) };
    }

    public int Port { get; }
    public string Url => $"http://127.0.0.1:{Port}";
    public HttpClient Control { get; }
    public string Output => _process.Output;

    /// <summary>The stand-in executable next to the tests' own build (same configuration).</summary>
    public static string Executable
    {
        get
        {
            var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name; // bin/<configuration>/net10.0
            return Path.Combine(RepoPaths.Root, "tests", "Composer.StandIns", "bin", configuration, "net10.0", "Composer.StandIns");
        }
    }

    /// <param name="platform">opencti or openaev.</param>
    /// <param name="connectorsFile">A JSON list of connectors in the control API form, or null.</param>
    public static async Task<StandInProcess> StartAsync(string platform, string? connectorsFile = null, string token = PlatformStandIn.DefaultToken)
    {
        var port = FreePort.Next();
        List<string> args = [platform, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--token", token];
        if (connectorsFile is not null) args.AddRange(["--connectors", connectorsFile]);
        var process = BackgroundProcess.Start($"{platform} stand-in", Executable, args);
        await process.WaitForPortAsync("127.0.0.1", port);
        return new StandInProcess(process, port);
    }

    public async Task<JsonObject> StateAsync() => JsonNode.Parse(await Control.GetStringAsync("state"))!.AsObject();

    /// <summary>Sends a control request; a non-2xx answer throws with the stand-in's message.</summary>
    public async Task SendAsync(HttpMethod method, string path, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await Control.SendAsync(request);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{method} /_standin/{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        Control.Dispose();
        await _process.DisposeAsync();
    }
}

using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;

namespace Composer.Soak;

/// <summary>A container as the soak sees it (Engine API container list).</summary>
internal sealed record EngineContainer(string Id, string Name, string ConnectorId, string? Hash, string State)
{
    public bool Running => State is "running" or "restarting";

    /// <summary>A container a refresh put aside (&lt;name&gt;.replaced-&lt;id&gt;) until its replacement runs.</summary>
    public bool Aside => Name.Contains(".replaced-", StringComparison.Ordinal);
}

/// <summary>
/// A dockerd of the soak's own (vfs, no iptables, no bridge; socket, data-root, exec-root and pid file under its
/// directory), never the shared engine at /var/run/docker.sock: restarting it is one of the faults.
/// </summary>
internal sealed class PrivateEngine : IAsyncDisposable
{
    private readonly string _root;
    private Process? _dockerd;
    private readonly HttpClient _api;

    public PrivateEngine(string root)
    {
        _root = root;
        Directory.CreateDirectory(root);
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, token) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(SocketPath), token);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            PooledConnectionLifetime = TimeSpan.FromSeconds(30),
        };
        _api = new HttpClient(handler) { BaseAddress = new Uri("http://engine/"), Timeout = TimeSpan.FromSeconds(20) };
    }

    public string SocketPath => Path.Combine(_root, "docker.sock");

    public string DockerHost => "unix://" + SocketPath;

    public string LogPath => Path.Combine(_root, "dockerd.log");

    public int Starts { get; private set; }

    public async Task StartAsync()
    {
        var dockerd = File.Exists("/usr/sbin/dockerd") ? "/usr/sbin/dockerd" : "dockerd";
        _dockerd = Processes.Start(dockerd,
        [
            "--storage-driver", "vfs", "--iptables=false", "--ip-masq=false", "--bridge=none",
            "--data-root", Path.Combine(_root, "data"),
            "--exec-root", Path.Combine(_root, "exec"),
            "--pidfile", Path.Combine(_root, "dockerd.pid"),
            "-H", DockerHost,
        ], LogPath);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (DateTime.UtcNow < deadline && !_dockerd.HasExited)
        {
            if (await PingAsync()) { Starts++; return; }
            await Task.Delay(200);
        }
        throw new InvalidOperationException($"the private dockerd did not answer within 90 s (log: {LogPath})");
    }

    /// <summary>SIGTERM (dockerd stops its containers, as on a host reboot or an upgrade of the engine), SIGKILL after 60 s.</summary>
    public async Task StopAsync()
    {
        if (_dockerd is null) return;
        await Processes.StopAsync(_dockerd, TimeSpan.FromSeconds(60));
        _dockerd.Dispose();
        _dockerd = null;
    }

    public async Task<bool> PingAsync()
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            using var response = await _api.GetAsync("_ping", cts.Token);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
            return false;
        }
    }

    /// <summary>Every container labelled with the manager, stopped ones too; null when the engine does not answer.</summary>
    public async Task<List<EngineContainer>?> ListAsync(string managerId)
    {
        var filters = Uri.EscapeDataString($"{{\"label\":[\"opencti-manager={managerId}\"]}}");
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            using var response = await _api.GetAsync($"containers/json?all=1&filters={filters}", cts.Token);
            if (!response.IsSuccessStatusCode) return null;
            using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cts.Token));
            var list = new List<EngineContainer>();
            foreach (var c in document.RootElement.EnumerateArray())
            {
                var labels = c.GetProperty("Labels");
                string? Label(string key) => labels.ValueKind == JsonValueKind.Object && labels.TryGetProperty(key, out var v) ? v.GetString() : null;
                var name = c.GetProperty("Names").EnumerateArray().Select(n => n.GetString()!.TrimStart('/')).FirstOrDefault(n => !n.Contains('/')) ?? "";
                list.Add(new EngineContainer(c.GetProperty("Id").GetString()!, name, Label("opencti-connector-id") ?? "",
                    Label("composer.config-hash"), c.GetProperty("State").GetString() ?? ""));
            }
            return list;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException or JsonException)
        {
            return null;
        }
    }

    /// <summary>docker kill; true when the engine did it.</summary>
    public Task<bool> KillAsync(string id) => CallAsync(HttpMethod.Post, $"containers/{id}/kill");

    /// <summary>docker rm -f; true when the engine did it.</summary>
    public Task<bool> RemoveAsync(string id) => CallAsync(HttpMethod.Delete, $"containers/{id}?force=true");

    /// <summary>docker rmi (untags; refused while a container uses the image).</summary>
    public Task<bool> RemoveImageAsync(string reference) => CallAsync(HttpMethod.Delete, $"images/{Uri.EscapeDataString(reference)}");

    private async Task<bool> CallAsync(HttpMethod method, string path)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            using var response = await _api.SendAsync(new HttpRequestMessage(method, path), cts.Token);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
        {
            return false;
        }
    }

    /// <summary>The docker CLI against this engine.</summary>
    public Task<string> CliAsync(string arguments, TimeSpan? timeout = null) =>
        Processes.ShellAsync($"docker -H {DockerHost} {arguments}", timeout ?? TimeSpan.FromMinutes(2));

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _api.Dispose();
    }
}

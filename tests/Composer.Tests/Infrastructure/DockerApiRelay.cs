using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// The real Docker engine behind a TCP relay the test controls, on 127.0.0.1:&lt;free port&gt; (configure
/// <see cref="DockerHost"/> as opencti.daemon.docker.host): every connection is forwarded to the engine's Unix socket
/// and the request lines going through are recorded (<see cref="Requests"/>, e.g. "POST /v1.41/containers/create?name=x").
/// <list type="bullet">
/// <item><see cref="Hold"/>: requests whose line matches a pattern are not forwarded (the caller waits), e.g. the start
/// of a container just created, to kill the manager between create and start, deterministically
/// (<see cref="StopHolding"/> ends that for the next requests; <see cref="Release"/> also forwards the held ones, late,
/// as a slow engine would answer them).</item>
/// <item><see cref="Stop"/> / <see cref="Resume"/>: the engine becomes unreachable (connections closed, connect
/// refused), then reachable again on the same port.</item>
/// <item><see cref="Refuse"/> / <see cref="StopRefusing"/>: the connections that carried a request matching a pattern
/// are closed, and so is each new one that sends such a request (e.g. the events stream is cut while every other call
/// goes through), until <see cref="StopRefusing"/>.</item>
/// </list>
/// Request lines are found at the start of what the client writes (SocketsHttpHandler writes a request's headers in one
/// piece), which is all a test relay needs; bodies are forwarded untouched.
/// </summary>
public sealed partial class DockerApiRelay : IAsyncDisposable
{
    private readonly string _socketPath;
    private readonly Lock _gate = new();
    private readonly List<string> _requests = [];
    private readonly List<Socket> _connections = [];
    private readonly Dictionary<Socket, List<string>> _linesOf = [];
    private Regex? _refused;
    private readonly RequestHold _hold = new();
    private TcpListener? _listener;
    private CancellationTokenSource _stop = new();

    private DockerApiRelay(string socketPath, int port)
    {
        _socketPath = socketPath;
        Port = port;
    }

    public int Port { get; }

    /// <summary>tcp://127.0.0.1:port (loopback: never proxied).</summary>
    public string DockerHost => $"tcp://127.0.0.1:{Port}";

    /// <summary>"METHOD /path?query" of every request seen, held ones included.</summary>
    public IReadOnlyList<string> Requests { get { lock (_gate) return [.. _requests]; } }

    public static DockerApiRelay Start(string engineSocketPath)
    {
        var relay = new DockerApiRelay(engineSocketPath, FreePort.Next());
        relay.Listen();
        return relay;
    }

    /// <summary>From now on, requests whose "METHOD /path" matches <paramref name="pattern"/> are held; the task completes with the first one.</summary>
    public Task<string> Hold(string pattern) => _hold.Hold(pattern);

    /// <summary>Requests are forwarded again (those held so far stay held until their client goes away).</summary>
    public void StopHolding() => _hold.StopHolding();

    /// <summary>The requests held so far are forwarded (late, as to a slow engine) and no more are held.</summary>
    public void Release() => _hold.Release();

    /// <summary>Closes the connections that carried a request matching <paramref name="pattern"/>, and each new one that sends one.</summary>
    public void Refuse(string pattern)
    {
        var regex = new Regex(pattern, RegexOptions.CultureInvariant);
        List<Socket> cut;
        lock (_gate)
        {
            _refused = regex;
            cut = [.. _linesOf.Where(c => c.Value.Any(regex.IsMatch)).Select(c => c.Key)];
        }
        foreach (var socket in cut) socket.Dispose();
    }

    /// <summary>Requests matching the pattern of <see cref="Refuse"/> are forwarded again.</summary>
    public void StopRefusing()
    {
        lock (_gate) _refused = null;
    }

    /// <summary>Stops listening and closes every connection: the engine is unreachable until <see cref="Resume"/>.</summary>
    public void Stop()
    {
        List<Socket> open;
        lock (_gate)
        {
            _stop.Cancel();
            _listener?.Stop();
            _listener = null;
            open = [.. _connections];
            _connections.Clear();
        }
        foreach (var socket in open) socket.Dispose();
    }

    /// <summary>Listens again on the same port.</summary>
    public void Resume()
    {
        lock (_gate) _stop = new CancellationTokenSource();
        Listen();
    }

    private void Listen()
    {
        var listener = new TcpListener(IPAddress.Loopback, Port);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        CancellationToken token;
        lock (_gate)
        {
            _listener = listener;
            token = _stop.Token;
        }
        _ = AcceptAsync(listener, token);
    }

    private async Task AcceptAsync(TcpListener listener, CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptSocketAsync(token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            _ = RelayAsync(client, token);
        }
    }

    private async Task RelayAsync(Socket client, CancellationToken token)
    {
        var engine = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        lock (_gate)
        {
            _connections.Add(client);
            _connections.Add(engine);
        }
        try
        {
            await engine.ConnectAsync(new UnixDomainSocketEndPoint(_socketPath), token);
            var requests = ForwardRequestsAsync(client, engine, token);
            var responses = ForwardAsync(engine, client, token);
            await Task.WhenAny(requests, responses);
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException) { }
        finally
        {
            lock (_gate)
            {
                _connections.Remove(client);
                _connections.Remove(engine);
                _linesOf.Remove(client);
            }
            client.Dispose();
            engine.Dispose();
        }
    }

    /// <summary>The most a held request may send (its body) before it is released; more closes its connection.</summary>
    private const int HeldBytesLimit = 16 * 1024 * 1024;

    private async Task ForwardRequestsAsync(Socket client, Socket engine, CancellationToken token)
    {
        var buffer = new byte[64 * 1024];
        // While a request is held: what the client sent from its request line on, forwarded once it is released.
        MemoryStream? heldBytes = null;
        Task? released = null;
        try
        {
            while (true)
            {
                var receiving = client.ReceiveAsync(buffer, token).AsTask();
                if (released is not null && await Task.WhenAny(receiving, released) == released)
                {
                    await engine.SendAsync(heldBytes!.ToArray(), token);
                    (heldBytes, released) = (null, null);
                }
                var n = await receiving;
                if (n == 0) return;
                if (heldBytes is not null)
                {
                    if (heldBytes.Length + n > HeldBytesLimit) return;
                    heldBytes.Write(buffer, 0, n);
                    continue;
                }
                var text = Encoding.Latin1.GetString(buffer, 0, n);
                var forward = n;
                foreach (Match m in RequestLine().Matches(text))
                {
                    var line = $"{m.Groups[1].Value} {m.Groups[2].Value}";
                    bool refused;
                    lock (_gate)
                    {
                        _requests.Add(line);
                        if (!_linesOf.TryGetValue(client, out var lines)) _linesOf[client] = lines = [];
                        lines.Add(line);
                        refused = _refused?.IsMatch(line) == true;
                    }
                    if (refused)
                    {
                        client.Dispose();
                        return;
                    }
                    if (!_hold.Holds(line, out var release)) continue;
                    forward = m.Groups[1].Index;
                    heldBytes = new MemoryStream();
                    heldBytes.Write(buffer, forward, n - forward);
                    released = release;
                    break;
                }
                if (forward > 0) await engine.SendAsync(buffer.AsMemory(0, forward), token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException) { }
    }

    private static async Task ForwardAsync(Socket from, Socket to, CancellationToken token)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var n = await from.ReceiveAsync(buffer, token);
                if (n == 0) return;
                await to.SendAsync(buffer.AsMemory(0, n), token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException) { }
    }

    [GeneratedRegex(@"(?:^|\n)(GET|POST|PUT|DELETE|HEAD) (/[^ \r\n]*) HTTP/1\.[01]\r\n", RegexOptions.CultureInvariant)]
    private static partial Regex RequestLine();

    public ValueTask DisposeAsync()
    {
        Stop();
        return ValueTask.CompletedTask;
    }
}

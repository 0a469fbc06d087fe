using System.Net;
using System.Net.Sockets;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// A TCP relay on 127.0.0.1:&lt;free port&gt; to a server the test does not own (a shared registry): <see cref="Stop"/>
/// makes it unreachable (open connections closed, new ones refused), <see cref="Resume"/> reachable again on the same
/// port. Bytes are forwarded untouched both ways; <see cref="Connections"/> counts the connections accepted.
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly string _targetHost;
    private readonly int _targetPort;
    private readonly Lock _gate = new();
    private readonly List<Socket> _open = [];
    private TcpListener? _listener;
    private int _connections;

    private TcpRelay(string targetHost, int targetPort, int port)
    {
        _targetHost = targetHost;
        _targetPort = targetPort;
        Port = port;
    }

    public int Port { get; }

    /// <summary>127.0.0.1:port (the engine treats a loopback registry as plain HTTP, like the target).</summary>
    public string Host => $"127.0.0.1:{Port}";

    public int Connections => Volatile.Read(ref _connections);

    /// <param name="target">host:port of the server to relay to.</param>
    public static TcpRelay Start(string target)
    {
        var colon = target.LastIndexOf(':');
        var relay = new TcpRelay(target[..colon], int.Parse(target[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture), FreePort.Next());
        relay.Resume();
        return relay;
    }

    /// <summary>Closes every connection and the listening socket: connecting is refused until <see cref="Resume"/>.</summary>
    public void Stop()
    {
        List<Socket> open;
        lock (_gate)
        {
            _listener?.Stop();
            _listener = null;
            open = [.. _open];
            _open.Clear();
        }
        foreach (var socket in open) socket.Dispose();
    }

    /// <summary>Listens again on the same port.</summary>
    public void Resume()
    {
        lock (_gate)
        {
            if (_listener is not null) return;
            var listener = new TcpListener(IPAddress.Loopback, Port);
            listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Start();
            _listener = listener;
            _ = AcceptAsync(listener);
        }
    }

    private async Task AcceptAsync(TcpListener listener)
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await listener.AcceptSocketAsync();
            }
            catch (Exception)
            {
                return; // stopped
            }
            Interlocked.Increment(ref _connections);
            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(Socket client)
    {
        var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        lock (_gate)
        {
            _open.Add(client);
            _open.Add(upstream);
        }
        try
        {
            await upstream.ConnectAsync(_targetHost, _targetPort);
            await Task.WhenAny(CopyAsync(client, upstream), CopyAsync(upstream, client));
        }
        catch (Exception)
        {
            // Either side went away.
        }
        finally
        {
            lock (_gate)
            {
                _open.Remove(client);
                _open.Remove(upstream);
            }
            client.Dispose();
            upstream.Dispose();
        }
    }

    private static async Task CopyAsync(Socket from, Socket to)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None);
                if (read == 0) return;
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None);
            }
        }
        catch (Exception)
        {
            // Closed.
        }
    }

    public ValueTask DisposeAsync()
    {
        Stop();
        return ValueTask.CompletedTask;
    }
}

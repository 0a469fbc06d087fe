using System.Net;
using System.Net.Sockets;

namespace Composer.Soak;

/// <summary>
/// The registry's front door on 127.0.0.1:<see cref="Port"/>: forwards to the real registry, or, while held, accepts
/// connections and never answers (a registry that hangs). <see cref="Release"/> resets the held connections, as a
/// registry coming back after a restart would, and forwards again.
/// </summary>
internal sealed class HeldRegistry : IAsyncDisposable
{
    private readonly int _target;
    private readonly TcpListener _listener;
    private readonly Lock _gate = new();
    private readonly List<Socket> _held = [];
    private readonly CancellationTokenSource _stop = new();
    private bool _holding;

    public HeldRegistry(int targetPort)
    {
        _target = targetPort;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _ = AcceptAsync();
    }

    public int Port { get; }

    public void Hold()
    {
        lock (_gate) _holding = true;
    }

    public void Release()
    {
        List<Socket> held;
        lock (_gate)
        {
            _holding = false;
            held = [.. _held];
            _held.Clear();
        }
        foreach (var socket in held) socket.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            bool hold;
            lock (_gate)
            {
                hold = _holding;
                if (hold) _held.Add(client);
            }
            _ = hold ? DrainAsync(client) : ForwardAsync(client);
        }
    }

    private async Task DrainAsync(Socket client)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            while (await client.ReceiveAsync(buffer, _stop.Token) > 0) { }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException) { }
        finally
        {
            lock (_gate) _held.Remove(client);
            client.Dispose();
        }
    }

    private async Task ForwardAsync(Socket client)
    {
        using var registry = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await registry.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
            await Task.WhenAny(PumpAsync(client, registry), PumpAsync(registry, client));
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException) { }
        finally
        {
            client.Dispose();
        }
    }

    private async Task PumpAsync(Socket from, Socket to)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var n = await from.ReceiveAsync(buffer, _stop.Token);
                if (n == 0) return;
                await to.SendAsync(buffer.AsMemory(0, n), _stop.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException) { }
    }

    public ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        Release();
        return ValueTask.CompletedTask;
    }
}

using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// A minimal HTTP/1.1 server (optionally over TLS) on a given 127.0.0.x address: answers every request with 200 and a
/// body that echoes the request line and headers, so a test can see what reached it (e.g. tinyproxy's Via header).
/// </summary>
public sealed class TestHttpServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly X509Certificate2? _certificate;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private int _requests;

    public string Name { get; }
    public int Port { get; }
    public string Scheme => _certificate is null ? "http" : "https";

    /// <summary>Requests answered so far.</summary>
    public int RequestCount => Volatile.Read(ref _requests);

    public TestHttpServer(string name, IPAddress address, X509Certificate2? certificate = null)
    {
        Name = name;
        _certificate = certificate;
        _listener = new TcpListener(address, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public Uri UrlFor(string host, string path = "/") => new($"{Scheme}://{host}:{Port}{path}");

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                Stream stream = client.GetStream();
                if (_certificate is not null)
                {
                    var ssl = new SslStream(stream);
                    await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _certificate }, _stop.Token);
                    stream = ssl;
                }
                await using (stream)
                {
                    while (true)
                    {
                        var head = await ReadHeadAsync(stream);
                        if (head is null) return;
                        Interlocked.Increment(ref _requests);
                        var body = Encoding.UTF8.GetBytes($"served-by: {Name}\n{head}");
                        var response = $"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {body.Length}\r\n\r\n";
                        await stream.WriteAsync(Encoding.ASCII.GetBytes(response));
                        await stream.WriteAsync(body);
                        await stream.FlushAsync();
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or System.Security.Authentication.AuthenticationException or OperationCanceledException or ObjectDisposedException)
            {
                // A client that refuses our certificate or drops the connection is part of what tests exercise.
            }
        }
    }

    /// <summary>Reads up to the blank line; bodies are not expected (tests send GETs).</summary>
    private static async Task<string?> ReadHeadAsync(Stream stream)
    {
        var buffer = new List<byte>(1024);
        var one = new byte[1];
        while (true)
        {
            var n = await stream.ReadAsync(one);
            if (n == 0) return null;
            buffer.Add(one[0]);
            var c = buffer.Count;
            if (c >= 4 && buffer[c - 4] == '\r' && buffer[c - 3] == '\n' && buffer[c - 2] == '\r' && buffer[c - 1] == '\n')
            {
                return Encoding.ASCII.GetString(buffer.ToArray());
            }
            if (c > 64 * 1024) return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try { await _acceptLoop; } catch (OperationCanceledException) { }
        _stop.Dispose();
    }
}

using System.Net;
using System.Text;
using Composer.Diagnostics;

namespace Composer.Hosting;

/// <summary>
/// The optional HTTP listener (manager.health): GET /healthz (200 while the manager runs), GET /readyz (200 when
/// every platform and orchestrator answered and the key is loaded, else 503 with the reasons), GET /metrics
/// (Prometheus text). Plain HTTP on the configured address (127.0.0.1 by default): it exposes no secret.
/// </summary>
public sealed class HealthListener : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ReadinessState _readiness;
    private readonly PrometheusExporter _metrics;
    private readonly Logger _logger;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;

    public HealthListener(string host, int port, ReadinessState readiness, PrometheusExporter metrics, Logger logger)
    {
        // HttpListener spells "every address" as '+'; an IPv6 address goes in brackets.
        var prefixHost = host is "0.0.0.0" or "::" or "*" or "+" ? "+" : host.Contains(':') ? $"[{host}]" : host;
        _listener.Prefixes.Add($"http://{prefixHost}:{port}/");
        Address = $"{host}:{port}";
        _readiness = readiness;
        _metrics = metrics;
        _logger = logger;
    }

    public string Address { get; }

    /// <summary>Starts listening; throws <see cref="HttpListenerException"/> when the address cannot be bound.</summary>
    public void Start()
    {
        _listener.Start();
        _loop = Task.Run(ServeAsync);
        _logger.Info("Health listener started", ("address", Address), ("paths", "/healthz /readyz /metrics"));
    }

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync().WaitAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or HttpListenerException)
            {
                return;
            }
            try
            {
                Answer(context);
            }
            catch (Exception ex) when (ex is HttpListenerException or IOException or InvalidOperationException)
            {
                // A client that went away mid-answer.
            }
        }
    }

    private void Answer(HttpListenerContext context)
    {
        var response = context.Response;
        var (status, contentType, body) = (context.Request.HttpMethod, context.Request.Url?.AbsolutePath) switch
        {
            ("GET" or "HEAD", "/healthz") => (200, "text/plain; charset=utf-8", "ok\n"),
            ("GET" or "HEAD", "/readyz") => (_readiness.IsReady ? 200 : 503, "text/plain; charset=utf-8",
                string.Join('\n', _readiness.Describe()) + "\n"),
            ("GET" or "HEAD", "/metrics") => (200, "text/plain; version=0.0.4; charset=utf-8", _metrics.Render()),
            ("GET" or "HEAD", _) => (404, "text/plain; charset=utf-8", "not found: try /healthz, /readyz or /metrics\n"),
            _ => (405, "text/plain; charset=utf-8", "method not allowed\n"),
        };
        var bytes = Encoding.UTF8.GetBytes(body);
        response.StatusCode = status;
        response.ContentType = contentType;
        response.ContentLength64 = bytes.Length;
        if (context.Request.HttpMethod != "HEAD") response.OutputStream.Write(bytes);
        response.Close();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_listener.IsListening) _listener.Stop();
        if (_loop is not null) await _loop.ConfigureAwait(false);
        _listener.Close();
        _stop.Dispose();
    }
}

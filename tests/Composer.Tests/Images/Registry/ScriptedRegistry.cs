using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Images.Registry;

/// <summary>One scripted answer: status, headers, body.</summary>
/// <param name="CutShort">Announce a longer body than <paramref name="Body"/>, send it, then drop the connection (an answer broken off).</param>
public sealed record ScriptedResponse(int Status, IReadOnlyDictionary<string, string>? Headers = null, string Body = "", bool CutShort = false);

/// <summary>
/// A tiny HTTP stand-in on 127.0.0.1 that answers each path from a script (then repeats the last answer):
/// used only for the failure modes a real registry will not produce on demand (503, 429 Retry-After, a missing
/// Docker-Content-Digest header). Everything else is tested against the real registry.
/// </summary>
public sealed class ScriptedRegistry : IAsyncDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentDictionary<string, Queue<ScriptedResponse>> _script = new();
    private readonly ConcurrentQueue<string> _requests = new();
    private readonly Task _loop;

    public ScriptedRegistry()
    {
        Port = FreePort.Next();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }
    public string Host => $"127.0.0.1:{Port}";

    /// <summary>"METHOD /path" of every request, in order.</summary>
    public IReadOnlyCollection<string> Requests => _requests;

    /// <summary>The Accept header of every request, in order.</summary>
    public ConcurrentQueue<string> AcceptHeaders { get; } = new();

    public int Count(string methodAndPath) => _requests.Count(r => r == methodAndPath);

    public ScriptedRegistry On(string path, params ScriptedResponse[] responses)
    {
        _script[path] = new Queue<ScriptedResponse>(responses);
        return this;
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            var path = context.Request.Url!.AbsolutePath;
            _requests.Enqueue($"{context.Request.HttpMethod} {path}");
            AcceptHeaders.Enqueue(context.Request.Headers["Accept"] ?? "");
            var response = context.Response;
            ScriptedResponse answer;
            if (_script.TryGetValue(path, out var queue))
            {
                lock (queue) answer = queue.Count > 1 ? queue.Dequeue() : queue.Peek();
            }
            else
            {
                answer = new ScriptedResponse(404, Body: """{"errors":[{"code":"NAME_UNKNOWN"}]}""");
            }
            response.StatusCode = answer.Status;
            foreach (var (k, v) in answer.Headers ?? new Dictionary<string, string>())
            {
                if (k.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)) response.ContentType = v; else response.AddHeader(k, v);
            }
            var body = Encoding.UTF8.GetBytes(answer.Body);
            response.ContentLength64 = body.Length + (answer.CutShort ? 1024 : 0);
            if (context.Request.HttpMethod != "HEAD") await response.OutputStream.WriteAsync(body);
            if (answer.CutShort) response.Abort(); else response.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Close alone: after Stop, the managed listener's Close looks its endpoint up again and binds the port anew,
        // which fails ("Address already in use") when another test has taken the port meanwhile.
        _listener.Close();
        await _loop.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { });
    }
}

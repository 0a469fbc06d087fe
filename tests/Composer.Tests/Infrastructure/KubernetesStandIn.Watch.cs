using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Http;

namespace Composer.Tests.Infrastructure;

/// <summary>
/// Watches of deployments and pods as the API server serves them (GET ...?watch=1): HTTP 200, application/json,
/// chunked, one JSON line per event {"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":...}, flushed as it
/// happens.
/// <list type="bullet">
/// <item>resourceVersion: unset or "0" starts with a synthetic ADDED per object that exists, then the changes; a
/// number starts with the changes after it, from the kept history; a number older than the history (compacted) gets
/// one ERROR event with a Status code 410 reason Expired "too old resource version: X (Y)", then the end of the
/// stream (the API server's watch cache answers so, with HTTP 200: the HTTP 410 is a list's answer to an expired
/// continue token, not a watch's).</item>
/// <item>Every object change bumps the resourceVersion (a deployment's status included, as the controllers' updates
/// do); a deletion is an event of its own with the object's last state and a new resourceVersion.</item>
/// <item>allowWatchBookmarks=true: a BOOKMARK {"kind","apiVersion","metadata":{"resourceVersion"}} every
/// <see cref="BookmarkInterval"/> (about a minute on the API server).</item>
/// <item>timeoutSeconds: the stream ends cleanly after it (default <see cref="WatchTimeout"/>, 30 to 60 minutes on
/// the API server); labelSelector filters as a list does; Accept as=Table makes each object a one-row Table, as
/// kubectl get -w asks.</item>
/// </list>
/// The kubelet's part goes on between requests: crash loops advance on a timer, so a watch sees a container crash.
/// Faults: <see cref="ExpireWatches"/> (an ERROR 410 on every open watch, the history compacted),
/// <see cref="CloseWatches"/> (every open watch ends cleanly, as on its timeout), <see cref="RefuseWatches"/>.
/// </summary>
public sealed partial class KubernetesStandIn
{
    private readonly List<WatchEvent> _history = [];
    private readonly Dictionary<(string Resource, string Ns, string Name), JsonObject> _published = new();
    private readonly List<Watcher> _watchers = [];
    private long _compactedThrough;
    private Timer? _kubelet;

    /// <summary>Changes kept for watches that resume from a resourceVersion; older ones are compacted (410 Gone).</summary>
    public int WatchHistory { get; set; } = 1000;

    public TimeSpan BookmarkInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a watch without timeoutSeconds lasts.</summary>
    public TimeSpan WatchTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Watch requests are answered 503 while set (the list calls still work): the stream cannot be opened.</summary>
    public bool RefuseWatches { get; set; }

    /// <summary>The watches open now.</summary>
    public int OpenWatches
    {
        get { lock (_gate) return _watchers.Count; }
    }

    private sealed record WatchEvent(long Version, string Resource, string Ns, string Type, JsonObject Object);

    private sealed class Watcher(string resource, string ns, string[] selector, bool table)
    {
        public string Resource { get; } = resource;
        public string Ns { get; } = ns;
        public string[] Selector { get; } = selector;
        public bool Table { get; } = table;
        public Channel<string> Lines { get; } = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    }

    /// <summary>Every open watch gets an ERROR 410 and ends; the history is compacted, so resuming from any resourceVersion seen gets 410 too.</summary>
    public void ExpireWatches()
    {
        lock (_gate)
        {
            Publish();
            _compactedThrough = _resourceVersion;
            _history.Clear();
            foreach (var watcher in _watchers)
            {
                watcher.Lines.Writer.TryWrite(Expired("0").ToJsonString());
                watcher.Lines.Writer.TryComplete();
            }
            _watchers.Clear();
        }
    }

    /// <summary>Every open watch ends cleanly (as when its timeoutSeconds runs out); the history stays, so a watch resumes.</summary>
    public void CloseWatches()
    {
        lock (_gate)
        {
            foreach (var watcher in _watchers) watcher.Lines.Writer.TryComplete();
            _watchers.Clear();
        }
    }

    private static bool IsWatch(HttpRequest request) => request.Method == "GET" && request.Query["watch"].ToString() is "1" or "true";

    /// <summary>Serves one watch of deployments or pods until it times out, is closed or the client goes away.</summary>
    private async Task ServeWatchAsync(HttpContext context, string resource, string ns)
    {
        var request = context.Request;
        if (RefuseWatches)
        {
            var refused = Reply.Status(503, "ServiceUnavailable", "the watch cannot be served now (injected)");
            context.Response.StatusCode = refused.Code;
            context.Response.ContentType = refused.ContentType;
            await context.Response.WriteAsync(refused.Body);
            return;
        }
        var table = request.Headers.Accept.ToString().Contains("as=Table", StringComparison.Ordinal);
        var bookmarks = request.Query["allowWatchBookmarks"].ToString() == "true";
        var timeout = int.TryParse(request.Query["timeoutSeconds"], CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : WatchTimeout;
        var selector = request.Query["labelSelector"].ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var watcher = new Watcher(resource, ns, selector, table);
        var from = request.Query["resourceVersion"].ToString();
        lock (_gate)
        {
            AdvanceCrashLoops();
            Publish();
            if (from is "" or "0")
            {
                foreach (var o in Select(resource == "pods" ? _pods : _deployments, ns, string.Join(',', selector)))
                {
                    watcher.Lines.Writer.TryWrite(Line("ADDED", o, watcher));
                }
                _watchers.Add(watcher);
            }
            else if (!long.TryParse(from, CultureInfo.InvariantCulture, out var version))
            {
                watcher.Lines.Writer.TryWrite(new JsonObject { ["type"] = "ERROR", ["object"] = StatusObject(400, "BadRequest", $"invalid resource version: {from}") }.ToJsonString());
                watcher.Lines.Writer.TryComplete();
            }
            else if (version < _compactedThrough)
            {
                watcher.Lines.Writer.TryWrite(Expired(from).ToJsonString());
                watcher.Lines.Writer.TryComplete();
            }
            else
            {
                foreach (var e in _history.Where(e => e.Version > version && Concerns(watcher, e))) watcher.Lines.Writer.TryWrite(Line(e.Type, e.Object, watcher));
                _watchers.Add(watcher);
            }
        }
        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "application/json";
        await response.Body.FlushAsync(context.RequestAborted).ConfigureAwait(false);
        var deadline = DateTime.UtcNow + timeout;
        var nextBookmark = DateTime.UtcNow + BookmarkInterval;
        try
        {
            while (true)
            {
                var now = DateTime.UtcNow;
                if (now >= deadline) break;
                if (bookmarks && now >= nextBookmark)
                {
                    string version;
                    lock (_gate) version = _resourceVersion.ToString(CultureInfo.InvariantCulture);
                    await WriteLineAsync(response, Bookmark(resource, version), context.RequestAborted);
                    nextBookmark = now + BookmarkInterval;
                }
                var wait = (bookmarks && nextBookmark < deadline ? nextBookmark : deadline) - now;
                using var timer = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
                timer.CancelAfter(wait < TimeSpan.Zero ? TimeSpan.Zero : wait);
                bool more;
                try
                {
                    more = await watcher.Lines.Reader.WaitToReadAsync(timer.Token);
                }
                catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
                {
                    continue;
                }
                if (!more) break;
                while (watcher.Lines.Reader.TryRead(out var line)) await WriteLineAsync(response, line, context.RequestAborted);
            }
        }
        catch (OperationCanceledException)
        {
            // The client went away.
        }
        catch (IOException)
        {
            // The connection broke.
        }
        finally
        {
            lock (_gate) _watchers.Remove(watcher);
        }
    }

    private static async Task WriteLineAsync(HttpResponse response, string line, CancellationToken cancellationToken)
    {
        await response.WriteAsync(line + "\n", cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    private string Bookmark(string resource, string version) => new JsonObject
    {
        ["type"] = "BOOKMARK",
        ["object"] = new JsonObject
        {
            ["kind"] = resource == "pods" ? "Pod" : "Deployment",
            ["apiVersion"] = resource == "pods" ? "v1" : "apps/v1",
            ["metadata"] = new JsonObject { ["resourceVersion"] = version },
        },
    }.ToJsonString();

    private JsonObject Expired(string requested) => new()
    {
        ["type"] = "ERROR",
        ["object"] = StatusObject(410, "Expired", $"too old resource version: {requested} ({_compactedThrough.ToString(CultureInfo.InvariantCulture)})"),
    };

    private static JsonObject StatusObject(int code, string reason, string message) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    };

    private string Line(string type, JsonObject o, Watcher watcher)
    {
        JsonNode shown = watcher.Table
            ? (watcher.Resource == "pods" ? PodTable([o]) : DeploymentTable([o]))
            : o.DeepClone();
        return new JsonObject { ["type"] = type, ["object"] = shown }.ToJsonString();
    }

    private static bool Concerns(Watcher watcher, WatchEvent e) =>
        e.Resource == watcher.Resource && e.Ns == watcher.Ns && watcher.Selector.All(t => Matches(e.Object["metadata"]?["labels"] as JsonObject, t));

    /// <summary>
    /// Turns what changed since the last call into events (under the lock, after every change): an object whose
    /// resourceVersion moved is ADDED or MODIFIED, one gone is DELETED with a resourceVersion of its own; in order.
    /// </summary>
    private void Publish()
    {
        var events = new List<WatchEvent>();
        foreach (var (resource, objects) in new[] { ("deployments", _deployments), ("pods", _pods) })
        {
            foreach (var ((ns, name), o) in objects)
            {
                var version = o["metadata"]!["resourceVersion"]!.GetValue<string>();
                var key = (resource, ns, name);
                if (_published.TryGetValue(key, out var last) && last["metadata"]!["resourceVersion"]!.GetValue<string>() == version) continue;
                var copy = o.DeepClone().AsObject();
                events.Add(new WatchEvent(long.Parse(version, CultureInfo.InvariantCulture), resource, ns, last is null ? "ADDED" : "MODIFIED", copy));
                _published[key] = copy;
            }
            foreach (var key in _published.Keys.Where(k => k.Resource == resource && !objects.ContainsKey((k.Ns, k.Name))).ToList())
            {
                _published.Remove(key, out var last);
                last!["metadata"]!["resourceVersion"] = NextVersion();
                events.Add(new WatchEvent(_resourceVersion, resource, key.Ns, "DELETED", last));
            }
        }
        foreach (var e in events.OrderBy(e => e.Version))
        {
            _history.Add(e);
            foreach (var watcher in _watchers.Where(w => Concerns(w, e))) watcher.Lines.Writer.TryWrite(Line(e.Type, e.Object, watcher));
        }
        if (_history.Count > WatchHistory)
        {
            var dropped = _history.Count - WatchHistory;
            _compactedThrough = _history[dropped - 1].Version;
            _history.RemoveRange(0, dropped);
        }
    }

    /// <summary>The kubelet's clock: crash loops go on between requests, so that a watch sees them.</summary>
    private void StartKubelet() => _kubelet = new Timer(_ =>
    {
        lock (_gate)
        {
            AdvanceCrashLoops();
            Publish();
        }
    }, null, TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(200));
}

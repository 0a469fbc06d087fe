using System.Net;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Handler.Abstractions;

namespace Composer.Orchestration.Docker;

/// <summary>
/// GET requests with a streamed answer that Composer sends itself, on the very handler, endpoint, API version and
/// headers of a Docker.DotNet client (<see cref="DockerClientFactory.Connect"/>): the Unix transport or the outbound
/// handler with its proxy, TLS and API-call counter, Portainer's X-API-Key. For the one read the library cannot make in
/// one request: its container logs first inspect the container to learn whether it has a TTY, and no overload takes
/// the TTY; <see cref="ContainerLogReader"/> learns it from the answer instead. An error status is thrown as the library
/// throws it (<see cref="DockerApiException"/>, body read up to <see cref="MaxErrorBodyBytes"/>), so
/// <see cref="DockerErrors"/> words it as for every other call.
/// </summary>
internal sealed class DockerStreamRequests(HttpMessageHandler handler, Uri effectiveEndpoint, ResolvedClientOptions options)
{
    /// <summary>The most of an error answer kept for its message (the engine's are one JSON line).</summary>
    public const int MaxErrorBodyBytes = 64 * 1024;

    /// <summary>The client's request timeout (the platform's request_timeout; infinite when 0): the bound of a whole read.</summary>
    public TimeSpan Timeout => options.Timeout;

    /// <summary>
    /// The body of the answer to GET <paramref name="path"/>?<paramref name="query"/> (path relative to the versioned
    /// API root, query already escaped), as it streams: the caller disposes it, which ends the request.
    /// </summary>
    public async Task<Stream> GetStreamAsync(string path, string query, CancellationToken cancellationToken)
    {
        // The library's URI: endpoint, then v<version>/ when pinned, then the path (Portainer's endpoint ends in '/').
        var uri = new UriBuilder(effectiveEndpoint);
        if (options.ApiVersion is { } version) uri.Path += $"v{version}/";
        uri.Path += path;
        uri.Query = query;
        using var request = new HttpRequestMessage(HttpMethod.Get, uri.Uri) { Version = HttpVersion.Version11 };
        request.Headers.TryAddWithoutValidation("User-Agent", "Docker.DotNet");
        foreach (var header in options.Headers) request.Headers.TryAddWithoutValidation(header.Key, header.Value);
        // The client owns and disposes the handler; an invoker does not buffer the answer.
        using var invoker = new HttpMessageInvoker(handler, disposeHandler: false);
        var response = await invoker.SendAsync(request, cancellationToken).ConfigureAwait(false);
        try
        {
            if (!response.IsSuccessStatusCode)
            {
                throw new DockerApiException(response.StatusCode, await BoundedTextAsync(response, cancellationToken).ConfigureAwait(false));
            }
            // The content owns the connection: disposing its stream releases it, as disposing the answer would.
            return await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private static async Task<string> BoundedTextAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new byte[MaxErrorBodyBytes];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await body.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false)) > 0) length += read;
        return Encoding.UTF8.GetString(buffer, 0, length);
    }
}

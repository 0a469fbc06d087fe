using System.Net;
using System.Security.Cryptography;

namespace Composer.Images;

/// <summary>What <see cref="RegistryClient.FetchAsync"/> read: the content when <see cref="RegistryCheckResult.IsAvailable"/>.</summary>
/// <param name="Result">The outcome, in the registry check's terms (NotFound, BadCredentials ...), with its message.</param>
/// <param name="Content">The bytes read (at most the bound asked for), or null.</param>
internal sealed record RegistryFetch(RegistryCheckResult Result, byte[]? Content);

public sealed partial class RegistryClient
{
    /// <summary>
    /// GETs a manifest (<paramref name="kind"/> "manifests") or a blob ("blobs") of <paramref name="repository"/> with the
    /// same challenge answer, token cache, credentials, proxy, CA and retries as the pre-flight, reading at most
    /// <paramref name="maxBytes"/> (a longer answer is a protocol error, never read to its end). A blob whose bytes do not
    /// hash to its digest is refused here.
    /// </summary>
    internal async Task<RegistryFetch> FetchAsync(string registryHost, string repository, string kind, string reference, int maxBytes,
        RegistryCredentials? credentials, CancellationToken cancellationToken)
    {
        var check = new Check(this, registryHost, repository, reference, credentials);
        if (check.InvalidHost)
        {
            return new(check.Fail(RegistryCheckStatus.ProtocolError, $"'{registryHost}' is not a usable registry address for {check.Image}"), null);
        }
        return await check.FetchAsync(kind, maxBytes, cancellationToken).ConfigureAwait(false);
    }

    private sealed partial class Check
    {
        public async Task<RegistryFetch> FetchAsync(string kind, int maxBytes, CancellationToken ct)
        {
            var path = $"v2/{Repository}/{kind}/{Reference}";
            IReadOnlyList<AuthChallenge> challenges;
            using (var ping = await SendAsync(HttpMethod.Get, "v2/", null, ct).ConfigureAwait(false))
            {
                if (ping.Response is not { } answer) return new(NoAnswer(ping, $"registry {RegistryHost}"), null);
                if (answer.StatusCode == HttpStatusCode.OK) challenges = [];
                else if (answer.StatusCode == HttpStatusCode.Unauthorized) challenges = Challenges(answer);
                else return new(Unexpected(answer, ping.Attempts, $"{_base}v2/"), null);
            }

            Authorization? authorization = null;
            if (challenges.Count > 0)
            {
                var first = await AuthorizeAsync(challenges, allowCache: true, ct).ConfigureAwait(false);
                if (first.Refused is { } refused) return new(refused, null);
                authorization = first.Authorization;
            }

            for (var round = 0; ; round++)
            {
                using var get = await SendAsync(HttpMethod.Get, path, authorization?.Header, ct).ConfigureAwait(false);
                if (get.Response is not { } answer) return new(NoAnswer(get, $"registry {RegistryHost}"), null);
                switch (answer.StatusCode)
                {
                    case HttpStatusCode.OK:
                        return await ReadAsync(answer, kind, maxBytes, ct).ConfigureAwait(false);
                    case HttpStatusCode.NotFound:
                        return new(Fail(RegistryCheckStatus.NotFound, $"{Image} does not exist on registry {RegistryHost}"), null);
                    case HttpStatusCode.Forbidden:
                        return new(NoAccess(), null);
                    case HttpStatusCode.Unauthorized when round == 0 && authorization is { Scope: { } cachedScope, FromCache: true }:
                        // A cached token the registry no longer takes: one fresh token, then the answer stands.
                        _client.Tokens.Invalidate(cachedScope);
                        var again = Challenges(answer);
                        var fresh = await AuthorizeAsync(again.Count > 0 ? again : challenges, allowCache: false, ct).ConfigureAwait(false);
                        if (fresh.Refused is { } refused) return new(refused, null);
                        authorization = fresh.Authorization;
                        continue;
                    case HttpStatusCode.Unauthorized:
                        return new(Rejected(Challenges(answer), authorization), null);
                    default:
                        return new(Unexpected(answer, get.Attempts, $"{_base}{path}"), null);
                }
            }
        }

        private async Task<RegistryFetch> ReadAsync(HttpResponseMessage answer, string kind, int maxBytes, CancellationToken ct)
        {
            if (answer.Content.Headers.ContentLength is { } declared && declared > maxBytes)
            {
                return new(Fail(RegistryCheckStatus.ProtocolError, $"{Image} on registry {RegistryHost} is {declared} bytes, more than the {maxBytes} read"), null);
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(_client._requestTimeout);
            var buffer = new byte[maxBytes + 1];
            var length = 0;
            try
            {
                await using var stream = await answer.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
                int read;
                while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), timeout.Token).ConfigureAwait(false)) > 0) length += read;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                return new(Fail(RegistryCheckStatus.Unreachable, $"registry {RegistryHost} did not finish sending {Image} within {_client._requestTimeout.TotalSeconds:0.#} s"), null);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException)
            {
                return new(Fail(RegistryCheckStatus.Unreachable, $"registry {RegistryHost} broke off sending {Image}: {Diagnostics.ExceptionText.Describe(ex)}"), null);
            }
            if (length > maxBytes)
            {
                return new(Fail(RegistryCheckStatus.ProtocolError, $"{Image} on registry {RegistryHost} is more than the {maxBytes} bytes read"), null);
            }
            var content = buffer.AsSpan(0, length).ToArray();
            if (kind == "blobs" && Reference.StartsWith("sha256:", StringComparison.Ordinal)
                && "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content)) != Reference)
            {
                return new(Fail(RegistryCheckStatus.ProtocolError, $"registry {RegistryHost} sent content for {Image} that does not match its digest"), null);
            }
            var digest = answer.Headers.TryGetValues("Docker-Content-Digest", out var values) ? values.FirstOrDefault()?.Trim() : null;
            return new(Result(RegistryCheckStatus.Available, $"{Image} read from registry {RegistryHost} ({length} bytes)", digest,
                answer.Content.Headers.ContentType?.MediaType), content);
        }
    }
}

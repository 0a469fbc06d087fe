using System.Text;
using Composer.Network;

namespace Composer.Orchestration;

/// <summary>One environment variable given to a connector; <see cref="Sensitive"/> values are redacted in any display.</summary>
public sealed record ConnectorEnvVar(string Name, string Value, bool Sensitive = false);

/// <summary>
/// What every connector of a platform receives for the network, computed once per platform as part of the workload
/// specification and used unchanged by every orchestrator. Only when the platform's <c>with_proxy</c> is true
/// (otherwise empty, like upstream):
/// <list type="bullet">
/// <item>HTTP_PROXY/http_proxy, HTTPS_PROXY/https_proxy (sensitive: they may carry credentials) and NO_PROXY/no_proxy,
/// from the platform's effective settings (platform key, else top-level/env), each only when set. Both cases, because
/// curl reads only lowercase http_proxy, Python prefers lowercase and Go reads uppercase first.</item>
/// <item>When https_proxy_ca holds certificates: <see cref="CaBundle"/> = system roots + proxy CAs (PEM). A full bundle,
/// because SSL_CERT_FILE, REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE replace the default store (upstream defect C8);
/// all four variables SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, NODE_EXTRA_CA_CERTS name <see cref="CaBundlePath"/>.</item>
/// <item>HTTPS_CA_CERTIFICATES: the proxy CAs (PEM), when there are some; HTTPS_PROXY_REJECT_UNAUTHORIZED ("true" or
/// "false") as soon as any of the above is set, or when it is false. These are the names under which OpenCTI lists its
/// own proxy settings in every contract: Composer's win (<see cref="ConnectorWorkload.Build"/>).</item>
/// <item>NODE_TLS_REJECT_UNAUTHORIZED=0 only when https_proxy_reject_unauthorized is false.</item>
/// </list>
/// <para>Delivery contract for orchestrators: write <see cref="CaBundle"/> into the connector at <see cref="CaBundlePath"/>
/// with an orchestrator-native, content-carrying mechanism (Kubernetes Secret/ConfigMap volume, Swarm config, Docker
/// PUT /containers/{id}/archive before start, or a volume Composer fills). Never bind-mount a host path: Composer
/// usually runs in a container, where its own files do not exist on the host (upstream defect C7).</para>
/// </summary>
public sealed record ConnectorNetworkEnvironment(IReadOnlyList<ConnectorEnvVar> Variables, byte[]? CaBundle)
{
    /// <summary>Fixed path of the full CA bundle inside connectors.</summary>
    public const string CaBundlePath = "/etc/ssl/certs/composer-ca-bundle.pem";

    /// <summary>The proxy CAs as PEM blocks, under the name OpenCTI injects its own proxy CAs with.</summary>
    public const string PlatformCaVariable = "HTTPS_CA_CERTIFICATES";

    /// <summary>"true" or "false": whether proxied TLS is validated, under the name OpenCTI injects its own setting with.</summary>
    public const string PlatformRejectUnauthorizedVariable = "HTTPS_PROXY_REJECT_UNAUTHORIZED";

    public static ConnectorNetworkEnvironment None { get; } = new([], null);

    /// <param name="policy">The connector's platform's resolved network settings.</param>
    /// <param name="systemRootsPem">The system roots as PEM (default: <see cref="SystemRootCertificates.LoadPem"/>).</param>
    public static ConnectorNetworkEnvironment Compute(PlatformNetworkPolicy policy, string? systemRootsPem = null)
    {
        if (!policy.WithProxy) return None;
        var vars = new List<ConnectorEnvVar>();
        if (policy.HttpProxy is { } http)
        {
            vars.Add(new("HTTP_PROXY", http.Original, Sensitive: true));
            vars.Add(new("http_proxy", http.Original, Sensitive: true));
        }
        if (policy.HttpsProxy is { } https)
        {
            vars.Add(new("HTTPS_PROXY", https.Original, Sensitive: true));
            vars.Add(new("https_proxy", https.Original, Sensitive: true));
        }
        if (policy.NoProxy is { } noProxy)
        {
            vars.Add(new("NO_PROXY", noProxy));
            vars.Add(new("no_proxy", noProxy));
        }
        byte[]? bundle = null;
        if (!policy.ProxyCa.IsEmpty)
        {
            var roots = systemRootsPem ?? SystemRootCertificates.LoadPem();
            var text = new StringBuilder(roots.Length + policy.ProxyCa.Pem.Length + 1).Append(roots);
            if (text.Length > 0 && text[^1] != '\n') text.Append('\n');
            text.Append(policy.ProxyCa.Pem);
            bundle = Encoding.UTF8.GetBytes(text.ToString());
            foreach (var name in new[] { "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NODE_EXTRA_CA_CERTS" })
            {
                vars.Add(new(name, CaBundlePath));
            }
            // The platform's name for the proxy CAs (OpenCTI lists its own under it; connector entrypoints read it).
            vars.Add(new(PlatformCaVariable, policy.ProxyCa.Pem));
        }
        // Once Composer sets a proxy or its CAs, the validation setting of the platform's proxy must not apply to Composer's.
        if (vars.Count > 0 || !policy.ProxyRejectUnauthorized)
        {
            vars.Add(new(PlatformRejectUnauthorizedVariable, policy.ProxyRejectUnauthorized ? "true" : "false"));
        }
        if (!policy.ProxyRejectUnauthorized) vars.Add(new("NODE_TLS_REJECT_UNAUTHORIZED", "0"));
        return new ConnectorNetworkEnvironment(vars, bundle);
    }
}

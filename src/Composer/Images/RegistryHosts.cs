using System.Net;

namespace Composer.Images;

/// <summary>Registry host rules shared by credential selection and the registry client.</summary>
public static class RegistryHosts
{
    public const string DockerHub = "docker.io";

    /// <summary>The host that serves Docker Hub's registry API (docker.io and index.docker.io are aliases of it).</summary>
    public const string DockerHubApiHost = "registry-1.docker.io";

    /// <summary>The legacy key Docker uses for Docker Hub in config.json / dockerconfigjson.</summary>
    public const string DockerHubConfigKey = "https://index.docker.io/v1/";

    public static bool IsDockerHub(string host) =>
        host.Equals(DockerHub, StringComparison.OrdinalIgnoreCase)
        || host.Equals("index.docker.io", StringComparison.OrdinalIgnoreCase)
        || host.Equals(DockerHubApiHost, StringComparison.OrdinalIgnoreCase);

    /// <summary>host[:port] that answers /v2/ for an image's registry host (docker.io → registry-1.docker.io).</summary>
    public static string ApiHost(string registryHost) => IsDockerHub(registryHost) ? DockerHubApiHost : registryHost;

    /// <summary>Same registry: host[:port] compared case-insensitively, Docker Hub aliases equal.</summary>
    public static bool SameRegistry(string a, string b) =>
        a.Equals(b, StringComparison.OrdinalIgnoreCase) || (IsDockerHub(a) && IsDockerHub(b));

    /// <summary>
    /// Docker's built-in insecure registries: localhost, 127.0.0.0/8 and ::1 are reached over plain http.
    /// </summary>
    public static bool IsLoopback(string hostAndPort)
    {
        var host = HostWithoutPort(hostAndPort);
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return true;
        return IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip);
    }

    /// <summary>"host:port" → "host", "[::1]:5000" → "::1".</summary>
    public static string HostWithoutPort(string hostAndPort)
    {
        if (hostAndPort.StartsWith('['))
        {
            var end = hostAndPort.IndexOf(']');
            return end > 0 ? hostAndPort[1..end] : hostAndPort;
        }
        var colon = hostAndPort.LastIndexOf(':');
        // More than one colon without brackets: a bare IPv6 literal, no port.
        if (colon > 0 && hostAndPort.IndexOf(':') == colon) return hostAndPort[..colon];
        return hostAndPort;
    }
}

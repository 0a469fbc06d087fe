namespace Composer.Tests.Infrastructure;

/// <summary>
/// Host names the network tests use for local servers. Loopback names and addresses are never proxied (Go rule,
/// and Composer's), so a test that must go THROUGH a proxy to a local server names it with one of these, mapped to
/// a 127.0.0.x address in /etc/hosts. <see cref="EnsureInstalled"/> adds missing lines idempotently (tests run as
/// root); .ci/run adds the same lines (<see cref="HostsFileLines"/>).
/// </summary>
public static class TestHosts
{
    /// <summary>HTTP/HTTPS target servers reached through proxies.</summary>
    public const string Target = "target.composer.test";
    public static string TargetAddress => HostsList.AddressOf(Target);

    /// <summary>A second target, reached directly (NO_PROXY) in tests that mix both routes.</summary>
    public const string Direct = "direct.composer.test";
    public static string DirectAddress => HostsList.AddressOf(Direct);

    /// <summary>The registry reached through proxies by binary tests.</summary>
    public const string Registry = "registry.composer.test";
    public static string RegistryAddress => HostsList.AddressOf(Registry);

    /// <summary>Every name of tests/hosts.txt, the one list .ci/run also installs.</summary>
    public static IReadOnlyList<(string Address, string Name)> All { get; } =
        HostsList.Entries.Select(e => (e.Address, e.Name)).ToList();

    /// <summary>The lines, exactly as they go into /etc/hosts.</summary>
    public static IEnumerable<string> HostsFileLines => All.Select(h => $"{h.Address} {h.Name}");

    private static readonly Lock Gate = new();
    private static bool _installed;

    /// <summary>Adds each missing line to /etc/hosts (needs root); a no-op when present. Fails with a clear message otherwise.</summary>
    public static void EnsureInstalled(string hostsFile = "/etc/hosts")
    {
        lock (Gate)
        {
            if (_installed) return;
            var lines = File.Exists(hostsFile) ? File.ReadAllLines(hostsFile) : [];
            var missing = All.Where(h => !lines.Any(l => MapsName(l, h.Address, h.Name))).ToList();
            if (missing.Count > 0)
            {
                try
                {
                    File.AppendAllLines(hostsFile, missing.Select(h => $"{h.Address} {h.Name}"));
                }
                catch (UnauthorizedAccessException ex)
                {
                    throw new InvalidOperationException(
                        $"Network tests need these lines in {hostsFile} (run as root or add them):\n{string.Join('\n', HostsFileLines)}", ex);
                }
            }
            _installed = true;
        }
    }

    private static bool MapsName(string line, string address, string name)
    {
        var fields = line.Split('#')[0].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        return fields.Length >= 2 && fields[0] == address && fields.Skip(1).Contains(name, StringComparer.OrdinalIgnoreCase);
    }
}

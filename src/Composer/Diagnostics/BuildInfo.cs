using System.Reflection;

namespace Composer.Diagnostics;

/// <summary>What this build is: the version printed by --version and sent as the User-Agent of outbound clients.</summary>
public static class BuildInfo
{
    /// <summary>The plain version ("0.1.0", no "+commit" suffix: scripts compare it).</summary>
    public static string Version =>
        typeof(BuildInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion?.Split('+')[0]
        ?? "0.0.0";
}

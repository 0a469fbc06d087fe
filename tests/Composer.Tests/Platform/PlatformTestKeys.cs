using System.Collections.Concurrent;
using System.Security.Cryptography;
using Composer.Configuration;
using Composer.Platform;
using Composer.Tests.Infrastructure;

namespace Composer.Tests.Platform;

/// <summary>RSA keys made at test time, one per size for the whole session (4096-bit generation takes a while).</summary>
public static class PlatformTestKeys
{
    private static readonly ConcurrentDictionary<int, Lazy<RSA>> Keys = new();

    public static RSA Rsa(int bits) => Keys.GetOrAdd(bits, b => new Lazy<RSA>(() => RSA.Create(b))).Value;

    /// <summary>A fresh ManagerKey (the caller disposes it) for the session key of that size.</summary>
    public static ManagerKey ManagerKey(int bits = 4096)
    {
        var report = TestReport.New();
        return Composer.Platform.ManagerKey.Load(new ManagerSettings { CredentialsKey = new Composer.Diagnostics.Secret(Rsa(bits).ExportPkcs8PrivateKeyPem()) }, report.Report)
               ?? throw new InvalidOperationException(string.Join("; ", report.Errors));
    }
}

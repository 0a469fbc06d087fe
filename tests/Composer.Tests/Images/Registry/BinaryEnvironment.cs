using System.Security.Cryptography;

namespace Composer.Tests.Images.Registry;

/// <summary>
/// The environment every `composer` run needs to load a valid configuration (a manager RSA-4096 key, required
/// while opencti.enable is true), plus the variables of one test.
/// </summary>
internal static class BinaryEnvironment
{
    private static readonly Lazy<string> KeyFile = new(() =>
    {
        using var rsa = RSA.Create(4096);
        var path = Path.Combine(Directory.CreateTempSubdirectory("composer-manager-key-").FullName, "manager.pem");
        File.WriteAllText(path, rsa.ExportPkcs8PrivateKeyPem());
        return path;
    });

    public static Dictionary<string, string> With(params (string Key, string Value)[] variables)
    {
        var environment = new Dictionary<string, string> { ["MANAGER__CREDENTIALS_KEY_FILEPATH"] = KeyFile.Value };
        foreach (var (k, v) in variables) environment[k] = v;
        return environment;
    }
}

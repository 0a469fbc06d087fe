namespace Composer.Tests.Images.Registry;

/// <summary>
/// The environment of one `composer image ...` run: only the test's variables. Image commands need no manager key
/// (they never talk to the platform), so none is given: a regression that required one would fail these tests.
/// </summary>
internal static class BinaryEnvironment
{
    public static Dictionary<string, string> With(params (string Key, string Value)[] variables)
    {
        var environment = new Dictionary<string, string>();
        foreach (var (k, v) in variables) environment[k] = v;
        return environment;
    }
}

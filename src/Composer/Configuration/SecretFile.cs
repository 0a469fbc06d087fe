using Composer.Diagnostics;

namespace Composer.Configuration;

/// <summary>
/// A secret given as a file (the NAME_FILE variables: Docker and Kubernetes secrets mounted as files): the file's text
/// with one trailing newline removed. The configuration loader reads it once; the registry password file is read again
/// while Composer runs (rotated credentials), by this same rule.
/// </summary>
public static class SecretFile
{
    /// <summary>What a variable's name ends with when its value is the path of the secret's file.</summary>
    public const string VariableSuffix = "_FILE";

    public static Result<string> Read(string path)
    {
        try
        {
            var text = File.ReadAllText(path);
            if (text.EndsWith("\r\n", StringComparison.Ordinal)) text = text[..^2];
            else if (text.EndsWith('\n')) text = text[..^1];
            return Result<string>.Success(text);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return Failure.Input($"cannot read the secret file \"{path}\": {FileErrors.Describe(ex, path)}");
        }
    }
}

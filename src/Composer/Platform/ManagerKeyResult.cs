namespace Composer.Platform;

/// <summary>A problem with the manager key, for the configuration key it concerns. Never holds key material.</summary>
public sealed record ManagerKeyProblem(string ConfigKey, string Message)
{
    public override string ToString() => $"{ConfigKey}: {Message}";
}

/// <summary>The outcome of <see cref="ManagerKey.Load"/>: the key, or the error, plus warnings either way.</summary>
public sealed class ManagerKeyResult
{
    private ManagerKeyResult(ManagerKey? key, ManagerKeyProblem? error, bool missing, IReadOnlyList<ManagerKeyProblem> warnings)
    {
        Key = key;
        Error = error;
        IsMissing = missing;
        Warnings = warnings;
    }

    public ManagerKey? Key { get; }

    public ManagerKeyProblem? Error { get; }

    /// <summary>Neither credentials_key nor credentials_key_filepath is set (<see cref="Error"/> says so).</summary>
    public bool IsMissing { get; }

    public IReadOnlyList<ManagerKeyProblem> Warnings { get; }

    internal static ManagerKeyResult Loaded(ManagerKey key, IReadOnlyList<ManagerKeyProblem> warnings) => new(key, null, false, warnings);

    internal static ManagerKeyResult Failed(ManagerKeyProblem error, IReadOnlyList<ManagerKeyProblem> warnings) => new(null, error, false, warnings);

    internal static ManagerKeyResult NoKey(ManagerKeyProblem error) => new(null, error, true, []);
}

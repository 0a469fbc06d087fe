namespace Composer.Cli;

/// <summary>Process exit codes: the contract scripts and orchestrators (restart policies) rely on.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    /// <summary>A runtime failure: a registry, proxy or platform that could not be reached or refused.</summary>
    public const int RuntimeFailure = 1;
    /// <summary>Bad configuration or command line: fix the input, retrying will not help.</summary>
    public const int ConfigurationError = 2;
}

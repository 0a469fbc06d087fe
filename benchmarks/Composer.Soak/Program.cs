using Composer.Soak;

// The soak test under faults (issue 16 point 4). Run it with benchmarks/soak.sh (as root, after
// `dotnet publish src/Composer -c Release -o out`); settings from the environment:
//   SOAK_MINUTES (10)  SOAK_SEED (random, printed)  SOAK_CONNECTORS (20)  SOAK_EXECUTE_SCHEDULE (5)
//   COMPOSER_BINARY (out/composer)  SOAK_KEEP=1 keeps the work directory (logs) afterwards, as a failure does.
// Exit code: 0 when no invariant broke, 1 when one did (each is printed), 2 when the set-up failed.

var settings = SoakSettings.FromEnvironment();
if (settings.Problem is { } problem)
{
    Console.Error.WriteLine($"soak: {problem}");
    return 2;
}
await using var soak = new SoakRun(settings);
using var interrupt = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, Stop);
using var terminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, Stop);
try
{
    return await soak.RunAsync();
}
catch (SoakSetupException ex)
{
    Console.Error.WriteLine($"soak: set-up failed: {ex.Message}");
    return 2;
}

void Stop(System.Runtime.InteropServices.PosixSignalContext context)
{
    context.Cancel = true;
    soak.Abort();
}

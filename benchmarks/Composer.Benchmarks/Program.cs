using BenchmarkDotNet.Running;

namespace Composer.Benchmarks;

public static class BenchmarkEntry
{
    // Run all: dotnet run -c Release --project benchmarks/Composer.Benchmarks -- --filter '*'
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(BenchmarkEntry).Assembly).Run(args);
}

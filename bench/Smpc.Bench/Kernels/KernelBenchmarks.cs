using BenchmarkDotNet.Running;

namespace Smpc.Bench;

/// <summary>Entry point for the BenchmarkDotNet kernel benchmarks.</summary>
public static class KernelBenchmarks
{
    public static int Run(string[] args)
    {
        BenchmarkSwitcher.FromAssembly(typeof(KernelBenchmarks).Assembly).Run(args);
        return 0;
    }
}

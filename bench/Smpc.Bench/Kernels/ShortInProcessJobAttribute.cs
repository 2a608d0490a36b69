using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Smpc.Bench.Kernels;

/// <summary>A short in-process job (1 launch, 2 warm-ups, 5 iterations): no per-benchmark rebuild, minutes not hours.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class ShortInProcessJobAttribute : JobConfigBaseAttribute
{
    /// <summary>Creates the job.</summary>
    public ShortInProcessJobAttribute()
        : base(Job.Default.WithLaunchCount(1).WithWarmupCount(2).WithIterationCount(5).WithToolchain(InProcessEmitToolchain.Instance))
    {
    }
}

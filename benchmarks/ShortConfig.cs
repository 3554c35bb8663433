using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;

namespace Engine.Benchmarks;

/// <summary>A short job (3 warm-ups, 10 measured iterations): enough on these shared two-core machines to read ratios.</summary>
public sealed class ShortConfig : ManualConfig
{
    public ShortConfig()
    {
        AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(10).WithLaunchCount(1));
    }
}

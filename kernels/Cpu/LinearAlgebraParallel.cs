namespace Engine.Kernels.Cpu;

/// <summary>One part of a job split by <see cref="ParallelParts.Run"/>; parts must be independent.</summary>
public interface IParallelPart
{
    /// <summary>Runs part <paramref name="part"/> (0-based).</summary>
    void Execute(int part);
}

/// <summary>
/// Runs the independent parts of a blocked linear-algebra job (for example a Gaussian mixture's E-step over
/// blocks of rows) on the calling thread and the CPU worker threads, which spin briefly between jobs
/// (measured: more reliable than Parallel.For for millisecond-scale work). While a job runs it holds the
/// workers, so every <see cref="Gemm"/> call made inside a part runs on its own thread: the parallelism is
/// across the parts, never nested. Nothing is allocated per call.
/// </summary>
/// <remarks>
/// Parts are claimed dynamically, so which thread runs which part varies; results that are accumulated per
/// part index (and combined in part order afterwards) are deterministic anyway. If another thread holds the
/// workers, or only one thread is allowed (<see cref="CpuThreads.Max"/>), all parts run on the caller in
/// order.
/// </remarks>
public static class ParallelParts
{
    /// <summary>The number of threads a job may use: <see cref="CpuThreads.Max"/> capped by the processor count.</summary>
    public static int Threads => Math.Max(1, Math.Min(CpuThreads.Max, Environment.ProcessorCount));

    /// <summary>Runs task.Execute(p) for every p in [0, parts), on up to <see cref="Threads"/> threads.</summary>
    public static void Run(IParallelPart task, int parts)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentOutOfRangeException.ThrowIfNegative(parts);
        int threads = Math.Min(Threads, parts);
        if (threads > 1 && CpuWorkerPool.TryAcquire())
        {
            try
            {
                Adapter.Shared.Task = task;
                CpuWorkerPool.Run(Adapter.Shared, parts, threads);
            }
            finally
            {
                Adapter.Shared.Task = null;
                CpuWorkerPool.Release();
            }
            return;
        }
        for (int p = 0; p < parts; p++) task.Execute(p);
    }

    /// <summary>Presents a public part as the pool's task; one instance suffices while the pool is held.</summary>
    private sealed class Adapter : IWorkerTask
    {
        public static readonly Adapter Shared = new();

        public IParallelPart? Task;

        public void Execute(int part) => Task!.Execute(part);
    }
}

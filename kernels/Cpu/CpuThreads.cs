namespace Engine.Kernels.Cpu;

/// <summary>
/// The cap on the threads of every CPU kernel that splits its work: GEMM, the large elementwise and row kernels
/// (Adam, BCE row sums, normal fills) and the blocked linear-algebra jobs (the Gaussian mixture's E and M steps).
/// All of them run on the caller and the <see cref="CpuWorkerPool"/> threads.
/// </summary>
public static class CpuThreads
{
    private static int s_max = Math.Max(1, Environment.ProcessorCount);

    /// <summary>
    /// Number of threads the CPU kernels may use (default: <see cref="Environment.ProcessorCount"/>). Large problems
    /// are split over at most this many threads, never more than the processor count (workers spin, so
    /// oversubscription would only cost).
    /// </summary>
    public static int Max
    {
        get => Volatile.Read(ref s_max);
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1, nameof(Max));
            Volatile.Write(ref s_max, value);
        }
    }
}

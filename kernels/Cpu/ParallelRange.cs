namespace Engine.Kernels.Cpu;

/// <summary>The work on one contiguous range [start, end) of a split loop; a struct so the JIT specialises the loop.</summary>
internal interface IRangeBody
{
    void Execute(int start, int end);
}

/// <summary>
/// Splits a loop over [0, n) into one contiguous range per thread and runs them on the caller and the CPU worker
/// (the same spinning workers as <see cref="ParallelParts"/>, so a kernel called between two GEMMs of a training step
/// hands off in well under a microsecond). Used by the memory- and transcendental-bound kernels (normal fills, row
/// losses, the Adam update) whose work is elementwise: every element is computed by the same instructions whichever
/// thread runs it, so results are identical to the one-thread run, bit for bit.
/// </summary>
/// <remarks>
/// Cut points fall on multiples of a grain (a vector, a random block, a row) so no element's computation straddles
/// two threads. Below <c>minPerPart</c> items per part, or when <see cref="CpuThreads.Max"/> is 1, or
/// when another thread holds the workers, the whole range runs on the caller. Nothing is allocated per call: the
/// shared task object is only touched while the pool is held.
/// </remarks>
internal static class ParallelRange
{
    /// <summary>Runs body over [0, n) split into at most <see cref="ParallelParts.Threads"/> grain-aligned ranges.</summary>
    public static void Run<TBody>(in TBody body, int n, int grain, int minPerPart) where TBody : struct, IRangeBody
    {
        int threads = ParallelParts.Threads;
        long units = ((long)n + grain - 1) / Math.Max(grain, 1);
        int parts = (int)Math.Min(threads, Math.Min(units, (long)n / Math.Max(minPerPart, 1)));
        if (parts < 2 || !CpuWorkerPool.TryAcquire())
        {
            body.Execute(0, n);
            return;
        }
        try
        {
            var task = RangeTask<TBody>.Shared;
            task.Set(body, n, grain, parts);
            CpuWorkerPool.Run(task, parts, parts);
            task.Body = default;
        }
        finally
        {
            CpuWorkerPool.Release();
        }
    }

    private sealed class RangeTask<TBody> : IWorkerTask where TBody : struct, IRangeBody
    {
        /// <summary>Only touched while the worker pool is held, hence one instance per body type suffices.</summary>
        public static readonly RangeTask<TBody> Shared = new();

        public TBody Body;
        private int _n, _grain, _parts;

        public void Set(in TBody body, int n, int grain, int parts)
        {
            Body = body;
            _n = n;
            _grain = grain;
            _parts = parts;
        }

        public void Execute(int part)
        {
            long units = (_n + (long)_grain - 1) / _grain;
            int start = (int)Math.Min(_n, units * part / _parts * _grain);
            int end = (int)Math.Min(_n, units * (part + 1) / _parts * _grain);
            if (end > start) Body.Execute(start, end);
        }
    }
}

using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.ExceptionServices;

namespace Engine.Kernels.Cpu;

/// <summary>Work split into parts over the CPU worker threads; each part is run by whichever thread claims it.</summary>
internal interface IWorkerTask
{
    void Execute(int part);
}

/// <summary>
/// Dedicated CPU worker threads, shared by every kernel that splits its work (GEMM through its split task,
/// <see cref="ParallelRange"/> for the elementwise and row kernels, <see cref="ParallelParts"/> for blocked
/// linear-algebra jobs); their number is capped by <see cref="CpuThreads.Max"/>. Measured: Parallel.For and event-based hand-offs were erratic on
/// sub-millisecond GEMMs (sometimes no faster than one thread), a dedicated worker that spins briefly for
/// work was reliable. Each worker spins for <see cref="SpinTime"/> after finishing a job, so back-to-back
/// GEMMs hand off in well under a microsecond, then sleeps on an event so an idle process does not burn a
/// core.
/// <para>
/// Parts are claimed dynamically (an atomic counter), and a worker must claim a posted job before running
/// it. When the caller has run out of parts it withdraws every job a worker has not claimed yet, so a worker
/// that is still waking up, or whose core is busy with another process, never makes the caller wait: the
/// caller just does the remaining parts itself. Only one caller at a time owns the pool; a concurrent
/// caller runs single-threaded instead of queueing behind it.
/// </para>
/// </summary>
internal sealed class CpuWorkerPool
{
    /// <summary>How long an idle worker polls for the next job before it blocks.</summary>
    public static readonly TimeSpan SpinTime = TimeSpan.FromMicroseconds(200);

    private static readonly long SpinTicks = (long)(SpinTime.TotalSeconds * Stopwatch.Frequency);

    private static readonly CpuWorkerPool s_pool = new();

    private int _busy;
    private Worker[] _workers = [];
    private IWorkerTask? _task;
    private int _parts;
    private PaddedCounter _nextPart;

    /// <summary>Number of worker threads started so far (for tests and diagnostics).</summary>
    public static int WorkerCount => s_pool._workers.Length;

    /// <summary>
    /// Takes the pool for the calling thread; false when another thread holds it (run single-threaded then).
    /// Shared task objects may only be filled in after this succeeded.
    /// </summary>
    public static bool TryAcquire() => Interlocked.CompareExchange(ref s_pool._busy, 1, 0) == 0;

    /// <summary>Gives the pool back (after <see cref="TryAcquire"/> returned true).</summary>
    public static void Release()
    {
        s_pool._task = null;
        Volatile.Write(ref s_pool._busy, 0);
    }

    /// <summary>
    /// Runs task.Execute(p) for every p in [0, parts) on the caller and up to threads - 1 workers. The caller
    /// must hold the pool (<see cref="TryAcquire"/>).
    /// </summary>
    public static void Run(IWorkerTask task, int parts, int threads)
    {
        Debug.Assert(Volatile.Read(ref s_pool._busy) == 1, "The pool must be acquired first.");
        s_pool.RunOwned(task, parts, Math.Min(threads, parts));
    }

    private void RunOwned(IWorkerTask task, int parts, int threads)
    {
        int helpers = threads - 1;
        if (_workers.Length < helpers)
        {
            Worker[] grown = new Worker[helpers];
            Array.Copy(_workers, grown, _workers.Length);
            for (int i = _workers.Length; i < grown.Length; i++) grown[i] = new Worker(this, i);
            _workers = grown;
        }

        _task = task;
        _parts = parts;
        Volatile.Write(ref _nextPart.Value, 0);
        for (int w = 0; w < helpers; w++) _workers[w].Post();

        Exception? error = null;
        try
        {
            RunParts();
        }
        catch (Exception e)
        {
            error = e;
        }
        // Withdraw unclaimed jobs; wait for claimed ones (they read the caller's pinned memory).
        for (int w = 0; w < helpers; w++)
        {
            Exception? workerError = _workers[w].WithdrawOrWait();
            error ??= workerError;
        }
        if (error is not null) ExceptionDispatchInfo.Throw(error);
    }

    /// <summary>Claims and runs parts until none is left (caller and workers alike).</summary>
    private void RunParts()
    {
        IWorkerTask task = _task!;
        int parts = _parts;
        int part;
        while ((part = Interlocked.Increment(ref _nextPart.Value) - 1) < parts) task.Execute(part);
    }

    private sealed class Worker
    {
        private const int Idle = 0;
        private const int Posted = 1;
        private const int Running = 2;

        private readonly CpuWorkerPool _pool;
        private readonly ManualResetEventSlim _wake = new(false, 0);
        private readonly ManualResetEventSlim _done = new(false, 0);
        private Exception? _error;
        // The words the caller and the worker hand a job over with, on cache lines of their own (see HandOff).
        private HandOff _h;

        public Worker(CpuWorkerPool pool, int index)
        {
            _pool = pool;
            var thread = new Thread(Loop)
            {
                IsBackground = true,
                Name = $"Engine CPU worker {index + 1}",
            };
            thread.Start();
        }

        public void Post()
        {
            _error = null;
            Volatile.Write(ref _h.State, Posted);
            // Dekker-style: either the worker sees Posted before it blocks, or we see Sleeping and wake it.
            Interlocked.MemoryBarrier();
            if (Volatile.Read(ref _h.Sleeping) != 0) _wake.Set();
        }

        /// <summary>
        /// Takes the job back if the worker has not claimed it, else waits until it is done: spinning for
        /// <see cref="SpinTime"/> (the usual wait is the small imbalance between parts), then blocking. Never
        /// spin without bound: a caller at raised priority (BenchmarkDotNet raises its thread's) that spins
        /// while the worker shares its core, or competes for the other one, starves the very thread it waits
        /// for; an unbounded spin here once stalled a benchmark for five minutes.
        /// </summary>
        public Exception? WithdrawOrWait()
        {
            if (Interlocked.CompareExchange(ref _h.State, Idle, Posted) == Posted) return null;
            long deadline = Stopwatch.GetTimestamp() + SpinTicks;
            for (int spins = 1; Volatile.Read(ref _h.State) != Idle && Stopwatch.GetTimestamp() < deadline; spins++) Pause(spins);
            if (Volatile.Read(ref _h.State) != Idle)
            {
                // Dekker-style, as for Sleeping: either we see Idle, or the worker sees CallerWaiting and sets _done.
                Volatile.Write(ref _h.CallerWaiting, 1);
                Interlocked.MemoryBarrier();
                while (Volatile.Read(ref _h.State) != Idle)
                {
                    _done.Wait();
                    _done.Reset();
                }
                Volatile.Write(ref _h.CallerWaiting, 0);
            }
            return _error;
        }

        private void Loop()
        {
            while (true)
            {
                if (!SpinForWork())
                {
                    Volatile.Write(ref _h.Sleeping, 1);
                    Interlocked.MemoryBarrier();
                    while (Volatile.Read(ref _h.State) != Posted)
                    {
                        _wake.Wait();
                        _wake.Reset();
                    }
                    Volatile.Write(ref _h.Sleeping, 0);
                }
                // Claim the job; fails if the caller already withdrew it.
                if (Interlocked.CompareExchange(ref _h.State, Running, Posted) != Posted) continue;
                try
                {
                    _pool.RunParts();
                }
                catch (Exception e)
                {
                    _error = e;
                }
                Volatile.Write(ref _h.State, Idle);
                Interlocked.MemoryBarrier();
                if (Volatile.Read(ref _h.CallerWaiting) != 0) _done.Set();
            }
        }

        private bool SpinForWork()
        {
            long deadline = Stopwatch.GetTimestamp() + SpinTicks;
            for (int spins = 1; Volatile.Read(ref _h.State) != Posted; spins++)
            {
                Pause(spins);
                if (Stopwatch.GetTimestamp() > deadline) return Volatile.Read(ref _h.State) == Posted;
            }
            return true;
        }

        /// <summary>
        /// One step of a spin-wait: a short pause, and every 32nd step a yield of the core. When the caller and the worker
        /// share a core (more runnable threads than cores: another process, or the scheduler's placement; seen here while
        /// two benchmark processes overlapped), a waiter that only spins keeps the core from the very thread it waits for
        /// until its time slice ends. With a core to itself, the yield returns at once.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Pause(int spins)
        {
            if ((spins & 31) == 0) Thread.Yield();
            else Thread.SpinWait(16);
        }
    }
}

/// <summary>
/// The hand-off words of one worker, alone on their cache lines: 64 bytes of padding on each side keep any other
/// object's fields off the line the idle worker polls, so no unrelated write of the caller's (to whatever object the
/// allocator placed next to the worker) has to take that line back from the poller (false sharing).
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 192)]
internal struct HandOff
{
    [FieldOffset(64)] public int State;
    [FieldOffset(68)] public int Sleeping;
    [FieldOffset(72)] public int CallerWaiting;
}

/// <summary>An int alone on its cache line (the part counter both threads increment).</summary>
[StructLayout(LayoutKind.Explicit, Size = 128)]
internal struct PaddedCounter
{
    [FieldOffset(64)] public int Value;
}

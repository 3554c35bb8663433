using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;

namespace Engine.Benchmarks.Kernels;

/// <summary>Which FMA loop <see cref="FmaPeak"/> runs.</summary>
public enum FmaKind
{
    Vector512Float,
    Vector256Float,
    Vector512Double,
    Vector256Double,
}

/// <summary>
/// The machine's FMA peak, measured in the running process so GEMM figures can be read as a fraction of it
/// (measured: the peak varies by up to 10% between runs on these shared machines). The loop is the raw
/// bound: 12 independent accumulators (FMA latency 4 x 2 pipes needs at least 8), two loop-invariant
/// operands, nothing else in the loop body, in a method of its own so no call forces the accumulators out of
/// registers.
/// </summary>
public static class FmaPeak
{
    /// <summary>Accumulators in every loop.</summary>
    public const int Accumulators = 12;

    /// <summary>Floating-point operations of one loop iteration (an FMA is two per lane).</summary>
    public static long FlopsPerIteration(FmaKind kind) => Accumulators * 2L * kind switch
    {
        FmaKind.Vector512Float => Vector512<float>.Count,
        FmaKind.Vector256Float => Vector256<float>.Count,
        FmaKind.Vector512Double => Vector512<double>.Count,
        _ => Vector256<double>.Count,
    };

    /// <summary>
    /// Peak GFLOP/s of <paramref name="kind"/> on <paramref name="threads"/> threads: the best of
    /// <paramref name="bursts"/> bursts of about 10 ms, each thread running the same loop at the same time.
    /// </summary>
    public static double Measure(FmaKind kind, int threads, int bursts = 10, long iterations = 8_000_000)
    {
        using var team = new FmaTeam(kind, threads, iterations);
        team.Run(); // warm-up: brings every core of the team up to speed
        double best = 0;
        for (int i = 0; i < bursts; i++)
        {
            long start = Stopwatch.GetTimestamp();
            team.Run();
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            best = Math.Max(best, threads * iterations * (double)FlopsPerIteration(kind) / seconds / 1e9);
        }
        return best;
    }

    /// <summary>Runs <paramref name="iterations"/> iterations of the <paramref name="kind"/> loop on this thread.</summary>
    internal static void Burst(FmaKind kind, long iterations)
    {
        double sink = kind switch
        {
            FmaKind.Vector512Float => Loop512(iterations, Vector512.Create(0.999f), Vector512.Create(1e-4f)).ToScalar(),
            FmaKind.Vector256Float => Loop256(iterations, Vector256.Create(0.999f), Vector256.Create(1e-4f)).ToScalar(),
            FmaKind.Vector512Double => Loop512(iterations, Vector512.Create(0.999), Vector512.Create(1e-4)).ToScalar(),
            _ => Loop256(iterations, Vector256.Create(0.999), Vector256.Create(1e-4)).ToScalar(),
        };
        if (sink == 12345.678) Console.WriteLine("unreachable");
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static Vector512<T> Loop512<T>(long iterations, Vector512<T> x, Vector512<T> y)
    {
        Vector512<T> a0 = Vector512<T>.One, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Fma(x, y, a0); a1 = Fma(x, y, a1); a2 = Fma(x, y, a2); a3 = Fma(x, y, a3);
            a4 = Fma(x, y, a4); a5 = Fma(x, y, a5); a6 = Fma(x, y, a6); a7 = Fma(x, y, a7);
            a8 = Fma(x, y, a8); a9 = Fma(x, y, a9); a10 = Fma(x, y, a10); a11 = Fma(x, y, a11);
        }
        return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11));
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static Vector256<T> Loop256<T>(long iterations, Vector256<T> x, Vector256<T> y)
    {
        Vector256<T> a0 = Vector256<T>.One, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Fma(x, y, a0); a1 = Fma(x, y, a1); a2 = Fma(x, y, a2); a3 = Fma(x, y, a3);
            a4 = Fma(x, y, a4); a5 = Fma(x, y, a5); a6 = Fma(x, y, a6); a7 = Fma(x, y, a7);
            a8 = Fma(x, y, a8); a9 = Fma(x, y, a9); a10 = Fma(x, y, a10); a11 = Fma(x, y, a11);
        }
        return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Fma<T>(Vector512<T> a, Vector512<T> b, Vector512<T> c)
    {
        if (typeof(T) == typeof(float)) return Vector512.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        return Vector512.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Fma<T>(Vector256<T> a, Vector256<T> b, Vector256<T> c)
    {
        if (typeof(T) == typeof(float)) return Vector256.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        return Vector256.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
    }
}

/// <summary>
/// Threads that run the FMA loop together: the caller plus <c>threads - 1</c> helpers that spin between runs.
/// Helpers started per run were woken onto the caller's core by the scheduler and ran after it rather than
/// beside it (the benchmark thread runs at raised priority), which halved the two-thread figure; spinning
/// helpers stay on their own cores.
/// </summary>
public sealed class FmaTeam : IDisposable
{
    private readonly FmaKind _kind;
    private readonly long _iterations;
    private readonly Thread[] _helpers;
    private int _generation;
    private int _finished;
    private volatile bool _stop;

    public FmaTeam(FmaKind kind, int threads, long iterations)
    {
        _kind = kind;
        _iterations = iterations;
        _helpers = new Thread[Math.Max(0, threads - 1)];
        for (int t = 0; t < _helpers.Length; t++)
        {
            _helpers[t] = new Thread(HelperLoop) { IsBackground = true, Name = $"FMA peak helper {t + 1}" };
            _helpers[t].Start();
        }
    }

    /// <summary>Runs one burst on every thread of the team at once and returns when all are done.</summary>
    public void Run()
    {
        Volatile.Write(ref _finished, 0);
        Interlocked.Increment(ref _generation);
        FmaPeak.Burst(_kind, _iterations);
        var spin = new SpinWait();
        while (Volatile.Read(ref _finished) < _helpers.Length) spin.SpinOnce(sleep1Threshold: -1);
    }

    public void Dispose()
    {
        _stop = true;
        foreach (Thread helper in _helpers) helper.Join();
    }

    private void HelperLoop()
    {
        // Generation 0 is the one the team was created at: reading _generation here instead would miss a Run
        // that started before this thread did, and that Run would wait for this helper forever.
        int seen = 0;
        while (!_stop)
        {
            int now = Volatile.Read(ref _generation);
            if (now == seen)
            {
                Thread.SpinWait(16);
                continue;
            }
            seen = now;
            FmaPeak.Burst(_kind, _iterations);
            Interlocked.Increment(ref _finished);
        }
    }
}

/// <summary>
/// The FMA peak as a benchmark of its own: GFLOP/s of the raw loop for each vector width and element type,
/// on one and two threads. Run with
/// <c>dotnet run -c Release --project benchmarks -- --filter '*FmaPeak*'</c>.
/// </summary>
[Config(typeof(KernelBenchConfig))]
public class FmaPeakBenchmarks
{
    /// <summary>Loop iterations per thread and invocation (about 12 ms with Vector512 on one Zen 5 core).</summary>
    public const long Iterations = 8_000_000;

    [Params(FmaKind.Vector512Float, FmaKind.Vector256Float, FmaKind.Vector512Double)]
    public FmaKind Kind { get; set; }

    [Params(1, 2)]
    public int Threads { get; set; }

    private FmaTeam? _team;

    [GlobalSetup]
    public void Setup() => _team = new FmaTeam(Kind, Threads, Iterations);

    [GlobalCleanup]
    public void Cleanup() => _team?.Dispose();

    [Benchmark]
    public void Fma() => _team!.Run();

    /// <summary>Floating-point operations of one <see cref="Fma"/> invocation.</summary>
    internal static double Flops(BenchmarkCase benchmarkCase)
    {
        var kind = (FmaKind)benchmarkCase.Parameters[nameof(Kind)];
        int threads = (int)benchmarkCase.Parameters[nameof(Threads)];
        return (double)Iterations * FmaPeak.FlopsPerIteration(kind) * threads;
    }
}

/// <summary>
/// Short in-process job for the kernel benchmarks: 1 launch, 3 warm-ups, 9 iterations of about 250 ms. In
/// process so that the FMA peak measured in a benchmark's GlobalSetup is visible to the columns, i.e. the
/// GEMM and its peak are measured in the same process; short because these shared two-core machines are
/// noisy and the ratio to the peak measured alongside is the figure that matters.
/// </summary>
public sealed class KernelBenchConfig : ManualConfig
{
    public KernelBenchConfig()
    {
        AddJob(Job.Default
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithLaunchCount(1)
            .WithWarmupCount(3)
            .WithIterationCount(9)
            .WithIterationTime(TimeInterval.FromMilliseconds(250)));
        AddColumn(new FunctionColumn("GFLOP/s", "GFLOP/s from the median time", (s, c) => Gflops(s, c)?.ToString("F1")));
        AddColumn(new FunctionColumn("Peak GFLOP/s", "FMA peak on the same thread count, measured in GlobalSetup of the same process",
            (s, c) => GemmBenchmarks.PeakFor(c)?.ToString("F1")));
        AddColumn(new FunctionColumn("% of peak", "GFLOP/s / Peak GFLOP/s", (s, c) =>
            Gflops(s, c) is double g && GemmBenchmarks.PeakFor(c) is double p ? (100 * g / p).ToString("F1") + "%" : null));
    }

    private static double? Gflops(Summary summary, BenchmarkCase benchmarkCase)
    {
        double? medianNs = summary[benchmarkCase]?.ResultStatistics?.Median;
        if (medianNs is not > 0) return null;
        double? flops = benchmarkCase.Descriptor.Type == typeof(FmaPeakBenchmarks) ? FmaPeakBenchmarks.Flops(benchmarkCase)
            : benchmarkCase.Descriptor.Type == typeof(GemmBenchmarks) ? GemmBenchmarks.Flops(benchmarkCase)
            : null;
        return flops / medianNs;
    }
}

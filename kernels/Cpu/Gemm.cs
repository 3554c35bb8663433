using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Engine.Kernels.Cpu;

/// <summary>Which code path a GEMM call takes (tests force each one on every shape).</summary>
internal enum GemmPath
{
    /// <summary>Packed for everything but tiny or thin problems.</summary>
    Auto = 0,
    /// <summary>Row-by-row without packing.</summary>
    Small,
    /// <summary>Packed panels and micro-kernels.</summary>
    Packed,
}

/// <summary>
/// Internal knobs of a GEMM call; the default value means "decide as the public API does".
/// </summary>
/// <param name="Isa">Vector ISA of the kernels (Auto: the widest accelerated one).</param>
/// <param name="Path">Packed or unpacked path (Auto: by size).</param>
/// <param name="Threads">Thread count (0: <see cref="CpuThreads.Max"/>, capped by the processor count).</param>
/// <param name="Blocking">Cache blocking (null: <see cref="GemmBlocking.For{T}(GemmIsa)"/>).</param>
/// <param name="ParallelThreshold">Minimum m*n*k that is split across threads (0: the default, 2^20).</param>
/// <param name="BInPlace">Read full B micro-panels from B itself (null: when its stride allows, see GemmPacked).</param>
internal readonly record struct GemmOptions(
    GemmIsa Isa = GemmIsa.Auto,
    GemmPath Path = GemmPath.Auto,
    int Threads = 0,
    GemmBlocking? Blocking = null,
    long ParallelThreshold = 0,
    bool? BInPlace = null);

/// <summary>
/// General matrix multiply on row-major spans: C = alpha * op(A) * op(B) + beta * C, a Goto/BLIS-style
/// implementation (packed panels, register-blocked Vector512 / Vector256 micro-kernels, cache blocking,
/// up to <see cref="CpuThreads.Max"/> threads).
/// </summary>
public static class Gemm
{
    /// <summary>Below this m*n*k packing does not pay for itself and the unpacked path runs.</summary>
    internal const long SmallThreshold = 512;

    /// <summary>m*n*k from which the work is split over threads (~ 8 microseconds of FMAs on one core).</summary>
    internal const long DefaultParallelThreshold = 1L << 20;

    /// <summary>
    /// C = alpha * op(A) * op(B) + beta * C, row-major with leading dimensions. op(A) is m x k (A is k x m
    /// stored when <paramref name="transA"/>), op(B) is k x n (B is n x k stored when <paramref name="transB"/>).
    /// beta == 0 overwrites C, ignoring any NaN/Inf already there. k == 0 or alpha == 0 means C = beta * C
    /// (A and B are not read).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative or a leading dimension is smaller than its row width.</exception>
    /// <exception cref="ArgumentException">A span is too short for the given sizes and leading dimension.</exception>
    public static void Compute(bool transA, bool transB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        => Compute(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, default);

    /// <inheritdoc cref="Compute(bool, bool, int, int, int, float, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, float, Span{float}, int)"/>
    public static void Compute(bool transA, bool transB, int m, int n, int k, double alpha, ReadOnlySpan<double> a, int lda,
        ReadOnlySpan<double> b, int ldb, double beta, Span<double> c, int ldc)
        => Compute(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, default);

    /// <summary>The public contract plus internal knobs (tests force paths, ISAs, blocks and threads).</summary>
    internal static unsafe void Compute<T>(bool transA, bool transB, int m, int n, int k, T alpha, ReadOnlySpan<T> a, int lda,
        ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc, in GemmOptions options)
        where T : unmanaged, INumberBase<T>
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (m == 0 || n == 0) return;

        fixed (T* pa = a)
        fixed (T* pb = b)
        fixed (T* pc = c)
        {
            var problem = new GemmProblem<T>(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            if (k == 0 || T.IsZero(alpha))
            {
                for (int i = 0; i < m; i++) ScaleRow(pc + (nint)i * ldc, n, beta);
                return;
            }
            Dispatch(problem, options);
        }
    }

    private static void Dispatch<T>(in GemmProblem<T> problem, in GemmOptions options) where T : unmanaged, INumberBase<T>
    {
        GemmIsa isa = ResolveIsa(options.Isa);
        long volume = (long)problem.M * problem.N * problem.K;
        bool small = options.Path switch
        {
            GemmPath.Small => true,
            GemmPath.Packed => false,
            _ => UseSmallPath(problem),
        };
        if (isa == GemmIsa.Scalar || small)
        {
            GemmSmall.Run(problem, isa);
            return;
        }

        GemmBlocking blocking = options.Blocking ?? GemmBlocking.For<T>(isa);
        blocking.Validate<T>(isa);
        bool bInPlace = !problem.TransB && (options.BInPlace ?? GemmPacked.CanUseBInPlace(problem));
        var plan = new GemmPlan(isa, blocking, bInPlace);
        int threads = options.Threads > 0 ? options.Threads : Math.Min(CpuThreads.Max, Environment.ProcessorCount);
        long threshold = options.ParallelThreshold > 0 ? options.ParallelThreshold : DefaultParallelThreshold;
        if (threads > 1 && volume >= threshold && TryRunParallel(problem, plan, threads)) return;
        GemmPacked.Run(problem, 0, problem.M, 0, problem.N, plan);
    }

    /// <summary>
    /// Splits C into one block of whole columns (or rows) per thread and runs them on the GEMM workers
    /// (<see cref="GemmSplitTask{T}"/> explains the choice of dimension). False when the problem is too narrow
    /// to split or another caller holds the workers; the caller then runs it alone.
    /// </summary>
    private static bool TryRunParallel<T>(in GemmProblem<T> problem, in GemmPlan plan, int threads) where T : unmanaged, INumberBase<T>
    {
        int vectorWidth = plan.Isa == GemmIsa.Vector512 ? Vector512<T>.Count : Vector256<T>.Count;
        const int RowGranularity = 4;
        bool splitN = problem.M <= problem.N;
        int units = splitN ? GemmMath.DivUp(problem.N, vectorWidth) : GemmMath.DivUp(problem.M, RowGranularity);
        if (units < 2)
        {
            splitN = !splitN;
            units = splitN ? GemmMath.DivUp(problem.N, vectorWidth) : GemmMath.DivUp(problem.M, RowGranularity);
        }
        int parts = Math.Min(threads, units);
        if (parts < 2 || !CpuWorkerPool.TryAcquire()) return false;
        try
        {
            GemmSplitTask<T> task = GemmSplitTask<T>.Shared;
            task.Set(problem, plan, splitN, splitN ? vectorWidth : RowGranularity, parts);
            CpuWorkerPool.Run(task, parts, parts);
        }
        finally
        {
            CpuWorkerPool.Release();
        }
        return true;
    }

    /// <summary>
    /// Where the unpacked path beats the packed one (measured on Zen 5 after tier-up): below a few hundred
    /// multiply-adds the packed path's fixed cost dominates; a single row times a non-transposed B is one
    /// sweep over B; and with B transposed and one or two rows or a few columns of C, every element is a
    /// long dot product of two contiguous rows, which packing would only copy.
    /// </summary>
    private static bool UseSmallPath<T>(in GemmProblem<T> p) where T : unmanaged
    {
        long volume = (long)p.M * p.N * p.K;
        if (volume < SmallThreshold) return true;
        if (!p.TransB) return p.M == 1;
        return !p.TransA && p.K >= 32 && (p.M <= 2 || p.N <= 4);
    }

    private static GemmIsa ResolveIsa(GemmIsa requested)
    {
        switch (requested)
        {
            case GemmIsa.Vector512 when !Vector512.IsHardwareAccelerated:
                throw new PlatformNotSupportedException("Vector512 is not hardware accelerated on this machine.");
            case GemmIsa.Vector256 when !Vector256.IsHardwareAccelerated:
                throw new PlatformNotSupportedException("Vector256 is not hardware accelerated on this machine.");
            case GemmIsa.Auto:
                return Vector512.IsHardwareAccelerated ? GemmIsa.Vector512
                    : Vector256.IsHardwareAccelerated ? GemmIsa.Vector256
                    : GemmIsa.Scalar;
            default:
                return requested;
        }
    }

    /// <summary>c[0..n) = beta * c[0..n); beta == 0 writes zeros (NaN/Inf in C must not survive 0 * C).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static unsafe void ScaleRow<T>(T* c, int n, T beta) where T : unmanaged, INumberBase<T>
    {
        int kind = GemmMath.BetaKind(beta);
        if (kind == GemmMath.BetaOne) return;
        var row = new Span<T>(c, n);
        if (kind == GemmMath.BetaZero) row.Clear();
        else
            for (int j = 0; j < row.Length; j++) row[j] *= beta;
    }

    /// <summary>
    /// Checks sizes, leading dimensions and span lengths so that nothing inside can index out of range.
    /// Shared with <see cref="Reference.ReferenceGemm"/>, which must reject exactly the same calls.
    /// </summary>
    internal static void Validate(bool transA, bool transB, int m, int n, int k, int aLength, int lda, int bLength, int ldb,
        int cLength, int ldc)
    {
        if (m < 0) throw new ArgumentOutOfRangeException(nameof(m), m, "m (rows of op(A) and C) must be non-negative.");
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, "n (columns of op(B) and C) must be non-negative.");
        if (k < 0) throw new ArgumentOutOfRangeException(nameof(k), k, "k (columns of op(A), rows of op(B)) must be non-negative.");

        // Stored shapes: A is m x k (k x m when transA), B is k x n (n x k when transB), C is m x n.
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        CheckLeading(nameof(lda), lda, aCols, transA ? "A is stored k x m (transA), so lda must be at least max(1, m)"
            : "A is stored m x k, so lda must be at least max(1, k)");
        CheckLeading(nameof(ldb), ldb, bCols, transB ? "B is stored n x k (transB), so ldb must be at least max(1, k)"
            : "B is stored k x n, so ldb must be at least max(1, n)");
        CheckLeading(nameof(ldc), ldc, n, "C is stored m x n, so ldc must be at least max(1, n)");

        CheckLength("a", aLength, aRows, aCols, lda, transA ? "A (k x m, transA)" : "A (m x k)");
        CheckLength("b", bLength, bRows, bCols, ldb, transB ? "B (n x k, transB)" : "B (k x n)");
        CheckLength("c", cLength, m, n, ldc, "C (m x n)");
    }

    private static void CheckLeading(string name, int ld, int rowWidth, string why)
    {
        int min = Math.Max(1, rowWidth);
        if (ld < min) throw new ArgumentOutOfRangeException(name, ld, $"{name} is {ld}, but {why} = {min}.");
    }

    private static void CheckLength(string name, int length, int rows, int cols, int ld, string what)
    {
        long need = rows == 0 || cols == 0 ? 0 : (long)(rows - 1) * ld + cols;
        if (length < need)
        {
            throw new ArgumentException(
                $"Span '{name}' has {length} elements, but {what} with {rows} rows of {cols} at leading dimension {ld} needs at least {need}.",
                name);
        }
    }
}

using System.Numerics;
using System.Runtime.Intrinsics;
using Engine.Kernels.Cpu;
using Engine.Kernels.Reference;

namespace Engine.Tests.Kernels;

/// <summary>
/// Gemm against ReferenceGemm on every small shape, every transpose combination, padded leading dimensions,
/// alpha/beta edge values, shapes that cross every cache block, the threaded path, each kernel ISA and the
/// unpacked path, for float and double; plus argument validation and allocation-free steady state.
/// </summary>
public class GemmTests
{
    /// <summary>Element type of a test (public so NUnit can enumerate it).</summary>
    public enum Precision { Float, Double }

    private static readonly int[] FewK = [1, 16, 33];

    /// <summary>One GEMM call to check.</summary>
    private readonly record struct Case(bool TransA, bool TransB, int M, int N, int K, double Alpha, double Beta,
        int PadA = 3, int PadB = 1, int PadC = 2, int Seed = 1);

    // ---- shapes ------------------------------------------------------------------------------------------

    [Test]
    public void EveryMAndN_1To33_WithAFewK_MatchesReference([Values] Precision precision, [Values] bool transA, [Values] bool transB)
    {
        GemmOptions[] variants = PathVariants();
        int seed = 0;
        for (int m = 1; m <= 33; m++)
            for (int n = 1; n <= 33; n++)
                foreach (int k in FewK)
                    Run(precision, new Case(transA, transB, m, n, k, 1.0, 0.0, Seed: ++seed), variants);
    }

    [Test]
    public void EveryK_1To33_WithAFewMAndN_MatchesReference([Values] Precision precision, [Values] bool transA, [Values] bool transB)
    {
        GemmOptions[] variants = PathVariants();
        (int M, int N)[] shapes = [(1, 1), (3, 5), (12, 32), (13, 17), (25, 33), (33, 47)];
        int seed = 100;
        for (int k = 1; k <= 33; k++)
            foreach (var (m, n) in shapes)
                Run(precision, new Case(transA, transB, m, n, k, -1.25, 0.5, Seed: ++seed), variants);
    }

    [Test]
    public void AlphaAndBetaEdgeValues_MatchReference(
        [Values] Precision precision,
        [Values(0.0, 1.0, -1.5)] double alpha,
        [Values(0.0, 1.0, -0.5)] double beta)
    {
        // beta == 0 runs with C pre-filled with NaN (see Run): the result must still be clean.
        GemmOptions[] variants = PathVariants();
        foreach (var (m, n, k) in new[] { (3, 4, 5), (29, 45, 37), (70, 90, 530) })
            foreach (bool transA in new[] { false, true })
                foreach (bool transB in new[] { false, true })
                    Run(precision, new Case(transA, transB, m, n, k, alpha, beta, Seed: m + n + k), variants);
    }

    [Test]
    public void LargeShapeCrossingTheCacheBlocks_OneAndTwoThreads_MatchesReference(
        [Values] Precision precision, [Values] bool transA, [Values] bool transB)
    {
        // 300 x 517 x 700 crosses KC (two rank-k updates), MC (three A blocks) and the m*n*k threading threshold.
        GemmOptions[] variants =
        [
            new(Threads: 1),
            new(Threads: 2),
            new(Threads: 1, BInPlace: false),
        ];
        Run(precision, new Case(transA, transB, 300, 517, 700, 0.75, -0.5, PadA: 5, PadB: 3, PadC: 7), variants);
    }

    [Test]
    public void TinyCacheBlocks_CrossEveryBoundary_OnEveryKernelAndThreadCount(
        [Values] Precision precision, [Values] bool transA, [Values] bool transB)
    {
        // Shrunken blocks make 61 x 131 x 41 cross NC, KC and MC many times, with ragged last blocks in each,
        // and the threshold of 1 splits it over threads (n-split here, m-split in the transposed shape).
        bool isFloat = precision == Precision.Float;
        var variants = new List<GemmOptions>();
        if (Vector512.IsHardwareAccelerated)
        {
            var blocks = new GemmBlocking(12, isFloat ? 32 : 16, 24, 8, isFloat ? 64 : 32);
            variants.Add(new(Isa: GemmIsa.Vector512, Path: GemmPath.Packed, Threads: 1, Blocking: blocks));
            variants.Add(new(Isa: GemmIsa.Vector512, Path: GemmPath.Packed, Threads: 2, Blocking: blocks, ParallelThreshold: 1));
            variants.Add(new(Isa: GemmIsa.Vector512, Path: GemmPath.Packed, Threads: 3, Blocking: blocks, ParallelThreshold: 1, BInPlace: false));
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var blocks = new GemmBlocking(6, isFloat ? 16 : 8, 12, 8, isFloat ? 32 : 16);
            variants.Add(new(Isa: GemmIsa.Vector256, Path: GemmPath.Packed, Threads: 1, Blocking: blocks));
            variants.Add(new(Isa: GemmIsa.Vector256, Path: GemmPath.Packed, Threads: 2, Blocking: blocks, ParallelThreshold: 1));
        }
        Run(precision, new Case(transA, transB, 61, 131, 41, 1.0, 1.0), [.. variants]);
        Run(precision, new Case(transA, transB, 131, 61, 41, -2.0, 0.0), [.. variants]);
    }

    [Test]
    public void ZeroK_ScalesC_AndZeroBetaClearsNaN([Values] Precision precision, [Values(0.0, -0.5)] double beta)
    {
        Run(precision, new Case(false, false, 7, 9, 0, 1.0, beta), PathVariants());
        Run(precision, new Case(true, true, 40, 50, 0, 1.0, beta), PathVariants());
    }

    [Test]
    public void EmptyOutput_WritesNothing_AndAcceptsEmptyInputs()
    {
        // m = 0, n = 0 or both, with the operands that have no elements passed as empty spans: C is left as it was,
        // even with beta = 0 (which clears C otherwise) and a C buffer longer than the empty matrix needs.
        const float sentinel = 7.25f;
        float[] cf = Enumerable.Repeat(sentinel, 15).ToArray();
        Gemm.Compute(false, false, 0, 5, 3, 1f, ReadOnlySpan<float>.Empty, 3, new float[15], 5, 0f, cf, 5);
        Assert.That(cf, Is.All.EqualTo(sentinel), "m = 0");
        double[] cd = Enumerable.Repeat((double)sentinel, 4).ToArray();
        Gemm.Compute(false, false, 4, 0, 3, 1.0, new double[12], 3, ReadOnlySpan<double>.Empty, 1, 0.0, cd, 1);
        Assert.That(cd, Is.All.EqualTo((double)sentinel), "n = 0");
        Gemm.Compute(true, true, 0, 0, 0, 1f, ReadOnlySpan<float>.Empty, 1, ReadOnlySpan<float>.Empty, 1, 0f, cf, 1);
        Assert.That(cf, Is.All.EqualTo(sentinel), "m = n = k = 0");
        // An empty C is accepted too (the call throws where it is not).
        Gemm.Compute(true, true, 0, 0, 0, 1f, ReadOnlySpan<float>.Empty, 1, ReadOnlySpan<float>.Empty, 1, 0f, Span<float>.Empty, 1);
    }

    [Test]
    public void PublicOverloads_HonourMaxThreads([Values(1, 2)] int maxThreads)
    {
        int saved = CpuThreads.Max;
        try
        {
            CpuThreads.Max = maxThreads;
            Run(Precision.Float, new Case(false, true, 200, 190, 180, 1.0, 0.0), [new GemmOptions()]);
            Run(Precision.Double, new Case(true, false, 170, 210, 160, 1.0, 0.0), [new GemmOptions()]);
            // The public entry points themselves (the rest of this file calls the internal overload with options).
            var rng = new Random(3);
            float[] a = RandomArray<float>(rng, 150 * 140);
            float[] b = RandomArray<float>(rng, 140 * 130);
            float[] c = new float[150 * 130], expected = new float[150 * 130];
            Gemm.Compute(false, false, 150, 130, 140, 1f, a, 140, b, 130, 0f, c, 130);
            ReferenceGemm.Compute(false, false, 150, 130, 140, 1f, a, 140, b, 130, 0f, expected, 130);
            for (int i = 0; i < c.Length; i++)
                Assert.That(c[i], Is.EqualTo(expected[i]).Within(1e-4f), $"element {i}");
        }
        finally
        {
            CpuThreads.Max = saved;
        }
    }

    [Test]
    public void ConcurrentCallers_AllGetCorrectResults()
    {
        // Several threads compete for the one worker pool: the losers run single-threaded, nobody waits or mixes up.
        var errors = new System.Collections.Concurrent.ConcurrentQueue<Exception>();
        var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            try
            {
                for (int r = 0; r < 3; r++)
                    Run(Precision.Float, new Case(t % 2 == 0, r % 2 == 0, 120 + t, 140, 130, 1.0, 0.5, Seed: t * 10 + r),
                        [new GemmOptions(Threads: 2)]);
            }
            catch (Exception e)
            {
                errors.Enqueue(e);
            }
        })).ToList();
        threads.ForEach(th => th.Start());
        threads.ForEach(th => th.Join());
        Assert.That(errors, Is.Empty);
    }

    [Test]
    public void WorkerPool_RunsEveryPartExactlyOnce_WhenOnePartIsSlow()
    {
        // The slow part outlasts the caller's spin, so the caller must block until the worker is done, not
        // return early and not hang.
        var task = new RecordingTask(slowPart: 1, slowMilliseconds: 30);
        Assert.That(CpuWorkerPool.TryAcquire(), Is.True);
        try
        {
            for (int round = 0; round < 3; round++)
            {
                task.Reset(parts: 4);
                CpuWorkerPool.Run(task, parts: 4, threads: 2);
                Assert.That(task.Counts, Is.All.EqualTo(1), $"round {round}");
            }
        }
        finally
        {
            CpuWorkerPool.Release();
        }
    }

    [Test]
    public void WorkerPool_RethrowsAPartsException_AndStaysUsable()
    {
        var failing = new RecordingTask(slowPart: -1, slowMilliseconds: 0, failingPart: 1);
        Assert.That(CpuWorkerPool.TryAcquire(), Is.True);
        try
        {
            failing.Reset(parts: 2);
            var e = Assert.Throws<InvalidOperationException>(() => CpuWorkerPool.Run(failing, parts: 2, threads: 2));
            Assert.That(e!.Message, Does.Contain("part 1"));
        }
        finally
        {
            CpuWorkerPool.Release();
        }
        Run(Precision.Float, new Case(false, false, 100, 120, 140, 1.0, 0.0), [new GemmOptions(Threads: 2)]);
    }

    private sealed class RecordingTask(int slowPart, int slowMilliseconds, int failingPart = -1) : IWorkerTask
    {
        public int[] Counts { get; private set; } = [];

        public void Reset(int parts) => Counts = new int[parts];

        public void Execute(int part)
        {
            if (part == slowPart) Thread.Sleep(slowMilliseconds);
            Interlocked.Increment(ref Counts[part]);
            if (part == failingPart) throw new InvalidOperationException($"part {part} failed");
        }
    }

    [Test]
    public void SteadyState_AllocatesNothing([Values(1, 2)] int threads)
    {
        var rng = new Random(9);
        int m = 160, n = 150, k = 300;
        float[] a = RandomArray<float>(rng, m * k), b = RandomArray<float>(rng, k * n), c = new float[m * n];
        double[] ad = RandomArray<double>(rng, m * k), bd = RandomArray<double>(rng, k * n), cd = new double[m * n];
        var options = new GemmOptions(Threads: threads);
        for (int r = 0; r < 3; r++)
        {
            Gemm.Compute(true, false, m, n, k, 1f, a, m, b, n, 0f, c, n, options);
            Gemm.Compute(false, true, m, n, k, 1.0, ad, k, bd, k, 0.0, cd, n, options);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int r = 0; r < 5; r++)
        {
            Gemm.Compute(true, false, m, n, k, 1f, a, m, b, n, 0f, c, n, options);
            Gemm.Compute(false, true, m, n, k, 1.0, ad, k, bd, k, 0.0, cd, n, options);
        }
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    // ---- argument validation -----------------------------------------------------------------------------

    [TestCase(-1, 2, 3, "m")]
    [TestCase(2, -1, 3, "n")]
    [TestCase(2, 3, -1, "k")]
    public void NegativeSize_ThrowsNamingIt(int m, int n, int k, string name)
    {
        var big = new float[100];
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Compute(false, false, m, n, k, 1f, big, 5, big, 5, 0f, big, 5));
        Assert.That(e!.ParamName, Is.EqualTo(name));
        Assert.That(e.Message, Does.Contain("non-negative"));
        var r = Assert.Throws<ArgumentOutOfRangeException>(() => ReferenceGemm.Compute(false, false, m, n, k, 1.0, new double[100], 5, new double[100], 5, 0.0, new double[100], 5));
        Assert.That(r!.ParamName, Is.EqualTo(name));
    }

    // m = 4, n = 6, k = 5: A is 4x5 (5x4 when transA), B is 5x6 (6x5 when transB), C is 4x6.
    [TestCase(false, false, 4, 6, 6, "lda", "at least max(1, k) = 5")]
    [TestCase(true, false, 3, 6, 6, "lda", "at least max(1, m) = 4")]
    [TestCase(false, false, 5, 5, 6, "ldb", "at least max(1, n) = 6")]
    [TestCase(false, true, 5, 4, 6, "ldb", "at least max(1, k) = 5")]
    [TestCase(false, false, 5, 6, 5, "ldc", "at least max(1, n) = 6")]
    public void LeadingDimensionTooSmall_ThrowsNamingIt(bool transA, bool transB, int lda, int ldb, int ldc, string name, string text)
    {
        var big = new float[1000];
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.Compute(transA, transB, 4, 6, 5, 1f, big, lda, big, ldb, 0f, big, ldc));
        Assert.That(e!.ParamName, Is.EqualTo(name));
        Assert.That(e.Message, Does.Contain(text));
        var r = Assert.Throws<ArgumentOutOfRangeException>(() => ReferenceGemm.Compute(transA, transB, 4, 6, 5, 1f, big, lda, big, ldb, 0f, big, ldc));
        Assert.That(r!.ParamName, Is.EqualTo(name));
    }

    // m = 4, n = 6, k = 5 with lda = 7, ldb = 8, ldc = 9: needs (rows - 1) * ld + cols elements.
    [TestCase(false, false, 25, 48, 33, "a", "needs at least 26")]   // 3 * 7 + 5
    [TestCase(true, false, 31, 48, 33, "a", "needs at least 32")]    // 4 * 7 + 4
    [TestCase(false, false, 26, 37, 33, "b", "needs at least 38")]   // 4 * 8 + 6
    [TestCase(false, true, 26, 44, 33, "b", "needs at least 45")]    // 5 * 8 + 5
    [TestCase(false, false, 26, 48, 32, "c", "needs at least 33")]   // 3 * 9 + 6
    public void SpanTooShort_ThrowsNamingIt(bool transA, bool transB, int aLength, int bLength, int cLength, string name, string text)
    {
        var e = Assert.Throws<ArgumentException>(() =>
            Gemm.Compute(transA, transB, 4, 6, 5, 1.0, new double[aLength], 7, new double[bLength], 8, 0.0, new double[cLength], 9));
        Assert.That(e, Is.Not.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(e!.ParamName, Is.EqualTo(name));
        Assert.That(e.Message, Does.Contain(text));
        var r = Assert.Throws<ArgumentException>(() =>
            ReferenceGemm.Compute(transA, transB, 4, 6, 5, 1.0, new double[aLength], 7, new double[bLength], 8, 0.0, new double[cLength], 9));
        Assert.That(r!.ParamName, Is.EqualTo(name));
    }

    [Test]
    public void MaxThreads_RejectsLessThanOne()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => CpuThreads.Max = 0);
        Assert.That(e!.ParamName, Is.EqualTo(nameof(CpuThreads.Max)));
        Assert.That(CpuThreads.Max, Is.GreaterThanOrEqualTo(1));
    }

    // ---- helpers -----------------------------------------------------------------------------------------

    /// <summary>The automatic path plus every path forced on every shape (packed on each ISA, unpacked, scalar).</summary>
    private static GemmOptions[] PathVariants()
    {
        var list = new List<GemmOptions>
        {
            new(Threads: 1),
            new(Path: GemmPath.Small),
            new(Isa: GemmIsa.Scalar),
        };
        if (Vector512.IsHardwareAccelerated)
        {
            list.Add(new(Isa: GemmIsa.Vector512, Path: GemmPath.Packed, Threads: 1));
            list.Add(new(Isa: GemmIsa.Vector512, Path: GemmPath.Packed, Threads: 1, BInPlace: true));
        }
        if (Vector256.IsHardwareAccelerated)
            list.Add(new(Isa: GemmIsa.Vector256, Path: GemmPath.Packed, Threads: 1));
        return [.. list];
    }

    private static void Run(Precision precision, Case c, GemmOptions[] variants)
    {
        if (precision == Precision.Float) Run<float>(c, variants);
        else Run<double>(c, variants);
    }

    /// <summary>
    /// Builds padded A, B, C (padding of A and B is NaN, so reading it poisons the result; padding of C is a
    /// sentinel that must survive; with beta == 0, C itself starts as NaN), runs the reference once and every
    /// variant, and compares element-wise within a bound scaled by k and by the magnitudes involved.
    /// </summary>
    private static void Run<T>(Case c, GemmOptions[] variants) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int m = c.M, n = c.N, k = c.K;
        int aRows = c.TransA ? k : m, aCols = c.TransA ? m : k;
        int bRows = c.TransB ? n : k, bCols = c.TransB ? k : n;
        int lda = aCols + c.PadA, ldb = bCols + c.PadB, ldc = n + c.PadC;
        var rng = new Random(c.Seed);
        T[] a = PaddedMatrix<T>(rng, aRows, aCols, lda, T.NaN);
        T[] b = PaddedMatrix<T>(rng, bRows, bCols, ldb, T.NaN);
        T sentinel = T.CreateChecked(7.25);
        T[] c0 = PaddedMatrix<T>(rng, m, n, ldc, sentinel);
        bool betaZero = c.Beta == 0;
        if (betaZero)
            for (int i = 0; i < m; i++) c0.AsSpan(i * ldc, n).Fill(T.NaN);
        T alpha = T.CreateChecked(c.Alpha), beta = T.CreateChecked(c.Beta);

        T[] expected = (T[])c0.Clone();
        Reference(c.TransA, c.TransB, m, n, k, alpha, a, lda, b, ldb, beta, expected, ldc);

        // |error| <= ~ (k + 2) u (|alpha| sum_p |a_ip b_pj| + |beta c_ij|) for the FMA chain; the sum is bounded
        // by |row i of op(A)| * |column j of op(B)| (Cauchy-Schwarz, nearly tight on random data and O(mk + kn)).
        double u = typeof(T) == typeof(float) ? Math.Pow(2, -24) : Math.Pow(2, -53);
        var rowNorm = new double[m];
        var colNorm = new double[n];
        for (int p = 0; p < k; p++)
        {
            for (int i = 0; i < m; i++)
                rowNorm[i] += Square(a[c.TransA ? p * lda + i : i * lda + p]);
            for (int j = 0; j < n; j++)
                colNorm[j] += Square(b[c.TransB ? j * ldb + p : p * ldb + j]);
        }
        var tolerance = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double mag = Math.Abs(c.Alpha) * Math.Sqrt(rowNorm[i] * colNorm[j])
                    + (betaZero ? 0 : Math.Abs(c.Beta * double.CreateChecked(c0[i * ldc + j])));
                tolerance[i * n + j] = 2 * (k + 4) * u * mag + 1e-300;
            }
        }

        foreach (GemmOptions options in variants)
        {
            T[] actual = (T[])c0.Clone();
            Gemm.Compute<T>(c.TransA, c.TransB, m, n, k, alpha, a, lda, b, ldb, beta, actual, ldc, options);
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < ldc; j++)
                {
                    T got = actual[i * ldc + j], want = expected[i * ldc + j];
                    bool ok = j < n
                        ? T.IsFinite(got) && Math.Abs(double.CreateChecked(got - want)) <= tolerance[i * n + j]
                        : got == sentinel;
                    if (!ok)
                    {
                        Assert.Fail($"{typeof(T).Name} {c} with {options}: C[{i},{j}] = {got}, expected {want}" +
                            (j < n ? $" within {tolerance[i * n + j]:G3}" : " (padding must not change)"));
                    }
                }
            }
        }
    }

    private static void Reference<T>(bool transA, bool transB, int m, int n, int k, T alpha, T[] a, int lda, T[] b, int ldb, T beta, T[] c, int ldc)
        where T : unmanaged
    {
        if (typeof(T) == typeof(float))
            ReferenceGemm.Compute(transA, transB, m, n, k, (float)(object)alpha, (float[])(object)a, lda, (float[])(object)b, ldb,
                (float)(object)beta, (float[])(object)c, ldc);
        else
            ReferenceGemm.Compute(transA, transB, m, n, k, (double)(object)alpha, (double[])(object)a, lda, (double[])(object)b, ldb,
                (double)(object)beta, (double[])(object)c, ldc);
    }

    private static double Square<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double d = double.CreateChecked(x);
        return d * d;
    }

    private static T[] PaddedMatrix<T>(Random rng, int rows, int cols, int ld, T pad) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var data = new T[Math.Max(0, rows * ld)];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < ld; j++)
                data[r * ld + j] = j < cols ? T.CreateChecked(rng.NextDouble() * 2 - 1) : pad;
        return data;
    }

    private static T[] RandomArray<T>(Random rng, int length) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var data = new T[length];
        for (int i = 0; i < length; i++) data[i] = T.CreateChecked(rng.NextDouble() * 2 - 1);
        return data;
    }
}

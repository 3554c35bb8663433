using System.Numerics;
using System.Runtime.Intrinsics;
using Engine.Kernels.Cpu;
using Engine.Kernels.Reference;

namespace Engine.Tests.Kernels;

/// <summary>
/// The fused VAE kernels (BCE and Gaussian row sums, Adam) against their scalar twins in
/// <see cref="ReferenceFused"/>: every kernel, float and double, on every vector path (forced AVX-512, AVX2 and
/// scalar), on shapes that hit every tail of both vector widths; special values (NaN, +-Inf, huge logits,
/// subnormals); Adam over several steps; argument checks; and the accuracy of the vector exp/log underneath.
/// </summary>
public class FusedKernelTests
{
    public enum Path { Scalar, V256, V512 }

    private static Simd.Scope Force(Path p) => Simd.Force(p switch
    {
        Path.Scalar => Simd.Level.Scalar,
        Path.V256 => Simd.Level.V256,
        _ => Simd.Level.V512,
    });

    private static readonly int[] Cols = { 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 70 };
    private static IEnumerable<(int Rows, int Cols)> Shapes()
    {
        foreach (int c in Cols)
            for (int r = 1; r <= 5; r++)
                if (r == 1 || r == 3 || c % 2 == 1 || r == 5) yield return (r, c);
    }

    // Tolerance of a single term (a row of one element), relative to the reference value, in units of the type's
    // epsilon: exp and log are within 1 ulp each, and a term (log1p by Goldberg's trick, the Gaussian's
    // (x - mu)^2 e^-lv) stacks a handful of roundings on each side. 16 leaves a margin while still catching any
    // formula or tail bug (those are off by far more).
    // Row sums: measured at most 3.1 eps * sum|terms|, against the reordered-summation bound (cols + 16) eps.
    private const double ElementUlps = 16;

    private static double Eps<T>() => typeof(T) == typeof(float) ? Math.Pow(2, -23) : Math.Pow(2, -52);
    private static double Tiny<T>() => typeof(T) == typeof(float) ? 8 * (double)float.Epsilon : 8 * double.Epsilon;

    private static T[] RandomArray<T>(Random rng, int n, Func<Random, double> draw) where T : IFloatingPointIeee754<T>
    {
        var a = new T[n];
        for (int i = 0; i < n; i++) a[i] = T.CreateTruncating(draw(rng));
        return a;
    }

    /// <summary>A mix of moderate values, large ones (saturation of exp-based functions) and tiny ones.</summary>
    private static double Mixed(Random rng)
    {
        double u = rng.NextDouble();
        if (u < 0.7) return rng.NextDouble() * 12 - 6;
        if (u < 0.9) return rng.NextDouble() * 200 - 100;
        return (rng.NextDouble() - 0.5) * Math.Pow(10, -rng.Next(2, 9));
    }

    /// <summary>Asserts elementwise closeness: NaN where the reference is NaN, equal infinities, and otherwise
    /// |a - e| &lt;= ulps * eps * max(|a|, |e|) + tiny.</summary>
    private static void AssertClose<T>(ReadOnlySpan<T> expected, ReadOnlySpan<T> actual, double ulps, string context)
        where T : IFloatingPointIeee754<T>
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), context);
        double eps = Eps<T>(), tiny = Tiny<T>();
        for (int i = 0; i < expected.Length; i++)
        {
            double e = double.CreateTruncating(expected[i]), a = double.CreateTruncating(actual[i]);
            bool ok = double.IsNaN(e) ? double.IsNaN(a)
                : double.IsInfinity(e) ? a == e
                : double.IsFinite(a) && Math.Abs(a - e) <= ulps * eps * Math.Max(Math.Abs(a), Math.Abs(e)) + tiny;
            if (!ok) Assert.Fail($"{context}: element {i}: expected {e:R}, got {a:R} (diff {Math.Abs(a - e) / (eps * Math.Max(Math.Abs(e), 1e-300)):F1} eps)");
        }
    }

    /// <summary>Asserts row sums agree within the bound of a reordered summation: NaN and infinities as in the
    /// reference, else |a - e| &lt;= (cols + 16) eps * scale * sum_c |term_c| (+ tiny), where the caller passes
    /// scale * sum |term| per row.</summary>
    private static void AssertRowsClose<T>(ReadOnlySpan<T> expected, ReadOnlySpan<T> actual, double[] absSum, int cols, string context)
        where T : IFloatingPointIeee754<T>
    {
        double eps = Eps<T>(), tiny = Tiny<T>();
        for (int r = 0; r < expected.Length; r++)
        {
            double e = double.CreateTruncating(expected[r]), a = double.CreateTruncating(actual[r]);
            bool ok = double.IsNaN(e) ? double.IsNaN(a)
                : double.IsInfinity(e) ? a == e
                : double.IsFinite(a) && Math.Abs(a - e) <= (cols + ElementUlps) * eps * absSum[r] + tiny;
            if (!ok) Assert.Fail($"{context}: row {r}: expected {e:R}, got {a:R} (bound {(cols + ElementUlps) * eps * absSum[r]:E3})");
        }
    }

    // ------------------------------------------------------------------ row losses

    public enum Loss { Bce, Gaussian }

    [Test]
    public void RowLosses_MatchReference([Values] Loss loss, [Values] Path path)
    {
        RowLossCase<float>(loss, path);
        RowLossCase<double>(loss, path);
    }

    private static void RowLossCase<T>(Loss loss, Path path) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(71 + (int)loss);
        foreach (var (rows, cols) in Shapes())
        {
            int n = rows * cols;
            T[] a, b, c;
            switch (loss)
            {
                case Loss.Bce:
                    a = RandomArray<T>(rng, n, Mixed);
                    b = RandomArray<T>(rng, n, r => r.Next(3) == 0 ? r.NextDouble() : r.Next(2));
                    c = Array.Empty<T>();
                    break;
                default:
                    a = RandomArray<T>(rng, n, r => r.NextDouble() * 6 - 3);
                    b = RandomArray<T>(rng, n, r => r.NextDouble() * 6 - 3);
                    c = RandomArray<T>(rng, n, r => r.NextDouble() * 12 - 6);
                    break;
            }
            var expected = new T[rows];
            var actual = new T[rows];
            ComputeRows(loss, a, b, c, expected, rows, cols, reference: true);
            using (Force(path)) ComputeRows(loss, a, b, c, actual, rows, cols, reference: false);
            AssertRowsClose<T>(expected, actual, AbsTermSums(loss, a, b, c, rows, cols), cols, $"{typeof(T).Name} {loss} {rows}x{cols} {path}");
        }
    }

    private static void ComputeRows<T>(Loss loss, T[] a, T[] b, T[] c, T[] outRows, int rows, int cols, bool reference)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (reference)
        {
            switch (loss)
            {
                case Loss.Bce: ReferenceFused.BceWithLogitsRowSum<T>(a, b, outRows, rows, cols); break;
                default: ReferenceFused.GaussianLogDensityRows<T>(a, b, c, outRows, rows, cols); break;
            }
            return;
        }
        if (typeof(T) == typeof(float))
        {
            var (fa, fb, fc, fo) = ((float[])(object)a, (float[])(object)b, (float[])(object)c, (float[])(object)outRows);
            switch (loss)
            {
                case Loss.Bce: Fused.BceWithLogitsRowSum(fa, fb, fo, rows, cols); break;
                default: Fused.GaussianLogDensityRows(fa, fb, fc, fo, rows, cols); break;
            }
        }
        else
        {
            var (da, db, dc, dout) = ((double[])(object)a, (double[])(object)b, (double[])(object)c, (double[])(object)outRows);
            switch (loss)
            {
                case Loss.Bce: Fused.BceWithLogitsRowSum(da, db, dout, rows, cols); break;
                default: Fused.GaussianLogDensityRows(da, db, dc, dout, rows, cols); break;
            }
        }
    }

    /// <summary>scale * sum_c of the absolute values of every addend in a term, in double: the natural
    /// magnitude for a summation error bound.</summary>
    private static double[] AbsTermSums<T>(Loss loss, T[] a, T[] b, T[] c, int rows, int cols) where T : IFloatingPointIeee754<T>
    {
        var s = new double[rows];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < cols; j++)
            {
                int i = r * cols + j;
                double x = double.CreateTruncating(a[i]), y = double.CreateTruncating(b[i]);
                s[r] += loss switch
                {
                    Loss.Bce => Math.Abs(x) * (Math.Abs(y) + 1) + Math.Log(2),
                    _ => 0.5 * (ReferenceFused.Log2Pi + Math.Abs(double.CreateTruncating(c[i])) + (x - y) * (x - y) * Math.Exp(-double.CreateTruncating(c[i]))),
                };
            }
        return s;
    }

    [Test]
    public void Bce_HugeAndInfiniteLogits_StayFiniteWhereTheLossIs([Values] Path path)
    {
        using var _ = Force(path);
        // (logit, target, expected loss) per row of one column.
        (double L, double T, double Expected)[] cases =
        {
            (1e30, 1, 0), (-1e30, 0, 0), (double.PositiveInfinity, 1, 0), (double.NegativeInfinity, 0, 0),
            (1e30, 0, 1e30), (-1e30, 1, 1e30), (1e30, 0.5, 5e29), (-1e30, 0.25, 2.5e29),
            (double.PositiveInfinity, 0, double.PositiveInfinity), (double.NegativeInfinity, 0.5, double.PositiveInfinity),
            (0, 0, Math.Log(2)), (0, 1, Math.Log(2)), (-100, 0, Math.Exp(-100)), (40, 1, Math.Exp(-40)),
        };
        int rows = cases.Length;
        var lf = cases.Select(c => (float)c.L).ToArray(); var tf = cases.Select(c => (float)c.T).ToArray();
        var ld = cases.Select(c => c.L).ToArray(); var td = cases.Select(c => c.T).ToArray();
        var of = new float[rows]; var od = new double[rows];
        Fused.BceWithLogitsRowSum(lf, tf, of, rows, 1);
        Fused.BceWithLogitsRowSum(ld, td, od, rows, 1);
        for (int r = 0; r < rows; r++)
        {
            double e = cases[r].Expected;
            Assert.That(od[r], double.IsInfinity(e) ? Is.EqualTo(e) : Is.EqualTo(e).Within(1e-15 * Math.Abs(e) + 1e-300), $"double row {r}");
            double ef = (float)e;
            Assert.That((double)of[r], double.IsInfinity(ef) ? Is.EqualTo(ef) : Is.EqualTo(ef).Within(1e-6 * Math.Abs(ef) + 1e-44), $"float row {r}");
        }
        // A full-width row of huge logits (the vector body, not only tails) is finite too.
        var l = Enumerable.Range(0, 64).Select(i => i % 2 == 0 ? 1e30f : -1e30f).ToArray();
        var t = Enumerable.Range(0, 64).Select(i => i % 2 == 0 ? 1f : 0f).ToArray();
        var o = new float[1];
        Fused.BceWithLogitsRowSum(l, t, o, 1, 64);
        Assert.That(o[0], Is.EqualTo(0f));
    }

    [Test]
    public void Bce_RowSumsKeepRelativeAccuracy_FromTinyToLargeTerms([Values(Path.V256, Path.V512)] Path path)
    {
        // The row sums take one log per block of vectors (ln prod(1 + y) by D = prod - 1); rows of tiny terms (confident,
        // correct logits: every term near e^-|l|), of terms near ln 2, and mixed ones must all keep float accuracy
        // relative to the row's value. The reference sums ln(1 + y) in double with a series for small y.
        using var _ = Force(path);
        var rng = new Random(77);
        foreach (int cols in new[] { 1, 15, 16, 17, 128, 129, 784 })
            foreach (var (lo, hi) in new[] { (20.0, 40.0), (8.0, 12.0), (0.0, 0.5), (-10.0, 10.0), (0.0, 90.0) })
            {
                var l = new float[cols]; var t = new float[cols];
                for (int c = 0; c < cols; c++)
                {
                    double mag = lo + (hi - lo) * rng.NextDouble();
                    bool positive = rng.Next(2) == 0;
                    l[c] = (float)(positive ? mag : -mag);
                    t[c] = hi <= 40 && lo >= 8 ? (positive ? 1 : 0) : rng.Next(2); // confident rows match their targets
                }
                double expected = 0;
                for (int c = 0; c < cols; c++)
                {
                    double a = Math.Abs((double)l[c]), w = l[c] > 0 ? 1 - t[c] : t[c], y = Math.Exp(-a);
                    expected += a * w + (y < 1e-5 ? y - y * y / 2 + y * y * y / 3 : Math.Log(1 + y));
                }
                var o = new float[1];
                Fused.BceWithLogitsRowSum(l, t, o, 1, cols);
                Assert.That((double)o[0], Is.EqualTo(expected).Within(4e-6 * Math.Abs(expected) + 1e-44), $"{path} cols {cols} |l| in [{lo}, {hi}]");
            }
    }

    // ------------------------------------------------------------------ special values

    [Test]
    public void NanAndInfinity_PropagateLikeTheReference([Values] Path path)
    {
        SpecialCase<float>(path, new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, 1f, -1f, 50f, -50f, 1e-40f, float.MaxValue, -float.MaxValue });
        SpecialCase<double>(path, new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0.0, -0.0, 1.0, -1.0, 500.0, -500.0, 1e-310, double.MaxValue, -double.MaxValue });
    }

    private static void SpecialCase<T>(Path path, T[] specials) where T : unmanaged, IFloatingPointIeee754<T>
    {
        // Every ordered pair (and triple, cycled) of special values, laid out over 3 rows x (k * k) cols so tails are hit.
        int k = specials.Length;
        int cols = k * k, rows = 3, n = rows * cols;
        var a = new T[n]; var b = new T[n]; var c = new T[n];
        for (int i = 0; i < n; i++) { a[i] = specials[i % k]; b[i] = specials[(i / k) % k]; c[i] = specials[(i / (k * k) + i) % k]; }
        string ctx(string what) => $"{typeof(T).Name} {what} {path}";
        using var _ = Force(path);

        foreach (Loss loss in Enum.GetValues<Loss>())
        {
            // One element per row so each row's NaN/Inf status is that of a single term.
            var e = new T[n]; var o = new T[n];
            ComputeRows(loss, a, b, c, e, n, 1, reference: true);
            ComputeRows(loss, a, b, c, o, n, 1, reference: false);
            AssertClose<T>(e, o, ElementUlps, ctx(loss.ToString()));
            // Whole rows: NaN-ness and infinities agree (finite values are covered by RowLosses_MatchReference).
            var er = new T[rows]; var or = new T[rows];
            ComputeRows(loss, a, b, c, er, rows, cols, reference: true);
            ComputeRows(loss, a, b, c, or, rows, cols, reference: false);
            for (int r = 0; r < rows; r++)
            {
                Assert.That(T.IsNaN(or[r]), Is.EqualTo(T.IsNaN(er[r])), ctx($"{loss} row {r} NaN-ness"));
                if (T.IsInfinity(er[r])) Assert.That(or[r], Is.EqualTo(er[r]), ctx($"{loss} row {r} infinity"));
            }
        }
    }

    [Test]
    public void SubnormalInputs_MatchReference([Values] Path path)
    {
        SubnormalCase<float>(path, float.Epsilon, 1.17549435e-38f);
        SubnormalCase<double>(path, double.Epsilon, 2.2250738585072014e-308);
    }

    private static void SubnormalCase<T>(Path path, T smallest, T minNormal) where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var _ = Force(path);
        var rng = new Random(3);
        int rows = 3, cols = 37, n = rows * cols;
        // Values spread over the whole subnormal range, both signs.
        var a = new T[n];
        for (int i = 0; i < n; i++)
        {
            T v = minNormal * T.CreateTruncating(Math.Pow(2, -rng.Next(1, typeof(T) == typeof(float) ? 24 : 53)));
            if (i % 5 == 0) v = smallest * T.CreateTruncating(rng.Next(1, 8));
            a[i] = i % 2 == 0 ? v : -v;
            Assert.That(T.IsSubnormal(a[i]), Is.True);
        }
        var abs = a.Select(v => T.Abs(v)).ToArray();
        foreach (Loss loss in Enum.GetValues<Loss>())
        {
            var e = new T[n]; var o = new T[n];
            ComputeRows(loss, a, abs, a, e, n, 1, reference: true);
            ComputeRows(loss, a, abs, a, o, n, 1, reference: false);
            AssertClose<T>(e, o, ElementUlps, $"{typeof(T).Name} subnormal {loss} {path}");
        }
    }

    // ------------------------------------------------------------------ Adam

    [Test]
    public void Adam_MatchesReferenceBitForBit_OverSeveralSteps([Values] Path path, [Values] bool decoupled)
    {
        AdamCase<float>(path, decoupled);
        AdamCase<double>(path, decoupled);
    }

    private static void AdamCase<T>(Path path, bool decoupled) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(decoupled ? 1 : 2);
        T lr = T.CreateTruncating(1e-3), b1 = T.CreateTruncating(0.9), b2 = T.CreateTruncating(0.999), eps = T.CreateTruncating(1e-8), wd = T.CreateTruncating(0.01);
        foreach (int n in Cols.Concat(new[] { 0, 100, 1001 }))
        {
            var p0 = RandomArray<T>(rng, n, r => r.NextDouble() * 2 - 1);
            var (pf, mf, vf) = ((T[])p0.Clone(), new T[n], new T[n]);
            var (pr, mr, vr) = ((T[])p0.Clone(), new T[n], new T[n]);
            for (int step = 1; step <= 5; step++)
            {
                var g = RandomArray<T>(rng, n, r => (r.NextDouble() - 0.5) * Math.Pow(10, -r.Next(0, 4)));
                using (Force(path)) Call(pf, g, mf, vf, lr, b1, b2, eps, wd, decoupled, step);
                ReferenceFused.AdamUpdate<T>(pr, g, mr, vr, lr, b1, b2, eps, wd, decoupled, step);
                string ctx = $"{typeof(T).Name} n={n} step={step} decoupled={decoupled} {path}";
                Assert.That(pf, Is.EqualTo(pr), "param " + ctx);
                Assert.That(mf, Is.EqualTo(mr), "m " + ctx);
                Assert.That(vf, Is.EqualTo(vr), "v " + ctx);
            }
        }

        static void Call(T[] p, T[] g, T[] m, T[] v, T lr, T b1, T b2, T eps, T wd, bool decoupled, int step)
        {
            if (typeof(T) == typeof(float))
                Fused.AdamUpdate((float[])(object)p, (float[])(object)g, (float[])(object)m, (float[])(object)v,
                    float.CreateTruncating(lr), float.CreateTruncating(b1), float.CreateTruncating(b2), float.CreateTruncating(eps), float.CreateTruncating(wd), decoupled, step);
            else
                Fused.AdamUpdate((double[])(object)p, (double[])(object)g, (double[])(object)m, (double[])(object)v,
                    double.CreateTruncating(lr), double.CreateTruncating(b1), double.CreateTruncating(b2), double.CreateTruncating(eps), double.CreateTruncating(wd), decoupled, step);
        }
    }

    [Test]
    public void LargeKernels_SplitOverTwoThreads_GiveTheOneThreadBits()
    {
        // Adam over >= 64k parameters and BCE row sums over >= 32k elements split over the GEMM threads; every element
        // (and every row sum) is computed by one thread in one order, so the bits equal the one-thread run's.
        int saved = CpuThreads.Max;
        try
        {
            var rng = new Random(5);
            int n = 65536 + 37;
            var p0 = RandomArray<float>(rng, n, r => r.NextDouble() * 2 - 1);
            var grads = Enumerable.Range(0, 3).Select(_ => RandomArray<float>(rng, n, r => (r.NextDouble() - 0.5) * 1e-2)).ToArray();
            float[] RunAdam(int threads)
            {
                CpuThreads.Max = threads;
                var (p, m, v) = ((float[])p0.Clone(), new float[n], new float[n]);
                for (int step = 1; step <= 3; step++) Fused.AdamUpdate(p, grads[step - 1], m, v, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, true, step);
                return p.Concat(m).Concat(v).ToArray();
            }
            var (pr, mr, vr) = ((float[])p0.Clone(), new float[n], new float[n]);
            for (int step = 1; step <= 3; step++) ReferenceFused.AdamUpdate<float>(pr, grads[step - 1], mr, vr, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, true, step);
            var two = RunAdam(2);
            Assert.That(two, Is.EqualTo(RunAdam(1)), "Adam, two threads vs one");
            Assert.That(two, Is.EqualTo(pr.Concat(mr).Concat(vr).ToArray()), "Adam, two threads vs the reference");

            foreach (var (rows, cols) in new[] { (129, 784), (1301, 33), (3, 20000) })
            {
                var logits = RandomArray<float>(rng, rows * cols, r => r.NextDouble() * 16 - 8);
                var targets = RandomArray<float>(rng, rows * cols, r => r.Next(2));
                var o1 = new float[rows]; var o2 = new float[rows];
                CpuThreads.Max = 1;
                Fused.BceWithLogitsRowSum(logits, targets, o1, rows, cols);
                CpuThreads.Max = 2;
                Fused.BceWithLogitsRowSum(logits, targets, o2, rows, cols);
                Assert.That(o2, Is.EqualTo(o1), $"BCE rows {rows} x {cols}");
            }
        }
        finally
        {
            CpuThreads.Max = saved;
        }
    }

    [Test]
    public void Adam_MatchesThePapersFormula([Values] bool decoupled)
    {
        // The hoisted form equals p -= lr m_hat / (sqrt(v_hat) + eps) + lr wd p (AdamW) or Adam on g + wd p (L2).
        const int n = 257;
        var rng = new Random(9);
        double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
        var p = Enumerable.Range(0, n).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        var pe = (double[])p.Clone();
        var m = new double[n]; var v = new double[n]; var me = new double[n]; var ve = new double[n];
        for (int t = 1; t <= 10; t++)
        {
            var g = Enumerable.Range(0, n).Select(_ => rng.NextDouble() - 0.5).ToArray();
            Fused.AdamUpdate(p, g, m, v, lr, b1, b2, eps, wd, decoupled, t);
            for (int i = 0; i < n; i++)
            {
                double gi = decoupled ? g[i] : g[i] + wd * pe[i];
                me[i] = b1 * me[i] + (1 - b1) * gi;
                ve[i] = b2 * ve[i] + (1 - b2) * gi * gi;
                double mhat = me[i] / (1 - Math.Pow(b1, t)), vhat = ve[i] / (1 - Math.Pow(b2, t));
                pe[i] -= lr * mhat / (Math.Sqrt(vhat) + eps) + (decoupled ? lr * wd * pe[i] : 0);
            }
        }
        for (int i = 0; i < n; i++) Assert.That(p[i], Is.EqualTo(pe[i]).Within(1e-12));
    }

    // ------------------------------------------------------------------ argument checks

    [Test]
    public void Arguments_AreValidated()
    {
        var ex = Assert.Throws<ArgumentException>(() => Fused.BceWithLogitsRowSum(new float[6], new float[5], new float[2], 2, 3));
        Assert.That(ex!.ParamName, Is.EqualTo("targets"));
        Assert.That(ex.Message, Does.Contain("5").And.Contain("6"));
        ex = Assert.Throws<ArgumentException>(() => Fused.BceWithLogitsRowSum(new double[6], new double[6], new double[3], 2, 3));
        Assert.That(ex!.ParamName, Is.EqualTo("outRows"));
        ex = Assert.Throws<ArgumentException>(() => Fused.GaussianLogDensityRows(new float[6], new float[6], new float[7], new float[2], 2, 3));
        Assert.That(ex!.ParamName, Is.EqualTo("logvar"));
        ex = Assert.Throws<ArgumentException>(() => Fused.AdamUpdate(new float[4], new float[4], new float[4], new float[5], 1f, 0.9f, 0.999f, 1e-8f, 0f, true, 1));
        Assert.That(ex!.ParamName, Is.EqualTo("v"));
        Assert.Throws<ArgumentOutOfRangeException>(() => Fused.AdamUpdate(new float[4], new float[4], new float[4], new float[4], 1f, 0.9f, 0.999f, 1e-8f, 0f, true, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Fused.BceWithLogitsRowSum(new float[6], new float[6], new float[2], -2, -3));
        // Overlap of an output with an input is rejected.
        var buf = new float[10];
        ex = Assert.Throws<ArgumentException>(() => Fused.BceWithLogitsRowSum(buf.AsSpan(0, 6), buf.AsSpan(4, 6), buf.AsSpan(2, 2), 2, 3));
        Assert.That(ex!.ParamName, Is.EqualTo("outRows"));
        ex = Assert.Throws<ArgumentException>(() => Fused.AdamUpdate(buf.AsSpan(0, 4), new float[4], buf.AsSpan(4, 4), buf.AsSpan(2, 4), 1f, 0.9f, 0.999f, 1e-8f, 0f, true, 1));
        Assert.That(ex!.ParamName, Is.EqualTo("param"));
    }

    [Test]
    public void RowLosses_OfRowsWithNoColumns_AreZero([Values] Path path)
    {
        // Every row sum is written, as the empty sum 0 (the outputs start as NaN), on every path as in the twin.
        using var _ = Force(path);
        foreach (Loss loss in Enum.GetValues<Loss>())
        {
            var e = new[] { float.NaN, float.NaN, float.NaN }; var o = (float[])e.Clone();
            ComputeRows(loss, Array.Empty<float>(), Array.Empty<float>(), Array.Empty<float>(), e, 3, 0, reference: true);
            ComputeRows(loss, Array.Empty<float>(), Array.Empty<float>(), Array.Empty<float>(), o, 3, 0, reference: false);
            Assert.That(o, Is.EqualTo(new float[3]), $"{loss} {path}");
            Assert.That(e, Is.EqualTo(new float[3]), $"{loss} reference");
        }
    }

    // ------------------------------------------------------------------ the vector exp/log underneath

    [Test]
    public void VectorExpAndLog_AreWithinOneUlp_Float()
    {
        int worstExp = 0, worstLog = 0;
        var rng = new Random(123);
        var xs = new float[16];
        for (int it = 0; it < 40_000; it++)
        {
            for (int j = 0; j < 16; j++) xs[j] = (float)(rng.NextDouble() * 200 - 105);
            var e = VectorMath.Exp(Vector512.Create(xs));
            for (int j = 0; j < 16; j++) worstExp = Math.Max(worstExp, UlpDistance(e[j], (float)Math.Exp(xs[j])));
            // log over all binades, subnormals included.
            for (int j = 0; j < 16; j++) xs[j] = BitConverter.Int32BitsToSingle(rng.Next(1, 0x7F800000));
            var l = VectorMath.Log(Vector512.Create(xs));
            for (int j = 0; j < 16; j++) worstLog = Math.Max(worstLog, UlpDistance(l[j], (float)Math.Log(xs[j])));
        }
        TestContext.Out.WriteLine($"float exp worst {worstExp} ulp, log worst {worstLog} ulp");
        Assert.That(worstExp, Is.LessThanOrEqualTo(1));
        Assert.That(worstLog, Is.LessThanOrEqualTo(1));
        // Special values.
        var s = Vector512.Create(new[] { 0f, -0f, 1f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, 88.72f, 89f, -87.3f, -103.9f, -104f, -200f, 1e-45f, -1f, 2f, 0.5f });
        var es = VectorMath.Exp(s);
        Assert.That(es[0], Is.EqualTo(1f)); Assert.That(es[1], Is.EqualTo(1f)); Assert.That(es[2], Is.EqualTo(MathF.E));
        Assert.That(float.IsNaN(es[3])); Assert.That(es[4], Is.EqualTo(float.PositiveInfinity)); Assert.That(es[5], Is.EqualTo(0f));
        Assert.That(es[7], Is.EqualTo(float.PositiveInfinity)); Assert.That(es[11], Is.EqualTo(0f));
        Assert.That(UlpDistance(es[8], (float)Math.Exp(s[8])), Is.LessThanOrEqualTo(1), "subnormal result");
        Assert.That(UlpDistance(es[9], (float)Math.Exp(s[9])), Is.LessThanOrEqualTo(1), "deep subnormal result");
        var ls = VectorMath.Log(s);
        Assert.That(ls[0], Is.EqualTo(float.NegativeInfinity)); Assert.That(ls[1], Is.EqualTo(float.NegativeInfinity));
        Assert.That(ls[2], Is.EqualTo(0f)); Assert.That(float.IsNaN(ls[3])); Assert.That(ls[4], Is.EqualTo(float.PositiveInfinity));
        Assert.That(float.IsNaN(ls[5])); Assert.That(float.IsNaN(ls[13]));
        Assert.That(UlpDistance(ls[12], (float)Math.Log(s[12])), Is.LessThanOrEqualTo(1));
    }

    [Test]
    public void VectorExpAndLog_AreWithinTwoUlpOfTheRuntime_Double()
    {
        // Math.Exp/Log are themselves within 1 ulp (glibc), so 2 ulps of them bounds ours at about 1.
        long worstExp = 0, worstLog = 0;
        var rng = new Random(321);
        var xs = new double[8];
        for (int it = 0; it < 40_000; it++)
        {
            for (int j = 0; j < 8; j++) xs[j] = rng.NextDouble() * 1500 - 750;
            var e = VectorMath.Exp(Vector512.Create(xs));
            for (int j = 0; j < 8; j++) worstExp = Math.Max(worstExp, UlpDistance(e[j], Math.Exp(xs[j])));
            for (int j = 0; j < 8; j++) xs[j] = BitConverter.Int64BitsToDouble(rng.NextInt64(1, 0x7FF0000000000000));
            var l = VectorMath.Log(Vector512.Create(xs));
            for (int j = 0; j < 8; j++) worstLog = Math.Max(worstLog, UlpDistance(l[j], Math.Log(xs[j])));
        }
        TestContext.Out.WriteLine($"double exp worst {worstExp} ulp, log worst {worstLog} ulp (vs Math)");
        Assert.That(worstExp, Is.LessThanOrEqualTo(2));
        Assert.That(worstLog, Is.LessThanOrEqualTo(2));
        var s = Vector512.Create(0.0, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 709.78, 710.0, -745.0, 5e-324);
        var es = VectorMath.Exp(s);
        Assert.That(es[0], Is.EqualTo(1.0)); Assert.That(double.IsNaN(es[1])); Assert.That(es[2], Is.EqualTo(double.PositiveInfinity));
        Assert.That(es[3], Is.EqualTo(0.0)); Assert.That(UlpDistance(es[4], Math.Exp(709.78)), Is.LessThanOrEqualTo(2));
        Assert.That(es[5], Is.EqualTo(double.PositiveInfinity)); Assert.That(es[6], Is.EqualTo(Math.Exp(-745.0)));
        var ls = VectorMath.Log(s);
        Assert.That(ls[0], Is.EqualTo(double.NegativeInfinity)); Assert.That(double.IsNaN(ls[1])); Assert.That(ls[2], Is.EqualTo(double.PositiveInfinity));
        Assert.That(double.IsNaN(ls[3])); Assert.That(UlpDistance(ls[7], Math.Log(5e-324)), Is.LessThanOrEqualTo(1));
    }

    private static int UlpDistance(float a, float b)
    {
        if (a == b) return 0;
        if (float.IsNaN(a) || float.IsNaN(b)) return int.MaxValue;
        long ia = BitConverter.SingleToInt32Bits(a), ib = BitConverter.SingleToInt32Bits(b);
        if (ia < 0) ia = int.MinValue - ia;
        if (ib < 0) ib = int.MinValue - ib;
        return (int)Math.Min(int.MaxValue, Math.Abs(ia - ib));
    }

    private static long UlpDistance(double a, double b)
    {
        if (a == b) return 0;
        if (double.IsNaN(a) || double.IsNaN(b)) return long.MaxValue;
        long ia = BitConverter.DoubleToInt64Bits(a), ib = BitConverter.DoubleToInt64Bits(b);
        if (ia < 0) ia = long.MinValue - ia;
        if (ib < 0) ib = long.MinValue - ib;
        return Math.Abs(ia - ib);
    }
}

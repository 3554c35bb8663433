using System.Numerics;
using Engine.Kernels.Cpu;
using Engine.Kernels.Reference;

namespace Engine.Tests.Kernels;

/// <summary>
/// The axis kernels (<see cref="Axis"/>: reductions, softmax, log-softmax, their backward rules, block copies)
/// against their scalar twins in <see cref="ReferenceAxis"/>: float and double, every vector path, on
/// [outer, n, inner] views with n over every vector tail (n = 1 and odd included) and inner = 1 (rows) and &gt; 1
/// (columns, including more than one 256-column block), and on rows of special values: all -inf, a +inf, a NaN,
/// huge values (1e30, 3e38), subnormals.
/// </summary>
public class AxisKernelTests
{
    private static readonly int[] Inner = { 1, 2, 7, 17, 260 };
    private static readonly int[] Outer = { 1, 2 };

    private static IEnumerable<(int Outer, int N, int Inner)> Shapes()
    {
        foreach (int inner in Inner)
            foreach (int n in KernelCheck.Lengths)
                foreach (int outer in Outer)
                    if (inner < 100 || n % 2 == 1 || n == 0) // keep the wide-column cases small
                        yield return (outer, n, inner);
    }

    /// <summary>x[o, j, i]: each line along j (one (o, i)) is of one kind: mostly moderate values, and sometimes
    /// all -inf, some -inf, a +inf, a NaN, huge values (around 1e30 or near the top of the range), subnormals, or
    /// moderate values with random special entries.</summary>
    private static T[] AxisData<T>(Random rng, int outer, int n, int inner) where T : IFloatingPointIeee754<T>
    {
        var x = new T[outer * n * inner];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int kind = rng.Next(20);
                for (int j = 0; j < n; j++)
                {
                    double u = rng.NextDouble() * 12 - 6;
                    T v = kind switch
                    {
                        0 => T.NegativeInfinity,
                        1 => rng.Next(3) == 0 ? T.NegativeInfinity : T.CreateTruncating(u),
                        2 => j == n / 2 ? T.PositiveInfinity : T.CreateTruncating(u),
                        3 => j == n - 1 ? T.NaN : T.CreateTruncating(u),
                        4 => T.CreateTruncating(1e30 * (1 + 0.1 * u)),
                        5 => KernelCheck.Huge<T>() * T.CreateTruncating(rng.NextDouble() < 0.5 ? 1 : 0.99),
                        6 => KernelCheck.Denormal<T>() * T.CreateTruncating(u),
                        7 => KernelCheck.Random<T>(rng, 1)[0],
                        8 => T.CreateTruncating(u * 30),
                        _ => T.CreateTruncating(u),
                    };
                    x[(o * n + j) * inner + i] = v;
                }
            }
        return x;
    }

    private static string Ctx<T>(string what, (int Outer, int N, int Inner) s, SimdPath path) => $"{what} {typeof(T).Name} [{s.Outer}, {s.N}, {s.Inner}] {path}";

    // Sum of |x| along j for each (o, i).
    private static double[] AbsSum<T>(ReadOnlySpan<T> x, int outer, int n, int inner) where T : IFloatingPointIeee754<T>
    {
        var r = new double[outer * inner];
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < n; j++)
                for (int i = 0; i < inner; i++)
                    r[o * inner + i] += Math.Abs(double.CreateTruncating(x[(o * n + j) * inner + i]));
        return r;
    }

    [Test]
    public void Reduce_MatchesTwin([Values] ReduceOp op, [Values] SimdPath path)
    {
        Reduce<float>(op, path);
        Reduce<double>(op, path);
    }

    private static void Reduce<T>(ReduceOp op, SimdPath path) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(100 + (int)op);
        foreach (var s in Shapes())
        {
            var x = AxisData<T>(rng, s.Outer, s.N, s.Inner);
            var expected = new T[s.Outer * s.Inner];
            var actual = new T[s.Outer * s.Inner];
            ReferenceAxis.Reduce<T>(op, x, s.Outer, s.N, s.Inner, expected);
            using (KernelCheck.Force(path))
                Axis.Reduce<T>(op, x, s.Outer, s.N, s.Inner, actual);
            string ctx = Ctx<T>($"Reduce {op}", s, path);
            switch (op)
            {
                case ReduceOp.Max:
                    KernelCheck.Exact<T>(expected, actual, ctx);
                    break;
                case ReduceOp.Sum:
                case ReduceOp.Mean:
                {
                    // A reordered sum: within (n + 16) eps of the sum of magnitudes (/ n for the mean).
                    var scale = AbsSum<T>(x, s.Outer, s.N, s.Inner);
                    if (op == ReduceOp.Mean) for (int k = 0; k < scale.Length; k++) scale[k] /= Math.Max(1, s.N);
                    KernelCheck.Close<T>(expected, actual, s.N + 16, ctx, scale);
                    break;
                }
                default:
                {
                    // m + ln s: a reordered s is off by (n + 4) eps relative, so ln s by that much absolutely.
                    var scale = new double[expected.Length];
                    for (int k = 0; k < scale.Length; k++) scale[k] = (s.N + 4) / 8.0;
                    KernelCheck.Close<T>(expected, actual, 8, ctx, scale);
                    break;
                }
            }
        }
    }

    [Test]
    public void LogSumExp_Row_MatchesTwin([Values] SimdPath path)
    {
        var rng = new Random(7);
        foreach (int n in KernelCheck.Lengths)
        {
            var x = AxisData<float>(rng, 1, n, 1);
            float e = ReferenceAxis.LogSumExp<float>(x);
            float a;
            using (KernelCheck.Force(path)) a = Axis.LogSumExp<float>(x);
            KernelCheck.Close<float>(new[] { e }, new[] { a }, 8, $"LogSumExp n={n} {path}", new[] { (n + 4) / 8.0 });
        }
    }

    [Test]
    public void Normalize_MatchesTwin([Values] NormalizeOp op, [Values] SimdPath path)
    {
        Normalize<float>(op, path);
        Normalize<double>(op, path);
    }

    private static void Normalize<T>(NormalizeOp op, SimdPath path) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(200 + (int)op);
        foreach (var s in Shapes())
        {
            var x = AxisData<T>(rng, s.Outer, s.N, s.Inner);
            var expected = new T[x.Length];
            var actual = new T[x.Length];
            ReferenceAxis.Normalize<T>(op, x, s.Outer, s.N, s.Inner, expected);
            var inPlace = (T[])x.Clone();
            using (KernelCheck.Force(path))
            {
                Axis.Normalize<T>(op, x, s.Outer, s.N, s.Inner, actual);
                Axis.Normalize<T>(op, inPlace, s.Outer, s.N, s.Inner, inPlace);
            }
            string ctx = Ctx<T>($"Normalize {op}", s, path);
            if (op == NormalizeOp.Softmax)
            {
                // e^(x - m) / s: the exp and the division round, and a reordered s is off by (n + 4) eps relative.
                KernelCheck.Close<T>(expected, actual, s.N + 8, ctx);
            }
            else
            {
                // (x - m) - ln s: x - m rounds identically on both sides; ln s is off by (n + 4) eps absolutely.
                var scale = new double[x.Length];
                for (int k = 0; k < scale.Length; k++) scale[k] = (s.N + 4) / 8.0;
                KernelCheck.Close<T>(expected, actual, 8, ctx, scale);
            }
            KernelCheck.Exact<T>(actual, inPlace, ctx + " in place");
        }
    }

    [Test]
    public void ReduceBackward_MatchesTwin([Values] ReduceOp op, [Values] SimdPath path)
    {
        ReduceBackward<float>(op, path);
        ReduceBackward<double>(op, path);
    }

    private static void ReduceBackward<T>(ReduceOp op, SimdPath path) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(300 + (int)op);
        foreach (var s in Shapes())
        {
            var x = AxisData<T>(rng, s.Outer, s.N, s.Inner);
            var y = new T[s.Outer * s.Inner];
            ReferenceAxis.Reduce<T>(op, x, s.Outer, s.N, s.Inner, y);
            var dy = KernelCheck.Random<T>(rng, y.Length, specials: rng.Next(3) == 0);
            var dx0 = KernelCheck.Random<T>(rng, x.Length, specials: false);
            var expected = (T[])dx0.Clone();
            var actual = (T[])dx0.Clone();
            ReferenceAxis.ReduceBackward<T>(op, x, y, dy, expected, s.Outer, s.N, s.Inner);
            using (KernelCheck.Force(path))
                Axis.ReduceBackward<T>(op, x, y, dy, actual, s.Outer, s.N, s.Inner);
            string ctx = Ctx<T>($"ReduceBackward {op}", s, path);
            if (op != ReduceOp.LogSumExp) KernelCheck.Exact<T>(expected, actual, ctx);
            else
            {
                // dx + dy e^(x - y), e^(x - y) <= 1 for a finite y: rounding relative to |dx| + |dy|.
                var scale = new double[x.Length];
                for (int o = 0; o < s.Outer; o++)
                    for (int j = 0; j < s.N; j++)
                        for (int i = 0; i < s.Inner; i++)
                        {
                            int k = (o * s.N + j) * s.Inner + i;
                            scale[k] = Math.Abs(double.CreateTruncating(dx0[k])) + Math.Abs(double.CreateTruncating(dy[o * s.Inner + i]));
                        }
                KernelCheck.Close<T>(expected, actual, 8, ctx, scale);
            }
        }
    }

    [Test]
    public void NormalizeBackward_MatchesTwin([Values] NormalizeOp op, [Values] SimdPath path)
    {
        NormalizeBackward<float>(op, path);
        NormalizeBackward<double>(op, path);
    }

    private static void NormalizeBackward<T>(NormalizeOp op, SimdPath path) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(400 + (int)op);
        foreach (var s in Shapes())
        {
            var x = AxisData<T>(rng, s.Outer, s.N, s.Inner);
            var y = new T[x.Length];
            ReferenceAxis.Normalize<T>(op, x, s.Outer, s.N, s.Inner, y);
            var dy = KernelCheck.Random<T>(rng, x.Length, specials: rng.Next(4) == 0);
            var dx0 = KernelCheck.Random<T>(rng, x.Length, specials: false);
            var expected = (T[])dx0.Clone();
            var actual = (T[])dx0.Clone();
            ReferenceAxis.NormalizeBackward<T>(op, y, dy, expected, s.Outer, s.N, s.Inner);
            using (KernelCheck.Force(path))
                Axis.NormalizeBackward<T>(op, y, dy, actual, s.Outer, s.N, s.Inner);
            // The line sum s (of dy y, or of dy) is reordered: off by (n + 16) eps sum|terms|, which the result
            // carries times y (softmax) or e^y (log-softmax); the rest rounds relative to |dx| + |dy| (+ |e^y s|).
            var terms = new T[x.Length];
            for (int k = 0; k < terms.Length; k++) terms[k] = op == NormalizeOp.Softmax ? dy[k] * y[k] : dy[k];
            var lineAbs = AbsSum<T>(terms, s.Outer, s.N, s.Inner);
            var scale = new double[x.Length];
            for (int o = 0; o < s.Outer; o++)
                for (int j = 0; j < s.N; j++)
                    for (int i = 0; i < s.Inner; i++)
                    {
                        int k = (o * s.N + j) * s.Inner + i;
                        double yk = double.CreateTruncating(y[k]);
                        double w = op == NormalizeOp.Softmax ? Math.Abs(yk) : Math.Exp(yk);
                        scale[k] = Math.Abs(double.CreateTruncating(dx0[k])) + Math.Abs(double.CreateTruncating(dy[k])) * (1 + Math.Abs(yk))
                                   + w * lineAbs[o * s.Inner + i] * (s.N + 16) / 8.0;
                    }
            KernelCheck.Close<T>(expected, actual, 8, Ctx<T>($"NormalizeBackward {op}", s, path), scale);
        }
    }

    [Test]
    public void CopyBlock_MatchesTwin([Values] bool intoBig, [Values] bool accumulate)
    {
        var rng = new Random(500);
        foreach (int inner in new[] { 1, 3, 17 })
            foreach (int nSmall in new[] { 0, 1, 7, 16, 33 })
                foreach (int outer in Outer)
                {
                    int nBig = nSmall + 5, start = rng.Next(6);
                    var small0 = KernelCheck.Random<double>(rng, outer * nSmall * inner);
                    var big0 = KernelCheck.Random<double>(rng, outer * nBig * inner);
                    double[] se = (double[])small0.Clone(), be = (double[])big0.Clone(), sa = (double[])small0.Clone(), ba = (double[])big0.Clone();
                    ReferenceAxis.CopyBlock<double>(se, nSmall, be, nBig, start, outer, inner, intoBig, accumulate);
                    Axis.CopyBlock<double>(sa, nSmall, ba, nBig, start, outer, inner, intoBig, accumulate);
                    string ctx = $"CopyBlock [{outer}, {nSmall}/{nBig}@{start}, {inner}] intoBig={intoBig} acc={accumulate}";
                    KernelCheck.Exact<double>(se, sa, ctx + " small");
                    KernelCheck.Exact<double>(be, ba, ctx + " big");
                }
        Assert.Throws<ArgumentOutOfRangeException>(() => Axis.CopyBlock<float>(new float[4], 2, new float[6], 3, 2, 2, 1, true, false));
    }

    // ---------------------------------------------------------------- documented special values, as values

    [Test]
    public void SpecialRows_FollowTheConventions([Values] SimdPath path, [Values(1, 3)] int inner)
    {
        SpecialRows<float>(path, inner);
        SpecialRows<double>(path, inner);
    }

    private static void SpecialRows<T>(SimdPath path, int inner) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T ninf = T.NegativeInfinity, pinf = T.PositiveInfinity, huge = KernelCheck.Huge<T>(), big = T.CreateTruncating(1e30);
        T[][] rows =
        {
            new[] { ninf, ninf, ninf },                 // 0: all -inf
            new[] { T.One, pinf, T.Zero },              // 1: a +inf
            new[] { T.One, T.NaN, T.Zero },             // 2: a NaN
            new[] { huge, huge, huge },                 // 3: huge
            new[] { big, T.Zero, -big },                // 4: 1e30 spread
            new[] { ninf, T.Zero, ninf },               // 5: one finite among -inf
            new[] { KernelCheck.Denormal<T>(), T.Zero, -KernelCheck.Denormal<T>() }, // 6: subnormals
        };
        int n = 3, outer = rows.Length;
        // Lay each row out along the middle axis, repeated over `inner` columns.
        var x = new T[outer * n * inner];
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < n; j++)
                for (int i = 0; i < inner; i++)
                    x[(o * n + j) * inner + i] = rows[o][j];
        var lse = new T[outer * inner];
        var sm = new T[x.Length];
        var lsm = new T[x.Length];
        using (KernelCheck.Force(path))
        {
            Axis.Reduce<T>(ReduceOp.LogSumExp, x, outer, n, inner, lse);
            Axis.Normalize<T>(NormalizeOp.Softmax, x, outer, n, inner, sm);
            Axis.Normalize<T>(NormalizeOp.LogSoftmax, x, outer, n, inner, lsm);
        }
        T L(int o) => lse[o * inner + inner - 1];
        T S(T[] v, int o, int j) => v[(o * n + j) * inner + inner - 1];
        string ctx = $"{typeof(T).Name} inner={inner} {path}";
        Assert.That(L(0), Is.EqualTo(ninf), "logsumexp of -inf row " + ctx);
        Assert.That(L(1), Is.EqualTo(pinf), "logsumexp with +inf " + ctx);
        Assert.That(T.IsNaN(L(2)), "logsumexp with NaN " + ctx);
        Assert.That(T.IsFinite(L(3)) && L(3) >= huge, $"logsumexp of huge row {L(3)} " + ctx);
        Assert.That(L(4), Is.EqualTo(big), "logsumexp of 1e30 spread " + ctx);
        Assert.That(L(5), Is.EqualTo(T.Zero), "logsumexp of one finite among -inf " + ctx);
        Assert.That(double.CreateTruncating(L(6)), Is.EqualTo(Math.Log(3)).Within(1e-6), "logsumexp of subnormals " + ctx);
        for (int j = 0; j < n; j++)
        {
            Assert.That(T.IsNaN(S(sm, 0, j)) && T.IsNaN(S(lsm, 0, j)), "softmax of -inf row is NaN " + ctx);
            Assert.That(T.IsNaN(S(sm, 1, j)) && T.IsNaN(S(lsm, 1, j)), "softmax with +inf is NaN " + ctx);
            Assert.That(T.IsNaN(S(sm, 2, j)), "softmax with NaN is NaN " + ctx);
            Assert.That(double.CreateTruncating(S(sm, 3, j)), Is.EqualTo(1.0 / 3).Within(1e-6), "softmax of huge row " + ctx);
            Assert.That(double.CreateTruncating(S(lsm, 3, j)), Is.EqualTo(-Math.Log(3)).Within(1e-6), "log-softmax of huge row " + ctx);
            Assert.That(double.CreateTruncating(S(sm, 6, j)), Is.EqualTo(1.0 / 3).Within(1e-6), "softmax of subnormals " + ctx);
        }
        Assert.That(S(sm, 4, 0), Is.EqualTo(T.One)); Assert.That(S(sm, 4, 1), Is.EqualTo(T.Zero));
        Assert.That(S(lsm, 4, 0), Is.EqualTo(T.Zero)); Assert.That(S(lsm, 4, 1), Is.EqualTo(-big)); Assert.That(S(lsm, 4, 2), Is.EqualTo(-(big + big)));
        Assert.That(S(sm, 5, 1), Is.EqualTo(T.One)); Assert.That(S(sm, 5, 0), Is.EqualTo(T.Zero)); Assert.That(S(lsm, 5, 0), Is.EqualTo(ninf));

        // Empty axis: sum 0, mean NaN, max and logsumexp -inf.
        var y = new T[inner];
        using (KernelCheck.Force(path))
        {
            Axis.Reduce<T>(ReduceOp.Sum, Array.Empty<T>(), 1, 0, inner, y); Assert.That(y[0], Is.EqualTo(T.Zero));
            Axis.Reduce<T>(ReduceOp.Mean, Array.Empty<T>(), 1, 0, inner, y); Assert.That(T.IsNaN(y[0]));
            Axis.Reduce<T>(ReduceOp.Max, Array.Empty<T>(), 1, 0, inner, y); Assert.That(y[0], Is.EqualTo(ninf));
            Axis.Reduce<T>(ReduceOp.LogSumExp, Array.Empty<T>(), 1, 0, inner, y); Assert.That(y[0], Is.EqualTo(ninf));
        }
    }

    [Test]
    public void RejectsBadViews()
    {
        Assert.Throws<ArgumentException>(() => Axis.Reduce<float>(ReduceOp.Sum, new float[5], 2, 3, 1, new float[2]));
        Assert.Throws<ArgumentException>(() => Axis.Reduce<float>(ReduceOp.Sum, new float[6], 2, 3, 1, new float[1]));
        Assert.Throws<ArgumentException>(() => Axis.Normalize<float>(NormalizeOp.Softmax, new float[6], 2, 3, 1, new float[5]));
    }
}

using System.Numerics;
using Engine.Kernels.Cpu;
using Engine.Kernels.Reference;
using Engine.Kernels.Rules;

namespace Engine.Tests.Kernels;

/// <summary>Which code path a kernel test forces (Simd's thread-local override; a path wider than the
/// hardware runs the hardware's).</summary>
public enum SimdPath { Scalar, V256, V512 }

/// <summary>Random data with special values, and the comparisons the kernel property tests share.</summary>
internal static class KernelCheck
{
    /// <summary>Vector lengths that hit every tail of 256- and 512-bit vectors of floats and doubles.</summary>
    public static readonly int[] Lengths = { 0, 1, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100 };

    public static Simd.Scope Force(SimdPath p) => Simd.Force(p switch
    {
        SimdPath.Scalar => Simd.Level.Scalar,
        SimdPath.V256 => Simd.Level.V256,
        _ => Simd.Level.V512,
    });

    public static bool IsFloat<T>() => typeof(T) == typeof(float);
    public static double Eps<T>() => IsFloat<T>() ? Math.Pow(2, -23) : Math.Pow(2, -52);
    /// <summary>A few units of the smallest subnormal: the absolute slack for results that underflow.</summary>
    public static double Tiny<T>() => IsFloat<T>() ? 8 * (double)float.Epsilon : 8 * double.Epsilon;
    /// <summary>A subnormal input (1e-40f; 1e-310).</summary>
    public static T Denormal<T>() where T : IFloatingPointIeee754<T> => T.CreateTruncating(IsFloat<T>() ? 1e-40 : 1e-310);
    /// <summary>A value near the top of the range (3e38f; 1e300).</summary>
    public static T Huge<T>() where T : IFloatingPointIeee754<T> => T.CreateTruncating(IsFloat<T>() ? 3e38 : 1e300);

    /// <summary>
    /// Moderate values, large ones (saturation of exp-based functions), tiny ones, and with <paramref name="specials"/>
    /// a sprinkling of subnormals, NaN, +-Inf, +-0 and huge values. <paramref name="positive"/> makes 85% of the
    /// draws positive (for log, sqrt, pow).
    /// </summary>
    public static T[] Random<T>(Random rng, int n, bool specials = true, bool positive = false, bool huge = true) where T : IFloatingPointIeee754<T>
    {
        var a = new T[n];
        for (int i = 0; i < n; i++)
        {
            double u = rng.NextDouble(), v;
            T t;
            if (u < 0.65) v = rng.NextDouble() * 12 - 6;
            else if (u < 0.78) v = rng.NextDouble() * 200 - 100;
            else if (u < 0.86 || !specials) v = (rng.NextDouble() - 0.5) * Math.Pow(10, -rng.Next(2, 9));
            else
            {
                t = u switch
                {
                    < 0.88 => Denormal<T>(),
                    < 0.90 => T.NaN,
                    < 0.92 => T.PositiveInfinity,
                    < 0.94 => T.NegativeInfinity,
                    < 0.96 => T.Zero,
                    < 0.98 => T.CreateTruncating(huge ? 1e30 : 1e3),
                    _ => huge ? Huge<T>() : T.CreateTruncating(1e4),
                };
                if (rng.Next(2) == 0 && !T.IsNaN(t)) t = -t;
                a[i] = positive && rng.NextDouble() < 0.85 ? T.Abs(t) : t;
                continue;
            }
            if (positive && rng.NextDouble() < 0.85) v = Math.Abs(v);
            a[i] = T.CreateTruncating(v);
        }
        return a;
    }

    /// <summary>Bit-for-bit equality (any NaN matches any NaN).</summary>
    public static void Exact<T>(ReadOnlySpan<T> expected, ReadOnlySpan<T> actual, string context) where T : IFloatingPointIeee754<T>
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), context);
        for (int i = 0; i < expected.Length; i++)
        {
            T e = expected[i], a = actual[i];
            bool ok = T.IsNaN(e) ? T.IsNaN(a) : e.Equals(a) && T.IsNegative(e) == T.IsNegative(a);
            if (!ok) Assert.Fail($"{context}: element {i} of {expected.Length}: expected {e}, got {a}");
        }
    }

    /// <summary>
    /// NaN where the reference is NaN, equal infinities, and otherwise |a - e| &lt;= ulps eps max(|e|, scale[i]) + tiny:
    /// <paramref name="scale"/> is the magnitude of the terms that were rounded, where that exceeds the result (sums
    /// with cancellation), else null.
    /// </summary>
    public static void Close<T>(ReadOnlySpan<T> expected, ReadOnlySpan<T> actual, double ulps, string context, double[]? scale = null)
        where T : IFloatingPointIeee754<T>
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), context);
        double eps = Eps<T>(), tiny = Tiny<T>();
        for (int i = 0; i < expected.Length; i++)
        {
            double e = double.CreateTruncating(expected[i]), a = double.CreateTruncating(actual[i]);
            double sc = scale is null || !double.IsFinite(scale[i]) ? 0 : scale[i];
            double mag = Math.Max(Math.Abs(e), sc);
            bool ok = a == e || double.IsNaN(e) ? double.IsNaN(a) || a == e
                : double.IsInfinity(e) ? a == e
                : double.IsFinite(a) && Math.Abs(a - e) <= ulps * eps * mag + tiny;
            if (!ok)
                Assert.Fail($"{context}: element {i} of {expected.Length}: expected {e:R}, got {a:R} " +
                            $"(off by {Math.Abs(a - e) / (eps * Math.Max(mag, 1e-300)):G3} eps of {mag:G3})");
        }
    }

    public static double[] Abs<T>(ReadOnlySpan<T> v) where T : IFloatingPointIeee754<T>
    {
        var r = new double[v.Length];
        for (int i = 0; i < v.Length; i++) r[i] = Math.Abs(double.CreateTruncating(v[i]));
        return r;
    }

    /// <summary>Row-major strides of <paramref name="opShape"/> broadcast (NumPy rules, right-aligned) to
    /// <paramref name="outShape"/>: 0 on broadcast dimensions.</summary>
    public static int[] BroadcastStrides(int[] outShape, int[] opShape)
    {
        var s = new int[outShape.Length];
        int stride = 1;
        for (int d = opShape.Length - 1; d >= 0; d--)
        {
            int od = d + outShape.Length - opShape.Length;
            s[od] = opShape[d] == 1 && outShape[od] != 1 ? 0 : stride;
            stride *= opShape[d];
        }
        return s;
    }

    public static int Count(int[] shape) => shape.Aggregate(1, (a, b) => a * b);
}

/// <summary>
/// The elementwise CPU kernels (<see cref="Unary"/>, <see cref="Strided"/>, <see cref="Rows"/>,
/// <see cref="LossGradients"/>, <see cref="SgdKernel"/>) against their scalar twins in
/// <see cref="ReferenceElementwise"/>: float and double, every vector path (forced AVX-512, AVX2, scalar), lengths
/// that hit every tail, broadcasting patterns, NaN/Inf/huge/subnormal inputs. Exact operations must agree bit for
/// bit; exp/log-based ones within a few ulps.
/// </summary>
public class ElementwiseKernelTests
{
    // VectorMath's exp and log are within 1 ulp, the runtime's scalar ones within about 1; a composition (sigmoid
    // e * 1/(1 + e), Goldberg's log1p, softplus) stacks three or four roundings on each side. Measured maximum
    // over these tests: see the assertion messages; 8 leaves a margin while any formula or tail bug is far off.
    private const double Ulps = 8;

    private static readonly UnaryOp[] ExactForward =
    {
        UnaryOp.Neg, UnaryOp.Sqrt, UnaryOp.Square, UnaryOp.Abs, UnaryOp.Relu, UnaryOp.LeakyRelu, UnaryOp.Clamp,
        UnaryOp.Scale, UnaryOp.AddScalar, UnaryOp.Pow,
    };

    private static IEnumerable<(double P0, double P1)> Params(UnaryOp op) => op switch
    {
        UnaryOp.LeakyRelu => new[] { (0.1, 0.0), (0.0, 0.0) },
        UnaryOp.Pow => new[] { (2.0, 0.0), (0.5, 0.0), (3.0, 0.0), (-1.5, 0.0), (0.0, 0.0) },
        UnaryOp.Clamp => new[] { (-1.5, 2.0), (0.0, 0.0) },
        UnaryOp.Scale => new[] { (-0.75, 0.0) },
        UnaryOp.AddScalar => new[] { (0.3, 0.0) },
        _ => new[] { (0.0, 0.0) },
    };

    private static bool Positive(UnaryOp op) => op is UnaryOp.Log or UnaryOp.Sqrt or UnaryOp.Pow or UnaryOp.Log1p;

    [Test]
    public void UnaryForward_MatchesTwin([Values] UnaryOp op, [Values] SimdPath path)
    {
        UnaryForward<float>(op, path);
        UnaryForward<double>(op, path);
    }

    private static void UnaryForward<T>(UnaryOp op, SimdPath path) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(17 + (int)op);
        bool exact = ExactForward.Contains(op);
        foreach (var (p0d, p1d) in Params(op))
            foreach (int n in KernelCheck.Lengths)
            {
                T p0 = T.CreateTruncating(p0d), p1 = T.CreateTruncating(p1d);
                var x = KernelCheck.Random<T>(rng, n, positive: Positive(op));
                var expected = new T[n];
                ReferenceElementwise.UnaryForward<T>(op, x, expected, p0, p1);
                var actual = new T[n];
                var inPlace = (T[])x.Clone();
                using (KernelCheck.Force(path))
                {
                    Unary.Forward<T>(op, x, actual, p0, p1);
                    Unary.Forward<T>(op, inPlace, inPlace, p0, p1);
                }
                string ctx = $"{op}({p0d}, {p1d}) {typeof(T).Name} n={n} {path}";
                if (exact) KernelCheck.Exact<T>(expected, actual, ctx);
                else KernelCheck.Close<T>(expected, actual, Ulps, ctx);
                KernelCheck.Exact<T>(actual, inPlace, ctx + " in place");
            }
    }

    [Test]
    public void UnaryBackward_MatchesTwin([Values] UnaryOp op, [Values] SimdPath path)
    {
        UnaryBackward<float>(op, path);
        UnaryBackward<double>(op, path);
    }

    private static void UnaryBackward<T>(UnaryOp op, SimdPath path) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(31 + (int)op);
        bool exact = op is not (UnaryOp.Softplus or UnaryOp.LogSigmoid);
        foreach (var (p0d, p1d) in Params(op))
            foreach (int n in KernelCheck.Lengths)
            {
                T p0 = T.CreateTruncating(p0d), p1 = T.CreateTruncating(p1d);
                var x = KernelCheck.Random<T>(rng, n, positive: Positive(op));
                var y = new T[n];
                ReferenceElementwise.UnaryForward<T>(op, x, y, p0, p1);
                var dy = KernelCheck.Random<T>(rng, n);
                var dx0 = KernelCheck.Random<T>(rng, n, specials: rng.Next(2) == 0);
                var expected = (T[])dx0.Clone();
                ReferenceElementwise.UnaryBackwardAccumulate<T>(op, x, y, dy, expected, p0, p1);
                var actual = (T[])dx0.Clone();
                using (KernelCheck.Force(path))
                    Unary.BackwardAccumulate<T>(op, x, y, dy, actual, p0, p1);
                string ctx = $"{op}'({p0d}, {p1d}) {typeof(T).Name} n={n} {path}";
                if (exact) KernelCheck.Exact<T>(expected, actual, ctx);
                else
                {
                    // dx + dy sigmoid(.), sigmoid in [0, 1]: the rounding is relative to |dx| + |dy|.
                    var scale = new double[n];
                    for (int i = 0; i < n; i++) scale[i] = Math.Abs(double.CreateTruncating(dx0[i])) + Math.Abs(double.CreateTruncating(dy[i]));
                    KernelCheck.Close<T>(expected, actual, Ulps, ctx, scale);
                }
            }
    }

    [Test]
    public void Unary_SpecialValues_FollowTheDocumentedRules()
    {
        float inf = float.PositiveInfinity;
        float[] x = { -inf, inf, float.NaN, -0f, 0f, 1e-40f, -3f };
        var y = new float[x.Length];
        foreach (var path in new[] { SimdPath.V512, SimdPath.V256, SimdPath.Scalar })
            using (KernelCheck.Force(path))
            {
                Unary.Forward<float>(UnaryOp.Relu, x, y, 0, 0);
                Assert.That(y, Is.EqualTo(new[] { 0f, inf, float.NaN, 0f, 0f, 1e-40f, 0f }), $"relu {path}");
                Assert.That(float.IsNegative(y[3]), Is.False, "relu(-0) is +0");
                Unary.Forward<float>(UnaryOp.Softplus, x, y, 0, 0);
                Assert.That(y[0], Is.EqualTo(0f)); Assert.That(y[1], Is.EqualTo(inf)); Assert.That(y[2], Is.NaN);
                Assert.That(y[6], Is.EqualTo(MathF.Log(1 + MathF.Exp(-3f))).Within(2e-7f));
                // log1p keeps full relative accuracy near 0 (TensorPrimitives.LogP1 returns 0 there).
                float[] small = { 1e-10f, -1e-12f, 1e-40f, inf, -1f, -2f };
                var r = new float[small.Length];
                Unary.Forward<float>(UnaryOp.Log1p, small, r, 0, 0);
                Assert.That(r[0], Is.EqualTo(1e-10f).Within(1e-17f), $"log1p {path}");
                Assert.That(r[1], Is.EqualTo(-1e-12f).Within(1e-19f));
                Assert.That(r[2], Is.EqualTo(1e-40f));
                Assert.That(r[3], Is.EqualTo(inf));
                Assert.That(r[4], Is.EqualTo(-inf));
                Assert.That(r[5], Is.NaN);
                // softplus far left is e^x, not 0; log sigmoid far right is -e^-x.
                float[] far = { -30f, 30f };
                var s = new float[2];
                Unary.Forward<float>(UnaryOp.Softplus, far, s, 0, 0);
                Assert.That(s[0], Is.EqualTo(MathF.Exp(-30f)).Within(1e-6 * MathF.Exp(-30f)));
                Unary.Forward<float>(UnaryOp.LogSigmoid, far, s, 0, 0);
                Assert.That(s[1], Is.EqualTo(-MathF.Exp(-30f)).Within(1e-6 * MathF.Exp(-30f)));
                // An inactive relu passes nothing back, not even an infinite or NaN gradient.
                float[] xr = { -1f, -1f, 2f }, dyr = { inf, float.NaN, 3f }, dxr = { 1f, 1f, 1f };
                Unary.BackwardAccumulate<float>(UnaryOp.Relu, xr, new float[3], dyr, dxr, 0, 0);
                Assert.That(dxr, Is.EqualTo(new[] { 1f, 1f, 4f }), $"relu' {path}");
            }
    }

    [Test]
    public void Unary_SigmoidTanhSoftplus_KnownValues([Values] SimdPath path)
    {
        float inf = float.PositiveInfinity;
        float[] x = { 0f, 1f, -1f, 30f, -30f, -100f, 1e-30f, inf, -inf };
        var y = new float[x.Length];
        using var _ = KernelCheck.Force(path);
        Unary.Forward<float>(UnaryOp.Sigmoid, x, y, 0, 0);
        Assert.That(y[0], Is.EqualTo(0.5f), $"sigmoid(0) is exactly 1/2 {path}");
        Assert.That(y[1], Is.EqualTo(0.7310586f).Within(1e-7f));
        Assert.That(y[4], Is.EqualTo(9.357623e-14f).Within(1e-19f), "sigmoid(-30) keeps its relative accuracy");
        Assert.That(y[5], Is.EqualTo((float)(1 / (1 + Math.Exp(100)))).Within(1e-49f));
        Assert.That(y[7], Is.EqualTo(1f)); Assert.That(y[8], Is.EqualTo(0f));
        Unary.Forward<float>(UnaryOp.Tanh, x, y, 0, 0);
        Assert.That(y[0], Is.EqualTo(0f)); Assert.That(y[6], Is.EqualTo(1e-30f), $"tanh(tiny) = tiny {path}");
        Assert.That(y[3], Is.EqualTo(1f)); Assert.That(y[7], Is.EqualTo(1f)); Assert.That(y[8], Is.EqualTo(-1f));
        Unary.Forward<float>(UnaryOp.Softplus, x, y, 0, 0);
        Assert.That(y[0], Is.EqualTo(MathF.Log(2f)).Within(1e-7f));
        Assert.That(y[5], Is.EqualTo((float)Math.Exp(-100)).Within(1e-49f), $"softplus(-100) = e^-100, not 0 {path}");
        Assert.That(y[3], Is.EqualTo(30f)); Assert.That(y[7], Is.EqualTo(inf)); Assert.That(y[8], Is.EqualTo(0f));
    }

    [Test]
    public void Unary_GivesIdenticalBits_OnBothVectorWidths([Values] UnaryOp op)
    {
        if (Simd.Hardware < Simd.Level.V512) Assert.Ignore("needs AVX-512 to compare with the AVX2 path");
        UnaryWidths<float>(op);
        UnaryWidths<double>(op);
    }

    private static void UnaryWidths<T>(UnaryOp op) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(8 + (int)op);
        int n = 4 * 70;
        foreach (var (p0d, p1d) in Params(op))
        {
            T p0 = T.CreateTruncating(p0d), p1 = T.CreateTruncating(p1d);
            var x = KernelCheck.Random<T>(rng, n, positive: Positive(op));
            var y = new T[n];
            ReferenceElementwise.UnaryForward<T>(op, x, y, p0, p1);
            var dy = KernelCheck.Random<T>(rng, n);
            T[] y512 = new T[n], y256 = new T[n], d512 = new T[n], d256 = new T[n];
            using (KernelCheck.Force(SimdPath.V512))
            {
                Unary.Forward<T>(op, x, y512, p0, p1);
                Unary.BackwardAccumulate<T>(op, x, y, dy, d512, p0, p1);
            }
            using (KernelCheck.Force(SimdPath.V256))
            {
                Unary.Forward<T>(op, x, y256, p0, p1);
                Unary.BackwardAccumulate<T>(op, x, y, dy, d256, p0, p1);
            }
            string ctx = $"{op}({p0d}, {p1d}) {typeof(T).Name}";
            KernelCheck.Exact<T>(y512, y256, ctx);
            KernelCheck.Exact<T>(d512, d256, ctx + " backward");
        }
    }

    [Test]
    public void Unary_RejectsMismatchedLengths()
    {
        Assert.Throws<ArgumentException>(() => Unary.Forward<float>(UnaryOp.Exp, new float[3], new float[2], 0, 0));
        Assert.Throws<ArgumentException>(() => Unary.BackwardAccumulate<float>(UnaryOp.Exp, new float[3], new float[3], new float[2], new float[3], 0, 0));
    }

    [Test]
    public void Unary_RejectsAnUnknownOp([Values] SimdPath path)
    {
        var unknown = (UnaryOp)999;
        using (KernelCheck.Force(path))
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => Unary.Forward<float>(unknown, new float[3], new float[3], 0, 0));
            Assert.Throws<ArgumentOutOfRangeException>(() => Unary.BackwardAccumulate<double>(unknown, new double[3], new double[3], new double[3], new double[3], 0, 0));
        }
        // The rule table itself cannot throw (ILGPU compiles it): an unknown code gives NaN.
        Assert.That(UnaryRules.Value(unknown, 1f, 0.5f, 0f), Is.NaN);
        Assert.That(UnaryRules.Backward(unknown, 1.0, 1.0, 1.0, 1.0, 0.5, 0.0), Is.NaN);
    }

    // ---------------------------------------------------------------- Strided

    /// <summary>(output shape, a's shape, b's shape): same shapes, row vector, column vector, scalar, outer product,
    /// middle-axis broadcasts on rank 3 and 4.</summary>
    private static IEnumerable<(int[] Out, int[] A, int[] B)> BroadcastCases()
    {
        foreach (int c in KernelCheck.Lengths)
        {
            yield return (new[] { c }, new[] { c }, new[] { c });
            yield return (new[] { 3, c }, new[] { 3, c }, new[] { c });          // row vector
            yield return (new[] { 3, c }, new[] { 3, c }, new[] { 3, 1 });       // column vector
            yield return (new[] { 3, c }, new[] { 3, c }, Array.Empty<int>());   // scalar
            yield return (new[] { 3, c }, new[] { 1, c }, new[] { 3, 1 });       // both broadcast
            yield return (new[] { 3, c }, new[] { 3, 1 }, new[] { 3, c });       // column vector on the left
            yield return (new[] { 2, 3, c }, new[] { 2, 3, c }, new[] { 2, 1, c }); // middle axis, rank 3
            yield return (new[] { 2, 3, 2, c }, new[] { 2, 3, 2, c }, new[] { 2, 1, 2, c }); // middle axis, rank 4
            yield return (new[] { 2, 3, 2, c }, new[] { 1, 3, 1, c }, new[] { 2, 3, 2, 1 });
        }
        yield return (Array.Empty<int>(), Array.Empty<int>(), Array.Empty<int>());
    }

    [Test]
    public void StridedBinary_MatchesTwin([Values] BinaryOp op)
    {
        StridedBinary<float>(op);
        StridedBinary<double>(op);
    }

    private static void StridedBinary<T>(BinaryOp op) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(5 + (int)op);
        foreach (var (outShape, aShape, bShape) in BroadcastCases())
        {
            var a = KernelCheck.Random<T>(rng, KernelCheck.Count(aShape));
            var b = KernelCheck.Random<T>(rng, KernelCheck.Count(bShape));
            int[] sa = KernelCheck.BroadcastStrides(outShape, aShape), sb = KernelCheck.BroadcastStrides(outShape, bShape);
            int total = KernelCheck.Count(outShape);
            var expected = new T[total];
            ReferenceElementwise.Binary<T>(op, a, sa, b, sb, expected, outShape);
            var actual = new T[total];
            Strided.Binary<T>(op, a, sa, b, sb, actual, outShape);
            KernelCheck.Exact<T>(expected, actual, $"{op} {typeof(T).Name} [{string.Join(",", outShape)}] a[{string.Join(",", aShape)}] b[{string.Join(",", bShape)}]");
        }
        // A transposed operand: a stored [c, 3] read as [3, c] (innermost stride 3).
        foreach (int c in KernelCheck.Lengths)
        {
            var a = KernelCheck.Random<T>(rng, 3 * c);
            var b = KernelCheck.Random<T>(rng, 3 * c);
            int[] shape = { 3, c }, sa = { 1, 3 }, sb = { c, 1 };
            var expected = new T[3 * c];
            var actual = new T[3 * c];
            ReferenceElementwise.Binary<T>(op, a, sa, b, sb, expected, shape);
            Strided.Binary<T>(op, a, sa, b, sb, actual, shape);
            KernelCheck.Exact<T>(expected, actual, $"{op} transposed c={c}");
        }
    }

    /// <summary>Every pair of special values through each row form of <see cref="Strided.Binary{T}"/> (contiguous, a
    /// scalar on either side, strided) against <see cref="BinaryRules.Value{T}"/> element by element.</summary>
    [Test]
    public void StridedBinary_SpecialValues_MatchTheTable([Values] BinaryOp op)
    {
        StridedBinarySpecials<float>(op);
        StridedBinarySpecials<double>(op);
    }

    private static void StridedBinarySpecials<T>(BinaryOp op) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T[] s =
        [
            T.Zero, -T.Zero, T.One, -T.One, T.CreateTruncating(0.1), T.CreateTruncating(-3.5), T.Epsilon, -T.Epsilon,
            KernelCheck.Denormal<T>(), -KernelCheck.Denormal<T>(), KernelCheck.Huge<T>(), -KernelCheck.Huge<T>(),
            T.BitDecrement(T.PositiveInfinity), T.BitIncrement(T.NegativeInfinity), T.PositiveInfinity, T.NegativeInfinity, T.NaN,
        ];
        int m = s.Length;
        // [m, m] over a column (a, strides [1, 0]) and a row (b, strides [0, 1]): innermost strides (0, 1); then the
        // operands swapped (1, 0); then both read through a transpose of an [m, m] grid (m, m), the per-element loop.
        var grid = new T[m * m];
        for (int i = 0; i < m * m; i++) grid[i] = s[i / m];
        var cases = new (T[] A, int[] Sa, T[] B, int[] Sb, Func<int, int, (T, T)> Pair)[]
        {
            (s, [1, 0], s, [0, 1], (i, j) => (s[i], s[j])),
            (s, [0, 1], s, [1, 0], (i, j) => (s[j], s[i])),
            (grid, [1, m], grid, [m, 1], (i, j) => (s[j], s[i])),
            (grid, [m, 1], grid, [1, m], (i, j) => (s[i], s[j])),
        };
        foreach (var (a, sa, b, sb, pair) in cases)
        {
            var actual = new T[m * m];
            Strided.Binary<T>(op, a, sa, b, sb, actual, [m, m]);
            var expected = new T[m * m];
            for (int i = 0; i < m; i++)
                for (int j = 0; j < m; j++)
                {
                    var (x, y) = pair(i, j);
                    expected[i * m + j] = BinaryRules.Value(op, x, y);
                }
            KernelCheck.Exact<T>(expected, actual, $"{op} {typeof(T).Name} strides a [{string.Join(",", sa)}] b [{string.Join(",", sb)}]");
        }
        // The contiguous form, all pairs at once.
        var xs = new T[m * m];
        var ys = new T[m * m];
        for (int k = 0; k < m * m; k++) { xs[k] = s[k / m]; ys[k] = s[k % m]; }
        var y1 = new T[m * m];
        Strided.Binary<T>(op, xs, [1], ys, [1], y1, [m * m]);
        var e1 = new T[m * m];
        for (int k = 0; k < m * m; k++) e1[k] = BinaryRules.Value(op, xs[k], ys[k]);
        KernelCheck.Exact<T>(e1, y1, $"{op} {typeof(T).Name} contiguous");
    }

    [Test]
    public void StridedBinary_RejectsAnUnknownOp()
    {
        var unknown = (BinaryOp)999;
        float[] a = [1, 2, 3], y = [4, 5, 6];
        foreach (var (shape, strides) in new (int[], int[])[] { ([3], [1]), ([3], [0]), ([3], [2]), ([], []), ([0], [1]) })
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => Strided.Binary<float>(unknown, a, strides, a, strides, y, shape), $"CPU [{string.Join(",", shape)}]");
            Assert.Throws<ArgumentOutOfRangeException>(() => ReferenceElementwise.Binary<float>(unknown, a, strides, a, strides, y, shape), $"reference [{string.Join(",", shape)}]");
        }
        Assert.That(y, Is.EqualTo(new float[] { 4, 5, 6 }), "nothing was written");
        // The rule table itself cannot throw (ILGPU compiles it): an unknown code gives NaN.
        Assert.That(BinaryRules.Value(unknown, 1f, 2f), Is.NaN);
        Assert.That(BinaryRules.Value((BinaryOp)(-1), 1.0, 2.0), Is.NaN);
    }

    [Test]
    public void StridedSumInto_MatchesTwin()
    {
        StridedSumInto<float>();
        StridedSumInto<double>();
    }

    private static void StridedSumInto<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(8);
        foreach (var (outShape, _, dstShape) in BroadcastCases())
        {
            int total = KernelCheck.Count(outShape);
            // No huge values: whether a sum of them overflows depends on the order of the additions.
            var src = KernelCheck.Random<T>(rng, total, specials: rng.Next(3) == 0, huge: false);
            var dst0 = KernelCheck.Random<T>(rng, KernelCheck.Count(dstShape), specials: false);
            int[] sd = KernelCheck.BroadcastStrides(outShape, dstShape);
            var expected = (T[])dst0.Clone();
            ReferenceElementwise.SumInto<T>(src, outShape, expected, sd);
            var actual = (T[])dst0.Clone();
            Strided.SumInto<T>(src, outShape, actual, sd);
            // A reordered sum: within (terms + 16) eps of the sum of magnitudes.
            var absSum = KernelCheck.Abs<T>(dst0);
            var absSrc = KernelCheck.Abs<T>(src);
            int terms = Math.Max(1, total / Math.Max(1, dst0.Length));
            var absDst = new double[dst0.Length];
            ReferenceElementwise.SumInto<double>(absSrc, outShape, absDst, sd);
            for (int i = 0; i < absSum.Length; i++) absSum[i] += absDst[i];
            KernelCheck.Close<T>(expected, actual, terms + 16, $"SumInto {typeof(T).Name} [{string.Join(",", outShape)}] -> [{string.Join(",", dstShape)}]", absSum);
        }
    }

    [Test]
    public void StridedCopy_MatchesTwin([Values] bool accumulate)
    {
        StridedCopy<float>(accumulate);
        StridedCopy<double>(accumulate);
    }

    private static void StridedCopy<T>(bool accumulate) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(accumulate ? 9 : 10);
        void Run(int[] shape, int xCount, int[] xs, string what)
        {
            var x = KernelCheck.Random<T>(rng, xCount);
            int total = KernelCheck.Count(shape);
            var y0 = KernelCheck.Random<T>(rng, total);
            var expected = (T[])y0.Clone();
            ReferenceElementwise.Copy<T>(x, xs, expected, shape, accumulate);
            var actual = (T[])y0.Clone();
            Strided.Copy<T>(x, xs, actual, shape, accumulate);
            KernelCheck.Exact<T>(expected, actual, $"Copy {what} {typeof(T).Name} [{string.Join(",", shape)}] acc={accumulate}");
        }
        foreach (var (outShape, aShape, bShape) in BroadcastCases())
        {
            Run(outShape, KernelCheck.Count(aShape), KernelCheck.BroadcastStrides(outShape, aShape), "expand a");
            Run(outShape, KernelCheck.Count(bShape), KernelCheck.BroadcastStrides(outShape, bShape), "expand b");
        }
        foreach (int c in KernelCheck.Lengths)
        {
            Run(new[] { c, 3 }, 3 * c, new[] { 1, c }, "transpose");                // [3, c] -> [c, 3]
            Run(new[] { 2, c, 3 }, 6 * c, new[] { 3 * c, 1, c }, "permute (0,2,1)");
        }
    }

    [Test]
    public void StridedWhere_MatchesTwin()
    {
        StridedWhere<float>();
        StridedWhere<double>();
    }

    private static void StridedWhere<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(11);
        foreach (var (outShape, aShape, bShape) in BroadcastCases())
        {
            // The mask takes b's pattern, a and b take a's and b's; also a mask broadcast along rows.
            var mShape = bShape;
            var mask = new T[KernelCheck.Count(mShape)];
            for (int i = 0; i < mask.Length; i++)
                mask[i] = rng.Next(5) switch { 0 => T.Zero, 1 => -T.Zero, 2 => T.NaN, 3 => T.One, _ => T.CreateTruncating(rng.NextDouble() - 0.5) };
            var a = KernelCheck.Random<T>(rng, KernelCheck.Count(aShape));
            var b = KernelCheck.Random<T>(rng, KernelCheck.Count(bShape));
            int[] sm = KernelCheck.BroadcastStrides(outShape, mShape), sa = KernelCheck.BroadcastStrides(outShape, aShape), sb = KernelCheck.BroadcastStrides(outShape, bShape);
            int total = KernelCheck.Count(outShape);
            var expected = new T[total];
            ReferenceElementwise.Where<T>(mask, sm, a, sa, b, sb, expected, outShape);
            var actual = new T[total];
            Strided.Where<T>(mask, sm, a, sa, b, sb, actual, outShape);
            KernelCheck.Exact<T>(expected, actual, $"Where {typeof(T).Name} [{string.Join(",", outShape)}]");
        }
    }

    // ---------------------------------------------------------------- Rows

    [Test]
    public void RowsGatherAndScatterAdd_MatchTwins()
    {
        var rng = new Random(12);
        foreach (int len in KernelCheck.Lengths)
        {
            const int rows = 6;
            var src = KernelCheck.Random<float>(rng, rows * len);
            int[] idx = Enumerable.Range(0, 9).Select(_ => rng.Next(rows)).Append(2).Append(2).ToArray(); // repeats
            var expected = new float[idx.Length * len];
            var actual = new float[idx.Length * len];
            ReferenceElementwise.Gather<float>(src, len, idx, expected);
            Rows.Gather<float>(src, len, idx, actual);
            KernelCheck.Exact<float>(expected, actual, $"Gather len={len}");

            var grads = KernelCheck.Random<double>(rng, idx.Length * len);
            var dst0 = KernelCheck.Random<double>(rng, rows * len, specials: false);
            var e2 = (double[])dst0.Clone();
            var a2 = (double[])dst0.Clone();
            ReferenceElementwise.ScatterAdd<double>(grads, len, idx, e2);
            Rows.ScatterAdd<double>(grads, len, idx, a2);
            KernelCheck.Exact<double>(e2, a2, $"ScatterAdd len={len}");
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => Rows.Gather<float>(new float[6], 2, new[] { 3 }, new float[2]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Rows.ScatterAdd<float>(new float[2], 2, new[] { -1 }, new float[6]));
        Assert.Throws<ArgumentOutOfRangeException>(() => ReferenceElementwise.ScatterAdd<float>(new float[2], 2, new[] { 3 }, new float[6]));
    }

    // ---------------------------------------------------------------- LossGradients

    private static IEnumerable<(int Rows, int Cols)> RowShapes()
    {
        foreach (int c in KernelCheck.Lengths)
            foreach (int r in new[] { 1, 3 })
                yield return (r, c);
        yield return (2, 300); // more than one 256-element chunk per row
    }

    [Test]
    public void BceWithLogitsBackward_MatchesTwin([Values(SimdPath.V512, SimdPath.V256, SimdPath.Scalar)] SimdPath path)
    {
        BceBackward<float>(path);
        BceBackward<double>(path);
    }

    private static void BceBackward<T>(SimdPath path) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(13);
        foreach (var (rows, cols) in RowShapes())
            foreach (int which in new[] { 0, 1, 2 }) // both outputs, logits only, targets only
            {
                int n = rows * cols;
                var l = KernelCheck.Random<T>(rng, n);
                var t = Enumerable.Range(0, n).Select(_ => T.CreateTruncating(rng.Next(3) == 0 ? rng.NextDouble() : rng.Next(2))).ToArray();
                var g = KernelCheck.Random<T>(rng, rows, specials: false);
                var dl0 = KernelCheck.Random<T>(rng, n, specials: false);
                var dt0 = KernelCheck.Random<T>(rng, n, specials: false);
                T[] el = (T[])dl0.Clone(), et = (T[])dt0.Clone(), al = (T[])dl0.Clone(), at = (T[])dt0.Clone();
                Span<T> E(T[] v, bool on) => on ? v : Span<T>.Empty;
                ReferenceElementwise.BceWithLogitsRows<T>(l, t, g, E(el, which != 2), E(et, which != 1), rows, cols);
                using (KernelCheck.Force(path))
                    LossGradients.BceWithLogitsRows<T>(l, t, g, E(al, which != 2), E(at, which != 1), rows, cols);
                var scale = new double[n];
                for (int i = 0; i < n; i++)
                    scale[i] = Math.Abs(double.CreateTruncating(dl0[i])) + Math.Abs(double.CreateTruncating(g[i / Math.Max(cols, 1)])) * (1 + Math.Abs(double.CreateTruncating(t[i])));
                string ctx = $"BCE' {typeof(T).Name} {rows}x{cols} {path} outputs={which}";
                KernelCheck.Close<T>(el, al, Ulps, ctx + " dLogits", scale);
                KernelCheck.Exact<T>(et, at, ctx + " dTargets");
            }
    }

    [Test]
    public void GaussianLogDensityBackward_MatchesTwin([Values(SimdPath.V512, SimdPath.V256, SimdPath.Scalar)] SimdPath path)
    {
        GaussianBackward<float>(path);
        GaussianBackward<double>(path);
    }

    private static void GaussianBackward<T>(SimdPath path) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(14);
        foreach (var (rows, cols) in RowShapes())
            foreach (int mask in new[] { 7, 1, 2, 4, 6 }) // which of dx, dMu, dLogvar are wanted
            {
                int n = rows * cols;
                var x = KernelCheck.Random<T>(rng, n);
                var mu = KernelCheck.Random<T>(rng, n, specials: false);
                var lv = Enumerable.Range(0, n).Select(_ => T.CreateTruncating(rng.NextDouble() * 8 - 5)).ToArray();
                if (n > 2) lv[n / 2] = T.NaN;
                var g = KernelCheck.Random<T>(rng, rows, specials: false);
                var d0 = new T[3][];
                for (int k = 0; k < 3; k++) d0[k] = KernelCheck.Random<T>(rng, n, specials: false);
                var e = d0.Select(v => (T[])v.Clone()).ToArray();
                var a = d0.Select(v => (T[])v.Clone()).ToArray();
                Span<T> E(T[] v, int bit) => (mask & bit) != 0 ? v : Span<T>.Empty;
                ReferenceElementwise.GaussianLogDensityRows<T>(x, mu, lv, g, E(e[0], 1), E(e[1], 2), E(e[2], 4), rows, cols);
                using (KernelCheck.Force(path))
                    LossGradients.GaussianLogDensityRows<T>(x, mu, lv, g, E(a[0], 1), E(a[1], 2), E(a[2], 4), rows, cols);
                for (int k = 0; k < 3; k++)
                {
                    // Every output is d0 + g (a product with e^-logvar): rounding relative to |d0| + |g term|.
                    var scale = new double[n];
                    for (int i = 0; i < n; i++)
                    {
                        double diff = double.CreateTruncating(x[i]) - double.CreateTruncating(mu[i]);
                        double dd = diff * Math.Exp(-double.CreateTruncating(lv[i]));
                        double gt = Math.Abs(double.CreateTruncating(g[i / Math.Max(cols, 1)])) * (k == 2 ? Math.Abs(0.5 * dd * diff) + 0.5 : Math.Abs(dd));
                        scale[i] = Math.Abs(double.CreateTruncating(d0[k][i])) + gt;
                    }
                    KernelCheck.Close<T>(e[k], a[k], Ulps, $"Gaussian' {typeof(T).Name} {rows}x{cols} {path} mask={mask} output {k}", scale);
                }
            }
    }

    // ---------------------------------------------------------------- Optimizers

    [Test]
    public void Sgd_MatchesTwinExactly([Values(SimdPath.V512, SimdPath.V256, SimdPath.Scalar)] SimdPath path)
    {
        Sgd<float>(path);
        Sgd<double>(path);
    }

    private static void Sgd<T>(SimdPath path) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Random(15);
        var configs = new (double Lr, double Mom, double Damp, double Wd, bool Nesterov, bool First, bool Buffer)[]
        {
            (0.1, 0, 0, 0, false, false, false),
            (0.05, 0, 0, 1e-2, false, false, false),
            (0.1, 0.9, 0, 0, false, true, true),
            (0.1, 0.9, 0.1, 1e-3, false, false, true),
            (0.01, 0.9, 0, 5e-4, true, false, true),
            (0.01, 0.5, 0.5, 0, true, true, true),
        };
        foreach (var c in configs)
            foreach (int n in KernelCheck.Lengths)
            {
                var p0 = KernelCheck.Random<T>(rng, n, specials: rng.Next(4) == 0);
                var g = KernelCheck.Random<T>(rng, n, specials: rng.Next(4) == 0);
                var b0 = c.Buffer ? KernelCheck.Random<T>(rng, n, specials: false) : Array.Empty<T>();
                T[] pe = (T[])p0.Clone(), pa = (T[])p0.Clone(), be = (T[])b0.Clone(), ba = (T[])b0.Clone();
                T C(double v) => T.CreateTruncating(v);
                ReferenceElementwise.Sgd<T>(pe, g, be, C(c.Lr), C(c.Mom), C(c.Damp), C(c.Wd), c.Nesterov, c.First);
                using (KernelCheck.Force(path))
                    SgdKernel.Apply<T>(pa, g, ba, C(c.Lr), C(c.Mom), C(c.Damp), C(c.Wd), c.Nesterov, c.First);
                string ctx = $"SGD {c} {typeof(T).Name} n={n} {path}";
                KernelCheck.Exact<T>(pe, pa, ctx + " params");
                KernelCheck.Exact<T>(be, ba, ctx + " buffer");
            }
    }
}

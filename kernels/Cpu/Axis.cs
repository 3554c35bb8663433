using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Engine.Kernels.Reference;

namespace Engine.Kernels.Cpu;

/// <summary>The reductions along one axis.</summary>
public enum ReduceOp { Sum, Mean, Max, LogSumExp }

/// <summary>The normalizations along one axis (output has the input's shape).</summary>
public enum NormalizeOp { Softmax, LogSoftmax }

/// <summary>
/// Kernels along one axis of a contiguous tensor viewed as [outer, n, inner]: reductions to [outer, inner],
/// softmax and log-softmax, and their backward rules. inner == 1 is the row case and runs on whole rows;
/// inner &gt; 1 vectorizes across the inner dimension, in blocks held in stack buffers (nothing is allocated).
/// </summary>
/// <remarks>
/// <para>Semantics are those of the scalar twins in <see cref="ReferenceAxis"/> (which also run on hardware without
/// AVX2). Conventions (as PyTorch): the mean of an empty axis is NaN; max and logsumexp of an empty axis are -inf;
/// logsumexp of a row of -inf is -inf, with a +inf entry it is +inf, with a NaN it is NaN; softmax and log-softmax
/// are computed as e^(x - m) / s and (x - m) - ln s with m the row's max and s = sum e^(x - m), so huge rows
/// (1e30, 3e38) stay finite, and a row whose max is not finite (all -inf, a +inf entry, a NaN) is NaN throughout.</para>
/// <para>Sums over the columns (inner &gt; 1) add the rows in order, as the twins do; sums along a row use vector
/// accumulators, so they differ from the twins by a reordering (O(n eps) of the sum of magnitudes). exp and log
/// are <see cref="VectorMath"/>'s (&lt;= 1 ulp).</para>
/// </remarks>
public static class Axis
{
    // Columns per block on the inner > 1 paths: two or three stack buffers of this many elements.
    private const int Block = 256;

    /// <summary>y[o, i] = reduce_j x[o, j, i].</summary>
    public static void Reduce<T>(ReduceOp op, ReadOnlySpan<T> x, int outer, int n, int inner, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, outer, n, inner, nameof(x));
        if (y.Length < outer * inner) throw new ArgumentException($"Output holds {y.Length} elements; needs {outer * inner}.", nameof(y));
        if (op is < ReduceOp.Sum or > ReduceOp.LogSumExp) throw new ArgumentOutOfRangeException(nameof(op));
        if (!Simd.Vectorized)
        {
            ReferenceAxis.Reduce(op, x, outer, n, inner, y);
            return;
        }
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++) y[o] = ReduceRow(op, x.Slice(o * n, n));
            return;
        }
        Span<T> mBuf = stackalloc T[Block];
        Span<T> sBuf = stackalloc T[Block];
        for (int o = 0; o < outer; o++)
        {
            var yo = y.Slice(o * inner, inner);
            var xo = x.Slice(o * n * inner, n * inner);
            switch (op)
            {
                case ReduceOp.Sum:
                case ReduceOp.Mean:
                    yo.Clear();
                    for (int j = 0; j < n; j++) TensorPrimitives.Add(yo, xo.Slice(j * inner, inner), yo);
                    if (op == ReduceOp.Mean) TensorPrimitives.Divide(yo, T.CreateChecked(n), yo);
                    break;
                case ReduceOp.Max:
                    yo.Fill(T.NegativeInfinity);
                    for (int j = 0; j < n; j++) TensorPrimitives.Max(yo, xo.Slice(j * inner, inner), yo);
                    break;
                case ReduceOp.LogSumExp:
                    for (int i0 = 0; i0 < inner; i0 += Block)
                    {
                        int w = Math.Min(Block, inner - i0);
                        var m = mBuf[..w];
                        var s = sBuf[..w];
                        ColumnMaxAndSum(xo, n, inner, i0, m, s);
                        Simd.Map2<T, LseFinishOp<T>>(m, s, yo.Slice(i0, w), default);
                    }
                    break;
            }
        }
    }

    // m[i] = max_j x[j, i0 + i]; s[i] = sum_j e^(x[j, i0 + i] - m[i]), j in order.
    private static void ColumnMaxAndSum<T>(ReadOnlySpan<T> xo, int n, int inner, int i0, Span<T> m, Span<T> s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = m.Length;
        m.Fill(T.NegativeInfinity);
        for (int j = 0; j < n; j++) TensorPrimitives.Max(m, xo.Slice(j * inner + i0, w), m);
        s.Clear();
        for (int j = 0; j < n; j++) Simd.Map3<T, AddExpDiffOp<T>>(xo.Slice(j * inner + i0, w), m, s, s, default);
    }

    private static T ReduceRow<T>(ReduceOp op, ReadOnlySpan<T> row) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (op)
        {
            case ReduceOp.Sum: return TensorPrimitives.Sum(row);
            case ReduceOp.Mean: return TensorPrimitives.Sum(row) / T.CreateChecked(row.Length);
            case ReduceOp.Max: return row.Length == 0 ? T.NegativeInfinity : TensorPrimitives.Max(row);
            default: return LogSumExp(row);
        }
    }

    /// <summary>log sum exp of a row, shifted by its max so huge values do not overflow (-inf when empty or all -inf,
    /// +inf with a +inf entry, NaN with a NaN).</summary>
    public static T LogSumExp<T>(ReadOnlySpan<T> row) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!Simd.Vectorized) return ReferenceAxis.LogSumExp(row);
        if (row.Length == 0) return T.NegativeInfinity;
        T m = TensorPrimitives.Max(row);
        if (!T.IsFinite(m)) return m;
        return m + T.Log(Simd.Sum1(row, new ExpSubOp<T>(m)));
    }

    /// <summary>y = softmax or log-softmax of x along the middle axis of [outer, n, inner]. y may be x.</summary>
    public static void Normalize<T>(NormalizeOp op, ReadOnlySpan<T> x, int outer, int n, int inner, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, outer, n, inner, nameof(x));
        if (y.Length < x.Length) throw new ArgumentException($"Output holds {y.Length} elements; needs {x.Length}.", nameof(y));
        if (op is not (NormalizeOp.Softmax or NormalizeOp.LogSoftmax)) throw new ArgumentOutOfRangeException(nameof(op));
        if (!Simd.Vectorized)
        {
            ReferenceAxis.Normalize(op, x, outer, n, inner, y);
            return;
        }
        if (n == 0) return;
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++)
            {
                var xr = x.Slice(o * n, n);
                var yr = y.Slice(o * n, n);
                T m = TensorPrimitives.Max(xr);
                if (!T.IsFinite(m))
                {
                    yr.Fill(T.NaN); // what the formula gives: x - m is NaN for every entry or the sum is NaN
                    continue;
                }
                if (op == NormalizeOp.Softmax)
                {
                    T s = Simd.MapSum1(xr, yr, new ExpSubOp<T>(m));
                    TensorPrimitives.Divide(yr, s, yr);
                }
                else
                {
                    T ls = T.Log(Simd.Sum1(xr, new ExpSubOp<T>(m)));
                    Simd.Map1(xr, yr, new SubSubOp<T>(m, ls));
                }
            }
            return;
        }
        Span<T> mBuf = stackalloc T[Block];
        Span<T> sBuf = stackalloc T[Block];
        for (int o = 0; o < outer; o++)
        {
            var xo = x.Slice(o * n * inner, n * inner);
            var yo = y.Slice(o * n * inner, n * inner);
            for (int i0 = 0; i0 < inner; i0 += Block)
            {
                int w = Math.Min(Block, inner - i0);
                var m = mBuf[..w];
                var s = sBuf[..w];
                m.Fill(T.NegativeInfinity);
                for (int j = 0; j < n; j++) TensorPrimitives.Max(m, xo.Slice(j * inner + i0, w), m);
                s.Clear();
                if (op == NormalizeOp.Softmax)
                {
                    for (int j = 0; j < n; j++)
                    {
                        var yj = yo.Slice(j * inner + i0, w);
                        Simd.Map2<T, ExpDiffOp<T>>(xo.Slice(j * inner + i0, w), m, yj, default);
                        TensorPrimitives.Add(s, yj, s);
                    }
                    for (int j = 0; j < n; j++)
                    {
                        var yj = yo.Slice(j * inner + i0, w);
                        TensorPrimitives.Divide(yj, s, yj);
                    }
                }
                else
                {
                    for (int j = 0; j < n; j++) Simd.Map3<T, AddExpDiffOp<T>>(xo.Slice(j * inner + i0, w), m, s, s, default);
                    TensorPrimitives.Log(s, s);
                    for (int j = 0; j < n; j++)
                        Simd.Map3<T, SubSubVecOp<T>>(xo.Slice(j * inner + i0, w), m, s, yo.Slice(j * inner + i0, w), default);
                }
            }
        }
    }

    /// <summary>
    /// dx += backward of a reduction, given x, the reduction's output y ([outer, inner]) and its gradient dy.
    /// Sum: dy; mean: dy * (1/n); max: dy to the first maximal element (a NaN counts as maximal when y is NaN);
    /// logsumexp: dy * exp(x - y).
    /// </summary>
    public static void ReduceBackward<T>(ReduceOp op, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int outer, int n, int inner)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, outer, n, inner, nameof(x));
        if (op is < ReduceOp.Sum or > ReduceOp.LogSumExp) throw new ArgumentOutOfRangeException(nameof(op));
        if (!Simd.Vectorized || op == ReduceOp.Max)
        {
            ReferenceAxis.ReduceBackward(op, x, y, dy, dx, outer, n, inner);
            return;
        }
        T invN = T.One / T.CreateChecked(Math.Max(n, 1));
        for (int o = 0; o < outer; o++)
        {
            var dyo = dy.Slice(o * inner, inner);
            var yo = y.Slice(o * inner, inner);
            int b = o * n * inner;
            if (inner == 1)
            {
                var d = dx.Slice(b, n);
                switch (op)
                {
                    case ReduceOp.Sum: TensorPrimitives.Add(d, dyo[0], d); break;
                    case ReduceOp.Mean: TensorPrimitives.Add(d, dyo[0] * invN, d); break;
                    default: Simd.Map2(x.Slice(b, n), d, d, new LseBackRowOp<T>(dyo[0], yo[0])); break;
                }
                continue;
            }
            for (int j = 0; j < n; j++)
            {
                var d = dx.Slice(b + j * inner, inner);
                switch (op)
                {
                    case ReduceOp.Sum: TensorPrimitives.Add(d, dyo, d); break;
                    case ReduceOp.Mean: TensorPrimitives.MultiplyAdd(dyo, invN, d, d); break;
                    default: Simd.Map4<T, LseBackOp<T>>(x.Slice(b + j * inner, inner), yo, dyo, d, d, default); break;
                }
            }
        }
    }

    /// <summary>
    /// dx += backward of softmax (dx = y (dy - sum_j dy y)) or log-softmax (dx = dy - exp(y) sum_j dy),
    /// given the forward output y.
    /// </summary>
    public static void NormalizeBackward<T>(NormalizeOp op, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int outer, int n, int inner)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(y.Length, outer, n, inner, nameof(y));
        if (op is not (NormalizeOp.Softmax or NormalizeOp.LogSoftmax)) throw new ArgumentOutOfRangeException(nameof(op));
        if (!Simd.Vectorized)
        {
            ReferenceAxis.NormalizeBackward(op, y, dy, dx, outer, n, inner);
            return;
        }
        if (n == 0) return;
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++)
            {
                var yr = y.Slice(o * n, n);
                var gr = dy.Slice(o * n, n);
                var dr = dx.Slice(o * n, n);
                if (op == NormalizeOp.Softmax) Simd.Map3(yr, gr, dr, dr, new SoftmaxBackRowOp<T>(TensorPrimitives.Dot(gr, yr)));
                else Simd.Map3(yr, gr, dr, dr, new LogSoftmaxBackRowOp<T>(TensorPrimitives.Sum(gr)));
            }
            return;
        }
        Span<T> sBuf = stackalloc T[Block];
        for (int o = 0; o < outer; o++)
        {
            int b = o * n * inner;
            for (int i0 = 0; i0 < inner; i0 += Block)
            {
                int w = Math.Min(Block, inner - i0);
                var s = sBuf[..w];
                s.Clear();
                if (op == NormalizeOp.Softmax)
                {
                    for (int j = 0; j < n; j++)
                    {
                        int k = b + j * inner + i0;
                        TensorPrimitives.MultiplyAdd(dy.Slice(k, w), y.Slice(k, w), s, s);
                    }
                    for (int j = 0; j < n; j++)
                    {
                        int k = b + j * inner + i0;
                        var d = dx.Slice(k, w);
                        Simd.Map4<T, SoftmaxBackOp<T>>(y.Slice(k, w), dy.Slice(k, w), s, d, d, default);
                    }
                }
                else
                {
                    for (int j = 0; j < n; j++) TensorPrimitives.Add(s, dy.Slice(b + j * inner + i0, w), s);
                    for (int j = 0; j < n; j++)
                    {
                        int k = b + j * inner + i0;
                        var d = dx.Slice(k, w);
                        Simd.Map4<T, LogSoftmaxBackOp<T>>(y.Slice(k, w), dy.Slice(k, w), s, d, d, default);
                    }
                }
            }
        }
    }

    /// <summary>
    /// Copies small ([outer, nSmall, inner]) into big ([outer, nBig, inner]) at position <paramref name="start"/> of the
    /// middle axis, or the reverse (a slice out of big into small) when <paramref name="intoBig"/> is false;
    /// accumulates instead of overwriting when asked. Concatenation, slicing and their backward rules.
    /// </summary>
    public static void CopyBlock<T>(Span<T> small, int nSmall, Span<T> big, int nBig, int start, int outer, int inner, bool intoBig, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (start < 0 || start + nSmall > nBig)
            throw new ArgumentOutOfRangeException(nameof(start), $"Block [{start}, {start + nSmall}) does not fit an axis of {nBig}.");
        int len = nSmall * inner;
        for (int o = 0; o < outer; o++)
        {
            var s = small.Slice(o * len, len);
            var g = big.Slice((o * nBig + start) * inner, len);
            Span<T> src = intoBig ? s : g, dst = intoBig ? g : s;
            if (accumulate) TensorPrimitives.Add(dst, src, dst);
            else src.CopyTo(dst);
        }
    }

    private static void Check(int length, int outer, int n, int inner, string name)
    {
        if (outer < 0 || n < 0 || inner < 0 || (long)outer * n * inner > length)
            throw new ArgumentException($"A span of {length} elements cannot be viewed as [{outer}, {n}, {inner}].", name);
    }

    // ---------------------------------------------------------------- the per-element rules

    /// <summary>e^(x - m), m a scalar.</summary>
    private readonly struct ExpSubOp<T>(T m) : IMap1<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Vector512<T> Invoke(Vector512<T> x) => VectorMath.Exp(x - Vector512.Create(m));
        public Vector256<T> Invoke(Vector256<T> x) => VectorMath.Exp(x - Vector256.Create(m));
    }

    /// <summary>(x - m) - ls, m and ls scalars.</summary>
    private readonly struct SubSubOp<T>(T m, T ls) : IMap1<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Vector512<T> Invoke(Vector512<T> x) => x - Vector512.Create(m) - Vector512.Create(ls);
        public Vector256<T> Invoke(Vector256<T> x) => x - Vector256.Create(m) - Vector256.Create(ls);
    }

    /// <summary>e^(x - m).</summary>
    private readonly struct ExpDiffOp<T> : IMap2<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Vector512<T> Invoke(Vector512<T> x, Vector512<T> m) => VectorMath.Exp(x - m);
        public Vector256<T> Invoke(Vector256<T> x, Vector256<T> m) => VectorMath.Exp(x - m);
    }

    /// <summary>s + e^(x - m).</summary>
    private readonly struct AddExpDiffOp<T> : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Vector512<T> Invoke(Vector512<T> x, Vector512<T> m, Vector512<T> s) => s + VectorMath.Exp(x - m);
        public Vector256<T> Invoke(Vector256<T> x, Vector256<T> m, Vector256<T> s) => s + VectorMath.Exp(x - m);
    }

    /// <summary>(x - m) - ls.</summary>
    private readonly struct SubSubVecOp<T> : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Vector512<T> Invoke(Vector512<T> x, Vector512<T> m, Vector512<T> ls) => x - m - ls;
        public Vector256<T> Invoke(Vector256<T> x, Vector256<T> m, Vector256<T> ls) => x - m - ls;
    }

    /// <summary>m finite ? m + ln s : m.</summary>
    private readonly struct LseFinishOp<T> : IMap2<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Vector512<T> Invoke(Vector512<T> m, Vector512<T> s)
            => Vector512.ConditionalSelect(Vector512.Equals(m - m, Vector512<T>.Zero), m + VectorMath.Log(s), m);
        public Vector256<T> Invoke(Vector256<T> m, Vector256<T> s)
            => Vector256.ConditionalSelect(Vector256.Equals(m - m, Vector256<T>.Zero), m + VectorMath.Log(s), m);
    }

    /// <summary>dx + g e^(x - y), g and y scalars (a row's gradient and logsumexp).</summary>
    private readonly struct LseBackRowOp<T>(T g, T y) : IMap2<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Vector512<T> Invoke(Vector512<T> x, Vector512<T> d) => d + Vector512.Create(g) * VectorMath.Exp(x - Vector512.Create(y));
        public Vector256<T> Invoke(Vector256<T> x, Vector256<T> d) => d + Vector256.Create(g) * VectorMath.Exp(x - Vector256.Create(y));
    }

    /// <summary>dx + g e^(x - y).</summary>
    private readonly struct LseBackOp<T> : IMap4<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Vector512<T> Invoke(Vector512<T> x, Vector512<T> y, Vector512<T> g, Vector512<T> d) => d + g * VectorMath.Exp(x - y);
        public Vector256<T> Invoke(Vector256<T> x, Vector256<T> y, Vector256<T> g, Vector256<T> d) => d + g * VectorMath.Exp(x - y);
    }

    /// <summary>dx + y (dy - s), s a scalar.</summary>
    private readonly struct SoftmaxBackRowOp<T>(T s) : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Vector512<T> Invoke(Vector512<T> y, Vector512<T> g, Vector512<T> d) => d + y * (g - Vector512.Create(s));
        public Vector256<T> Invoke(Vector256<T> y, Vector256<T> g, Vector256<T> d) => d + y * (g - Vector256.Create(s));
    }

    /// <summary>dx + (dy - e^y s), s a scalar.</summary>
    private readonly struct LogSoftmaxBackRowOp<T>(T s) : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Vector512<T> Invoke(Vector512<T> y, Vector512<T> g, Vector512<T> d) => d + (g - VectorMath.Exp(y) * Vector512.Create(s));
        public Vector256<T> Invoke(Vector256<T> y, Vector256<T> g, Vector256<T> d) => d + (g - VectorMath.Exp(y) * Vector256.Create(s));
    }

    /// <summary>dx + y (dy - s).</summary>
    private readonly struct SoftmaxBackOp<T> : IMap4<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Vector512<T> Invoke(Vector512<T> y, Vector512<T> g, Vector512<T> s, Vector512<T> d) => d + y * (g - s);
        public Vector256<T> Invoke(Vector256<T> y, Vector256<T> g, Vector256<T> s, Vector256<T> d) => d + y * (g - s);
    }

    /// <summary>dx + (dy - e^y s).</summary>
    private readonly struct LogSoftmaxBackOp<T> : IMap4<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Vector512<T> Invoke(Vector512<T> y, Vector512<T> g, Vector512<T> s, Vector512<T> d) => d + (g - VectorMath.Exp(y) * s);
        public Vector256<T> Invoke(Vector256<T> y, Vector256<T> g, Vector256<T> s, Vector256<T> d) => d + (g - VectorMath.Exp(y) * s);
    }
}

using System.Numerics;
using System.Numerics.Tensors;

namespace Engine.Kernels.Cpu;

/// <summary>The reductions along one axis.</summary>
public enum ReduceOp { Sum, Mean, Max, LogSumExp }

/// <summary>The normalizations along one axis (output has the input's shape).</summary>
public enum NormalizeOp { Softmax, LogSoftmax }

/// <summary>
/// Kernels along one axis of a contiguous tensor viewed as [outer, n, inner]: reductions to [outer, inner],
/// softmax and log-softmax, and their backward rules. inner == 1 is the row case and runs on whole rows
/// with TensorPrimitives; inner &gt; 1 vectorizes across the inner dimension.
/// Conventions (as PyTorch): max and logsumexp of an empty axis are -inf; logsumexp of a row of -inf is -inf,
/// with a +inf entry it is +inf; softmax of a row of -inf is NaN.
/// </summary>
public static class Axis
{
    /// <summary>y[o, i] = reduce_j x[o, j, i].</summary>
    public static void Reduce<T>(ReduceOp op, ReadOnlySpan<T> x, int outer, int n, int inner, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, outer, n, inner, nameof(x));
        if (y.Length < outer * inner) throw new ArgumentException($"Output holds {y.Length} elements; needs {outer * inner}.", nameof(y));
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++) y[o] = ReduceRow(op, x.Slice(o * n, n));
            return;
        }
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
                    if (op == ReduceOp.Mean) TensorPrimitives.Multiply(yo, T.One / T.CreateChecked(n), yo);
                    break;
                case ReduceOp.Max:
                    yo.Fill(T.NegativeInfinity);
                    for (int j = 0; j < n; j++) TensorPrimitives.Max(yo, xo.Slice(j * inner, inner), yo);
                    break;
                case ReduceOp.LogSumExp:
                    for (int i = 0; i < inner; i++)
                    {
                        T m = T.NegativeInfinity;
                        for (int j = 0; j < n; j++) m = T.Max(m, xo[j * inner + i]);
                        if (T.IsInfinity(m) || T.IsNaN(m)) { yo[i] = m; continue; }
                        T s = T.Zero;
                        for (int j = 0; j < n; j++) s += T.Exp(xo[j * inner + i] - m);
                        yo[i] = m + T.Log(s);
                    }
                    break;
                default: throw new ArgumentOutOfRangeException(nameof(op));
            }
        }
    }

    private static T ReduceRow<T>(ReduceOp op, ReadOnlySpan<T> row) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (op)
        {
            case ReduceOp.Sum: return TensorPrimitives.Sum(row);
            case ReduceOp.Mean: return row.Length == 0 ? T.NaN : TensorPrimitives.Sum(row) / T.CreateChecked(row.Length);
            case ReduceOp.Max: return row.Length == 0 ? T.NegativeInfinity : TensorPrimitives.Max(row);
            case ReduceOp.LogSumExp: return LogSumExp(row);
            default: throw new ArgumentOutOfRangeException(nameof(op));
        }
    }

    /// <summary>log sum exp of a row, shifted by its max so huge values do not overflow.</summary>
    public static T LogSumExp<T>(ReadOnlySpan<T> row) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (row.Length == 0) return T.NegativeInfinity;
        T m = TensorPrimitives.Max(row);
        if (T.IsInfinity(m) || T.IsNaN(m)) return m;
        const int Chunk = 256;
        Span<T> t = stackalloc T[Math.Min(Chunk, row.Length)];
        T s = T.Zero;
        for (int start = 0; start < row.Length; start += Chunk)
        {
            int len = Math.Min(Chunk, row.Length - start);
            var ts = t[..len];
            TensorPrimitives.Subtract(row.Slice(start, len), m, ts);
            TensorPrimitives.Exp(ts, ts);
            s += TensorPrimitives.Sum(ts);
        }
        return m + T.Log(s);
    }

    /// <summary>y = softmax or log-softmax of x along the middle axis of [outer, n, inner].</summary>
    public static void Normalize<T>(NormalizeOp op, ReadOnlySpan<T> x, int outer, int n, int inner, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, outer, n, inner, nameof(x));
        if (y.Length < x.Length) throw new ArgumentException($"Output holds {y.Length} elements; needs {x.Length}.", nameof(y));
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++)
            {
                var xr = x.Slice(o * n, n);
                var yr = y.Slice(o * n, n);
                T m = n == 0 ? T.NegativeInfinity : TensorPrimitives.Max(xr);
                if (T.IsInfinity(m) || T.IsNaN(m))
                {
                    T lse = T.IsNegativeInfinity(m) ? T.NaN : m; // a row of -inf has no distribution
                    TensorPrimitives.Subtract(xr, lse, yr);
                    if (op == NormalizeOp.Softmax) TensorPrimitives.Exp(yr, yr);
                    continue;
                }
                // Shift by the max, then apply log(sum) separately: subtracting lse = m + log(sum) in one step
                // rounds it to the scale of m, which for large |m| loses the low bits (float32 softmax of
                // [1000, 1000] came out 0.49998).
                TensorPrimitives.Subtract(xr, m, yr);
                if (op == NormalizeOp.Softmax)
                {
                    TensorPrimitives.Exp(yr, yr);
                    TensorPrimitives.Divide(yr, TensorPrimitives.Sum<T>(yr), yr);
                }
                else TensorPrimitives.Subtract(yr, LogSumExp<T>(yr), yr);
            }
            return;
        }
        for (int o = 0; o < outer; o++)
        for (int i = 0; i < inner; i++)
        {
            int b = o * n * inner + i;
            T m = T.NegativeInfinity;
            for (int j = 0; j < n; j++) m = T.Max(m, x[b + j * inner]);
            if (T.IsInfinity(m) || T.IsNaN(m))
            {
                T lse = T.IsNegativeInfinity(m) ? T.NaN : m;
                for (int j = 0; j < n; j++)
                {
                    T v = x[b + j * inner] - lse;
                    y[b + j * inner] = op == NormalizeOp.Softmax ? T.Exp(v) : v;
                }
                continue;
            }
            T s = T.Zero;
            for (int j = 0; j < n; j++) s += T.Exp(x[b + j * inner] - m);
            T logS = T.Log(s);
            for (int j = 0; j < n; j++)
            {
                T v = x[b + j * inner] - m; // shifted by the max; log(sum) applied apart, as in the row case
                y[b + j * inner] = op == NormalizeOp.Softmax ? T.Exp(v) / s : v - logS;
            }
        }
    }

    /// <summary>
    /// dx += backward of a reduction, given x, the reduction's output y ([outer, inner]) and its gradient dy.
    /// Sum: dy; mean: dy / n; max: dy to the first maximal element; logsumexp: dy * exp(x - y).
    /// </summary>
    public static void ReduceBackward<T>(ReduceOp op, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int outer, int n, int inner)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(x.Length, outer, n, inner, nameof(x));
        T invN = T.One / T.CreateChecked(Math.Max(n, 1));
        for (int o = 0; o < outer; o++)
        {
            var dyo = dy.Slice(o * inner, inner);
            var yo = y.Slice(o * inner, inner);
            int b = o * n * inner;
            switch (op)
            {
                case ReduceOp.Sum:
                case ReduceOp.Mean:
                    for (int j = 0; j < n; j++)
                    {
                        var d = dx.Slice(b + j * inner, inner);
                        if (op == ReduceOp.Sum) TensorPrimitives.Add(d, dyo, d);
                        else TensorPrimitives.MultiplyAdd(dyo, invN, d, d);
                    }
                    break;
                case ReduceOp.Max:
                    for (int i = 0; i < inner; i++)
                        for (int j = 0; j < n; j++)
                            if (x[b + j * inner + i] == yo[i] || (T.IsNaN(yo[i]) && T.IsNaN(x[b + j * inner + i])))
                            {
                                dx[b + j * inner + i] += dyo[i];
                                break;
                            }
                    break;
                case ReduceOp.LogSumExp:
                    for (int j = 0; j < n; j++)
                        for (int i = 0; i < inner; i++)
                        {
                            int k = b + j * inner + i;
                            dx[k] += dyo[i] * T.Exp(x[k] - yo[i]);
                        }
                    break;
                default: throw new ArgumentOutOfRangeException(nameof(op));
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
        for (int o = 0; o < outer; o++)
        for (int i = 0; i < inner; i++)
        {
            int b = o * n * inner + i;
            T s = T.Zero;
            if (op == NormalizeOp.Softmax)
            {
                for (int j = 0; j < n; j++) s += dy[b + j * inner] * y[b + j * inner];
                for (int j = 0; j < n; j++) { int k = b + j * inner; dx[k] += y[k] * (dy[k] - s); }
            }
            else
            {
                for (int j = 0; j < n; j++) s += dy[b + j * inner];
                for (int j = 0; j < n; j++) { int k = b + j * inner; dx[k] += dy[k] - T.Exp(y[k]) * s; }
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
}

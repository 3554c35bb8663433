using System.Numerics;
using Engine.Kernels.Cpu;

namespace Engine.Kernels.Reference;

/// <summary>
/// Plain scalar twins of <see cref="Axis"/>: the same signatures, one loop nest per kernel over the view
/// [outer, n, inner] (element (o, j, i) at o n inner + j inner + i), sums taken left to right in j. They define the
/// semantics the vectorised kernels must reproduce, serve as the test oracle, and are <see cref="Axis"/>'s fallback
/// on hardware without AVX2.
/// </summary>
/// <remarks>
/// Special values (as PyTorch): the mean of an empty axis is 0/0 = NaN; max and logsumexp of an empty axis are -inf;
/// max propagates NaN (<c>T.Max</c>); logsumexp returns the max itself when that is not finite (-inf for a row of
/// -inf, +inf with a +inf entry, NaN with a NaN), else m + ln(sum e^(x - m)). Softmax is e^(x - m) / s and log-softmax
/// (x - m) - ln s with s = sum e^(x - m): no overflow for huge finite rows, and NaN throughout when m is not finite
/// (x - m or s is NaN there).
/// </remarks>
public static class ReferenceAxis
{
    /// <summary>y[o, i] = reduce_j x[o, j, i]: sum, mean (sum / n), max, or logsumexp.</summary>
    public static void Reduce<T>(ReduceOp op, ReadOnlySpan<T> x, int outer, int n, int inner, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int b = o * n * inner + i;
                T r;
                switch (op)
                {
                    case ReduceOp.Sum:
                    case ReduceOp.Mean:
                        r = T.Zero;
                        for (int j = 0; j < n; j++) r += x[b + j * inner];
                        if (op == ReduceOp.Mean) r /= T.CreateChecked(n);
                        break;
                    case ReduceOp.Max:
                        r = T.NegativeInfinity;
                        for (int j = 0; j < n; j++) r = T.Max(r, x[b + j * inner]);
                        break;
                    case ReduceOp.LogSumExp:
                        r = LogSumExp(x, b, n, inner);
                        break;
                    default: throw new ArgumentOutOfRangeException(nameof(op));
                }
                y[o * inner + i] = r;
            }
    }

    /// <summary>ln sum_j e^(row[j]), shifted by the max m: m when m is not finite, else m + ln sum e^(row[j] - m).</summary>
    public static T LogSumExp<T>(ReadOnlySpan<T> row) where T : unmanaged, IFloatingPointIeee754<T> => LogSumExp(row, 0, row.Length, 1);

    private static T LogSumExp<T>(ReadOnlySpan<T> x, int b, int n, int stride) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T m = T.NegativeInfinity;
        for (int j = 0; j < n; j++) m = T.Max(m, x[b + j * stride]);
        if (!T.IsFinite(m)) return m;
        T s = T.Zero;
        for (int j = 0; j < n; j++) s += T.Exp(x[b + j * stride] - m);
        return m + T.Log(s);
    }

    /// <summary>y = softmax (e^(x - m) / s) or log-softmax ((x - m) - ln s) along the middle axis; y may be x.</summary>
    public static void Normalize<T>(NormalizeOp op, ReadOnlySpan<T> x, int outer, int n, int inner, Span<T> y)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int b = o * n * inner + i;
                T m = T.NegativeInfinity;
                for (int j = 0; j < n; j++) m = T.Max(m, x[b + j * inner]);
                T s = T.Zero;
                for (int j = 0; j < n; j++) s += T.Exp(x[b + j * inner] - m);
                T ls = T.Log(s);
                for (int j = 0; j < n; j++)
                {
                    int k = b + j * inner;
                    y[k] = op switch
                    {
                        NormalizeOp.Softmax => T.Exp(x[k] - m) / s,
                        NormalizeOp.LogSoftmax => x[k] - m - ls,
                        _ => throw new ArgumentOutOfRangeException(nameof(op)),
                    };
                }
            }
    }

    /// <summary>
    /// dx += the backward of <see cref="Reduce{T}"/>: sum: dy; mean: dy * (1/n); max: dy to the first j with
    /// x == y (or x and y both NaN); logsumexp: dy * e^(x - y).
    /// </summary>
    public static void ReduceBackward<T>(ReduceOp op, ReadOnlySpan<T> x, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int outer, int n, int inner)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T invN = T.One / T.CreateChecked(Math.Max(n, 1));
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int b = o * n * inner + i;
                T g = dy[o * inner + i], r = y[o * inner + i];
                switch (op)
                {
                    case ReduceOp.Sum:
                        for (int j = 0; j < n; j++) dx[b + j * inner] += g;
                        break;
                    case ReduceOp.Mean:
                        for (int j = 0; j < n; j++) dx[b + j * inner] += g * invN;
                        break;
                    case ReduceOp.Max:
                        for (int j = 0; j < n; j++)
                        {
                            T v = x[b + j * inner];
                            if (v == r || (T.IsNaN(v) && T.IsNaN(r)))
                            {
                                dx[b + j * inner] += g;
                                break;
                            }
                        }
                        break;
                    case ReduceOp.LogSumExp:
                        for (int j = 0; j < n; j++) dx[b + j * inner] += g * T.Exp(x[b + j * inner] - r);
                        break;
                    default: throw new ArgumentOutOfRangeException(nameof(op));
                }
            }
    }

    /// <summary>
    /// dx += the backward of <see cref="Normalize{T}"/> from its output y: softmax: y (dy - s), s = sum_j dy y;
    /// log-softmax: dy - e^y s, s = sum_j dy.
    /// </summary>
    public static void NormalizeBackward<T>(NormalizeOp op, ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx, int outer, int n, int inner)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int b = o * n * inner + i;
                T s = T.Zero;
                switch (op)
                {
                    case NormalizeOp.Softmax:
                        for (int j = 0; j < n; j++) s += dy[b + j * inner] * y[b + j * inner];
                        for (int j = 0; j < n; j++) { int k = b + j * inner; dx[k] += y[k] * (dy[k] - s); }
                        break;
                    case NormalizeOp.LogSoftmax:
                        for (int j = 0; j < n; j++) s += dy[b + j * inner];
                        for (int j = 0; j < n; j++) { int k = b + j * inner; dx[k] += dy[k] - T.Exp(y[k]) * s; }
                        break;
                    default: throw new ArgumentOutOfRangeException(nameof(op));
                }
            }
    }

    /// <summary>
    /// small[o, j, i] (j &lt; nSmall) and big[o, start + j, i] copied one onto the other (into big when
    /// <paramref name="intoBig"/>), overwriting or adding.
    /// </summary>
    public static void CopyBlock<T>(Span<T> small, int nSmall, Span<T> big, int nBig, int start, int outer, int inner, bool intoBig, bool accumulate)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (start < 0 || start + nSmall > nBig)
            throw new ArgumentOutOfRangeException(nameof(start), $"Block [{start}, {start + nSmall}) does not fit an axis of {nBig}.");
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < nSmall; j++)
                for (int i = 0; i < inner; i++)
                {
                    int ks = (o * nSmall + j) * inner + i, kb = (o * nBig + start + j) * inner + i;
                    if (intoBig) big[kb] = accumulate ? big[kb] + small[ks] : small[ks];
                    else small[ks] = accumulate ? small[ks] + big[kb] : big[kb];
                }
    }
}

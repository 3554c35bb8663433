using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Engine.Mixtures;

/// <summary>
/// The two loops of the EM hot path that <see cref="System.Numerics.Tensors.TensorPrimitives"/> would need several
/// calls and temporaries for. Vector512 with a scalar tail.
/// </summary>
internal static class MixtureMath
{
    /// <summary>
    /// dst[i] = sum_j (y[j * ld + i] - c[j])^2 for i &lt; dst.Length: squared distances of whitened points (the
    /// columns of a dims x ld block) to a whitened mean, added to dst when <paramref name="accumulate"/>. Four
    /// vectors of columns at a time stay in registers across all j, so the block is read once and nothing else is.
    /// </summary>
    public static void SquaredDistances(ReadOnlySpan<double> y, int ld, ReadOnlySpan<double> c, Span<double> dst, bool accumulate = false)
    {
        int n = dst.Length, dims = c.Length, i = 0;
        ref double ry = ref MemoryMarshal.GetReference(y);
        ref double rd = ref MemoryMarshal.GetReference(dst);
        const int W = 8;   // Vector512<double>.Count
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= n - 4 * W; i += 4 * W)
            {
                Vector512<double> a0 = default, a1 = default, a2 = default, a3 = default;
                if (accumulate)
                {
                    a0 = Vector512.LoadUnsafe(ref rd, (nuint)i);
                    a1 = Vector512.LoadUnsafe(ref rd, (nuint)(i + W));
                    a2 = Vector512.LoadUnsafe(ref rd, (nuint)(i + 2 * W));
                    a3 = Vector512.LoadUnsafe(ref rd, (nuint)(i + 3 * W));
                }
                for (int j = 0; j < dims; j++)
                {
                    var vc = Vector512.Create(c[j]);
                    nuint row = (nuint)(j * ld + i);
                    var d0 = Vector512.LoadUnsafe(ref ry, row) - vc;
                    var d1 = Vector512.LoadUnsafe(ref ry, row + W) - vc;
                    var d2 = Vector512.LoadUnsafe(ref ry, row + 2 * W) - vc;
                    var d3 = Vector512.LoadUnsafe(ref ry, row + 3 * W) - vc;
                    a0 = Vector512.FusedMultiplyAdd(d0, d0, a0);
                    a1 = Vector512.FusedMultiplyAdd(d1, d1, a1);
                    a2 = Vector512.FusedMultiplyAdd(d2, d2, a2);
                    a3 = Vector512.FusedMultiplyAdd(d3, d3, a3);
                }
                a0.StoreUnsafe(ref rd, (nuint)i);
                a1.StoreUnsafe(ref rd, (nuint)(i + W));
                a2.StoreUnsafe(ref rd, (nuint)(i + 2 * W));
                a3.StoreUnsafe(ref rd, (nuint)(i + 3 * W));
            }
            for (; i <= n - W; i += W)
            {
                Vector512<double> a0 = accumulate ? Vector512.LoadUnsafe(ref rd, (nuint)i) : default;
                for (int j = 0; j < dims; j++)
                {
                    var d0 = Vector512.LoadUnsafe(ref ry, (nuint)(j * ld + i)) - Vector512.Create(c[j]);
                    a0 = Vector512.FusedMultiplyAdd(d0, d0, a0);
                }
                a0.StoreUnsafe(ref rd, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            double s = accumulate ? Unsafe.Add(ref rd, i) : 0;
            for (int j = 0; j < dims; j++)
            {
                double d = Unsafe.Add(ref ry, j * ld + i) - c[j];
                s += d * d;
            }
            Unsafe.Add(ref rd, i) = s;
        }
    }

    /// <summary>
    /// dst[i * ldDst + j] = (x[i * ldx + j] - mu[j]) * scale[i] for j &lt; mu.Length and the rows i &lt; scale.Length:
    /// the points' deviations from a mean (in some of the coordinates), weighted by their responsibilities. Their
    /// column sums are added to <paramref name="sums"/>.
    /// </summary>
    /// <remarks>
    /// Column-chunk outer, rows inner: each chunk's sums stay in a register over all rows (rows outer would chain
    /// every row's sum through a store and a reload, which made this loop latency-bound).
    /// </remarks>
    public static void ScaledDifferences(ReadOnlySpan<double> x, int ldx, ReadOnlySpan<double> mu, ReadOnlySpan<double> scale,
        Span<double> dst, int ldDst, Span<double> sums)
    {
        int rows = scale.Length, d = mu.Length, j = 0;
        ref double rx = ref MemoryMarshal.GetReference(x);
        ref double rm = ref MemoryMarshal.GetReference(mu);
        ref double rd = ref MemoryMarshal.GetReference(dst);
        ref double rs = ref MemoryMarshal.GetReference(sums);
        ref double rc = ref MemoryMarshal.GetReference(scale);
        if (Vector512.IsHardwareAccelerated)
        {
            for (; j <= d - Vector512<double>.Count; j += Vector512<double>.Count)
            {
                var m = Vector512.LoadUnsafe(ref rm, (nuint)j);
                var acc = Vector512.LoadUnsafe(ref rs, (nuint)j);
                nuint src = (nuint)j, to = (nuint)j;
                for (int i = 0; i < rows; i++, src += (nuint)ldx, to += (nuint)ldDst)
                {
                    var v = (Vector512.LoadUnsafe(ref rx, src) - m) * Vector512.Create(Unsafe.Add(ref rc, i));
                    v.StoreUnsafe(ref rd, to);
                    acc += v;
                }
                acc.StoreUnsafe(ref rs, (nuint)j);
            }
        }
        for (; j < d; j++)
        {
            double m = Unsafe.Add(ref rm, j), acc = Unsafe.Add(ref rs, j);
            for (int i = 0; i < rows; i++)
            {
                double v = (Unsafe.Add(ref rx, i * ldx + j) - m) * Unsafe.Add(ref rc, i);
                Unsafe.Add(ref rd, i * ldDst + j) = v;
                acc += v;
            }
            Unsafe.Add(ref rs, j) = acc;
        }
    }
}

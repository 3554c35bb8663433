using System.Numerics;
using System.Runtime.Intrinsics;
using Engine.Kernels.Reference;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Backward rules of the fused per-row losses (forwards in <c>Fused</c>). Rows of <c>cols</c> elements; the
/// upstream gradient has one value per row. Vector512/Vector256 loops on <see cref="VectorMath"/>'s exp (&lt;= 1 ulp);
/// the semantics are the scalar twins' in <see cref="ReferenceElementwise"/> (the fallback without AVX2), which they
/// match to a few ulps (the sigmoid and exp) and otherwise operation for operation.
/// </summary>
public static class LossGradients
{
    /// <summary>
    /// For out[r] = sum_c BCE(logits, targets): dLogits += dy[r] (sigmoid(l) - t); dTargets += -dy[r] l.
    /// Either output may be empty when that input needs no gradient.
    /// </summary>
    public static void BceWithLogitsRows<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, ReadOnlySpan<T> dyRows,
        Span<T> dLogits, Span<T> dTargets, int rows, int cols) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!Simd.Vectorized)
        {
            ReferenceElementwise.BceWithLogitsRows(logits, targets, dyRows, dLogits, dTargets, rows, cols);
            return;
        }
        for (int r = 0; r < rows; r++)
        {
            T g = dyRows[r];
            int b = r * cols;
            var l = logits.Slice(b, cols);
            if (!dLogits.IsEmpty)
            {
                var d = dLogits.Slice(b, cols);
                Simd.Map3(l, targets.Slice(b, cols), d, d, new BceBackOp<T>(g));
            }
            if (!dTargets.IsEmpty)
            {
                var d = dTargets.Slice(b, cols);
                Simd.Map2(l, d, d, new SubScaledOp<T>(g));
            }
        }
    }

    /// <summary>
    /// For out[r] = sum_c log N(x | mu, exp(logvar)): with d = (x - mu) exp(-logvar),
    /// dx += -dy d; dMu += dy d; dLogvar += dy (0.5 d (x - mu) - 0.5).
    /// </summary>
    public static void GaussianLogDensityRows<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> mu, ReadOnlySpan<T> logvar, ReadOnlySpan<T> dyRows,
        Span<T> dx, Span<T> dMu, Span<T> dLogvar, int rows, int cols) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (!Simd.Vectorized)
        {
            ReferenceElementwise.GaussianLogDensityRows(x, mu, logvar, dyRows, dx, dMu, dLogvar, rows, cols);
            return;
        }
        const int Chunk = 256;
        Span<T> dBuf = stackalloc T[Chunk];
        for (int r = 0; r < rows; r++)
        {
            T g = dyRows[r];
            for (int c0 = 0; c0 < cols; c0 += Chunk)
            {
                int len = Math.Min(Chunk, cols - c0), b = r * cols + c0;
                var xs = x.Slice(b, len); var ms = mu.Slice(b, len);
                var d = dBuf[..len];
                Simd.Map3(xs, ms, logvar.Slice(b, len), d, new GaussScoreOp<T>());
                if (!dx.IsEmpty) { var o = dx.Slice(b, len); Simd.Map2(d, o, o, new SubScaledOp<T>(g)); }
                if (!dMu.IsEmpty) { var o = dMu.Slice(b, len); Simd.Map2(d, o, o, new AddScaledOp<T>(g)); }
                if (!dLogvar.IsEmpty) { var o = dLogvar.Slice(b, len); Simd.Map4(d, xs, ms, o, o, new GaussLogvarBackOp<T>(g)); }
            }
        }
    }

    /// <summary>acc + g (sigmoid(l) - t).</summary>
    private readonly struct BceBackOp<T>(T g) : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Vector512<T> Invoke(Vector512<T> l, Vector512<T> t, Vector512<T> acc) => acc + Vector512.Create(g) * (VectorMath.Sigmoid(l) - t);
        public Vector256<T> Invoke(Vector256<T> l, Vector256<T> t, Vector256<T> acc) => acc + Vector256.Create(g) * (VectorMath.Sigmoid(l) - t);
    }

    /// <summary>acc - g v.</summary>
    private readonly struct SubScaledOp<T>(T g) : IMap2<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Vector512<T> Invoke(Vector512<T> v, Vector512<T> acc) => acc - Vector512.Create(g) * v;
        public Vector256<T> Invoke(Vector256<T> v, Vector256<T> acc) => acc - Vector256.Create(g) * v;
    }

    /// <summary>acc + g v.</summary>
    private readonly struct AddScaledOp<T>(T g) : IMap2<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Vector512<T> Invoke(Vector512<T> v, Vector512<T> acc) => acc + Vector512.Create(g) * v;
        public Vector256<T> Invoke(Vector256<T> v, Vector256<T> acc) => acc + Vector256.Create(g) * v;
    }

    /// <summary>(x - mu) e^-logvar.</summary>
    private readonly struct GaussScoreOp<T> : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Vector512<T> Invoke(Vector512<T> x, Vector512<T> mu, Vector512<T> lv) => (x - mu) * VectorMath.Exp(-lv);
        public Vector256<T> Invoke(Vector256<T> x, Vector256<T> mu, Vector256<T> lv) => (x - mu) * VectorMath.Exp(-lv);
    }

    /// <summary>acc + g (1/2 d (x - mu) - 1/2).</summary>
    private readonly struct GaussLogvarBackOp<T>(T g) : IMap4<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Vector512<T> Invoke(Vector512<T> d, Vector512<T> x, Vector512<T> mu, Vector512<T> acc)
        {
            var half = Vector512.Create(T.One / (T.One + T.One));
            return acc + Vector512.Create(g) * (half * d * (x - mu) - half);
        }
        public Vector256<T> Invoke(Vector256<T> d, Vector256<T> x, Vector256<T> mu, Vector256<T> acc)
        {
            var half = Vector256.Create(T.One / (T.One + T.One));
            return acc + Vector256.Create(g) * (half * d * (x - mu) - half);
        }
    }
}

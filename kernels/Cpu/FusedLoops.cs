using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Engine.Kernels.Cpu;

/// <summary>An elementwise rule of three arguments, at both vector widths.</summary>
internal interface IVecOp3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    Vector512<T> Invoke(Vector512<T> a, Vector512<T> b, Vector512<T> c);
    Vector256<T> Invoke(Vector256<T> a, Vector256<T> b, Vector256<T> c);
}

/// <summary>
/// The loop shapes shared by the fused kernels, generic over the element rule (a struct, so the JIT specialises
/// and inlines it: one machine-code loop per kernel and type, as if hand-written).
/// </summary>
/// <remarks>
/// Tails: the last partial vector of a row is copied into a zero-padded vector register and computed with the
/// same vector code, and the padded lanes are masked out of the row sum. So every term is computed by exactly the
/// same instructions wherever it sits in the row, and nothing outside the spans is read. The partial loads and
/// stores (<see cref="Load512{T}"/> and its kin) also serve the Adam step's tails.
/// </remarks>
internal static class FusedLoops
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<T> Load512<T>(ref T src, int count) where T : unmanaged
    {
        Vector512<T> v = Vector512<T>.Zero;
        Unsafe.CopyBlockUnaligned(ref Unsafe.As<Vector512<T>, byte>(ref v), ref Unsafe.As<T, byte>(ref src), (uint)(count * Unsafe.SizeOf<T>()));
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store512<T>(Vector512<T> v, ref T dst, int count) where T : unmanaged
        => Unsafe.CopyBlockUnaligned(ref Unsafe.As<T, byte>(ref dst), ref Unsafe.As<Vector512<T>, byte>(ref v), (uint)(count * Unsafe.SizeOf<T>()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<T> Load256<T>(ref T src, int count) where T : unmanaged
    {
        Vector256<T> v = Vector256<T>.Zero;
        Unsafe.CopyBlockUnaligned(ref Unsafe.As<Vector256<T>, byte>(ref v), ref Unsafe.As<T, byte>(ref src), (uint)(count * Unsafe.SizeOf<T>()));
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store256<T>(Vector256<T> v, ref T dst, int count) where T : unmanaged
        => Unsafe.CopyBlockUnaligned(ref Unsafe.As<T, byte>(ref dst), ref Unsafe.As<Vector256<T>, byte>(ref v), (uint)(count * Unsafe.SizeOf<T>()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<T> Valid512<T>(int count) where T : unmanaged, IFloatingPointIeee754<T>
        => Vector512.LessThan(Vector512<T>.Indices, Vector512.Create(T.CreateTruncating(count)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Valid256<T>(int count) where T : unmanaged, IFloatingPointIeee754<T>
        => Vector256.LessThan(Vector256<T>.Indices, Vector256.Create(T.CreateTruncating(count)));

    /// <summary>Vectors per block of <see cref="BceRows{T}"/>: one log per lane per block.</summary>
    private const int BceBlock = 8;

    /// <summary>
    /// outRows[r] = sum_c [|l| w + ln(1 + e^-|l|)] (BCE with logits, w = t or 1 - t by the sign of l; see
    /// <see cref="Reference.ReferenceFused.BceTerm{T}"/>) with the logarithm taken once per lane per block of
    /// <see cref="BceBlock"/> vectors instead of once per element:
    /// sum ln(1 + y_c) = ln(1 + D) with D = prod(1 + y_c) - 1, accumulated as D &lt;- D + y + D y. Every term of that
    /// update is small when the y are small, so D keeps the relative accuracy of the y themselves (two roundings per
    /// step: a block's log is within about 2 * BceBlock ulps of its exact value, however tiny), and ln(1 + D) is
    /// Goldberg's log1p. Products stay below 2^BceBlock. This turns an exp and a log per element into an exp and a
    /// multiply-add, which more than doubles the throughput; the row sums are evaluated in a different order from the
    /// per-element definition (ReferenceFused), so they agree to rounding, not bit for bit.
    /// </summary>
    public static void BceRows<T>(ReadOnlySpan<T> logits, ReadOnlySpan<T> targets, Span<T> outRows, int rows, int cols, Simd.Level level)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ref T lr = ref MemoryMarshal.GetReference(logits);
        ref T tr = ref MemoryMarshal.GetReference(targets);
        if (level == Simd.Level.V512)
        {
            int width = Vector512<T>.Count;
            for (int r = 0; r < rows; r++)
            {
                nint o = (nint)r * cols;
                ref T lrow = ref Unsafe.Add(ref lr, o);
                ref T trow = ref Unsafe.Add(ref tr, o);
                Vector512<T> lin = Vector512<T>.Zero, logs = Vector512<T>.Zero, d = Vector512<T>.Zero;
                int c = 0, inBlock = 0;
                for (; c <= cols - width; c += width)
                {
                    var l = Vector512.LoadUnsafe(ref lrow, (nuint)c);
                    var t = Vector512.LoadUnsafe(ref trow, (nuint)c);
                    BceStep(l, t, ref lin, ref d);
                    if (++inBlock == BceBlock)
                    {
                        logs += VectorMath.Log1pNonNegative(d);
                        d = Vector512<T>.Zero;
                        inBlock = 0;
                    }
                }
                if (c < cols)
                {
                    int rem = cols - c;
                    var valid = Valid512<T>(rem);
                    // Padded lanes read l = 0: mask their y (which would be 1) and their linear term out.
                    var l = Load512(ref Unsafe.Add(ref lrow, c), rem);
                    var t = Load512(ref Unsafe.Add(ref trow, c), rem);
                    var a = Vector512.Abs(l);
                    var w = Vector512.ConditionalSelect(Vector512.GreaterThan(l, Vector512<T>.Zero), Vector512<T>.One - t, t);
                    lin += Vector512.ConditionalSelect(valid & ~Vector512.Equals(w, Vector512<T>.Zero), a * w, Vector512<T>.Zero);
                    var y = Vector512.ConditionalSelect(valid, VectorMath.Exp(-a), Vector512<T>.Zero);
                    d = GemmMath.Fma(d, y, d + y);
                }
                logs += VectorMath.Log1pNonNegative(d);
                outRows[r] = Vector512.Sum(lin + logs);
            }
        }
        else
        {
            int width = Vector256<T>.Count;
            for (int r = 0; r < rows; r++)
            {
                nint o = (nint)r * cols;
                ref T lrow = ref Unsafe.Add(ref lr, o);
                ref T trow = ref Unsafe.Add(ref tr, o);
                Vector256<T> lin = Vector256<T>.Zero, logs = Vector256<T>.Zero, d = Vector256<T>.Zero;
                int c = 0, inBlock = 0;
                for (; c <= cols - width; c += width)
                {
                    var l = Vector256.LoadUnsafe(ref lrow, (nuint)c);
                    var t = Vector256.LoadUnsafe(ref trow, (nuint)c);
                    BceStep(l, t, ref lin, ref d);
                    if (++inBlock == BceBlock)
                    {
                        logs += VectorMath.Log1pNonNegative(d);
                        d = Vector256<T>.Zero;
                        inBlock = 0;
                    }
                }
                if (c < cols)
                {
                    int rem = cols - c;
                    var valid = Valid256<T>(rem);
                    var l = Load256(ref Unsafe.Add(ref lrow, c), rem);
                    var t = Load256(ref Unsafe.Add(ref trow, c), rem);
                    var a = Vector256.Abs(l);
                    var w = Vector256.ConditionalSelect(Vector256.GreaterThan(l, Vector256<T>.Zero), Vector256<T>.One - t, t);
                    lin += Vector256.ConditionalSelect(valid & ~Vector256.Equals(w, Vector256<T>.Zero), a * w, Vector256<T>.Zero);
                    var y = Vector256.ConditionalSelect(valid, VectorMath.Exp(-a), Vector256<T>.Zero);
                    d = GemmMath.Fma(d, y, d + y);
                }
                logs += VectorMath.Log1pNonNegative(d);
                outRows[r] = Vector256.Sum(lin + logs);
            }
        }
    }

    /// <summary>One vector of <see cref="BceRows{T}"/>: lin += |l| w (0 where w is 0, so an infinite logit with a
    /// matching target costs nothing), D &lt;- D + y + D y with y = e^-|l|.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BceStep<T>(Vector512<T> l, Vector512<T> t, ref Vector512<T> lin, ref Vector512<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = Vector512.Abs(l);
        var w = Vector512.ConditionalSelect(Vector512.GreaterThan(l, Vector512<T>.Zero), Vector512<T>.One - t, t);
        lin += Vector512.ConditionalSelect(Vector512.Equals(w, Vector512<T>.Zero), Vector512<T>.Zero, a * w);
        var y = VectorMath.Exp(-a);
        d = GemmMath.Fma(d, y, d + y);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BceStep<T>(Vector256<T> l, Vector256<T> t, ref Vector256<T> lin, ref Vector256<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = Vector256.Abs(l);
        var w = Vector256.ConditionalSelect(Vector256.GreaterThan(l, Vector256<T>.Zero), Vector256<T>.One - t, t);
        lin += Vector256.ConditionalSelect(Vector256.Equals(w, Vector256<T>.Zero), Vector256<T>.Zero, a * w);
        var y = VectorMath.Exp(-a);
        d = GemmMath.Fma(d, y, d + y);
    }

    /// <summary>outRows[r] = scale * sum_c op(a[r, c], b[r, c], c[r, c]). Two accumulators per row (the adds are
    /// otherwise a latency chain); the lanes are reduced at the end of the row, so the summation order differs from
    /// the scalar reference's left-to-right one by the usual O(cols eps) rounding.</summary>
    public static void SumRows3<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c3, Span<T> outRows, int rows, int cols, T scale, TOp op, Simd.Level level)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IVecOp3<T>
    {
        ref T ar = ref MemoryMarshal.GetReference(a);
        ref T br = ref MemoryMarshal.GetReference(b);
        ref T cr = ref MemoryMarshal.GetReference(c3);
        if (level == Simd.Level.V512)
        {
            int width = Vector512<T>.Count;
            for (int r = 0; r < rows; r++)
            {
                nint o = (nint)r * cols;
                ref T arow = ref Unsafe.Add(ref ar, o);
                ref T brow = ref Unsafe.Add(ref br, o);
                ref T crow = ref Unsafe.Add(ref cr, o);
                Vector512<T> acc0 = Vector512<T>.Zero, acc1 = Vector512<T>.Zero;
                int c = 0;
                for (; c <= cols - 2 * width; c += 2 * width)
                {
                    acc0 += op.Invoke(Vector512.LoadUnsafe(ref arow, (nuint)c), Vector512.LoadUnsafe(ref brow, (nuint)c), Vector512.LoadUnsafe(ref crow, (nuint)c));
                    nuint c1 = (nuint)(c + width);
                    acc1 += op.Invoke(Vector512.LoadUnsafe(ref arow, c1), Vector512.LoadUnsafe(ref brow, c1), Vector512.LoadUnsafe(ref crow, c1));
                }
                if (c <= cols - width)
                {
                    acc0 += op.Invoke(Vector512.LoadUnsafe(ref arow, (nuint)c), Vector512.LoadUnsafe(ref brow, (nuint)c), Vector512.LoadUnsafe(ref crow, (nuint)c));
                    c += width;
                }
                if (c < cols)
                {
                    int rem = cols - c;
                    var t = op.Invoke(Load512(ref Unsafe.Add(ref arow, c), rem), Load512(ref Unsafe.Add(ref brow, c), rem), Load512(ref Unsafe.Add(ref crow, c), rem));
                    acc1 += Vector512.ConditionalSelect(Valid512<T>(rem), t, Vector512<T>.Zero);
                }
                outRows[r] = scale * Vector512.Sum(acc0 + acc1);
            }
        }
        else
        {
            int width = Vector256<T>.Count;
            for (int r = 0; r < rows; r++)
            {
                nint o = (nint)r * cols;
                ref T arow = ref Unsafe.Add(ref ar, o);
                ref T brow = ref Unsafe.Add(ref br, o);
                ref T crow = ref Unsafe.Add(ref cr, o);
                Vector256<T> acc0 = Vector256<T>.Zero, acc1 = Vector256<T>.Zero;
                int c = 0;
                for (; c <= cols - 2 * width; c += 2 * width)
                {
                    acc0 += op.Invoke(Vector256.LoadUnsafe(ref arow, (nuint)c), Vector256.LoadUnsafe(ref brow, (nuint)c), Vector256.LoadUnsafe(ref crow, (nuint)c));
                    nuint c1 = (nuint)(c + width);
                    acc1 += op.Invoke(Vector256.LoadUnsafe(ref arow, c1), Vector256.LoadUnsafe(ref brow, c1), Vector256.LoadUnsafe(ref crow, c1));
                }
                if (c <= cols - width)
                {
                    acc0 += op.Invoke(Vector256.LoadUnsafe(ref arow, (nuint)c), Vector256.LoadUnsafe(ref brow, (nuint)c), Vector256.LoadUnsafe(ref crow, (nuint)c));
                    c += width;
                }
                if (c < cols)
                {
                    int rem = cols - c;
                    var t = op.Invoke(Load256(ref Unsafe.Add(ref arow, c), rem), Load256(ref Unsafe.Add(ref brow, c), rem), Load256(ref Unsafe.Add(ref crow, c), rem));
                    acc1 += Vector256.ConditionalSelect(Valid256<T>(rem), t, Vector256<T>.Zero);
                }
                outRows[r] = scale * Vector256.Sum(acc0 + acc1);
            }
        }
    }
}

using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Engine.Kernels.Cpu;

// The per-element terms of the fused row losses, one struct per term, each at both vector widths. Every term is the
// same expression as its scalar twin in ReferenceFused, written with FusedMath's vector exp/log; the two methods of
// a struct are the same text with the width changed.

/// <summary>
/// max(l, 0) - l t + ln(1 + e^-|l|), with the first two terms as |l| * (l &gt; 0 ? 1 - t : t): the same number for
/// finite l, but defined (as its limit) when |l| = Inf and the weight is 0 (l = +Inf, t = 1 or l = -Inf, t = 0 give
/// a loss of 0, not Inf - Inf = NaN). ln(1 + e^-|l|) is evaluated with the log1p trick so that it stays accurate
/// for large |l| and is exactly 0 at |l| = Inf.
/// </summary>
internal readonly struct BceTermOp<T> : IVecOp2<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<T> Invoke(Vector512<T> l, Vector512<T> t)
    {
        var a = Vector512.Abs(l);
        var w = Vector512.ConditionalSelect(Vector512.GreaterThan(l, Vector512<T>.Zero), Vector512<T>.One - t, t);
        var lin = Vector512.ConditionalSelect(Vector512.Equals(w, Vector512<T>.Zero), Vector512<T>.Zero, a * w);
        return lin + FusedMath.Log1pNonNegative(FusedMath.Exp(-a));
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<T> Invoke(Vector256<T> l, Vector256<T> t)
    {
        var a = Vector256.Abs(l);
        var w = Vector256.ConditionalSelect(Vector256.GreaterThan(l, Vector256<T>.Zero), Vector256<T>.One - t, t);
        var lin = Vector256.ConditionalSelect(Vector256.Equals(w, Vector256<T>.Zero), Vector256<T>.Zero, a * w);
        return lin + FusedMath.Log1pNonNegative(FusedMath.Exp(-a));
    }
}

/// <summary>(ln 2pi + lv) + (x - mu)^2 e^-lv (minus twice the log density of one dimension).</summary>
internal readonly struct GaussTermOp<T>(T log2Pi) : IVecOp3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T _log2Pi = log2Pi;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<T> Invoke(Vector512<T> x, Vector512<T> mu, Vector512<T> lv)
    {
        var d = x - mu;
        return (Vector512.Create(_log2Pi) + lv) + d * d * FusedMath.Exp(-lv);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<T> Invoke(Vector256<T> x, Vector256<T> mu, Vector256<T> lv)
    {
        var d = x - mu;
        return (Vector256.Create(_log2Pi) + lv) + d * d * FusedMath.Exp(-lv);
    }
}

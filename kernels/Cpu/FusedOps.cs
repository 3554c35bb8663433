using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Engine.Kernels.Cpu;

// The per-element terms of the fused row losses that run through Simd.Sum3 (the BCE term has its own loop,
// Fused.BceRows), each at both vector widths. Every term is the same expression as its scalar twin in
// ReferenceFused, written with VectorMath's vector exp/log; the two methods of a struct are the same text with the
// width changed.

/// <summary>(ln 2pi + lv) + (x - mu)^2 e^-lv (minus twice the log density of one dimension).</summary>
internal readonly struct GaussTermOp<T>(T log2Pi) : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T _log2Pi = log2Pi;
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<T> Invoke(Vector512<T> x, Vector512<T> mu, Vector512<T> lv)
    {
        var d = x - mu;
        return (Vector512.Create(_log2Pi) + lv) + d * d * VectorMath.Exp(-lv);
    }
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<T> Invoke(Vector256<T> x, Vector256<T> mu, Vector256<T> lv)
    {
        var d = x - mu;
        return (Vector256.Create(_log2Pi) + lv) + d * d * VectorMath.Exp(-lv);
    }
}

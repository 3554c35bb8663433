using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Hand-written Vector512/Vector256 loops for the elementwise rules TensorPrimitives has no single call for.
/// Each has a scalar tail; the scalar expression is the reference semantics.
/// </summary>
internal static class Simd
{
    public static void Relu<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
        => LeakyRelu(x, y, T.Zero);

    // y = x > 0 ? x : slope * x (NaN stays NaN: the comparison is false and slope*NaN is NaN).
    public static void LeakyRelu<T>(ReadOnlySpan<T> x, Span<T> y, T slope) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0, n = x.Length;
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T yr = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            var s = Vector512.Create(slope);
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                var v = Vector512.LoadUnsafe(ref xr, (nuint)i);
                var nan = ~Vector512.Equals(v, v);
                var r = Vector512.ConditionalSelect(Vector512.GreaterThan(v, Vector512<T>.Zero), v, v * s);
                Vector512.ConditionalSelect(nan, v, r).StoreUnsafe(ref yr, (nuint)i);
            }
        }
        else if (Vector256.IsHardwareAccelerated && Vector256<T>.IsSupported)
        {
            var s = Vector256.Create(slope);
            for (; i <= n - Vector256<T>.Count; i += Vector256<T>.Count)
            {
                var v = Vector256.LoadUnsafe(ref xr, (nuint)i);
                var nan = ~Vector256.Equals(v, v);
                var r = Vector256.ConditionalSelect(Vector256.GreaterThan(v, Vector256<T>.Zero), v, v * s);
                Vector256.ConditionalSelect(nan, v, r).StoreUnsafe(ref yr, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            T v = Unsafe.Add(ref xr, i);
            Unsafe.Add(ref yr, i) = T.IsNaN(v) ? v : v > T.Zero ? v : v * slope;
        }
    }

    // dx += x > 0 ? dy : slope * dy
    public static void ReluBackward<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> dy, Span<T> dx, T slope) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0, n = x.Length;
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T gr = ref MemoryMarshal.GetReference(dy);
        ref T dr = ref MemoryMarshal.GetReference(dx);
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            var s = Vector512.Create(slope);
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                var v = Vector512.LoadUnsafe(ref xr, (nuint)i);
                var g = Vector512.LoadUnsafe(ref gr, (nuint)i);
                var d = Vector512.LoadUnsafe(ref dr, (nuint)i);
                (d + Vector512.ConditionalSelect(Vector512.GreaterThan(v, Vector512<T>.Zero), g, g * s)).StoreUnsafe(ref dr, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            T g = Unsafe.Add(ref gr, i);
            Unsafe.Add(ref dr, i) += Unsafe.Add(ref xr, i) > T.Zero ? g : g * slope;
        }
    }

    // dx += dy * y * (1 - y)
    public static void SigmoidBackward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0, n = y.Length;
        ref T yr = ref MemoryMarshal.GetReference(y);
        ref T gr = ref MemoryMarshal.GetReference(dy);
        ref T dr = ref MemoryMarshal.GetReference(dx);
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                var v = Vector512.LoadUnsafe(ref yr, (nuint)i);
                var g = Vector512.LoadUnsafe(ref gr, (nuint)i);
                var d = Vector512.LoadUnsafe(ref dr, (nuint)i);
                (d + g * v * (Vector512<T>.One - v)).StoreUnsafe(ref dr, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            T v = Unsafe.Add(ref yr, i);
            Unsafe.Add(ref dr, i) += Unsafe.Add(ref gr, i) * v * (T.One - v);
        }
    }

    // dx += dy * (1 - y^2)
    public static void TanhBackward<T>(ReadOnlySpan<T> y, ReadOnlySpan<T> dy, Span<T> dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0, n = y.Length;
        ref T yr = ref MemoryMarshal.GetReference(y);
        ref T gr = ref MemoryMarshal.GetReference(dy);
        ref T dr = ref MemoryMarshal.GetReference(dx);
        if (Vector512.IsHardwareAccelerated && Vector512<T>.IsSupported)
        {
            for (; i <= n - Vector512<T>.Count; i += Vector512<T>.Count)
            {
                var v = Vector512.LoadUnsafe(ref yr, (nuint)i);
                var g = Vector512.LoadUnsafe(ref gr, (nuint)i);
                var d = Vector512.LoadUnsafe(ref dr, (nuint)i);
                (d + g * (Vector512<T>.One - v * v)).StoreUnsafe(ref dr, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            T v = Unsafe.Add(ref yr, i);
            Unsafe.Add(ref dr, i) += Unsafe.Add(ref gr, i) * (T.One - v * v);
        }
    }

    // y = min(max(x, lo), hi), NaN propagates.
    public static void Clamp<T>(ReadOnlySpan<T> x, Span<T> y, T lo, T hi) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < x.Length; i++)
        {
            T v = x[i];
            y[i] = T.IsNaN(v) ? v : v < lo ? lo : v > hi ? hi : v;
        }
    }
}

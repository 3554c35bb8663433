using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Engine.Kernels.Cpu;

/// <summary>An elementwise rule of one argument at both vector widths (a struct, so the JIT inlines it).</summary>
internal interface IMap1<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    Vector512<T> Invoke(Vector512<T> a);
    Vector256<T> Invoke(Vector256<T> a);
}

/// <summary>An elementwise rule of two arguments at both vector widths.</summary>
internal interface IMap2<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    Vector512<T> Invoke(Vector512<T> a, Vector512<T> b);
    Vector256<T> Invoke(Vector256<T> a, Vector256<T> b);
}

/// <summary>An elementwise rule of three arguments at both vector widths.</summary>
internal interface IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    Vector512<T> Invoke(Vector512<T> a, Vector512<T> b, Vector512<T> c);
    Vector256<T> Invoke(Vector256<T> a, Vector256<T> b, Vector256<T> c);
}

/// <summary>An elementwise rule of four arguments at both vector widths.</summary>
internal interface IMap4<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    Vector512<T> Invoke(Vector512<T> a, Vector512<T> b, Vector512<T> c, Vector512<T> d);
    Vector256<T> Invoke(Vector256<T> a, Vector256<T> b, Vector256<T> c, Vector256<T> d);
}

/// <summary>An in-place update of two streams from one input (a, b updated from g) at both vector widths.</summary>
internal interface IUpdate2<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    void Invoke(ref Vector512<T> a, Vector512<T> g, ref Vector512<T> b);
    void Invoke(ref Vector256<T> a, Vector256<T> g, ref Vector256<T> b);
}

/// <summary>An in-place update of three streams from one input (a, b, c updated from g) at both vector widths.</summary>
internal interface IUpdate3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    void Invoke(ref Vector512<T> a, Vector512<T> g, ref Vector512<T> b, ref Vector512<T> c);
    void Invoke(ref Vector256<T> a, Vector256<T> g, ref Vector256<T> b, ref Vector256<T> c);
}

/// <summary>
/// The SIMD layer of the hand-written CPU kernels (Unary, Axis, LossGradients, SgdKernel, Fused): the choice of
/// vector width, the partial loads and stores of the tails, and the loop drivers (map, sum, map-and-sum, in-place
/// update), generic over a struct rule so that each kernel compiles to one specialised Vector512 (AVX-512) or
/// Vector256 (AVX2) loop; which one runs is <see cref="Current"/> (tests force the narrower paths). The callers run
/// their scalar twin in <c>Engine.Kernels.Reference</c> instead when neither width is available.
/// </summary>
/// <remarks>
/// Tails: the last partial vector is loaded into a zero-padded register, computed by the same vector code and
/// only its valid lanes are stored, so an element's result never depends on where it sits in the span, nothing
/// outside the spans is touched, and the output may be the very same span as any input (each vector is loaded
/// before it is stored; the in-place updates need disjoint streams). Sums mask the padded lanes out. Nothing is
/// allocated.
/// <para>Which width runs: the hardware decides (<see cref="Hardware"/>); tests can force a narrower path on their
/// own thread (<see cref="Force"/>; the override is thread-static, so it never leaks into other tests) to cover the
/// AVX2 and scalar code on an AVX-512 machine. The fused kernels and the random fills read the same
/// <see cref="Current"/>.</para>
/// </remarks>
internal static class Simd
{
    /// <summary>A vector width: none (the scalar twins run), Vector256 (AVX2) or Vector512 (AVX-512).</summary>
    internal enum Level { Scalar = 0, V256 = 1, V512 = 2 }

    /// <summary>The widest path this machine runs natively. Vector512 counts only with real AVX-512 (on other
    /// hardware it is emulated and slower than scalar code); Vector256 only where it is hardware accelerated.</summary>
    internal static readonly Level Hardware =
        Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? Level.V512 :
        Vector256.IsHardwareAccelerated && Avx2.IsSupported ? Level.V256 : Level.Scalar;

    [ThreadStatic] private static Level? t_forced;

    /// <summary>The path to take now: the hardware level, or the forced one when that is narrower.</summary>
    internal static Level Current => t_forced is { } f && f < Hardware ? f : Hardware;

    /// <summary>Forces at most <paramref name="level"/> on this thread until the returned scope is disposed.</summary>
    internal static Scope Force(Level level)
    {
        var previous = t_forced;
        t_forced = level;
        return new Scope(previous);
    }

    internal readonly struct Scope : IDisposable
    {
        private readonly Level? _previous;
        internal Scope(Level? previous) => _previous = previous;
        public void Dispose() => t_forced = _previous;
    }

    /// <summary>True when a vector path runs (else the callers use their scalar twin).</summary>
    internal static bool Vectorized => Current != Level.Scalar;

    private static bool Wide => Current == Level.V512;

    /// <summary>The first <paramref name="count"/> elements at <paramref name="src"/> (fewer than a vector), zero-padded; nothing past them is read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<T> Load512<T>(ref T src, int count) where T : unmanaged
    {
        Vector512<T> v = Vector512<T>.Zero;
        Unsafe.CopyBlockUnaligned(ref Unsafe.As<Vector512<T>, byte>(ref v), ref Unsafe.As<T, byte>(ref src), (uint)(count * Unsafe.SizeOf<T>()));
        return v;
    }

    /// <summary>Stores the first <paramref name="count"/> lanes of <paramref name="v"/>; nothing past them is written.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store512<T>(Vector512<T> v, ref T dst, int count) where T : unmanaged
        => Unsafe.CopyBlockUnaligned(ref Unsafe.As<T, byte>(ref dst), ref Unsafe.As<Vector512<T>, byte>(ref v), (uint)(count * Unsafe.SizeOf<T>()));

    /// <inheritdoc cref="Load512{T}(ref T, int)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<T> Load256<T>(ref T src, int count) where T : unmanaged
    {
        Vector256<T> v = Vector256<T>.Zero;
        Unsafe.CopyBlockUnaligned(ref Unsafe.As<Vector256<T>, byte>(ref v), ref Unsafe.As<T, byte>(ref src), (uint)(count * Unsafe.SizeOf<T>()));
        return v;
    }

    /// <inheritdoc cref="Store512{T}(Vector512{T}, ref T, int)"/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Store256<T>(Vector256<T> v, ref T dst, int count) where T : unmanaged
        => Unsafe.CopyBlockUnaligned(ref Unsafe.As<T, byte>(ref dst), ref Unsafe.As<Vector256<T>, byte>(ref v), (uint)(count * Unsafe.SizeOf<T>()));

    /// <summary>All-ones in the first <paramref name="count"/> lanes, zero in the rest.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<T> Valid512<T>(int count) where T : unmanaged, IFloatingPointIeee754<T>
        => Vector512.LessThan(Vector512<T>.Indices, Vector512.Create(T.CreateTruncating(count)));

    /// <summary>All-ones in the first <paramref name="count"/> lanes, zero in the rest.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<T> Valid256<T>(int count) where T : unmanaged, IFloatingPointIeee754<T>
        => Vector256.LessThan(Vector256<T>.Indices, Vector256.Create(T.CreateTruncating(count)));

    private static void CheckLength(int expected, int actual, string name)
    {
        if (actual != expected) throw new ArgumentException($"Span {name} holds {actual} elements; expected {expected}.", name);
    }

    /// <summary>dst[i] = op(a[i]); dst may be a.</summary>
    public static void Map1<T, TOp>(ReadOnlySpan<T> a, Span<T> dst, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IMap1<T>
    {
        int n = dst.Length, i = 0;
        CheckLength(n, a.Length, nameof(a));
        ref T ar = ref MemoryMarshal.GetReference(a);
        ref T dr = ref MemoryMarshal.GetReference(dst);
        if (Wide)
        {
            int w = Vector512<T>.Count;
            for (; i <= n - w; i += w)
                op.Invoke(Vector512.LoadUnsafe(ref ar, (nuint)i)).StoreUnsafe(ref dr, (nuint)i);
            if (i < n)
                Store512(op.Invoke(Load512(ref Unsafe.Add(ref ar, i), n - i)), ref Unsafe.Add(ref dr, i), n - i);
        }
        else
        {
            int w = Vector256<T>.Count;
            for (; i <= n - w; i += w)
                op.Invoke(Vector256.LoadUnsafe(ref ar, (nuint)i)).StoreUnsafe(ref dr, (nuint)i);
            if (i < n)
                Store256(op.Invoke(Load256(ref Unsafe.Add(ref ar, i), n - i)), ref Unsafe.Add(ref dr, i), n - i);
        }
    }

    /// <summary>dst[i] = op(a[i], b[i]); dst may be a or b.</summary>
    public static void Map2<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> dst, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IMap2<T>
    {
        int n = dst.Length, i = 0;
        CheckLength(n, a.Length, nameof(a));
        CheckLength(n, b.Length, nameof(b));
        ref T ar = ref MemoryMarshal.GetReference(a);
        ref T br = ref MemoryMarshal.GetReference(b);
        ref T dr = ref MemoryMarshal.GetReference(dst);
        if (Wide)
        {
            int w = Vector512<T>.Count;
            for (; i <= n - w; i += w)
                op.Invoke(Vector512.LoadUnsafe(ref ar, (nuint)i), Vector512.LoadUnsafe(ref br, (nuint)i)).StoreUnsafe(ref dr, (nuint)i);
            if (i < n)
            {
                int r = n - i;
                Store512(op.Invoke(Load512(ref Unsafe.Add(ref ar, i), r), Load512(ref Unsafe.Add(ref br, i), r)), ref Unsafe.Add(ref dr, i), r);
            }
        }
        else
        {
            int w = Vector256<T>.Count;
            for (; i <= n - w; i += w)
                op.Invoke(Vector256.LoadUnsafe(ref ar, (nuint)i), Vector256.LoadUnsafe(ref br, (nuint)i)).StoreUnsafe(ref dr, (nuint)i);
            if (i < n)
            {
                int r = n - i;
                Store256(op.Invoke(Load256(ref Unsafe.Add(ref ar, i), r), Load256(ref Unsafe.Add(ref br, i), r)), ref Unsafe.Add(ref dr, i), r);
            }
        }
    }

    /// <summary>dst[i] = op(a[i], b[i], c[i]); dst may be any of the inputs.</summary>
    public static void Map3<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c, Span<T> dst, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IMap3<T>
    {
        int n = dst.Length, i = 0;
        CheckLength(n, a.Length, nameof(a));
        CheckLength(n, b.Length, nameof(b));
        CheckLength(n, c.Length, nameof(c));
        ref T ar = ref MemoryMarshal.GetReference(a);
        ref T br = ref MemoryMarshal.GetReference(b);
        ref T cr = ref MemoryMarshal.GetReference(c);
        ref T dr = ref MemoryMarshal.GetReference(dst);
        if (Wide)
        {
            int w = Vector512<T>.Count;
            for (; i <= n - w; i += w)
                op.Invoke(Vector512.LoadUnsafe(ref ar, (nuint)i), Vector512.LoadUnsafe(ref br, (nuint)i), Vector512.LoadUnsafe(ref cr, (nuint)i))
                    .StoreUnsafe(ref dr, (nuint)i);
            if (i < n)
            {
                int r = n - i;
                Store512(op.Invoke(Load512(ref Unsafe.Add(ref ar, i), r), Load512(ref Unsafe.Add(ref br, i), r), Load512(ref Unsafe.Add(ref cr, i), r)),
                    ref Unsafe.Add(ref dr, i), r);
            }
        }
        else
        {
            int w = Vector256<T>.Count;
            for (; i <= n - w; i += w)
                op.Invoke(Vector256.LoadUnsafe(ref ar, (nuint)i), Vector256.LoadUnsafe(ref br, (nuint)i), Vector256.LoadUnsafe(ref cr, (nuint)i))
                    .StoreUnsafe(ref dr, (nuint)i);
            if (i < n)
            {
                int r = n - i;
                Store256(op.Invoke(Load256(ref Unsafe.Add(ref ar, i), r), Load256(ref Unsafe.Add(ref br, i), r), Load256(ref Unsafe.Add(ref cr, i), r)),
                    ref Unsafe.Add(ref dr, i), r);
            }
        }
    }

    /// <summary>dst[i] = op(a[i], b[i], c[i], d[i]); dst may be any of the inputs.</summary>
    public static void Map4<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c, ReadOnlySpan<T> d, Span<T> dst, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IMap4<T>
    {
        int n = dst.Length, i = 0;
        CheckLength(n, a.Length, nameof(a));
        CheckLength(n, b.Length, nameof(b));
        CheckLength(n, c.Length, nameof(c));
        CheckLength(n, d.Length, nameof(d));
        ref T ar = ref MemoryMarshal.GetReference(a);
        ref T br = ref MemoryMarshal.GetReference(b);
        ref T cr = ref MemoryMarshal.GetReference(c);
        ref T qr = ref MemoryMarshal.GetReference(d);
        ref T dr = ref MemoryMarshal.GetReference(dst);
        if (Wide)
        {
            int w = Vector512<T>.Count;
            for (; i <= n - w; i += w)
                op.Invoke(Vector512.LoadUnsafe(ref ar, (nuint)i), Vector512.LoadUnsafe(ref br, (nuint)i),
                    Vector512.LoadUnsafe(ref cr, (nuint)i), Vector512.LoadUnsafe(ref qr, (nuint)i)).StoreUnsafe(ref dr, (nuint)i);
            if (i < n)
            {
                int r = n - i;
                Store512(op.Invoke(Load512(ref Unsafe.Add(ref ar, i), r), Load512(ref Unsafe.Add(ref br, i), r),
                    Load512(ref Unsafe.Add(ref cr, i), r), Load512(ref Unsafe.Add(ref qr, i), r)), ref Unsafe.Add(ref dr, i), r);
            }
        }
        else
        {
            int w = Vector256<T>.Count;
            for (; i <= n - w; i += w)
                op.Invoke(Vector256.LoadUnsafe(ref ar, (nuint)i), Vector256.LoadUnsafe(ref br, (nuint)i),
                    Vector256.LoadUnsafe(ref cr, (nuint)i), Vector256.LoadUnsafe(ref qr, (nuint)i)).StoreUnsafe(ref dr, (nuint)i);
            if (i < n)
            {
                int r = n - i;
                Store256(op.Invoke(Load256(ref Unsafe.Add(ref ar, i), r), Load256(ref Unsafe.Add(ref br, i), r),
                    Load256(ref Unsafe.Add(ref cr, i), r), Load256(ref Unsafe.Add(ref qr, i), r)), ref Unsafe.Add(ref dr, i), r);
            }
        }
    }

    /// <summary>sum_i op(a[i]) (two vector accumulators, then a horizontal sum).</summary>
    public static T Sum1<T, TOp>(ReadOnlySpan<T> a, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IMap1<T>
    {
        int n = a.Length, i = 0;
        ref T ar = ref MemoryMarshal.GetReference(a);
        if (Wide)
        {
            int w = Vector512<T>.Count;
            var s0 = Vector512<T>.Zero; var s1 = Vector512<T>.Zero;
            for (; i <= n - 2 * w; i += 2 * w)
            {
                s0 += op.Invoke(Vector512.LoadUnsafe(ref ar, (nuint)i));
                s1 += op.Invoke(Vector512.LoadUnsafe(ref ar, (nuint)(i + w)));
            }
            if (i <= n - w) { s0 += op.Invoke(Vector512.LoadUnsafe(ref ar, (nuint)i)); i += w; }
            if (i < n)
                s1 += Vector512.ConditionalSelect(Valid512<T>(n - i), op.Invoke(Load512(ref Unsafe.Add(ref ar, i), n - i)), Vector512<T>.Zero);
            return Vector512.Sum(s0 + s1);
        }
        else
        {
            int w = Vector256<T>.Count;
            var s0 = Vector256<T>.Zero; var s1 = Vector256<T>.Zero;
            for (; i <= n - 2 * w; i += 2 * w)
            {
                s0 += op.Invoke(Vector256.LoadUnsafe(ref ar, (nuint)i));
                s1 += op.Invoke(Vector256.LoadUnsafe(ref ar, (nuint)(i + w)));
            }
            if (i <= n - w) { s0 += op.Invoke(Vector256.LoadUnsafe(ref ar, (nuint)i)); i += w; }
            if (i < n)
                s1 += Vector256.ConditionalSelect(Valid256<T>(n - i), op.Invoke(Load256(ref Unsafe.Add(ref ar, i), n - i)), Vector256<T>.Zero);
            return Vector256.Sum(s0 + s1);
        }
    }

    /// <summary>dst[i] = op(a[i]) and returns sum_i dst[i]; dst may be a.</summary>
    public static T MapSum1<T, TOp>(ReadOnlySpan<T> a, Span<T> dst, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IMap1<T>
    {
        int n = dst.Length, i = 0;
        CheckLength(n, a.Length, nameof(a));
        ref T ar = ref MemoryMarshal.GetReference(a);
        ref T dr = ref MemoryMarshal.GetReference(dst);
        if (Wide)
        {
            int w = Vector512<T>.Count;
            var s0 = Vector512<T>.Zero; var s1 = Vector512<T>.Zero;
            for (; i <= n - 2 * w; i += 2 * w)
            {
                var v0 = op.Invoke(Vector512.LoadUnsafe(ref ar, (nuint)i));
                var v1 = op.Invoke(Vector512.LoadUnsafe(ref ar, (nuint)(i + w)));
                v0.StoreUnsafe(ref dr, (nuint)i);
                v1.StoreUnsafe(ref dr, (nuint)(i + w));
                s0 += v0; s1 += v1;
            }
            if (i <= n - w)
            {
                var v = op.Invoke(Vector512.LoadUnsafe(ref ar, (nuint)i));
                v.StoreUnsafe(ref dr, (nuint)i);
                s0 += v; i += w;
            }
            if (i < n)
            {
                var v = op.Invoke(Load512(ref Unsafe.Add(ref ar, i), n - i));
                Store512(v, ref Unsafe.Add(ref dr, i), n - i);
                s1 += Vector512.ConditionalSelect(Valid512<T>(n - i), v, Vector512<T>.Zero);
            }
            return Vector512.Sum(s0 + s1);
        }
        else
        {
            int w = Vector256<T>.Count;
            var s0 = Vector256<T>.Zero; var s1 = Vector256<T>.Zero;
            for (; i <= n - 2 * w; i += 2 * w)
            {
                var v0 = op.Invoke(Vector256.LoadUnsafe(ref ar, (nuint)i));
                var v1 = op.Invoke(Vector256.LoadUnsafe(ref ar, (nuint)(i + w)));
                v0.StoreUnsafe(ref dr, (nuint)i);
                v1.StoreUnsafe(ref dr, (nuint)(i + w));
                s0 += v0; s1 += v1;
            }
            if (i <= n - w)
            {
                var v = op.Invoke(Vector256.LoadUnsafe(ref ar, (nuint)i));
                v.StoreUnsafe(ref dr, (nuint)i);
                s0 += v; i += w;
            }
            if (i < n)
            {
                var v = op.Invoke(Load256(ref Unsafe.Add(ref ar, i), n - i));
                Store256(v, ref Unsafe.Add(ref dr, i), n - i);
                s1 += Vector256.ConditionalSelect(Valid256<T>(n - i), v, Vector256<T>.Zero);
            }
            return Vector256.Sum(s0 + s1);
        }
    }

    /// <summary>sum_i op(a[i], b[i], c[i]) (two vector accumulators, then a horizontal sum).</summary>
    public static T Sum3<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IMap3<T>
    {
        int n = a.Length, i = 0;
        CheckLength(n, b.Length, nameof(b));
        CheckLength(n, c.Length, nameof(c));
        ref T ar = ref MemoryMarshal.GetReference(a);
        ref T br = ref MemoryMarshal.GetReference(b);
        ref T cr = ref MemoryMarshal.GetReference(c);
        if (Wide)
        {
            int w = Vector512<T>.Count;
            var s0 = Vector512<T>.Zero; var s1 = Vector512<T>.Zero;
            for (; i <= n - 2 * w; i += 2 * w)
            {
                s0 += op.Invoke(Vector512.LoadUnsafe(ref ar, (nuint)i), Vector512.LoadUnsafe(ref br, (nuint)i), Vector512.LoadUnsafe(ref cr, (nuint)i));
                nuint i1 = (nuint)(i + w);
                s1 += op.Invoke(Vector512.LoadUnsafe(ref ar, i1), Vector512.LoadUnsafe(ref br, i1), Vector512.LoadUnsafe(ref cr, i1));
            }
            if (i <= n - w)
            {
                s0 += op.Invoke(Vector512.LoadUnsafe(ref ar, (nuint)i), Vector512.LoadUnsafe(ref br, (nuint)i), Vector512.LoadUnsafe(ref cr, (nuint)i));
                i += w;
            }
            if (i < n)
            {
                int r = n - i;
                var t = op.Invoke(Load512(ref Unsafe.Add(ref ar, i), r), Load512(ref Unsafe.Add(ref br, i), r), Load512(ref Unsafe.Add(ref cr, i), r));
                s1 += Vector512.ConditionalSelect(Valid512<T>(r), t, Vector512<T>.Zero);
            }
            return Vector512.Sum(s0 + s1);
        }
        else
        {
            int w = Vector256<T>.Count;
            var s0 = Vector256<T>.Zero; var s1 = Vector256<T>.Zero;
            for (; i <= n - 2 * w; i += 2 * w)
            {
                s0 += op.Invoke(Vector256.LoadUnsafe(ref ar, (nuint)i), Vector256.LoadUnsafe(ref br, (nuint)i), Vector256.LoadUnsafe(ref cr, (nuint)i));
                nuint i1 = (nuint)(i + w);
                s1 += op.Invoke(Vector256.LoadUnsafe(ref ar, i1), Vector256.LoadUnsafe(ref br, i1), Vector256.LoadUnsafe(ref cr, i1));
            }
            if (i <= n - w)
            {
                s0 += op.Invoke(Vector256.LoadUnsafe(ref ar, (nuint)i), Vector256.LoadUnsafe(ref br, (nuint)i), Vector256.LoadUnsafe(ref cr, (nuint)i));
                i += w;
            }
            if (i < n)
            {
                int r = n - i;
                var t = op.Invoke(Load256(ref Unsafe.Add(ref ar, i), r), Load256(ref Unsafe.Add(ref br, i), r), Load256(ref Unsafe.Add(ref cr, i), r));
                s1 += Vector256.ConditionalSelect(Valid256<T>(r), t, Vector256<T>.Zero);
            }
            return Vector256.Sum(s0 + s1);
        }
    }

    /// <summary>(a[i], b[i]) updated in place by op from g[i], i &lt; n, at the given width (a caller on a worker
    /// thread passes the width its caller chose). The three streams must be disjoint.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Update2<T, TOp>(ref T ar, ref T gr, ref T br, int n, TOp op, Level level)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IUpdate2<T>
    {
        int i = 0;
        if (level == Level.V512)
        {
            int w = Vector512<T>.Count;
            for (; i <= n - w; i += w)
            {
                nuint o = (nuint)i;
                var a = Vector512.LoadUnsafe(ref ar, o);
                var b = Vector512.LoadUnsafe(ref br, o);
                op.Invoke(ref a, Vector512.LoadUnsafe(ref gr, o), ref b);
                a.StoreUnsafe(ref ar, o); b.StoreUnsafe(ref br, o);
            }
            if (i < n)
            {
                int r = n - i;
                var a = Load512(ref Unsafe.Add(ref ar, i), r);
                var b = Load512(ref Unsafe.Add(ref br, i), r);
                op.Invoke(ref a, Load512(ref Unsafe.Add(ref gr, i), r), ref b);
                Store512(a, ref Unsafe.Add(ref ar, i), r);
                Store512(b, ref Unsafe.Add(ref br, i), r);
            }
        }
        else
        {
            int w = Vector256<T>.Count;
            for (; i <= n - w; i += w)
            {
                nuint o = (nuint)i;
                var a = Vector256.LoadUnsafe(ref ar, o);
                var b = Vector256.LoadUnsafe(ref br, o);
                op.Invoke(ref a, Vector256.LoadUnsafe(ref gr, o), ref b);
                a.StoreUnsafe(ref ar, o); b.StoreUnsafe(ref br, o);
            }
            if (i < n)
            {
                int r = n - i;
                var a = Load256(ref Unsafe.Add(ref ar, i), r);
                var b = Load256(ref Unsafe.Add(ref br, i), r);
                op.Invoke(ref a, Load256(ref Unsafe.Add(ref gr, i), r), ref b);
                Store256(a, ref Unsafe.Add(ref ar, i), r);
                Store256(b, ref Unsafe.Add(ref br, i), r);
            }
        }
    }

    /// <summary>(a[i], b[i], c[i]) updated in place by op from g[i], i &lt; n, at the given width. The four streams
    /// must be disjoint.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Update3<T, TOp>(ref T ar, ref T gr, ref T br, ref T cr, int n, TOp op, Level level)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IUpdate3<T>
    {
        int i = 0;
        if (level == Level.V512)
        {
            int w = Vector512<T>.Count;
            for (; i <= n - w; i += w)
            {
                nuint o = (nuint)i;
                var a = Vector512.LoadUnsafe(ref ar, o);
                var b = Vector512.LoadUnsafe(ref br, o);
                var c = Vector512.LoadUnsafe(ref cr, o);
                op.Invoke(ref a, Vector512.LoadUnsafe(ref gr, o), ref b, ref c);
                a.StoreUnsafe(ref ar, o); b.StoreUnsafe(ref br, o); c.StoreUnsafe(ref cr, o);
            }
            if (i < n)
            {
                int r = n - i;
                var a = Load512(ref Unsafe.Add(ref ar, i), r);
                var b = Load512(ref Unsafe.Add(ref br, i), r);
                var c = Load512(ref Unsafe.Add(ref cr, i), r);
                op.Invoke(ref a, Load512(ref Unsafe.Add(ref gr, i), r), ref b, ref c);
                Store512(a, ref Unsafe.Add(ref ar, i), r);
                Store512(b, ref Unsafe.Add(ref br, i), r);
                Store512(c, ref Unsafe.Add(ref cr, i), r);
            }
        }
        else
        {
            int w = Vector256<T>.Count;
            for (; i <= n - w; i += w)
            {
                nuint o = (nuint)i;
                var a = Vector256.LoadUnsafe(ref ar, o);
                var b = Vector256.LoadUnsafe(ref br, o);
                var c = Vector256.LoadUnsafe(ref cr, o);
                op.Invoke(ref a, Vector256.LoadUnsafe(ref gr, o), ref b, ref c);
                a.StoreUnsafe(ref ar, o); b.StoreUnsafe(ref br, o); c.StoreUnsafe(ref cr, o);
            }
            if (i < n)
            {
                int r = n - i;
                var a = Load256(ref Unsafe.Add(ref ar, i), r);
                var b = Load256(ref Unsafe.Add(ref br, i), r);
                var c = Load256(ref Unsafe.Add(ref cr, i), r);
                op.Invoke(ref a, Load256(ref Unsafe.Add(ref gr, i), r), ref b, ref c);
                Store256(a, ref Unsafe.Add(ref ar, i), r);
                Store256(b, ref Unsafe.Add(ref br, i), r);
                Store256(c, ref Unsafe.Add(ref cr, i), r);
            }
        }
    }
}

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
        int n = dst.Length;
        CheckLength(n, a.Length, nameof(a));
        ref T ar = ref MemoryMarshal.GetReference(a);
        ref T dr = ref MemoryMarshal.GetReference(dst);
        if (Wide) Map1<T, TOp, W512<T>, Vector512<T>>(ref ar, ref dr, n, op);
        else Map1<T, TOp, W256<T>, Vector256<T>>(ref ar, ref dr, n, op);
    }

    private static void Map1<T, TOp, W, V>(ref T ar, ref T dr, int n, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IMap1<T> where W : struct, IWidth<T, V> where V : struct
    {
        int i = 0;
        for (; i <= n - W.Count; i += W.Count)
            W.Store(W.Map(op, W.Load(ref ar, i)), ref dr, i);
        if (i < n)
        {
            int r = n - i;
            W.StorePartial(W.Map(op, W.LoadPartial(ref ar, i, r)), ref dr, i, r);
        }
    }

    /// <summary>dst[i] = op(a[i], b[i]); dst may be a or b.</summary>
    public static void Map2<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> dst, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IMap2<T>
    {
        int n = dst.Length;
        CheckLength(n, a.Length, nameof(a));
        CheckLength(n, b.Length, nameof(b));
        ref T ar = ref MemoryMarshal.GetReference(a);
        ref T br = ref MemoryMarshal.GetReference(b);
        ref T dr = ref MemoryMarshal.GetReference(dst);
        if (Wide) Map2<T, TOp, W512<T>, Vector512<T>>(ref ar, ref br, ref dr, n, op);
        else Map2<T, TOp, W256<T>, Vector256<T>>(ref ar, ref br, ref dr, n, op);
    }

    private static void Map2<T, TOp, W, V>(ref T ar, ref T br, ref T dr, int n, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IMap2<T> where W : struct, IWidth<T, V> where V : struct
    {
        int i = 0;
        for (; i <= n - W.Count; i += W.Count)
            W.Store(W.Map(op, W.Load(ref ar, i), W.Load(ref br, i)), ref dr, i);
        if (i < n)
        {
            int r = n - i;
            W.StorePartial(W.Map(op, W.LoadPartial(ref ar, i, r), W.LoadPartial(ref br, i, r)), ref dr, i, r);
        }
    }

    /// <summary>dst[i] = op(a[i], b[i], c[i]); dst may be any of the inputs.</summary>
    public static void Map3<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c, Span<T> dst, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IMap3<T>
    {
        int n = dst.Length;
        CheckLength(n, a.Length, nameof(a));
        CheckLength(n, b.Length, nameof(b));
        CheckLength(n, c.Length, nameof(c));
        ref T ar = ref MemoryMarshal.GetReference(a);
        ref T br = ref MemoryMarshal.GetReference(b);
        ref T cr = ref MemoryMarshal.GetReference(c);
        ref T dr = ref MemoryMarshal.GetReference(dst);
        if (Wide) Map3<T, TOp, W512<T>, Vector512<T>>(ref ar, ref br, ref cr, ref dr, n, op);
        else Map3<T, TOp, W256<T>, Vector256<T>>(ref ar, ref br, ref cr, ref dr, n, op);
    }

    private static void Map3<T, TOp, W, V>(ref T ar, ref T br, ref T cr, ref T dr, int n, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IMap3<T> where W : struct, IWidth<T, V> where V : struct
    {
        int i = 0;
        for (; i <= n - W.Count; i += W.Count)
            W.Store(W.Map(op, W.Load(ref ar, i), W.Load(ref br, i), W.Load(ref cr, i)), ref dr, i);
        if (i < n)
        {
            int r = n - i;
            W.StorePartial(W.Map(op, W.LoadPartial(ref ar, i, r), W.LoadPartial(ref br, i, r), W.LoadPartial(ref cr, i, r)), ref dr, i, r);
        }
    }

    /// <summary>dst[i] = op(a[i], b[i], c[i], d[i]); dst may be any of the inputs.</summary>
    public static void Map4<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c, ReadOnlySpan<T> d, Span<T> dst, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IMap4<T>
    {
        int n = dst.Length;
        CheckLength(n, a.Length, nameof(a));
        CheckLength(n, b.Length, nameof(b));
        CheckLength(n, c.Length, nameof(c));
        CheckLength(n, d.Length, nameof(d));
        ref T ar = ref MemoryMarshal.GetReference(a);
        ref T br = ref MemoryMarshal.GetReference(b);
        ref T cr = ref MemoryMarshal.GetReference(c);
        ref T qr = ref MemoryMarshal.GetReference(d);
        ref T dr = ref MemoryMarshal.GetReference(dst);
        if (Wide) Map4<T, TOp, W512<T>, Vector512<T>>(ref ar, ref br, ref cr, ref qr, ref dr, n, op);
        else Map4<T, TOp, W256<T>, Vector256<T>>(ref ar, ref br, ref cr, ref qr, ref dr, n, op);
    }

    private static void Map4<T, TOp, W, V>(ref T ar, ref T br, ref T cr, ref T qr, ref T dr, int n, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IMap4<T> where W : struct, IWidth<T, V> where V : struct
    {
        int i = 0;
        for (; i <= n - W.Count; i += W.Count)
            W.Store(W.Map(op, W.Load(ref ar, i), W.Load(ref br, i), W.Load(ref cr, i), W.Load(ref qr, i)), ref dr, i);
        if (i < n)
        {
            int r = n - i;
            W.StorePartial(W.Map(op, W.LoadPartial(ref ar, i, r), W.LoadPartial(ref br, i, r), W.LoadPartial(ref cr, i, r),
                W.LoadPartial(ref qr, i, r)), ref dr, i, r);
        }
    }

    /// <summary>sum_i op(a[i]) (two vector accumulators, then a horizontal sum).</summary>
    public static T Sum1<T, TOp>(ReadOnlySpan<T> a, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IMap1<T>
    {
        ref T ar = ref MemoryMarshal.GetReference(a);
        return Wide ? Sum1<T, TOp, W512<T>, Vector512<T>>(ref ar, a.Length, op) : Sum1<T, TOp, W256<T>, Vector256<T>>(ref ar, a.Length, op);
    }

    private static T Sum1<T, TOp, W, V>(ref T ar, int n, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IMap1<T> where W : struct, IWidth<T, V> where V : struct
    {
        int i = 0, w = W.Count;
        V s0 = W.Zero, s1 = W.Zero;
        for (; i <= n - 2 * w; i += 2 * w)
        {
            s0 = W.Add(s0, W.Map(op, W.Load(ref ar, i)));
            s1 = W.Add(s1, W.Map(op, W.Load(ref ar, i + w)));
        }
        if (i <= n - w) { s0 = W.Add(s0, W.Map(op, W.Load(ref ar, i))); i += w; }
        if (i < n) s1 = W.Add(s1, W.KeepFirst(W.Map(op, W.LoadPartial(ref ar, i, n - i)), n - i));
        return W.Sum(W.Add(s0, s1));
    }

    /// <summary>sum_i op(a[i], b[i], c[i]) (two vector accumulators, then a horizontal sum).</summary>
    public static T Sum3<T, TOp>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, ReadOnlySpan<T> c, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IMap3<T>
    {
        int n = a.Length;
        CheckLength(n, b.Length, nameof(b));
        CheckLength(n, c.Length, nameof(c));
        ref T ar = ref MemoryMarshal.GetReference(a);
        ref T br = ref MemoryMarshal.GetReference(b);
        ref T cr = ref MemoryMarshal.GetReference(c);
        return Wide ? Sum3<T, TOp, W512<T>, Vector512<T>>(ref ar, ref br, ref cr, n, op) : Sum3<T, TOp, W256<T>, Vector256<T>>(ref ar, ref br, ref cr, n, op);
    }

    private static T Sum3<T, TOp, W, V>(ref T ar, ref T br, ref T cr, int n, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IMap3<T> where W : struct, IWidth<T, V> where V : struct
    {
        int i = 0, w = W.Count;
        V s0 = W.Zero, s1 = W.Zero;
        for (; i <= n - 2 * w; i += 2 * w)
        {
            s0 = W.Add(s0, W.Map(op, W.Load(ref ar, i), W.Load(ref br, i), W.Load(ref cr, i)));
            int i1 = i + w;
            s1 = W.Add(s1, W.Map(op, W.Load(ref ar, i1), W.Load(ref br, i1), W.Load(ref cr, i1)));
        }
        if (i <= n - w) { s0 = W.Add(s0, W.Map(op, W.Load(ref ar, i), W.Load(ref br, i), W.Load(ref cr, i))); i += w; }
        if (i < n)
        {
            int r = n - i;
            s1 = W.Add(s1, W.KeepFirst(W.Map(op, W.LoadPartial(ref ar, i, r), W.LoadPartial(ref br, i, r), W.LoadPartial(ref cr, i, r)), r));
        }
        return W.Sum(W.Add(s0, s1));
    }

    /// <summary>dst[i] = op(a[i]) and returns sum_i dst[i]; dst may be a.</summary>
    public static T MapSum1<T, TOp>(ReadOnlySpan<T> a, Span<T> dst, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IMap1<T>
    {
        int n = dst.Length;
        CheckLength(n, a.Length, nameof(a));
        ref T ar = ref MemoryMarshal.GetReference(a);
        ref T dr = ref MemoryMarshal.GetReference(dst);
        return Wide ? MapSum1<T, TOp, W512<T>, Vector512<T>>(ref ar, ref dr, n, op) : MapSum1<T, TOp, W256<T>, Vector256<T>>(ref ar, ref dr, n, op);
    }

    private static T MapSum1<T, TOp, W, V>(ref T ar, ref T dr, int n, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IMap1<T> where W : struct, IWidth<T, V> where V : struct
    {
        int i = 0, w = W.Count;
        V s0 = W.Zero, s1 = W.Zero;
        for (; i <= n - 2 * w; i += 2 * w)
        {
            var v0 = W.Map(op, W.Load(ref ar, i));
            var v1 = W.Map(op, W.Load(ref ar, i + w));
            W.Store(v0, ref dr, i);
            W.Store(v1, ref dr, i + w);
            s0 = W.Add(s0, v0); s1 = W.Add(s1, v1);
        }
        if (i <= n - w)
        {
            var v = W.Map(op, W.Load(ref ar, i));
            W.Store(v, ref dr, i);
            s0 = W.Add(s0, v); i += w;
        }
        if (i < n)
        {
            var v = W.Map(op, W.LoadPartial(ref ar, i, n - i));
            W.StorePartial(v, ref dr, i, n - i);
            s1 = W.Add(s1, W.KeepFirst(v, n - i));
        }
        return W.Sum(W.Add(s0, s1));
    }

    /// <summary>(a[i], b[i]) updated in place by op from g[i], i &lt; n, at the given width (a caller on a worker
    /// thread passes the width its caller chose). The three streams must be disjoint.</summary>
    public static void Update2<T, TOp>(ref T ar, ref T gr, ref T br, int n, TOp op, Level level)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IUpdate2<T>
    {
        if (level == Level.V512) Update2<T, TOp, W512<T>, Vector512<T>>(ref ar, ref gr, ref br, n, op);
        else Update2<T, TOp, W256<T>, Vector256<T>>(ref ar, ref gr, ref br, n, op);
    }

    private static void Update2<T, TOp, W, V>(ref T ar, ref T gr, ref T br, int n, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IUpdate2<T> where W : struct, IWidth<T, V> where V : struct
    {
        int i = 0;
        for (; i <= n - W.Count; i += W.Count)
        {
            V a = W.Load(ref ar, i), b = W.Load(ref br, i);
            W.Update(op, ref a, W.Load(ref gr, i), ref b);
            W.Store(a, ref ar, i); W.Store(b, ref br, i);
        }
        if (i < n)
        {
            int r = n - i;
            V a = W.LoadPartial(ref ar, i, r), b = W.LoadPartial(ref br, i, r);
            W.Update(op, ref a, W.LoadPartial(ref gr, i, r), ref b);
            W.StorePartial(a, ref ar, i, r); W.StorePartial(b, ref br, i, r);
        }
    }

    /// <summary>(a[i], b[i], c[i]) updated in place by op from g[i], i &lt; n, at the given width. The four streams
    /// must be disjoint.</summary>
    public static void Update3<T, TOp>(ref T ar, ref T gr, ref T br, ref T cr, int n, TOp op, Level level)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IUpdate3<T>
    {
        if (level == Level.V512) Update3<T, TOp, W512<T>, Vector512<T>>(ref ar, ref gr, ref br, ref cr, n, op);
        else Update3<T, TOp, W256<T>, Vector256<T>>(ref ar, ref gr, ref br, ref cr, n, op);
    }

    private static void Update3<T, TOp, W, V>(ref T ar, ref T gr, ref T br, ref T cr, int n, TOp op)
        where T : unmanaged, IFloatingPointIeee754<T> where TOp : struct, IUpdate3<T> where W : struct, IWidth<T, V> where V : struct
    {
        int i = 0;
        for (; i <= n - W.Count; i += W.Count)
        {
            V a = W.Load(ref ar, i), b = W.Load(ref br, i), c = W.Load(ref cr, i);
            W.Update(op, ref a, W.Load(ref gr, i), ref b, ref c);
            W.Store(a, ref ar, i); W.Store(b, ref br, i); W.Store(c, ref cr, i);
        }
        if (i < n)
        {
            int r = n - i;
            V a = W.LoadPartial(ref ar, i, r), b = W.LoadPartial(ref br, i, r), c = W.LoadPartial(ref cr, i, r);
            W.Update(op, ref a, W.LoadPartial(ref gr, i, r), ref b, ref c);
            W.StorePartial(a, ref ar, i, r); W.StorePartial(b, ref br, i, r); W.StorePartial(c, ref cr, i, r);
        }
    }

    // ---------------------------------------------------------------- the two widths

    /// <summary>
    /// What the drivers need of a vector width: full and partial loads and stores at element offsets, the lane
    /// arithmetic of the sums, and the call of a rule at that width. The drivers are written once over this
    /// interface; <see cref="W512{T}"/> and <see cref="W256{T}"/> are structs, so each driver is compiled once per
    /// width with every member inlined, the same machine code as a loop written for that width.
    /// </summary>
    private interface IWidth<T, V> where T : unmanaged, IFloatingPointIeee754<T> where V : struct
    {
        static abstract int Count { get; }
        static abstract V Zero { get; }
        static abstract V Load(ref T src, int i);
        static abstract void Store(V v, ref T dst, int i);
        static abstract V LoadPartial(ref T src, int i, int count);
        static abstract void StorePartial(V v, ref T dst, int i, int count);
        static abstract V Add(V a, V b);
        /// <summary>v in the first <paramref name="count"/> lanes, zero in the rest.</summary>
        static abstract V KeepFirst(V v, int count);
        static abstract T Sum(V v);
        static abstract V Map<TOp>(TOp op, V a) where TOp : struct, IMap1<T>;
        static abstract V Map<TOp>(TOp op, V a, V b) where TOp : struct, IMap2<T>;
        static abstract V Map<TOp>(TOp op, V a, V b, V c) where TOp : struct, IMap3<T>;
        static abstract V Map<TOp>(TOp op, V a, V b, V c, V d) where TOp : struct, IMap4<T>;
        static abstract void Update<TOp>(TOp op, ref V a, V g, ref V b) where TOp : struct, IUpdate2<T>;
        static abstract void Update<TOp>(TOp op, ref V a, V g, ref V b, ref V c) where TOp : struct, IUpdate3<T>;
    }

    private readonly struct W512<T> : IWidth<T, Vector512<T>> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static int Count => Vector512<T>.Count;
        public static Vector512<T> Zero => Vector512<T>.Zero;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<T> Load(ref T src, int i) => Vector512.LoadUnsafe(ref src, (nuint)i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector512<T> v, ref T dst, int i) => v.StoreUnsafe(ref dst, (nuint)i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<T> LoadPartial(ref T src, int i, int count) => Load512(ref Unsafe.Add(ref src, i), count);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void StorePartial(Vector512<T> v, ref T dst, int i, int count) => Store512(v, ref Unsafe.Add(ref dst, i), count);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<T> Add(Vector512<T> a, Vector512<T> b) => a + b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<T> KeepFirst(Vector512<T> v, int count) => Vector512.ConditionalSelect(Valid512<T>(count), v, Vector512<T>.Zero);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static T Sum(Vector512<T> v) => Vector512.Sum(v);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<T> Map<TOp>(TOp op, Vector512<T> a) where TOp : struct, IMap1<T> => op.Invoke(a);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<T> Map<TOp>(TOp op, Vector512<T> a, Vector512<T> b) where TOp : struct, IMap2<T> => op.Invoke(a, b);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<T> Map<TOp>(TOp op, Vector512<T> a, Vector512<T> b, Vector512<T> c) where TOp : struct, IMap3<T> => op.Invoke(a, b, c);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<T> Map<TOp>(TOp op, Vector512<T> a, Vector512<T> b, Vector512<T> c, Vector512<T> d) where TOp : struct, IMap4<T>
            => op.Invoke(a, b, c, d);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Update<TOp>(TOp op, ref Vector512<T> a, Vector512<T> g, ref Vector512<T> b) where TOp : struct, IUpdate2<T>
            => op.Invoke(ref a, g, ref b);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Update<TOp>(TOp op, ref Vector512<T> a, Vector512<T> g, ref Vector512<T> b, ref Vector512<T> c) where TOp : struct, IUpdate3<T>
            => op.Invoke(ref a, g, ref b, ref c);
    }

    private readonly struct W256<T> : IWidth<T, Vector256<T>> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static int Count => Vector256<T>.Count;
        public static Vector256<T> Zero => Vector256<T>.Zero;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<T> Load(ref T src, int i) => Vector256.LoadUnsafe(ref src, (nuint)i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(Vector256<T> v, ref T dst, int i) => v.StoreUnsafe(ref dst, (nuint)i);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<T> LoadPartial(ref T src, int i, int count) => Load256(ref Unsafe.Add(ref src, i), count);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void StorePartial(Vector256<T> v, ref T dst, int i, int count) => Store256(v, ref Unsafe.Add(ref dst, i), count);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<T> Add(Vector256<T> a, Vector256<T> b) => a + b;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<T> KeepFirst(Vector256<T> v, int count) => Vector256.ConditionalSelect(Valid256<T>(count), v, Vector256<T>.Zero);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static T Sum(Vector256<T> v) => Vector256.Sum(v);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<T> Map<TOp>(TOp op, Vector256<T> a) where TOp : struct, IMap1<T> => op.Invoke(a);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<T> Map<TOp>(TOp op, Vector256<T> a, Vector256<T> b) where TOp : struct, IMap2<T> => op.Invoke(a, b);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<T> Map<TOp>(TOp op, Vector256<T> a, Vector256<T> b, Vector256<T> c) where TOp : struct, IMap3<T> => op.Invoke(a, b, c);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<T> Map<TOp>(TOp op, Vector256<T> a, Vector256<T> b, Vector256<T> c, Vector256<T> d) where TOp : struct, IMap4<T>
            => op.Invoke(a, b, c, d);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Update<TOp>(TOp op, ref Vector256<T> a, Vector256<T> g, ref Vector256<T> b) where TOp : struct, IUpdate2<T>
            => op.Invoke(ref a, g, ref b);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Update<TOp>(TOp op, ref Vector256<T> a, Vector256<T> g, ref Vector256<T> b, ref Vector256<T> c) where TOp : struct, IUpdate3<T>
            => op.Invoke(ref a, g, ref b, ref c);
    }
}

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

/// <summary>
/// The loop shapes of the hand-written elementwise and row kernels (Unary, Axis, LossGradients, SgdKernel),
/// generic over a struct rule so that each kernel compiles to one specialised Vector512 (AVX-512) or Vector256
/// (AVX2) loop; which one runs is <see cref="Simd.Current"/> (tests force the narrower paths). The callers
/// run their scalar twin in <c>Engine.Kernels.Reference</c> instead when neither width is available.
/// </summary>
/// <remarks>
/// Tails: the last partial vector is loaded into a zero-padded register, computed by the same vector code and
/// only its valid lanes are stored, so an element's result never depends on where it sits in the span, nothing
/// outside the spans is touched, and the output may be the very same span as any input (each vector is loaded
/// before it is stored). Sums mask the padded lanes out. Nothing is allocated.
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
}

// ---------------------------------------------------------------- forward rules of Unary (scalar twins in Rules/UnaryRules.cs)

/// <summary>NaN ? x : x &gt; 0 ? x : +0.</summary>
internal readonly struct ReluOp<T> : IMap1<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x)
        => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<T>.Zero) | ~Vector512.Equals(x, x), x, Vector512<T>.Zero);
    public Vector256<T> Invoke(Vector256<T> x)
        => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<T>.Zero) | ~Vector256.Equals(x, x), x, Vector256<T>.Zero);
}

/// <summary>NaN ? x : x &gt; 0 ? x : slope x (slope != 0; a zero slope is <see cref="ReluOp{T}"/>).</summary>
internal readonly struct LeakyReluOp<T>(T slope) : IMap1<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x)
        => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<T>.Zero) | ~Vector512.Equals(x, x), x, x * Vector512.Create(slope));
    public Vector256<T> Invoke(Vector256<T> x)
        => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<T>.Zero) | ~Vector256.Equals(x, x), x, x * Vector256.Create(slope));
}

/// <summary>x &lt; lo ? lo : x &gt; hi ? hi : x (NaN passes through: both comparisons are false).</summary>
internal readonly struct ClampOp<T>(T lo, T hi) : IMap1<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x)
    {
        var l = Vector512.Create(lo); var h = Vector512.Create(hi);
        return Vector512.ConditionalSelect(Vector512.LessThan(x, l), l, Vector512.ConditionalSelect(Vector512.GreaterThan(x, h), h, x));
    }
    public Vector256<T> Invoke(Vector256<T> x)
    {
        var l = Vector256.Create(lo); var h = Vector256.Create(hi);
        return Vector256.ConditionalSelect(Vector256.LessThan(x, l), l, Vector256.ConditionalSelect(Vector256.GreaterThan(x, h), h, x));
    }
}

internal readonly struct ExpOp<T> : IMap1<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x) => VectorMath.Exp(x);
    public Vector256<T> Invoke(Vector256<T> x) => VectorMath.Exp(x);
}

internal readonly struct SigmoidOp<T> : IMap1<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x) => VectorMath.Sigmoid(x);
    public Vector256<T> Invoke(Vector256<T> x) => VectorMath.Sigmoid(x);
}

/// <summary>tanh through expm1 (no cancellation near 0: TensorPrimitives.Tanh loses most digits of a float
/// there, e.g. tanh(-3.45e-6f) comes out 0.7% low).</summary>
internal readonly struct TanhOp<T> : IMap1<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x) => VectorMath.Tanh(x);
    public Vector256<T> Invoke(Vector256<T> x) => VectorMath.Tanh(x);
}

/// <summary>softplus(x) = max(x, 0) + log1p(e^-|x|).</summary>
internal readonly struct SoftplusOp<T> : IMap1<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x) => VectorMath.Softplus(x);
    public Vector256<T> Invoke(Vector256<T> x) => VectorMath.Softplus(x);
}

/// <summary>log sigmoid(x) = -softplus(-x).</summary>
internal readonly struct LogSigmoidOp<T> : IMap1<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x) => -VectorMath.Softplus(-x);
    public Vector256<T> Invoke(Vector256<T> x) => -VectorMath.Softplus(-x);
}

/// <summary>ln(1 + x) by Goldberg's trick: u = 1 + x, d = u - 1; d == 0 ? x : ln(u) x / d; +inf stays +inf.</summary>
internal readonly struct Log1pOp<T> : IMap1<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x)
    {
        var u = Vector512<T>.One + x;
        var d = u - Vector512<T>.One;
        var r = VectorMath.Log(u) * (x / d);
        r = Vector512.ConditionalSelect(Vector512.Equals(d, Vector512<T>.Zero), x, r);
        return Vector512.ConditionalSelect(Vector512.Equals(x, Vector512.Create(T.PositiveInfinity)), x, r);
    }
    public Vector256<T> Invoke(Vector256<T> x)
    {
        var u = Vector256<T>.One + x;
        var d = u - Vector256<T>.One;
        var r = VectorMath.Log(u) * (x / d);
        r = Vector256.ConditionalSelect(Vector256.Equals(d, Vector256<T>.Zero), x, r);
        return Vector256.ConditionalSelect(Vector256.Equals(x, Vector256.Create(T.PositiveInfinity)), x, r);
    }
}

// ---------------------------------------------------------------- backward rules of Unary: (v, dy, dx) -> new dx

/// <summary>dx + dy / x.</summary>
internal readonly struct LogBackOp<T> : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x, Vector512<T> g, Vector512<T> d) => d + g / x;
    public Vector256<T> Invoke(Vector256<T> x, Vector256<T> g, Vector256<T> d) => d + g / x;
}

/// <summary>dx + dy / (1 + x).</summary>
internal readonly struct Log1pBackOp<T> : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x, Vector512<T> g, Vector512<T> d) => d + g / (Vector512<T>.One + x);
    public Vector256<T> Invoke(Vector256<T> x, Vector256<T> g, Vector256<T> d) => d + g / (Vector256<T>.One + x);
}

/// <summary>dx + (dy * 1/2) / y.</summary>
internal readonly struct SqrtBackOp<T> : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> y, Vector512<T> g, Vector512<T> d) => d + g * Vector512.Create(T.One / (T.One + T.One)) / y;
    public Vector256<T> Invoke(Vector256<T> y, Vector256<T> g, Vector256<T> d) => d + g * Vector256.Create(T.One / (T.One + T.One)) / y;
}

/// <summary>dx + (dy * 2) * x.</summary>
internal readonly struct SquareBackOp<T> : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x, Vector512<T> g, Vector512<T> d) => d + (g + g) * x;
    public Vector256<T> Invoke(Vector256<T> x, Vector256<T> g, Vector256<T> d) => d + (g + g) * x;
}

/// <summary>dx + dy * sign(x), sign(0) = sign(NaN) = 0.</summary>
internal readonly struct AbsBackOp<T> : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x, Vector512<T> g, Vector512<T> d)
    {
        var s = Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<T>.Zero), Vector512<T>.One,
            Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<T>.Zero), -Vector512<T>.One, Vector512<T>.Zero));
        return d + g * s;
    }
    public Vector256<T> Invoke(Vector256<T> x, Vector256<T> g, Vector256<T> d)
    {
        var s = Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<T>.Zero), Vector256<T>.One,
            Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<T>.Zero), -Vector256<T>.One, Vector256<T>.Zero));
        return d + g * s;
    }
}

/// <summary>dx + dy * sigmoid(x) (softplus).</summary>
internal readonly struct SoftplusBackOp<T> : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x, Vector512<T> g, Vector512<T> d) => d + g * VectorMath.Sigmoid(x);
    public Vector256<T> Invoke(Vector256<T> x, Vector256<T> g, Vector256<T> d) => d + g * VectorMath.Sigmoid(x);
}

/// <summary>dx + dy * sigmoid(-x) (log sigmoid).</summary>
internal readonly struct LogSigmoidBackOp<T> : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x, Vector512<T> g, Vector512<T> d) => d + g * VectorMath.Sigmoid(-x);
    public Vector256<T> Invoke(Vector256<T> x, Vector256<T> g, Vector256<T> d) => d + g * VectorMath.Sigmoid(-x);
}

/// <summary>lo &lt;= x &lt;= hi ? dx + dy : dx (bounds included, as PyTorch).</summary>
internal readonly struct ClampBackOp<T>(T lo, T hi) : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x, Vector512<T> g, Vector512<T> d)
        => Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512.Create(lo)) & Vector512.LessThanOrEqual(x, Vector512.Create(hi)), d + g, d);
    public Vector256<T> Invoke(Vector256<T> x, Vector256<T> g, Vector256<T> d)
        => Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, Vector256.Create(lo)) & Vector256.LessThanOrEqual(x, Vector256.Create(hi)), d + g, d);
}

/// <summary>x &gt; 0 ? dx + dy : dx.</summary>
internal readonly struct ReluBackOp<T> : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x, Vector512<T> g, Vector512<T> d) => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<T>.Zero), d + g, d);
    public Vector256<T> Invoke(Vector256<T> x, Vector256<T> g, Vector256<T> d) => Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<T>.Zero), d + g, d);
}

/// <summary>dx + (x &gt; 0 ? dy : slope dy).</summary>
internal readonly struct LeakyReluBackOp<T>(T slope) : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> x, Vector512<T> g, Vector512<T> d)
        => d + Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<T>.Zero), g, g * Vector512.Create(slope));
    public Vector256<T> Invoke(Vector256<T> x, Vector256<T> g, Vector256<T> d)
        => d + Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<T>.Zero), g, g * Vector256.Create(slope));
}

/// <summary>dx + dy * y * (1 - y).</summary>
internal readonly struct SigmoidBackOp<T> : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> y, Vector512<T> g, Vector512<T> d) => d + g * y * (Vector512<T>.One - y);
    public Vector256<T> Invoke(Vector256<T> y, Vector256<T> g, Vector256<T> d) => d + g * y * (Vector256<T>.One - y);
}

/// <summary>dx + dy * (1 - y * y).</summary>
internal readonly struct TanhBackOp<T> : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> y, Vector512<T> g, Vector512<T> d) => d + g * (Vector512<T>.One - y * y);
    public Vector256<T> Invoke(Vector256<T> y, Vector256<T> g, Vector256<T> d) => d + g * (Vector256<T>.One - y * y);
}

/// <summary>dx + (dy * p) * t, t = x^(p - 1) precomputed.</summary>
internal readonly struct PowBackOp<T>(T p) : IMap3<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public Vector512<T> Invoke(Vector512<T> t, Vector512<T> g, Vector512<T> d) => d + g * Vector512.Create(p) * t;
    public Vector256<T> Invoke(Vector256<T> t, Vector256<T> g, Vector256<T> d) => d + g * Vector256.Create(p) * t;
}

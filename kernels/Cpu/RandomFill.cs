using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Counter-based random fills built on <see cref="Philox"/>: every value is a pure function of
/// (seed, offset, element index), so a fill can be split across threads or devices, replayed, or skipped ahead
/// without any generator state. The mapping is fixed below, bit for bit, so that a GPU kernel can reproduce it.
/// </summary>
/// <remarks>
/// <para><b>Key and counters.</b> key = (k0, k1) = ((uint)seed, (uint)(seed &gt;&gt; 32)). Block number b has counter
/// (c0, c1, c2, c3) = ((uint)b, (uint)(b &gt;&gt; 32), 0, 0) and yields the four 32-bit words
/// (w0, w1, w2, w3) = Philox4x32-10(counter, key). A fill at <c>offset</c> reads blocks b = offset + j for
/// j = 0, 1, 2, ... (wrapping mod 2^64). A fill never shares a block between calls: a partly used last block
/// is discarded, and <see cref="BlocksUsed"/> counts it, so callers advance their offset by BlocksUsed to get a
/// disjoint next stream.</para>
/// <para><b>float uniform</b> (used by Uniform, Normal and Bernoulli on floats): element i reads word (i mod 4) of
/// block offset + i / 4 and maps it as u = ((w &gt;&gt; 9) + 0.5f) * 2^-23. Every step is exact in float (an integer
/// below 2^23, plus one half, times a power of two), so the value is the same on every IEEE machine; it lies on the
/// grid {(k + 1/2) / 2^23 : k = 0 .. 2^23 - 1}, which is symmetric about 1/2 and strictly inside (0, 1): the
/// smallest value is 2^-24 and the largest 1 - 2^-24. (Keeping 24 bits, ((w &gt;&gt; 8) + 0.5f) * 2^-24, would need 25
/// significant bits near 1 and rounds w = 0xFFFFFFFF up to exactly 1.0f, so one bit is dropped.)</para>
/// <para><b>double uniform</b>: element i reads block offset + i / 2; with q = i mod 2 it takes the 64-bit integer
/// x = w[2q] | (ulong)w[2q + 1] &lt;&lt; 32 (low word first) and maps it as u = ((x &gt;&gt; 12) + 0.5) * 2^-52: exact in
/// double, on a grid of 2^52 points symmetric about 1/2, in [2^-53, 1 - 2^-53] (52 bits, not 53, for the same reason
/// as above).</para>
/// <para><b>Uniform(low, high)</b>: dst = low + u * (high - low), evaluated in the element type as a multiply then an
/// add (never fused), so the CPU and any IEEE device agree exactly.</para>
/// <para><b>Normal</b> (Box and Muller 1958), always evaluated in double precision: a pair of uniforms (a, b) gives
/// r = sqrt(-2 ln a), t = 2 pi b (2 pi rounded to double, 6.283185307179586, times b), and the pair of normals
/// (r cos t, r sin t). For float, block j gives four uniforms (u0, u1, u2, u3) -> elements 4j..4j+3 =
/// (r cos t, r sin t) of (u0, u1), then of (u2, u3); each normal is rounded to float once, then
/// dst = mean + std * z in float (multiply, then add). For double, block j gives two uniforms (u0, u1) ->
/// elements 2j, 2j+1 = (r cos t, r sin t) of (u0, u1), and dst = mean + std * z in double. Because u is never 0,
/// ln u is finite: float normals are bounded by sqrt(-2 ln 2^-24) = 5.77 and double ones by 8.57 (a truncation of
/// the tails at probabilities of about 1e-8 and 1e-17). The transcendental functions are the runtime's double
/// Math.Log, Math.Sqrt (exact) and Math.SinCos (glibc's log, sin and cos, correctly rounded in practice; SinCos
/// returns exactly Math.Sin and Math.Cos); the float result therefore equals
/// the correctly rounded value except, at worst, when the exact value lies within a few double ulps of a
/// float rounding boundary, so a device with 1-ulp double functions reproduces float normals bit for bit in
/// all but a vanishing fraction of elements, and double normals to within a few ulps.</para>
/// <para><b>Bernoulli</b>: dst[i] = u_i &lt; probs[i] ? 1 : 0 with u_i the float uniform of element i (so p &lt;= 0
/// and NaN give 0, p &gt;= 1 gives 1).</para>
/// <para>The vectorised paths (AVX-512: eight blocks at a time, AVX2: four) produce exactly the same bits as the
/// scalar definition above and as <c>Engine.Kernels.Reference.ReferenceRandom</c>, which evaluates it element by
/// element; the tests check this on every path.</para>
/// </remarks>
public static class RandomFill
{
    private const float FloatScale = 1.0f / 8388608f;            // 2^-23
    private const double DoubleScale = 1.0 / 4503599627370496.0; // 2^-52
    private const double TwoPi = 6.283185307179586;              // 2 pi rounded to double

    /// <summary>The vector path to take: the hardware's, or a narrower one a test forces on its thread (see <see cref="Simd"/>).</summary>
    private static Simd.Level Level => Simd.Current;

    /// <summary>The float uniform of one 32-bit word, exactly as documented on the class.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float WordToFloat(uint w) => ((int)(w >> 9) + 0.5f) * FloatScale;

    /// <summary>The double uniform of two 32-bit words (low word first), exactly as documented on the class.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double WordsToDouble(uint lo, uint hi) => ((long)((((ulong)hi << 32) | lo) >> 12) + 0.5) * DoubleScale;

    /// <summary>Blocks a fill of <paramref name="n"/> elements consumes: ceil(n / 4) for float fills (uniform,
    /// normal and Bernoulli alike), ceil(n / 2) for double ones. <paramref name="normal"/> does not change the count
    /// (Box-Muller uses every uniform) but is part of the contract so that callers need not know that.</summary>
    public static ulong BlocksUsed(int n, bool isDouble, bool normal)
    {
        if (n < 0) throw new ArgumentOutOfRangeException(nameof(n), n, "Element count must be non-negative.");
        _ = normal;
        int per = isDouble ? 2 : 4;
        return (ulong)((n + (long)per - 1) / per);
    }

    /// <summary>dst[i] = low + u_i * (high - low) with u_i the float uniform of element i (see remarks on the class).</summary>
    public static void Uniform(ulong seed, ulong offset, Span<float> dst, float low, float high)
    {
        FloatUniforms(seed, offset, dst);
        float range = high - low;
        AffineInPlace(dst, low, range);
    }

    /// <summary>dst[i] = low + u_i * (high - low) with u_i the double uniform of element i (see remarks on the class).</summary>
    public static void Uniform(ulong seed, ulong offset, Span<double> dst, double low, double high)
    {
        DoubleUniforms(seed, offset, dst);
        double range = high - low;
        AffineInPlace(dst, low, range);
    }

    /// <summary>Normal(mean, std) by Box-Muller on the float uniforms; element 4j+k uses block offset + j (see remarks).</summary>
    public static unsafe void Normal(ulong seed, ulong offset, Span<float> dst, float mean, float std)
    {
        // Box-Muller costs ~10 ns per value in double precision; long fills split over the worker threads at block
        // boundaries (4 floats), where the stream is a pure function of the element index: the same bits either way.
        if (dst.Length >= 2 * MinNormalsPerPart && ParallelParts.Threads > 1)
        {
            fixed (float* p = dst)
            {
                ParallelRange.Run(new NormalFloatBody(seed, offset, p, mean, std), dst.Length, 4, MinNormalsPerPart);
            }
            return;
        }
        NormalSerial(seed, offset, dst, mean, std);
    }

    /// <summary>Fewest normals per thread worth a hand-off (about 10 microseconds of Box-Muller).</summary>
    private const int MinNormalsPerPart = 1024;

    private readonly unsafe struct NormalFloatBody(ulong seed, ulong offset, float* dst, float mean, float std) : IRangeBody
    {
        public void Execute(int start, int end) => NormalSerial(seed, offset + (ulong)(start / 4), new Span<float>(dst + start, end - start), mean, std);
    }

    private readonly unsafe struct NormalDoubleBody(ulong seed, ulong offset, double* dst, double mean, double std) : IRangeBody
    {
        public void Execute(int start, int end) => NormalSerial(seed, offset + (ulong)(start / 2), new Span<double>(dst + start, end - start), mean, std);
    }

    private static void NormalSerial(ulong seed, ulong offset, Span<float> dst, float mean, float std)
    {
        // Uniforms go into dst first (the vector Philox path), then each pair is transformed in place; every pair
        // lives inside one block, so elements 2p, 2p+1 are the pair (the last element of an odd-length fill pairs
        // with the next uniform of its block, which is computed but not stored).
        FloatUniforms(seed, offset, dst);
        int n = dst.Length;
        int even = n & ~1;
        for (int i = 0; i < even; i += 2)
        {
            BoxMuller(dst[i], dst[i + 1], out double z0, out double z1);
            dst[i] = mean + std * (float)z0;
            dst[i + 1] = mean + std * (float)z1;
        }
        if (even < n)
        {
            ulong block = offset + (ulong)(n / 4);
            Philox.Block((uint)block, (uint)(block >> 32), 0, 0, (uint)seed, (uint)(seed >> 32), out _, out uint w1, out _, out uint w3);
            // n is odd here, so the partner of element n - 1 is word (n mod 4) of its block: w1 or w3.
            uint partner = (n & 3) == 1 ? w1 : w3;
            BoxMuller(dst[n - 1], WordToFloat(partner), out double z0, out _);
            dst[n - 1] = mean + std * (float)z0;
        }
    }

    /// <summary>Normal(mean, std) by Box-Muller on the double uniforms; element 2j+k uses block offset + j (see remarks).</summary>
    public static unsafe void Normal(ulong seed, ulong offset, Span<double> dst, double mean, double std)
    {
        if (dst.Length >= 2 * MinNormalsPerPart && ParallelParts.Threads > 1)
        {
            fixed (double* p = dst)
            {
                ParallelRange.Run(new NormalDoubleBody(seed, offset, p, mean, std), dst.Length, 2, MinNormalsPerPart);
            }
            return;
        }
        NormalSerial(seed, offset, dst, mean, std);
    }

    private static void NormalSerial(ulong seed, ulong offset, Span<double> dst, double mean, double std)
    {
        DoubleUniforms(seed, offset, dst);
        int n = dst.Length;
        int even = n & ~1;
        for (int i = 0; i < even; i += 2)
        {
            BoxMuller(dst[i], dst[i + 1], out double z0, out double z1);
            dst[i] = mean + std * z0;
            dst[i + 1] = mean + std * z1;
        }
        if (even < n)
        {
            ulong block = offset + (ulong)(n / 2);
            Philox.Block((uint)block, (uint)(block >> 32), 0, 0, (uint)seed, (uint)(seed >> 32), out _, out _, out uint w2, out uint w3);
            BoxMuller(dst[n - 1], WordsToDouble(w2, w3), out double z0, out _);
            dst[n - 1] = mean + std * z0;
        }
    }

    /// <summary>dst[i] = u_i &lt; probs[i] ? 1 : 0 with u_i the float uniform of element i.</summary>
    public static void Bernoulli(ulong seed, ulong offset, ReadOnlySpan<float> probs, Span<float> dst)
    {
        if (probs.Length != dst.Length)
            throw new ArgumentException($"Expected probs.Length == dst.Length ({dst.Length}) but got {probs.Length}.", nameof(probs));
        if (probs.Overlaps(dst, out int shift) && shift != 0)
            throw new ArgumentException("probs and dst overlap partially; they may only be the same span.", nameof(dst));
        // dst may be probs itself: each chunk of uniforms is compared before the chunk is written.
        Span<float> u = stackalloc float[256];
        int n = dst.Length;
        for (int start = 0; start < n; start += u.Length)
        {
            int len = Math.Min(u.Length, n - start);
            var chunk = u[..len];
            FloatUniforms(seed, offset + (ulong)(start / 4), chunk); // start is a multiple of 4: whole blocks
            var p = probs.Slice(start, len);
            var d = dst.Slice(start, len);
            int i = 0;
            if (Level >= Simd.Level.V512 && len >= 16)
            {
                var one = Vector512.Create(1f);
                for (; i <= len - 16; i += 16)
                {
                    var m = Vector512.LessThan(Vector512.Create((ReadOnlySpan<float>)chunk.Slice(i, 16)), Vector512.Create(p.Slice(i, 16)));
                    (m.AsSingle() & one).CopyTo(d.Slice(i, 16));
                }
            }
            for (; i < len; i++) d[i] = chunk[i] < p[i] ? 1f : 0f;
        }
    }

    /// <summary>Box-Muller in double precision; shared by the float and double fills and by the reference twin's
    /// definition (which spells it out again independently).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BoxMuller(double a, double b, out double z0, out double z1)
    {
        double r = Math.Sqrt(-2.0 * Math.Log(a));
        (double sin, double cos) = Math.SinCos(TwoPi * b);
        z0 = r * cos;
        z1 = r * sin;
    }

    private static void AffineInPlace(Span<float> dst, float low, float range)
    {
        // Multiply then add, never fused, to stay bit-identical to the scalar definition.
        int i = 0, n = dst.Length;
        ref float d = ref MemoryMarshal.GetReference(dst);
        if (Level >= Simd.Level.V512)
        {
            var l = Vector512.Create(low); var s = Vector512.Create(range);
            for (; i <= n - 16; i += 16)
                (l + Vector512.LoadUnsafe(ref d, (nuint)i) * s).StoreUnsafe(ref d, (nuint)i);
        }
        if (Level >= Simd.Level.V256)
        {
            var l = Vector256.Create(low); var s = Vector256.Create(range);
            for (; i <= n - 8; i += 8)
                (l + Vector256.LoadUnsafe(ref d, (nuint)i) * s).StoreUnsafe(ref d, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref d, i) = low + Unsafe.Add(ref d, i) * range;
    }

    private static void AffineInPlace(Span<double> dst, double low, double range)
    {
        int i = 0, n = dst.Length;
        ref double d = ref MemoryMarshal.GetReference(dst);
        if (Level >= Simd.Level.V512)
        {
            var l = Vector512.Create(low); var s = Vector512.Create(range);
            for (; i <= n - 8; i += 8)
                (l + Vector512.LoadUnsafe(ref d, (nuint)i) * s).StoreUnsafe(ref d, (nuint)i);
        }
        if (Level >= Simd.Level.V256)
        {
            var l = Vector256.Create(low); var s = Vector256.Create(range);
            for (; i <= n - 4; i += 4)
                (l + Vector256.LoadUnsafe(ref d, (nuint)i) * s).StoreUnsafe(ref d, (nuint)i);
        }
        for (; i < n; i++) Unsafe.Add(ref d, i) = low + Unsafe.Add(ref d, i) * range;
    }

    /// <summary>dst[i] = float uniform of element i of the stream at (seed, offset).</summary>
    internal static void FloatUniforms(ulong seed, ulong offset, Span<float> dst)
    {
        uint k0 = (uint)seed, k1 = (uint)(seed >> 32);
        int n = dst.Length, i = 0;
        ulong block = offset;
        ref float d = ref MemoryMarshal.GetReference(dst);
        var level = Level;
        if (level >= Simd.Level.V512 && Avx512F.IsSupported)
        {
            var half = Vector512.Create(0.5f); var scale = Vector512.Create(FloatScale);
            for (; i <= n - 32; i += 32, block += 8)
            {
                Philox.Blocks8(block, k0, k1, out var a, out var b);
                Philox.Interleave8(a, b, out var first, out var second);
                ((Vector512.ConvertToSingle((first.AsUInt32() >>> 9).AsInt32()) + half) * scale).StoreUnsafe(ref d, (nuint)i);
                ((Vector512.ConvertToSingle((second.AsUInt32() >>> 9).AsInt32()) + half) * scale).StoreUnsafe(ref d, (nuint)(i + 16));
            }
        }
        if (level >= Simd.Level.V256 && Avx2.IsSupported)
        {
            var half = Vector256.Create(0.5f); var scale = Vector256.Create(FloatScale);
            for (; i <= n - 16; i += 16, block += 4)
            {
                Philox.Blocks4(block, k0, k1, out var a, out var b);
                Philox.Interleave4(a, b, out var first, out var second);
                ((Vector256.ConvertToSingle((first.AsUInt32() >>> 9).AsInt32()) + half) * scale).StoreUnsafe(ref d, (nuint)i);
                ((Vector256.ConvertToSingle((second.AsUInt32() >>> 9).AsInt32()) + half) * scale).StoreUnsafe(ref d, (nuint)(i + 8));
            }
        }
        for (; i < n; i += 4, block++)
        {
            Philox.Block((uint)block, (uint)(block >> 32), 0, 0, k0, k1, out uint w0, out uint w1, out uint w2, out uint w3);
            int left = n - i;
            Unsafe.Add(ref d, i) = WordToFloat(w0);
            if (left > 1) Unsafe.Add(ref d, i + 1) = WordToFloat(w1);
            if (left > 2) Unsafe.Add(ref d, i + 2) = WordToFloat(w2);
            if (left > 3) Unsafe.Add(ref d, i + 3) = WordToFloat(w3);
        }
    }

    /// <summary>dst[i] = double uniform of element i of the stream at (seed, offset).</summary>
    internal static void DoubleUniforms(ulong seed, ulong offset, Span<double> dst)
    {
        uint k0 = (uint)seed, k1 = (uint)(seed >> 32);
        int n = dst.Length, i = 0;
        ulong block = offset;
        ref double d = ref MemoryMarshal.GetReference(dst);
        var level = Level;
        // x >> 12 is below 2^52, so OR-ing it into the bits of 2^52 gives the double 2^52 + (x >> 12) exactly;
        // subtracting 2^52 leaves the integer: a conversion with no rounding and no AVX512DQ requirement.
        const ulong Two52Bits = 0x4330000000000000UL;
        const double Two52 = 4503599627370496.0;
        if (level >= Simd.Level.V512 && Avx512F.IsSupported)
        {
            var bias = Vector512.Create(Two52Bits); var two52 = Vector512.Create(Two52);
            var half = Vector512.Create(0.5); var scale = Vector512.Create(DoubleScale);
            for (; i <= n - 16; i += 16, block += 8)
            {
                Philox.Blocks8(block, k0, k1, out var a, out var b);
                Philox.Interleave8(a, b, out var first, out var second);
                ((((first >>> 12) | bias).AsDouble() - two52 + half) * scale).StoreUnsafe(ref d, (nuint)i);
                ((((second >>> 12) | bias).AsDouble() - two52 + half) * scale).StoreUnsafe(ref d, (nuint)(i + 8));
            }
        }
        if (level >= Simd.Level.V256 && Avx2.IsSupported)
        {
            var bias = Vector256.Create(Two52Bits); var two52 = Vector256.Create(Two52);
            var half = Vector256.Create(0.5); var scale = Vector256.Create(DoubleScale);
            for (; i <= n - 8; i += 8, block += 4)
            {
                Philox.Blocks4(block, k0, k1, out var a, out var b);
                Philox.Interleave4(a, b, out var first, out var second);
                ((((first >>> 12) | bias).AsDouble() - two52 + half) * scale).StoreUnsafe(ref d, (nuint)i);
                ((((second >>> 12) | bias).AsDouble() - two52 + half) * scale).StoreUnsafe(ref d, (nuint)(i + 4));
            }
        }
        for (; i < n; i += 2, block++)
        {
            Philox.Block((uint)block, (uint)(block >> 32), 0, 0, k0, k1, out uint w0, out uint w1, out uint w2, out uint w3);
            Unsafe.Add(ref d, i) = WordsToDouble(w0, w1);
            if (n - i > 1) Unsafe.Add(ref d, i + 1) = WordsToDouble(w2, w3);
        }
    }
}

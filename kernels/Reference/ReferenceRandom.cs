using Engine.Kernels.Cpu;

namespace Engine.Kernels.Reference;

/// <summary>
/// Element-by-element twin of <see cref="RandomFill"/>: each element is computed on its own from
/// (seed, offset, index) by calling <see cref="Philox.Block"/> for its block, exactly as the stream is defined in
/// the remarks on <see cref="RandomFill"/>. Slow on purpose (one Philox block per element, no vectors): it is the
/// executable specification the vectorised fills, and later the GPU kernels, are checked against bit for bit.
/// </summary>
public static class ReferenceRandom
{
    private const double TwoPi = 6.283185307179586;

    /// <summary>Word <paramref name="word"/> (0..3) of block <paramref name="block"/> of the stream keyed by <paramref name="seed"/>.</summary>
    public static uint Word(ulong seed, ulong block, int word)
    {
        Philox.Block((uint)block, (uint)(block >> 32), 0u, 0u, (uint)seed, (uint)(seed >> 32), out uint r0, out uint r1, out uint r2, out uint r3);
        return word switch { 0 => r0, 1 => r1, 2 => r2, 3 => r3, _ => throw new ArgumentOutOfRangeException(nameof(word)) };
    }

    /// <summary>The float uniform of element <paramref name="i"/>: word i mod 4 of block offset + i / 4, mapped to ((w &gt;&gt; 9) + 1/2) 2^-23.</summary>
    public static float FloatUniform(ulong seed, ulong offset, long i)
    {
        uint w = Word(seed, offset + (ulong)(i / 4), (int)(i % 4));
        return ((int)(w >> 9) + 0.5f) * (1.0f / 8388608f);
    }

    /// <summary>The double uniform of element <paramref name="i"/>: words 2q, 2q + 1 (q = i mod 2, low word first) of
    /// block offset + i / 2, mapped to ((x &gt;&gt; 12) + 1/2) 2^-52.</summary>
    public static double DoubleUniform(ulong seed, ulong offset, long i)
    {
        ulong block = offset + (ulong)(i / 2);
        int q = (int)(i % 2);
        ulong x = ((ulong)Word(seed, block, 2 * q + 1) << 32) | Word(seed, block, 2 * q);
        return ((long)(x >> 12) + 0.5) * (1.0 / 4503599627370496.0);
    }

    /// <summary>The standard normal of float element i: Box-Muller in double on the pair of uniforms (elements
    /// 2p, 2p + 1 with p = i / 2; cos for the even element, sin for the odd one), rounded to float.</summary>
    public static float FloatStandardNormal(ulong seed, ulong offset, long i)
    {
        long p = i / 2;
        double a = FloatUniform(seed, offset, 2 * p);
        double b = FloatUniform(seed, offset, 2 * p + 1);
        double r = Math.Sqrt(-2.0 * Math.Log(a));
        (double sin, double cos) = Math.SinCos(TwoPi * b);
        return (float)(i % 2 == 0 ? r * cos : r * sin);
    }

    /// <summary>The standard normal of double element i (pairs as for floats, from the double uniforms).</summary>
    public static double DoubleStandardNormal(ulong seed, ulong offset, long i)
    {
        long p = i / 2;
        double a = DoubleUniform(seed, offset, 2 * p);
        double b = DoubleUniform(seed, offset, 2 * p + 1);
        double r = Math.Sqrt(-2.0 * Math.Log(a));
        (double sin, double cos) = Math.SinCos(TwoPi * b);
        return i % 2 == 0 ? r * cos : r * sin;
    }

    /// <inheritdoc cref="RandomFill.Uniform(ulong, ulong, Span{float}, float, float)"/>
    public static void Uniform(ulong seed, ulong offset, Span<float> dst, float low, float high)
    {
        float range = high - low;
        for (int i = 0; i < dst.Length; i++) dst[i] = low + FloatUniform(seed, offset, i) * range;
    }

    /// <inheritdoc cref="RandomFill.Uniform(ulong, ulong, Span{double}, double, double)"/>
    public static void Uniform(ulong seed, ulong offset, Span<double> dst, double low, double high)
    {
        double range = high - low;
        for (int i = 0; i < dst.Length; i++) dst[i] = low + DoubleUniform(seed, offset, i) * range;
    }

    /// <inheritdoc cref="RandomFill.Normal(ulong, ulong, Span{float}, float, float)"/>
    public static void Normal(ulong seed, ulong offset, Span<float> dst, float mean, float std)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = mean + std * FloatStandardNormal(seed, offset, i);
    }

    /// <inheritdoc cref="RandomFill.Normal(ulong, ulong, Span{double}, double, double)"/>
    public static void Normal(ulong seed, ulong offset, Span<double> dst, double mean, double std)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = mean + std * DoubleStandardNormal(seed, offset, i);
    }

    /// <inheritdoc cref="RandomFill.Bernoulli(ulong, ulong, ReadOnlySpan{float}, Span{float})"/>
    public static void Bernoulli(ulong seed, ulong offset, ReadOnlySpan<float> probs, Span<float> dst)
    {
        if (probs.Length != dst.Length)
            throw new ArgumentException($"Expected probs.Length == dst.Length ({dst.Length}) but got {probs.Length}.", nameof(probs));
        for (int i = 0; i < dst.Length; i++) dst[i] = FloatUniform(seed, offset, i) < probs[i] ? 1f : 0f;
    }

    /// <inheritdoc cref="RandomFill.BlocksUsed(int, bool, bool)"/>
    public static ulong BlocksUsed(int n, bool isDouble, bool normal) => RandomFill.BlocksUsed(n, isDouble, normal);
}

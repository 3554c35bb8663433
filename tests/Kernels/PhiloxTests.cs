using Engine.Kernels.Cpu;
using Engine.Kernels.Reference;

namespace Engine.Tests.Kernels;

/// <summary>Philox4x32-10 known answers, and the RandomFill stream: bit-exact agreement of every vector path with
/// the element-by-element reference, the offset/prefix algebra of a counter-based stream, and statistical sanity.</summary>
public class PhiloxTests
{
    /// <summary>The vector path a test forces (public so NUnit can enumerate it).</summary>
    public enum Path { Scalar, V256, V512 }

    private static Simd.Scope Force(Path p) => Simd.Force(p switch
    {
        Path.Scalar => Simd.Level.Scalar,
        Path.V256 => Simd.Level.V256,
        _ => Simd.Level.V512,
    });

    // Known-answer vectors of Random123 (kat_vectors, philox4x32 with 10 rounds).
    [TestCase(0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u)]
    [TestCase(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu)]
    [TestCase(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u, 0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u)]
    public void Block_MatchesRandom123KnownAnswers(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1, uint e0, uint e1, uint e2, uint e3)
    {
        Philox.Block(c0, c1, c2, c3, k0, k1, out uint r0, out uint r1, out uint r2, out uint r3);
        Assert.That(new[] { r0, r1, r2, r3 }, Is.EqualTo(new[] { e0, e1, e2, e3 }));
    }

    [Test]
    public void UniformWordMapping_IsStrictlyInsideTheUnitInterval()
    {
        Assert.That(RandomFill.WordToFloat(0u), Is.EqualTo(MathF.Pow(2, -24)));
        Assert.That(RandomFill.WordToFloat(uint.MaxValue), Is.EqualTo(1f - MathF.Pow(2, -24)));
        Assert.That(RandomFill.WordToFloat(uint.MaxValue), Is.LessThan(1f));
        Assert.That(RandomFill.WordsToDouble(0u, 0u), Is.EqualTo(Math.Pow(2, -53)));
        Assert.That(RandomFill.WordsToDouble(uint.MaxValue, uint.MaxValue), Is.EqualTo(1.0 - Math.Pow(2, -53)));
        Assert.That(RandomFill.WordsToDouble(uint.MaxValue, uint.MaxValue), Is.LessThan(1.0));
        // Symmetry about 1/2: u(w) + u(~w) == 1 exactly.
        foreach (uint w in new[] { 0u, 1u, 512u, 0x12345678u, 0x80000000u })
            Assert.That(RandomFill.WordToFloat(w) + RandomFill.WordToFloat(~w), Is.EqualTo(1f));
    }

    private static readonly ulong[] Offsets = { 0, 1, 7, 0xFFFF_FFFEUL, ulong.MaxValue - 5 };
    private static readonly int[] Lengths = { 0, 1, 2, 3, 4, 5, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100 };

    [Test]
    public void FloatFills_MatchReferenceBitForBit_OnEveryPath([Values] Path path)
    {
        using var _ = Force(path);
        foreach (ulong offset in Offsets)
            foreach (int n in Lengths)
            {
                ulong seed = 0x0123_4567_89AB_CDEFUL ^ (ulong)n;
                var fast = new float[n]; var reference = new float[n];
                RandomFill.Uniform(seed, offset, fast, -2f, 3f);
                ReferenceRandom.Uniform(seed, offset, reference, -2f, 3f);
                Assert.That(Bits(fast), Is.EqualTo(Bits(reference)), $"uniform n={n} offset={offset}");
                RandomFill.Normal(seed, offset, fast, 0.5f, 2f);
                ReferenceRandom.Normal(seed, offset, reference, 0.5f, 2f);
                Assert.That(Bits(fast), Is.EqualTo(Bits(reference)), $"normal n={n} offset={offset}");
                var probs = new float[n];
                for (int i = 0; i < n; i++) probs[i] = (i % 7) / 6f;
                RandomFill.Bernoulli(seed, offset, probs, fast);
                ReferenceRandom.Bernoulli(seed, offset, probs, reference);
                Assert.That(fast, Is.EqualTo(reference), $"bernoulli n={n} offset={offset}");
            }
    }

    [Test]
    public void DoubleFills_MatchReferenceBitForBit_OnEveryPath([Values] Path path)
    {
        using var _ = Force(path);
        foreach (ulong offset in Offsets)
            foreach (int n in Lengths)
            {
                ulong seed = 0xFEDC_BA98_7654_3210UL + (ulong)n;
                var fast = new double[n]; var reference = new double[n];
                RandomFill.Uniform(seed, offset, fast, -1.0, 1.0);
                ReferenceRandom.Uniform(seed, offset, reference, -1.0, 1.0);
                Assert.That(Bits(fast), Is.EqualTo(Bits(reference)), $"uniform n={n} offset={offset}");
                RandomFill.Normal(seed, offset, fast, -1.0, 0.25);
                ReferenceRandom.Normal(seed, offset, reference, -1.0, 0.25);
                Assert.That(Bits(fast), Is.EqualTo(Bits(reference)), $"normal n={n} offset={offset}");
            }
    }

    [Test]
    public void LongNormalFills_SplitOverTwoThreads_MatchReferenceBitForBit([Values(2048, 2049, 2051, 4097, 10003)] int n)
    {
        int saved = CpuThreads.Max;
        try
        {
            foreach (ulong offset in new[] { 0UL, 3UL, ulong.MaxValue - 700 })
            {
                var f1 = new float[n]; var f2 = new float[n]; var fr = new float[n];
                var d1 = new double[n]; var d2 = new double[n]; var dr = new double[n];
                CpuThreads.Max = 1;
                RandomFill.Normal(9, offset, f1, 0.25f, 1.5f);
                RandomFill.Normal(9, offset, d1, 0.25, 1.5);
                CpuThreads.Max = 2;
                RandomFill.Normal(9, offset, f2, 0.25f, 1.5f);
                RandomFill.Normal(9, offset, d2, 0.25, 1.5);
                ReferenceRandom.Normal(9, offset, fr, 0.25f, 1.5f);
                ReferenceRandom.Normal(9, offset, dr, 0.25, 1.5);
                Assert.That(Bits(f2), Is.EqualTo(Bits(f1)), $"float, offset {offset}");
                Assert.That(Bits(f2), Is.EqualTo(Bits(fr)), $"float vs reference, offset {offset}");
                Assert.That(Bits(d2), Is.EqualTo(Bits(d1)), $"double, offset {offset}");
                Assert.That(Bits(d2), Is.EqualTo(Bits(dr)), $"double vs reference, offset {offset}");
            }
        }
        finally
        {
            CpuThreads.Max = saved;
        }
    }

    [Test]
    public void SameSeed_SameNumbers_DifferentSeed_DifferentNumbers()
    {
        var a = new float[1000]; var b = new float[1000]; var c = new float[1000];
        RandomFill.Normal(42, 0, a, 0f, 1f);
        RandomFill.Normal(42, 0, b, 0f, 1f);
        RandomFill.Normal(43, 0, c, 0f, 1f);
        Assert.That(b, Is.EqualTo(a));
        Assert.That(Enumerable.Range(0, a.Length).Count(i => a[i] == c[i]), Is.LessThan(5));
        // The high half of the seed is the second key word and matters too.
        RandomFill.Normal(42 | (1UL << 40), 0, c, 0f, 1f);
        Assert.That(Enumerable.Range(0, a.Length).Count(i => a[i] == c[i]), Is.LessThan(5));
    }

    [Test]
    public void OffsetShiftsTheStream_ByWholeBlocks([Values(1, 5, 33, 257)] int n)
    {
        const ulong seed = 7, o = 1000;
        var shorter = new float[n]; var longer = new float[n + 4];
        RandomFill.Uniform(seed, o, shorter, 0f, 1f);
        RandomFill.Uniform(seed, o - 1, longer, 0f, 1f);
        Assert.That(shorter, Is.EqualTo(longer.AsSpan(4).ToArray()), "float uniform");
        RandomFill.Normal(seed, o, shorter, 0f, 1f);
        RandomFill.Normal(seed, o - 1, longer, 0f, 1f);
        Assert.That(shorter, Is.EqualTo(longer.AsSpan(4).ToArray()), "float normal");
        var shortD = new double[n]; var longD = new double[n + 2];
        RandomFill.Uniform(seed, o, shortD, 0.0, 1.0);
        RandomFill.Uniform(seed, o - 1, longD, 0.0, 1.0);
        Assert.That(shortD, Is.EqualTo(longD.AsSpan(2).ToArray()), "double uniform");
        RandomFill.Normal(seed, o, shortD, 0.0, 1.0);
        RandomFill.Normal(seed, o - 1, longD, 0.0, 1.0);
        Assert.That(shortD, Is.EqualTo(longD.AsSpan(2).ToArray()), "double normal");
    }

    [Test]
    public void AFillIsAPrefixOfALongerFill_AndBlocksUsedAdvancesToTheNextDisjointStream()
    {
        const ulong seed = 99, o = 12;
        var all = new float[64];
        RandomFill.Normal(seed, o, all, 0f, 1f);
        for (int n = 0; n <= 21; n++)
        {
            var part = new float[n];
            RandomFill.Normal(seed, o, part, 0f, 1f);
            Assert.That(part, Is.EqualTo(all.AsSpan(0, n).ToArray()), $"prefix {n}");
            // The next fill starts at the first block this one did not touch.
            var next = new float[8];
            RandomFill.Normal(seed, o + RandomFill.BlocksUsed(n, false, true), next, 0f, 1f);
            int start = 4 * (int)RandomFill.BlocksUsed(n, false, true);
            Assert.That(next, Is.EqualTo(all.AsSpan(start, 8).ToArray()), $"continuation after {n}");
        }
        Assert.That(RandomFill.BlocksUsed(0, false, false), Is.EqualTo(0UL));
        Assert.That(RandomFill.BlocksUsed(5, false, true), Is.EqualTo(2UL));
        Assert.That(RandomFill.BlocksUsed(8, false, false), Is.EqualTo(2UL));
        Assert.That(RandomFill.BlocksUsed(5, true, true), Is.EqualTo(3UL));
        Assert.That(RandomFill.BlocksUsed(int.MaxValue, true, false), Is.EqualTo(1UL << 30));
        Assert.Throws<ArgumentOutOfRangeException>(() => RandomFill.BlocksUsed(-1, false, false));
    }

    [Test]
    public void Normals_HaveMeanZeroAndUnitVariance_Within5Sigma()
    {
        const int n = 100_000;
        var f = new float[n];
        RandomFill.Normal(2024, 0, f, 0f, 1f);
        CheckMoments(f.Select(x => (double)x).ToArray(), "float");
        var d = new double[n];
        RandomFill.Normal(2025, 3, d, 0.0, 1.0);
        CheckMoments(d, "double");
        // mean and std are applied as mean + std z.
        RandomFill.Normal(2024, 0, f, 3f, 0.5f);
        Assert.That(f.Average(x => (double)x), Is.EqualTo(3.0).Within(5 * 0.5 / Math.Sqrt(n)));

        static void CheckMoments(double[] x, string what)
        {
            double mean = x.Average();
            double var = x.Sum(v => (v - mean) * (v - mean)) / (x.Length - 1);
            double fourth = x.Sum(v => Math.Pow(v - mean, 4)) / x.Length;
            Assert.That(mean, Is.EqualTo(0.0).Within(5 / Math.Sqrt(x.Length)), what + " mean");
            Assert.That(var, Is.EqualTo(1.0).Within(5 * Math.Sqrt(2.0 / x.Length)), what + " variance");
            Assert.That(fourth, Is.EqualTo(3.0).Within(5 * Math.Sqrt(96.0 / x.Length)), what + " fourth moment");
            Assert.That(x.All(double.IsFinite), what + " finite");
        }
    }

    [Test]
    public void Uniforms_PassAKolmogorovSmirnovCheck_AndNeverHitTheEndpoints()
    {
        const int n = 100_000;
        var f = new float[n];
        RandomFill.Uniform(11, 0, f, 0f, 1f);
        Assert.That(f.All(u => u > 0f && u < 1f), "float uniforms strictly inside (0, 1)");
        Assert.That(Ks(f.Select(x => (double)x).ToArray()), Is.LessThan(2.5), "float sqrt(n) D_n");
        var d = new double[n];
        RandomFill.Uniform(12, 0, d, 0.0, 1.0);
        Assert.That(d.All(u => u > 0.0 && u < 1.0), "double uniforms strictly inside (0, 1)");
        Assert.That(Ks(d), Is.LessThan(2.5), "double sqrt(n) D_n");
        // Bernoulli frequencies.
        var probs = Enumerable.Repeat(0.3f, n).ToArray();
        var bits = new float[n];
        RandomFill.Bernoulli(13, 0, probs, bits);
        Assert.That(bits.All(b => b == 0f || b == 1f));
        Assert.That(bits.Average(b => (double)b), Is.EqualTo(0.3).Within(5 * Math.Sqrt(0.21 / n)));
        RandomFill.Bernoulli(13, 0, Enumerable.Repeat(0f, 64).ToArray(), bits.AsSpan(0, 64));
        Assert.That(bits.Take(64).All(b => b == 0f), "p = 0 never fires");
        RandomFill.Bernoulli(13, 0, Enumerable.Repeat(1f, 64).ToArray(), bits.AsSpan(0, 64));
        Assert.That(bits.Take(64).All(b => b == 1f), "p = 1 always fires");

        static double Ks(double[] x)
        {
            var s = (double[])x.Clone();
            Array.Sort(s);
            double dmax = 0;
            for (int i = 0; i < s.Length; i++)
                dmax = Math.Max(dmax, Math.Max((i + 1.0) / s.Length - s[i], s[i] - (double)i / s.Length));
            return Math.Sqrt(s.Length) * dmax;
        }
    }

    [Test]
    public void Bernoulli_InPlaceAndArgumentChecks()
    {
        var p = Enumerable.Range(0, 50).Select(i => i / 49f).ToArray();
        var expected = new float[50];
        ReferenceRandom.Bernoulli(5, 9, p, expected);
        RandomFill.Bernoulli(5, 9, p, p); // dst is probs itself
        Assert.That(p, Is.EqualTo(expected));
        var ex = Assert.Throws<ArgumentException>(() => RandomFill.Bernoulli(1, 0, new float[3], new float[4]));
        Assert.That(ex!.ParamName, Is.EqualTo("probs"));
    }

    private static uint[] Bits(float[] a) => a.Select(BitConverter.SingleToUInt32Bits).ToArray();
    private static ulong[] Bits(double[] a) => a.Select(BitConverter.DoubleToUInt64Bits).ToArray();
}

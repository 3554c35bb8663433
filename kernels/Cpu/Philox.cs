using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Engine.Kernels.Cpu;

/// <summary>
/// The Philox4x32-10 counter-based bijection of Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as easy
/// as 1, 2, 3" (SC'11). A block maps a 128-bit counter and a 64-bit key to 128 pseudo-random bits with no state
/// carried between calls, so any element of a stream can be computed independently (on any thread, or on a GPU)
/// from its index alone. This is what makes <see cref="RandomFill"/> a pure function of (seed, offset, index).
/// </summary>
/// <remarks>
/// One round, on counter words (c0, c1, c2, c3) and key words (k0, k1), with 32x32->64-bit products:
/// <code>
/// (hi0, lo0) = M0 * c0;   (hi1, lo1) = M1 * c2;          M0 = 0xD2511F53, M1 = 0xCD9E8D57
/// (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
/// (k0, k1) += (0x9E3779B9, 0xBB67AE85)                   (the Weyl sequence; golden ratio and sqrt(3) - 1)
/// </code>
/// Ten rounds; the key is bumped after every round (the bump after the last one is unobservable). The output is
/// the counter after the tenth round. Ten rounds is the count the paper recommends (it passes BigCrush with a
/// safety margin; seven was the smallest that did).
/// </remarks>
public static class Philox
{
    /// <summary>Multiplier applied to counter word 0.</summary>
    public const uint M0 = 0xD2511F53;
    /// <summary>Multiplier applied to counter word 2.</summary>
    public const uint M1 = 0xCD9E8D57;
    /// <summary>Weyl increment of key word 0 (floor(2^32 / golden ratio)).</summary>
    public const uint W0 = 0x9E3779B9;
    /// <summary>Weyl increment of key word 1 (floor(2^32 (sqrt(3) - 1))).</summary>
    public const uint W1 = 0xBB67AE85;
    /// <summary>Rounds per block.</summary>
    public const int Rounds = 10;

    /// <summary>
    /// One block: ten rounds of Philox4x32 on counter (c0..c3) with key (k0, k1). A pure function; the scalar
    /// definition every vectorised path in this library is tested against.
    /// </summary>
    public static void Block(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1,
        out uint r0, out uint r1, out uint r2, out uint r3)
    {
        for (int round = 0; round < Rounds; round++)
        {
            ulong p0 = (ulong)M0 * c0;
            ulong p1 = (ulong)M1 * c2;
            uint hi0 = (uint)(p0 >> 32), lo0 = (uint)p0;
            uint hi1 = (uint)(p1 >> 32), lo1 = (uint)p1;
            uint n0 = hi1 ^ c1 ^ k0;
            uint n2 = hi0 ^ c3 ^ k1;
            c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
            k0 += W0; k1 += W1;
        }
        r0 = c0; r1 = c1; r2 = c2; r3 = c3;
    }

    /// <summary>
    /// Eight consecutive blocks, counters (lo32(b), hi32(b), 0, 0) for b = first .. first + 7 (mod 2^64), with
    /// AVX-512. Each 64-bit lane carries one block's 32-bit word in its low half: <c>vpmuludq</c> multiplies
    /// exactly those low halves into a full 64-bit product, so a lane holds lo in its low and hi in its high half
    /// with no shuffling. The high halves of the "lo" words are garbage that no later step reads: the multiplier
    /// ignores them, and the results are masked when packed.
    /// Output: <paramref name="words01"/> lane j = r0 | r1 &lt;&lt; 32 of block j, <paramref name="words23"/> lane j =
    /// r2 | r3 &lt;&lt; 32 (so the uint view of a lane is the block's words in stream order).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Blocks8(ulong first, uint k0, uint k1, out Vector512<ulong> words01, out Vector512<ulong> words23)
    {
        var b = Vector512.Create(first) + Vector512.Create(0UL, 1, 2, 3, 4, 5, 6, 7);
        Vector512<ulong> c0 = b;                   // low half = lo32(b); the high half is never read
        Vector512<ulong> c1 = b >>> 32;            // hi32(b)
        Vector512<ulong> c2 = Vector512<ulong>.Zero;
        Vector512<ulong> c3 = Vector512<ulong>.Zero;
        var m0 = Vector512.Create((ulong)M0).AsUInt32();
        var m1 = Vector512.Create((ulong)M1).AsUInt32();
        var kv0 = Vector512.Create((ulong)k0);
        var kv1 = Vector512.Create((ulong)k1);
        var w0 = Vector512.Create((ulong)W0);
        var w1 = Vector512.Create((ulong)W1);
        for (int round = 0; round < Rounds; round++)
        {
            var p0 = Avx512F.Multiply(c0.AsUInt32(), m0);
            var p1 = Avx512F.Multiply(c2.AsUInt32(), m1);
            var n0 = (p1 >>> 32) ^ c1 ^ kv0;
            var n2 = (p0 >>> 32) ^ c3 ^ kv1;
            c0 = n0; c1 = p1; c2 = n2; c3 = p0;
            kv0 += w0; kv1 += w1;              // only the low 32 bits of a key lane are ever observed
        }
        var lo = Vector512.Create(0xFFFF_FFFFUL);
        words01 = (c0 & lo) | (c1 << 32);
        words23 = (c2 & lo) | (c3 << 32);
    }

    /// <summary>
    /// Reorders the output of <see cref="Blocks8"/> into stream order: the first result holds the 16 words of
    /// blocks 0..3 (block 0 word 0, word 1, word 2, word 3, block 1 word 0, ...), the second those of blocks 4..7.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Interleave8(Vector512<ulong> words01, Vector512<ulong> words23, out Vector512<ulong> first, out Vector512<ulong> second)
    {
        first = Avx512F.PermuteVar8x64x2(words01, Vector512.Create(0UL, 8, 1, 9, 2, 10, 3, 11), words23);
        second = Avx512F.PermuteVar8x64x2(words01, Vector512.Create(4UL, 12, 5, 13, 6, 14, 7, 15), words23);
    }

    /// <summary>Four consecutive blocks with AVX2; the same lane layout as <see cref="Blocks8"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Blocks4(ulong first, uint k0, uint k1, out Vector256<ulong> words01, out Vector256<ulong> words23)
    {
        var b = Vector256.Create(first) + Vector256.Create(0UL, 1, 2, 3);
        Vector256<ulong> c0 = b;
        Vector256<ulong> c1 = b >>> 32;
        Vector256<ulong> c2 = Vector256<ulong>.Zero;
        Vector256<ulong> c3 = Vector256<ulong>.Zero;
        var m0 = Vector256.Create((ulong)M0).AsUInt32();
        var m1 = Vector256.Create((ulong)M1).AsUInt32();
        var kv0 = Vector256.Create((ulong)k0);
        var kv1 = Vector256.Create((ulong)k1);
        var w0 = Vector256.Create((ulong)W0);
        var w1 = Vector256.Create((ulong)W1);
        for (int round = 0; round < Rounds; round++)
        {
            var p0 = Avx2.Multiply(c0.AsUInt32(), m0);
            var p1 = Avx2.Multiply(c2.AsUInt32(), m1);
            var n0 = (p1 >>> 32) ^ c1 ^ kv0;
            var n2 = (p0 >>> 32) ^ c3 ^ kv1;
            c0 = n0; c1 = p1; c2 = n2; c3 = p0;
            kv0 += w0; kv1 += w1;
        }
        var lo = Vector256.Create(0xFFFF_FFFFUL);
        words01 = (c0 & lo) | (c1 << 32);
        words23 = (c2 & lo) | (c3 << 32);
    }

    /// <summary>Stream-order reordering for <see cref="Blocks4"/>: blocks 0..1, then blocks 2..3.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Interleave4(Vector256<ulong> words01, Vector256<ulong> words23, out Vector256<ulong> first, out Vector256<ulong> second)
    {
        // unpack works within 128-bit halves: lo = (A0, B0 | A2, B2), hi = (A1, B1 | A3, B3).
        var lo = Avx2.UnpackLow(words01, words23);
        var hi = Avx2.UnpackHigh(words01, words23);
        first = Avx2.Permute2x128(lo, hi, 0x20);   // (A0, B0, A1, B1)
        second = Avx2.Permute2x128(lo, hi, 0x31);  // (A2, B2, A3, B3)
    }
}

using System.Runtime.Intrinsics;

namespace Engine.Kernels.Cpu;

/// <summary>Which instruction set the packed GEMM path uses.</summary>
internal enum GemmIsa
{
    /// <summary>The widest one the hardware accelerates.</summary>
    Auto = 0,
    /// <summary>12-row x 2-vector micro-kernel on <see cref="Vector512{T}"/>.</summary>
    Vector512,
    /// <summary>6-row x 2-vector micro-kernel on <see cref="Vector256{T}"/> (AVX2 machines).</summary>
    Vector256,
    /// <summary>No packing, no explicit vectors: the last resort.</summary>
    Scalar,
}

/// <summary>
/// Register and cache blocking of the Goto/BLIS five-loop GEMM (Goto and van de Geijn, "Anatomy of
/// High-Performance Matrix Multiplication", 2008; Van Zee and van de Geijn, "BLIS", 2015), kept as data so
/// the loops never hard-code them and tests can shrink the blocks to cross every boundary on small shapes.
/// </summary>
/// <param name="MR">Rows of the micro-tile (broadcasts of packed A per k step); fixed by the micro-kernel.</param>
/// <param name="NR">Columns of the micro-tile (two vectors); fixed by the micro-kernel.</param>
/// <param name="MC">Rows of the packed A block (MC x KC lives in L2); a multiple of MR.</param>
/// <param name="KC">Depth of one rank-KC update (a KC x NR micro-panel of B lives in L1).</param>
/// <param name="NC">Columns of the packed B block (KC x NC lives in L3); a multiple of NR.</param>
internal readonly record struct GemmBlocking(int MR, int NR, int MC, int KC, int NC)
{
    /// <summary>
    /// Default blocking for element type <typeparamref name="T"/> on <paramref name="isa"/>. Zen 5 has a
    /// 48 KiB L1d and 1 MiB L2 per core. Measured on Zen 5: KC 192-512, MC 96-192 and NC 1024-4096 all land within
    /// about 3%; a sweep of KC 128-512 x MC 72-480 on this machine put the larger KC ahead by 2-4% on 1024^3
    /// (fewer passes over C: the kc rebalancing turns k = 1024 into two 512-deep updates) with MC flat, so:
    /// float KC 512 (A block 144 x 512 = 288 KiB in L2; the 512 x 32 B micro-panel is 64 KiB, which L2
    /// feeds fast enough), double KC 384 (A block 432 KiB). NC bounds the packed B block to 4 / 3 MiB.
    /// </summary>
    public static GemmBlocking For<T>(GemmIsa isa) where T : unmanaged
    {
        bool isFloat = typeof(T) == typeof(float);
        return isa switch
        {
            GemmIsa.Vector512 => new GemmBlocking(
                MR: GemmKernel512.MR, NR: GemmKernel512.Vectors * Vector512<T>.Count, MC: 144, KC: isFloat ? 512 : 384, NC: isFloat ? 2048 : 1024),
            GemmIsa.Vector256 => new GemmBlocking(
                MR: GemmKernel256.MR, NR: GemmKernel256.Vectors * Vector256<T>.Count, MC: 144, KC: 256, NC: isFloat ? 2048 : 1024),
            _ => throw new ArgumentOutOfRangeException(nameof(isa), isa, "Only the vector ISAs use packed blocks."),
        };
    }

    /// <summary>
    /// Throws unless the sizes are positive, MR / NR are those of the <paramref name="isa"/> micro-kernel and
    /// MC / NC are multiples of MR / NR.
    /// </summary>
    public void Validate<T>(GemmIsa isa) where T : unmanaged
    {
        GemmBlocking kernel = For<T>(isa);
        if (MR != kernel.MR || NR != kernel.NR)
            throw new ArgumentException($"MR x NR must be the micro-kernel's {kernel.MR} x {kernel.NR} on {isa}: {this}.");
        if (MC <= 0 || KC <= 0 || NC <= 0)
            throw new ArgumentException($"Block sizes must be positive: {this}.");
        if (MC % MR != 0 || NC % NR != 0)
            throw new ArgumentException($"MC must be a multiple of MR and NC a multiple of NR: {this}.");
    }
}

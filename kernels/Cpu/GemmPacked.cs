using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Engine.Kernels.Cpu;

/// <summary>How a packed GEMM runs: kernel ISA, cache blocking, and whether B micro-panels are read in place.</summary>
internal readonly record struct GemmPlan(GemmIsa Isa, GemmBlocking Blocking, bool BInPlace);

/// <summary>
/// The Goto/BLIS five-loop GEMM on one rectangle of C (one thread's share):
/// <code>
/// for jc in n step NC          (5th loop)  B block kc x nc  -> L3
///   for pc in k step KC        (4th loop)  pack B once per (jc, pc)
///     for ic in m step MC      (3rd loop)  pack A block mc x kc -> L2
///       for jr in nc step NR   (2nd loop)  B micro-panel kc x NR -> L1
///         for ir in mc step MR (1st loop)  micro-kernel on an MR x NR tile of C, A micro-panel streams from L2
/// </code>
/// Block sizes come from a <see cref="GemmBlocking"/>; they are rebalanced per call so the last block of each
/// loop is not a sliver (e.g. k = 784 with KC = 512 runs two 392-deep updates rather than 512 + 272, and
/// m = 1024 with MC = 144 eight blocks of 132 rows or fewer rather than seven of 144 and one of 16).
/// </summary>
internal static unsafe class GemmPacked
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<T>(in GemmProblem<T> pr, int i0, int i1, int j0, int j1, in GemmPlan plan)
        where T : unmanaged, INumberBase<T>
    {
        GemmIsa isa = plan.Isa;
        GemmBlocking blk = plan.Blocking;
        int m = i1 - i0, n = j1 - j0, k = pr.K;
        if (m <= 0 || n <= 0) return;
        int vectorWidth = isa == GemmIsa.Vector512 ? Vector512<T>.Count : Vector256<T>.Count;
        int mr = blk.MR, nr = blk.NR;

        int kcMax = GemmMath.DivUp(k, GemmMath.DivUp(k, blk.KC));
        int mcMax = Math.Min(GemmMath.RoundUp(GemmMath.DivUp(m, GemmMath.DivUp(m, blk.MC)), mr), GemmMath.RoundUp(m, mr));
        int ncMax = GemmMath.RoundUp(GemmMath.DivUp(n, GemmMath.DivUp(n, blk.NC)), nr);

        T* packedA = GemmBuffer.ForA<T>(mcMax * kcMax);
        T* packedB = GemmBuffer.ForB<T>(ncMax * kcMax);
        bool directB = plan.BInPlace;

        for (int jc = j0; jc < j1; jc += ncMax)
        {
            int nc = Math.Min(ncMax, j1 - jc);
            int fullPanels = nc / nr;
            for (int pc = 0; pc < k; pc += kcMax)
            {
                int kc = Math.Min(kcMax, k - pc);
                T* sourceB = null;
                if (directB)
                {
                    // Full-width panels are read straight from B; only the ragged right edge is packed.
                    sourceB = pr.B + pr.BOffset(pc, jc);
                    if (fullPanels * nr < nc) GemmPacking.PackBPanels(pr, pc, kc, jc, nc, nr, vectorWidth, packedB, fullPanels * nr);
                }
                else
                {
                    GemmPacking.PackB(pr, pc, kc, jc, nc, nr, vectorWidth, packedB);
                }
                // beta applies once, on the first rank-kc update; later updates accumulate into C.
                T beta = pc == 0 ? pr.Beta : T.One;
                for (int ic = i0; ic < i1; ic += mcMax)
                {
                    int mc = Math.Min(mcMax, i1 - ic);
                    GemmPacking.PackA(pr, ic, mc, pc, kc, mr, packedA);
                    T* c = pr.C + ic * pr.Ldc + jc;
                    Macro(isa, packedA, packedB, sourceB, pr.Ldb, mc, nc, kc, mr, nr, vectorWidth, c, pr.Ldc, pr.Alpha, beta);
                }
            }
        }
    }

    /// <summary>
    /// Whether full-width B micro-panels can be streamed from B itself instead of a packed copy. Packing B
    /// exists to make the kc x NR micro-panel contiguous; when B is not transposed its rows already hold
    /// each k step's NR values contiguously, and the copy costs (measured: 7-12% on M = 128 shapes, where
    /// each packed element is reused only M/MR times). What the copy buys is freedom from cache-set
    /// conflicts: the kc rows of a micro-panel sit ldb apart, and if that stride is a multiple of a large
    /// power of two they pile into a few of the 64 L1 sets (e.g. ldb = 1024 floats: all in one set). So B is
    /// used in place only if the row stride spreads over every set: gcd(stride in bytes, 4096) &lt;= 64.
    /// </summary>
    public static bool CanUseBInPlace<T>(in GemmProblem<T> pr) where T : unmanaged
    {
        if (pr.TransB) return false;
        long strideBytes = pr.Ldb * (long)sizeof(T);
        return strideBytes % 128 != 0 || (strideBytes / 64) % 2 == 1;
    }

    /// <summary>
    /// BLIS's macro-kernel: the jr loop is outside so one kc x NR micro-panel of B stays in L1 while every
    /// A micro-panel of the block streams past it from L2.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Macro<T>(GemmIsa isa, T* pa, T* pb, T* sourceB, nint ldb, int mc, int nc, int kc, int mr, int nr, int vw,
        T* c, nint ldc, T alpha, T beta)
        where T : unmanaged, INumberBase<T>
    {
        for (int jr = 0; jr < nc; jr += nr)
        {
            int w = Math.Min(nr, nc - jr);
            int vectors = GemmMath.DivUp(w, vw);
            int lastCols = w - (vectors - 1) * vw;
            T* bp;
            nint bStride;
            if (sourceB != null && w == nr)
            {
                bp = sourceB + jr;
                bStride = ldb;
            }
            else
            {
                bp = pb + (nint)jr * kc;
                bStride = vectors * vw;
            }
            for (int ir = 0; ir < mc; ir += mr)
            {
                int h = Math.Min(mr, mc - ir);
                T* a = pa + (nint)ir * kc;
                T* ct = c + ir * ldc + jr;
                if (isa == GemmIsa.Vector512)
                    GemmKernel512.Run(h, vectors, kc, a, bp, bStride, ct, ldc, lastCols, alpha, beta);
                else
                    GemmKernel256.Run(h, vectors, kc, a, bp, bStride, ct, ldc, lastCols, alpha, beta);
            }
        }
    }
}

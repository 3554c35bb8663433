using System.Numerics;
using System.Runtime.CompilerServices;
using ILGPU;

namespace Engine.Kernels.Gpu;

/// <summary>The scalars of one GEMM call: C = alpha op(A) op(B) + beta C, row-major, elements from the given offsets.</summary>
public struct GemmArgs<T> where T : unmanaged
{
    public int M, N, K;
    public int Lda, Ldb, Ldc;
    public int AOffset, BOffset, COffset;
    /// <summary>1: A is stored k x m (op(A) = A^T).</summary>
    public int TransA;
    /// <summary>1: B is stored n x k (op(B) = B^T).</summary>
    public int TransB;
    public T Alpha, Beta;
}

/// <summary>
/// C = alpha op(A) op(B) + beta C on the device, the classic shared-memory tiled GEMM with register blocking
/// (Volkov and Demmel, "Benchmarking GPUs to tune dense linear algebra", SC'08; the layout of NVIDIA's CUTLASS
/// "SGEMM" examples): each group stages a DepthK-deep slice of an (M-block x K) panel of op(A) and a (K x N-block) panel
/// of op(B) in shared memory, k-major, and every thread accumulates a MicroM x MicroN tile of C in registers as up to
/// four 4x4 quadrants spaced half a block apart (so the threads of a warp read neighbouring shared words). The
/// transposes the backward pass needs (A^T B, A B^T) only change how a panel is read from global memory, chosen so that
/// neighbouring threads read neighbouring addresses; nothing is ever transposed in memory.
/// </summary>
/// <remarks>
/// Semantics as <see cref="Cpu.Gemm.Compute(bool, bool, int, int, int, float, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, float, Span{float}, int)"/>:
/// beta == 0 overwrites C without reading it; K == 0 gives beta C. Products accumulate with fused multiply-adds in
/// k order, so results differ from the CPU's blocked sums by rounding only.
/// Launch: grid (ceil(N / BN), ceil(M / BM)), groups of ThreadsM·ThreadsN threads.
/// </remarks>
public static class GemmKernel
{
    /// <summary>The kernel, specialized by the tile configuration <typeparamref name="TTile"/>.</summary>
    public static void Gemm<T, TTile>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> c, GemmArgs<T> p)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TTile : struct, IGemmTile
    {
        var tile = default(TTile);
        int bm = tile.ThreadsM * tile.MicroM;
        int bn = tile.ThreadsN * tile.MicroN;
        int bk = tile.DepthK;
        int threads = tile.ThreadsM * tile.ThreadsN;
        var sa = SharedMemory.Allocate<T>(tile.DepthK * tile.ThreadsM * tile.MicroM); // [bk][bm]
        var sb = SharedMemory.Allocate<T>(tile.DepthK * tile.ThreadsN * tile.MicroN); // [bk][bn]

        int tid = Group.IdxX;
        int tn = tid % tile.ThreadsN;
        int tm = tid / tile.ThreadsN;
        int row0 = Grid.IdxY * bm;
        int col0 = Grid.IdxX * bn;
        int qh = tile.ThreadsM * 4; // quadrant height: the second quadrant starts this many rows below the first
        int qw = tile.ThreadsN * 4;
        int r0 = tm * 4, c0 = tn * 4;

        Acc4x4<T> acc00 = default, acc01 = default, acc10 = default, acc11 = default;
        for (int k0 = 0; k0 < p.K; k0 += bk)
        {
            // Stage op(A)[row0 .. row0 + bm, k0 .. k0 + bk] as sa[kk * bm + r], zero outside the matrix.
            for (int e = tid; e < bk * bm; e += threads)
            {
                int r, kk;
                if (p.TransA != 0) { r = e % bm; kk = e / bm; }   // A is k x m: a row of A is contiguous in m
                else { kk = e % bk; r = e / bk; }                  // A is m x k: contiguous in k
                int gr = row0 + r, gk = k0 + kk;
                T v = T.Zero;
                if (gr < p.M && gk < p.K)
                    v = p.TransA != 0 ? a[p.AOffset + gk * p.Lda + gr] : a[p.AOffset + gr * p.Lda + gk];
                sa[kk * bm + r] = v;
            }
            // Stage op(B)[k0 .. k0 + bk, col0 .. col0 + bn] as sb[kk * bn + col].
            for (int e = tid; e < bk * bn; e += threads)
            {
                int col, kk;
                if (p.TransB != 0) { kk = e % bk; col = e / bk; }  // B is n x k: contiguous in k
                else { col = e % bn; kk = e / bn; }                // B is k x n: contiguous in n
                int gc = col0 + col, gk = k0 + kk;
                T v = T.Zero;
                if (gc < p.N && gk < p.K)
                    v = p.TransB != 0 ? b[p.BOffset + gc * p.Ldb + gk] : b[p.BOffset + gk * p.Ldb + gc];
                sb[kk * bn + col] = v;
            }
            Group.Barrier();
            for (int kk = 0; kk < bk; kk++)
            {
                int ia = kk * bm + r0, ib = kk * bn + c0;
                T a0 = sa[ia], a1 = sa[ia + 1], a2 = sa[ia + 2], a3 = sa[ia + 3];
                T b0 = sb[ib], b1 = sb[ib + 1], b2 = sb[ib + 2], b3 = sb[ib + 3];
                acc00.Fma(a0, a1, a2, a3, b0, b1, b2, b3);
                if (tile.MicroN == 8)
                {
                    T b4 = sb[ib + qw], b5 = sb[ib + qw + 1], b6 = sb[ib + qw + 2], b7 = sb[ib + qw + 3];
                    acc01.Fma(a0, a1, a2, a3, b4, b5, b6, b7);
                    if (tile.MicroM == 8)
                    {
                        T a4 = sa[ia + qh], a5 = sa[ia + qh + 1], a6 = sa[ia + qh + 2], a7 = sa[ia + qh + 3];
                        acc10.Fma(a4, a5, a6, a7, b0, b1, b2, b3);
                        acc11.Fma(a4, a5, a6, a7, b4, b5, b6, b7);
                    }
                }
                else if (tile.MicroM == 8)
                {
                    T a4 = sa[ia + qh], a5 = sa[ia + qh + 1], a6 = sa[ia + qh + 2], a7 = sa[ia + qh + 3];
                    acc10.Fma(a4, a5, a6, a7, b0, b1, b2, b3);
                }
            }
            Group.Barrier();
        }

        Store(c, p, acc00, row0 + r0, col0 + c0);
        if (tile.MicroN == 8) Store(c, p, acc01, row0 + r0, col0 + qw + c0);
        if (tile.MicroM == 8) Store(c, p, acc10, row0 + qh + r0, col0 + c0);
        if (tile.MicroM == 8 && tile.MicroN == 8) Store(c, p, acc11, row0 + qh + r0, col0 + qw + c0);
    }

    // C[row .. row + 4, col .. col + 4] = alpha acc + beta C, inside the matrix only.
    private static void Store<T>(ArrayView<T> c, GemmArgs<T> p, Acc4x4<T> acc, int row, int col) where T : unmanaged, IFloatingPointIeee754<T>
    {
        StoreRow(c, p, row, col, acc.C00, acc.C01, acc.C02, acc.C03);
        StoreRow(c, p, row + 1, col, acc.C10, acc.C11, acc.C12, acc.C13);
        StoreRow(c, p, row + 2, col, acc.C20, acc.C21, acc.C22, acc.C23);
        StoreRow(c, p, row + 3, col, acc.C30, acc.C31, acc.C32, acc.C33);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<T>(ArrayView<T> c, GemmArgs<T> p, int row, int col, T v0, T v1, T v2, T v3) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (row >= p.M) return;
        int o = p.COffset + row * p.Ldc + col;
        if (col < p.N) c[o] = Combine(c, o, v0, p);
        if (col + 1 < p.N) c[o + 1] = Combine(c, o + 1, v1, p);
        if (col + 2 < p.N) c[o + 2] = Combine(c, o + 2, v2, p);
        if (col + 3 < p.N) c[o + 3] = Combine(c, o + 3, v3, p);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Combine<T>(ArrayView<T> c, int o, T v, GemmArgs<T> p) where T : unmanaged, IFloatingPointIeee754<T>
        => p.Beta == T.Zero ? p.Alpha * v : p.Alpha * v + p.Beta * c[o];
}

/// <summary>A 4 x 4 register tile of accumulators (explicit fields, so they live in registers, never in local memory).</summary>
internal struct Acc4x4<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    public T C00, C01, C02, C03, C10, C11, C12, C13, C20, C21, C22, C23, C30, C31, C32, C33;

    /// <summary>The rank-1 update C += a b^T with fused multiply-adds.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Fma(T a0, T a1, T a2, T a3, T b0, T b1, T b2, T b3)
    {
        C00 = T.FusedMultiplyAdd(a0, b0, C00); C01 = T.FusedMultiplyAdd(a0, b1, C01); C02 = T.FusedMultiplyAdd(a0, b2, C02); C03 = T.FusedMultiplyAdd(a0, b3, C03);
        C10 = T.FusedMultiplyAdd(a1, b0, C10); C11 = T.FusedMultiplyAdd(a1, b1, C11); C12 = T.FusedMultiplyAdd(a1, b2, C12); C13 = T.FusedMultiplyAdd(a1, b3, C13);
        C20 = T.FusedMultiplyAdd(a2, b0, C20); C21 = T.FusedMultiplyAdd(a2, b1, C21); C22 = T.FusedMultiplyAdd(a2, b2, C22); C23 = T.FusedMultiplyAdd(a2, b3, C23);
        C30 = T.FusedMultiplyAdd(a3, b0, C30); C31 = T.FusedMultiplyAdd(a3, b1, C31); C32 = T.FusedMultiplyAdd(a3, b2, C32); C33 = T.FusedMultiplyAdd(a3, b3, C33);
    }
}

/// <summary>The degenerate GEMM (alpha == 0 or K == 0): C = beta C without reading A or B (beta == 0 writes zeros).</summary>
public static class GemmScaleKernel
{
    /// <summary>C[r, c] = beta C[r, c] (or 0) over an M x N block at <c>COffset</c> with leading dimension <c>Ldc</c>.</summary>
    public static void Scale<T>(ArrayView<T> c, GemmArgs<T> p) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int total = p.M * p.N;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int r = e / p.N;
            int o = p.COffset + r * p.Ldc + (e - r * p.N);
            c[o] = p.Beta == T.Zero ? T.Zero : p.Beta * c[o];
        }
    }
}

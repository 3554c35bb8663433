using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Micro-kernels on <see cref="Vector256{T}"/> (AVX2 machines): full tile 6 x 16 floats or 6 x 8 doubles, i.e. 12
/// ymm accumulators + 2 B vectors + 1 broadcast out of 16 registers, the BLIS Haswell shape.
/// </summary>
internal static unsafe class GemmKernel256
{
    /// <summary>Rows of the full micro-tile.</summary>
    public const int MR = 6;

    /// <summary>Vectors per row of the full micro-tile (NR = 2 * Vector256&lt;T&gt;.Count).</summary>
    public const int Vectors = 2;

    /// <summary>
    /// C[rows x cols] = alpha * Apanel * Bpanel + beta * C for one micro-tile. <paramref name="a"/> is a packed
    /// micro-panel of A (kc steps of <paramref name="rows"/> values), <paramref name="b"/> a micro-panel of B:
    /// kc steps of <paramref name="vectors"/> full vectors, <paramref name="bStride"/> elements apart (packed
    /// and zero-padded, or rows of B itself when it needs no packing). <paramref name="lastCols"/> is
    /// how many columns of the last vector are real (only those are written). Dispatches to a specialisation
    /// with the row and vector counts as compile-time constants, so every edge tile gets its own narrower
    /// kernel instead of running the full one into a temporary tile (measured: that cost 10-16%).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run<T>(int rows, int vectors, int kc, T* a, T* b, nint bStride, T* c, nint ldc, int lastCols, T alpha, T beta)
        where T : unmanaged, INumberBase<T>
    {
        if (vectors == 2)
        {
            switch (rows)
            {
                case 1: Tile<T, GemmConst1, GemmConst2>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta); return;
                case 2: Tile<T, GemmConst2, GemmConst2>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta); return;
                case 3: Tile<T, GemmConst3, GemmConst2>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta); return;
                case 4: Tile<T, GemmConst4, GemmConst2>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta); return;
                case 5: Tile<T, GemmConst5, GemmConst2>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta); return;
                case 6: Tile<T, GemmConst6, GemmConst2>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta); return;
            }
        }
        else
        {
            switch (rows)
            {
                case 1: Tile<T, GemmConst1, GemmConst1>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta); return;
                case 2: Tile<T, GemmConst2, GemmConst1>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta); return;
                case 3: Tile<T, GemmConst3, GemmConst1>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta); return;
                case 4: Tile<T, GemmConst4, GemmConst1>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta); return;
                case 5: Tile<T, GemmConst5, GemmConst1>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta); return;
                case 6: Tile<T, GemmConst6, GemmConst1>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta); return;
            }
        }
        throw new ArgumentOutOfRangeException(nameof(rows), $"No micro-kernel for {rows} rows x {vectors} vectors.");
    }

    /// <summary>
    /// The register-blocked micro-kernel (BLIS's "gemm ukernel"): per k step it loads one row of the B
    /// micro-panel into one or two vectors, broadcasts each packed A value once and issues one FMA per
    /// accumulator. TRows / TVecs are struct type arguments, so the JIT specialises the method, folds every
    /// <c>if (R &gt; i)</c> and keeps all 2*TRows accumulators in registers: they are plain locals of a method
    /// working on raw pointers, no address is taken, and no call happens while they are live (checked with
    /// DOTNET_JitDisasm: the k loop of every specialisation is loads, broadcasts and FMAs on registers only).
    /// That is fragile: a static field read or a call before or after the loop made the register allocator
    /// spill and reload every accumulator on every k step, at less than half the speed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile<T, TRows, TVecs>(int kc, T* a, T* b, nint bStride, T* c, nint ldc, int lastCols, T alpha, T beta)
        where T : unmanaged, INumberBase<T>
        where TRows : struct, IGemmConst
        where TVecs : struct, IGemmConst
    {
        if (lastCols == Vector256<T>.Count) Tile<T, TRows, TVecs, GemmConst1>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta);
        else Tile<T, TRows, TVecs, GemmEdge>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta);
    }

    /// <summary>
    /// The kernel proper, specialised once more on whether the tile is whole (<typeparamref name="TFull"/> = 1: stores
    /// straight into C) or on the right edge (0: parks the tile on the stack and merges the real columns). Keeping the
    /// two apart means a whole tile's method contains no call at all: with both paths in one method the JIT kept the
    /// accumulators in registers under tiered compilation but spilled them on every k step when tiering was off
    /// (DOTNET_TieredCompilation=0: 60 instead of 220 GFLOP/s), a register-allocation choice no code should depend on.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit] // the edge tile's stackalloc must not be zeroed by a helper call while the accumulators are live
    private static void Tile<T, TRows, TVecs, TFull>(int kc, T* a, T* b, nint bStride, T* c, nint ldc, int lastCols, T alpha, T beta)
        where T : unmanaged, INumberBase<T>
        where TRows : struct, IGemmConst
        where TVecs : struct, IGemmConst
        where TFull : struct, IGemmConst
    {
        int R = TRows.Value;
        bool two = TVecs.Value == 2;
        int step = TVecs.Value * Vector256<T>.Count;
        Vector256<T> c0a = default, c0b = default, c1a = default, c1b = default, c2a = default, c2b = default, c3a = default, c3b = default, c4a = default, c4b = default, c5a = default, c5b = default;

        for (int p = 0; p < kc; p++)
        {
            Vector256<T> b0 = Vector256.Load(b);
            Vector256<T> b1 = two ? Vector256.Load(b + Vector256<T>.Count) : default;
            Vector256<T> x;
            x = Vector256.Create(a[0]); c0a = GemmMath.Fma(x, b0, c0a); if (two) c0b = GemmMath.Fma(x, b1, c0b);
            if (R > 1) { x = Vector256.Create(a[1]); c1a = GemmMath.Fma(x, b0, c1a); if (two) c1b = GemmMath.Fma(x, b1, c1b); }
            if (R > 2) { x = Vector256.Create(a[2]); c2a = GemmMath.Fma(x, b0, c2a); if (two) c2b = GemmMath.Fma(x, b1, c2b); }
            if (R > 3) { x = Vector256.Create(a[3]); c3a = GemmMath.Fma(x, b0, c3a); if (two) c3b = GemmMath.Fma(x, b1, c3b); }
            if (R > 4) { x = Vector256.Create(a[4]); c4a = GemmMath.Fma(x, b0, c4a); if (two) c4b = GemmMath.Fma(x, b1, c4b); }
            if (R > 5) { x = Vector256.Create(a[5]); c5a = GemmMath.Fma(x, b0, c5a); if (two) c5b = GemmMath.Fma(x, b1, c5b); }
            a += R;
            b += bStride;
        }

        // No call may follow while the accumulators are live: every vector register is caller-saved, so a
        // call after the loop makes the register allocator spill all accumulators on every k step.
        if (TFull.Value == 1)
        {
            Vector256<T> va = Vector256.Create(alpha);
            Vector256<T> vb = Vector256.Create(beta);
            int betaKind = GemmMath.BetaKind(beta);
            StoreRow(c, c0a, c0b, two, va, vb, betaKind);
            if (R > 1) { c += ldc; StoreRow(c, c1a, c1b, two, va, vb, betaKind); }
            if (R > 2) { c += ldc; StoreRow(c, c2a, c2b, two, va, vb, betaKind); }
            if (R > 3) { c += ldc; StoreRow(c, c3a, c3b, two, va, vb, betaKind); }
            if (R > 4) { c += ldc; StoreRow(c, c4a, c4b, two, va, vb, betaKind); }
            if (R > 5) { c += ldc; StoreRow(c, c5a, c5b, two, va, vb, betaKind); }
        }
        else
        {
            // Right edge of C: park the raw tile on the stack, then merge the real columns.
            T* tile = stackalloc T[R * step];
            c0a.Store(tile + 0 * step); if (two) c0b.Store(tile + 0 * step + Vector256<T>.Count);
            if (R > 1) { c1a.Store(tile + 1 * step); if (two) c1b.Store(tile + 1 * step + Vector256<T>.Count); }
            if (R > 2) { c2a.Store(tile + 2 * step); if (two) c2b.Store(tile + 2 * step + Vector256<T>.Count); }
            if (R > 3) { c3a.Store(tile + 3 * step); if (two) c3b.Store(tile + 3 * step + Vector256<T>.Count); }
            if (R > 4) { c4a.Store(tile + 4 * step); if (two) c4b.Store(tile + 4 * step + Vector256<T>.Count); }
            if (R > 5) { c5a.Store(tile + 5 * step); if (two) c5b.Store(tile + 5 * step + Vector256<T>.Count); }
            GemmMath.MergeEdgeTile(tile, step, R, step - Vector256<T>.Count + lastCols, c, ldc, alpha, beta);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<T>(T* c, Vector256<T> x0, Vector256<T> x1, bool two, Vector256<T> va, Vector256<T> vb, int betaKind)
        where T : unmanaged, INumberBase<T>
    {
        StoreVector(c, x0, va, vb, betaKind);
        if (two) StoreVector(c + Vector256<T>.Count, x1, va, vb, betaKind);
    }

    /// <summary>C = alpha*x + beta*C on one full vector; beta == 0 never reads C (NaN there must vanish).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreVector<T>(T* c, Vector256<T> x, Vector256<T> va, Vector256<T> vb, int betaKind)
        where T : unmanaged, INumberBase<T>
    {
        Vector256<T> r = betaKind switch
        {
            GemmMath.BetaZero => va * x,
            GemmMath.BetaOne => GemmMath.Fma(va, x, Vector256.Load(c)),
            _ => GemmMath.Fma(va, x, vb * Vector256.Load(c)),
        };
        r.Store(c);
    }
}

using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Micro-kernels on <see cref="Vector512{T}"/> (AVX-512): full tile 12 x 32 floats or 12 x 16 doubles, i.e. 24
/// zmm accumulators + 2 B vectors + 1 broadcast out of 32 registers. 12x32 measured at 97-100% of
/// the FMA peak in isolation; 12 rows also keep packing A on clean 4x4 transposes (MR % 4 == 0).
/// </summary>
internal static unsafe class GemmKernel512
{
    /// <summary>Rows of the full micro-tile.</summary>
    public const int MR = 12;

    /// <summary>Vectors per row of the full micro-tile (NR = 2 * Vector512&lt;T&gt;.Count).</summary>
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
                case 7: Tile<T, GemmConst7, GemmConst2>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta); return;
                case 8: Tile<T, GemmConst8, GemmConst2>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta); return;
                case 9: Tile<T, GemmConst9, GemmConst2>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta); return;
                case 10: Tile<T, GemmConst10, GemmConst2>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta); return;
                case 11: Tile<T, GemmConst11, GemmConst2>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta); return;
                case 12: Tile<T, GemmConst12, GemmConst2>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta); return;
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
                case 7: Tile<T, GemmConst7, GemmConst1>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta); return;
                case 8: Tile<T, GemmConst8, GemmConst1>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta); return;
                case 9: Tile<T, GemmConst9, GemmConst1>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta); return;
                case 10: Tile<T, GemmConst10, GemmConst1>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta); return;
                case 11: Tile<T, GemmConst11, GemmConst1>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta); return;
                case 12: Tile<T, GemmConst12, GemmConst1>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta); return;
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
        if (lastCols == Vector512<T>.Count) Tile<T, TRows, TVecs, GemmConst1>(kc, a, b, bStride, c, ldc, lastCols, alpha, beta);
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
        int step = TVecs.Value * Vector512<T>.Count;
        Vector512<T> c0a = default, c0b = default, c1a = default, c1b = default, c2a = default, c2b = default, c3a = default, c3b = default, c4a = default, c4b = default, c5a = default, c5b = default, c6a = default, c6b = default, c7a = default, c7b = default, c8a = default, c8b = default, c9a = default, c9b = default, c10a = default, c10b = default, c11a = default, c11b = default;

        for (int p = 0; p < kc; p++)
        {
            Vector512<T> b0 = Vector512.Load(b);
            Vector512<T> b1 = two ? Vector512.Load(b + Vector512<T>.Count) : default;
            Vector512<T> x;
            x = Vector512.Create(a[0]); c0a = GemmMath.Fma(x, b0, c0a); if (two) c0b = GemmMath.Fma(x, b1, c0b);
            if (R > 1) { x = Vector512.Create(a[1]); c1a = GemmMath.Fma(x, b0, c1a); if (two) c1b = GemmMath.Fma(x, b1, c1b); }
            if (R > 2) { x = Vector512.Create(a[2]); c2a = GemmMath.Fma(x, b0, c2a); if (two) c2b = GemmMath.Fma(x, b1, c2b); }
            if (R > 3) { x = Vector512.Create(a[3]); c3a = GemmMath.Fma(x, b0, c3a); if (two) c3b = GemmMath.Fma(x, b1, c3b); }
            if (R > 4) { x = Vector512.Create(a[4]); c4a = GemmMath.Fma(x, b0, c4a); if (two) c4b = GemmMath.Fma(x, b1, c4b); }
            if (R > 5) { x = Vector512.Create(a[5]); c5a = GemmMath.Fma(x, b0, c5a); if (two) c5b = GemmMath.Fma(x, b1, c5b); }
            if (R > 6) { x = Vector512.Create(a[6]); c6a = GemmMath.Fma(x, b0, c6a); if (two) c6b = GemmMath.Fma(x, b1, c6b); }
            if (R > 7) { x = Vector512.Create(a[7]); c7a = GemmMath.Fma(x, b0, c7a); if (two) c7b = GemmMath.Fma(x, b1, c7b); }
            if (R > 8) { x = Vector512.Create(a[8]); c8a = GemmMath.Fma(x, b0, c8a); if (two) c8b = GemmMath.Fma(x, b1, c8b); }
            if (R > 9) { x = Vector512.Create(a[9]); c9a = GemmMath.Fma(x, b0, c9a); if (two) c9b = GemmMath.Fma(x, b1, c9b); }
            if (R > 10) { x = Vector512.Create(a[10]); c10a = GemmMath.Fma(x, b0, c10a); if (two) c10b = GemmMath.Fma(x, b1, c10b); }
            if (R > 11) { x = Vector512.Create(a[11]); c11a = GemmMath.Fma(x, b0, c11a); if (two) c11b = GemmMath.Fma(x, b1, c11b); }
            a += R;
            b += bStride;
        }

        // No call may follow while the accumulators are live: every vector register is caller-saved, so a
        // call after the loop makes the register allocator spill all accumulators on every k step.
        if (TFull.Value == 1)
        {
            Vector512<T> va = Vector512.Create(alpha);
            Vector512<T> vb = Vector512.Create(beta);
            int betaKind = GemmMath.BetaKind(beta);
            StoreRow(c, c0a, c0b, two, va, vb, betaKind);
            if (R > 1) { c += ldc; StoreRow(c, c1a, c1b, two, va, vb, betaKind); }
            if (R > 2) { c += ldc; StoreRow(c, c2a, c2b, two, va, vb, betaKind); }
            if (R > 3) { c += ldc; StoreRow(c, c3a, c3b, two, va, vb, betaKind); }
            if (R > 4) { c += ldc; StoreRow(c, c4a, c4b, two, va, vb, betaKind); }
            if (R > 5) { c += ldc; StoreRow(c, c5a, c5b, two, va, vb, betaKind); }
            if (R > 6) { c += ldc; StoreRow(c, c6a, c6b, two, va, vb, betaKind); }
            if (R > 7) { c += ldc; StoreRow(c, c7a, c7b, two, va, vb, betaKind); }
            if (R > 8) { c += ldc; StoreRow(c, c8a, c8b, two, va, vb, betaKind); }
            if (R > 9) { c += ldc; StoreRow(c, c9a, c9b, two, va, vb, betaKind); }
            if (R > 10) { c += ldc; StoreRow(c, c10a, c10b, two, va, vb, betaKind); }
            if (R > 11) { c += ldc; StoreRow(c, c11a, c11b, two, va, vb, betaKind); }
        }
        else
        {
            // Right edge of C: park the raw tile on the stack, then merge the real columns.
            T* tile = stackalloc T[R * step];
            c0a.Store(tile + 0 * step); if (two) c0b.Store(tile + 0 * step + Vector512<T>.Count);
            if (R > 1) { c1a.Store(tile + 1 * step); if (two) c1b.Store(tile + 1 * step + Vector512<T>.Count); }
            if (R > 2) { c2a.Store(tile + 2 * step); if (two) c2b.Store(tile + 2 * step + Vector512<T>.Count); }
            if (R > 3) { c3a.Store(tile + 3 * step); if (two) c3b.Store(tile + 3 * step + Vector512<T>.Count); }
            if (R > 4) { c4a.Store(tile + 4 * step); if (two) c4b.Store(tile + 4 * step + Vector512<T>.Count); }
            if (R > 5) { c5a.Store(tile + 5 * step); if (two) c5b.Store(tile + 5 * step + Vector512<T>.Count); }
            if (R > 6) { c6a.Store(tile + 6 * step); if (two) c6b.Store(tile + 6 * step + Vector512<T>.Count); }
            if (R > 7) { c7a.Store(tile + 7 * step); if (two) c7b.Store(tile + 7 * step + Vector512<T>.Count); }
            if (R > 8) { c8a.Store(tile + 8 * step); if (two) c8b.Store(tile + 8 * step + Vector512<T>.Count); }
            if (R > 9) { c9a.Store(tile + 9 * step); if (two) c9b.Store(tile + 9 * step + Vector512<T>.Count); }
            if (R > 10) { c10a.Store(tile + 10 * step); if (two) c10b.Store(tile + 10 * step + Vector512<T>.Count); }
            if (R > 11) { c11a.Store(tile + 11 * step); if (two) c11b.Store(tile + 11 * step + Vector512<T>.Count); }
            GemmMath.MergeEdgeTile(tile, step, R, step - Vector512<T>.Count + lastCols, c, ldc, alpha, beta);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<T>(T* c, Vector512<T> x0, Vector512<T> x1, bool two, Vector512<T> va, Vector512<T> vb, int betaKind)
        where T : unmanaged, INumberBase<T>
    {
        StoreVector(c, x0, va, vb, betaKind);
        if (two) StoreVector(c + Vector512<T>.Count, x1, va, vb, betaKind);
    }

    /// <summary>C = alpha*x + beta*C on one full vector; beta == 0 never reads C (NaN there must vanish).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreVector<T>(T* c, Vector512<T> x, Vector512<T> va, Vector512<T> vb, int betaKind)
        where T : unmanaged, INumberBase<T>
    {
        Vector512<T> r = betaKind switch
        {
            GemmMath.BetaZero => va * x,
            GemmMath.BetaOne => GemmMath.Fma(va, x, Vector512.Load(c)),
            _ => GemmMath.Fma(va, x, vb * Vector512.Load(c)),
        };
        r.Store(c);
    }
}

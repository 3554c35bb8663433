using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Packing of A and B blocks into the contiguous micro-panel layouts the micro-kernels stream (Goto and van
/// de Geijn 2008, section 6; BLIS "packm"). Transposes are resolved here, never by materialising op(A) or
/// op(B). Layouts:
/// <list type="bullet">
/// <item>A block (mc x kc): micro-panels of MR rows; a panel of h rows holds kc steps of h values
/// (element (r, p) at p*h + r). The last panel is stored with its own height h &lt; MR, not padded, so the
/// narrower kernel for that height streams it with a constant stride.</item>
/// <item>B block (kc x nc): micro-panels of NR columns; a panel of w columns holds kc steps of RoundUp(w, W)
/// values (W = vector width), zero-padded so every load is a full vector.</item>
/// </list>
/// </summary>
internal static unsafe class GemmPacking
{
    /// <summary>Packs op(A)[ic..ic+mc, pc..pc+kc] into <paramref name="dst"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA<T>(in GemmProblem<T> pr, int ic, int mc, int pc, int kc, int mr, T* dst)
        where T : unmanaged
    {
        for (int ir = 0; ir < mc; ir += mr)
        {
            int h = Math.Min(mr, mc - ir);
            T* d = dst + (nint)ir * kc;
            T* s = pr.A + pr.AOffset(ic + ir, pc);
            if (pr.TransA)
                CopyRows(s, pr.Lda, h, kc, d, h);      // A stored k x m: each k step is h contiguous values.
            else
                Transpose(s, pr.Lda, h, kc, d, h);     // A stored m x k: rows run along k, panel wants along m.
        }
    }

    /// <summary>Packs op(B)[pc..pc+kc, jc..jc+nc] into <paramref name="dst"/> (panels of nr, vector width w).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB<T>(in GemmProblem<T> pr, int pc, int kc, int jc, int nc, int nr, int vectorWidth, T* dst)
        where T : unmanaged
    {
        int fullPanels = nc / nr;
        if (!pr.TransB && Vector512.IsHardwareAccelerated && nr == 2 * Vector512<T>.Count)
        {
            // B stored k x n: walk each source row once, left to right, scattering its 2-vector pieces into
            // the panels. One sequential read stream per row is what the hardware prefetchers follow best.
            T* s = pr.B + pr.BOffset(pc, jc);
            T* d = dst;
            for (int p = 0; p < kc; p++)
            {
                T* sp = s;
                T* dp = d;
                for (int q = 0; q < fullPanels; q++)
                {
                    Vector512.Store(Vector512.Load(sp), dp);
                    Vector512.Store(Vector512.Load(sp + Vector512<T>.Count), dp + Vector512<T>.Count);
                    sp += nr;
                    dp += (nint)nr * kc;
                }
                s += pr.Ldb;
                d += nr;
            }
            if (fullPanels * nr < nc) PackBPanels(pr, pc, kc, jc, nc, nr, vectorWidth, dst, fullPanels * nr);
            return;
        }
        PackBPanels(pr, pc, kc, jc, nc, nr, vectorWidth, dst, 0);
    }

    /// <summary>
    /// Packs the B panels from column <paramref name="from"/> of the block on, one panel at a time: the general
    /// case (transposed B, the 256-bit layout, the ragged last panel, which is zero-padded to whole vectors).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackBPanels<T>(in GemmProblem<T> pr, int pc, int kc, int jc, int nc, int nr, int vectorWidth, T* dst, int from)
        where T : unmanaged
    {
        for (int jr = from; jr < nc; jr += nr)
        {
            int w = Math.Min(nr, nc - jr);
            int stride = GemmMath.RoundUp(w, vectorWidth);
            T* d = dst + (nint)jr * kc;
            T* s = pr.B + pr.BOffset(pc, jc + jr);
            if (pr.TransB)
            {
                Transpose(s, pr.Ldb, w, kc, d, stride);  // B stored n x k: rows run along k.
                if (w < stride) ZeroColumns(d, kc, w, stride);
            }
            else
            {
                CopyRows(s, pr.Ldb, w, kc, d, stride);
            }
        }
    }

    /// <summary>
    /// d[p*ds + j] = s[p*lds + j] for j &lt; count, p &lt; steps; columns count..ds-1 are zeroed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void CopyRows<T>(T* s, nint lds, int count, int steps, T* d, int ds) where T : unmanaged
    {
        if (Vector512.IsHardwareAccelerated && count == 2 * Vector512<T>.Count && ds == count)
        {
            // The common full panel of B (and of transposed A): two whole vectors per step.
            for (int p = 0; p < steps; p++)
            {
                Vector512.Store(Vector512.Load(s), d);
                Vector512.Store(Vector512.Load(s + Vector512<T>.Count), d + Vector512<T>.Count);
                s += lds;
                d += ds;
            }
            return;
        }
        for (int p = 0; p < steps; p++)
        {
            CopyShort(s, d, count);
            for (int j = count; j < ds; j++) d[j] = default;
            s += lds;
            d += ds;
        }
    }

    /// <summary>Copies a short run with the widest vectors that fit, then scalars.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyShort<T>(T* s, T* d, int count) where T : unmanaged
    {
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; j + Vector512<T>.Count <= count; j += Vector512<T>.Count)
                Vector512.Store(Vector512.Load(s + j), d + j);
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; j + Vector256<T>.Count <= count; j += Vector256<T>.Count)
                Vector256.Store(Vector256.Load(s + j), d + j);
        }
        if (Vector128.IsHardwareAccelerated)
        {
            for (; j + Vector128<T>.Count <= count; j += Vector128<T>.Count)
                Vector128.Store(Vector128.Load(s + j), d + j);
        }
        for (; j < count; j++) d[j] = s[j];
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ZeroColumns<T>(T* d, int steps, int from, int ds) where T : unmanaged
    {
        for (int p = 0; p < steps; p++, d += ds)
            for (int j = from; j < ds; j++) d[j] = default;
    }

    /// <summary>
    /// d[p*ds + r] = s[r*lds + p] for r &lt; rows, p &lt; steps. Groups of four source rows go through 4x4
    /// register transposes (SSE for float, AVX for double): a scalar A-packing loop measured 7-11%
    /// of a 1024^3 SGEMM (the JIT does not strength-reduce <c>d[p*MR] = s[p]</c>) and 4x4 transposes at 2-4%.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Transpose<T>(T* s, nint lds, int rows, int steps, T* d, int ds) where T : unmanaged
    {
        int r = 0;
        if (typeof(T) == typeof(float) && Sse.IsSupported)
        {
            int done = 0;
            if (Avx512F.IsSupported && rows >= 4)
            {
                // All row groups advance together, 16 steps at a time: the source rows are lds apart (often a
                // page or more), and walking 4k rows in lockstep keeps 4k cache misses in flight instead of 4.
                done = steps & ~15;
                for (int p = 0; p < done; p += 16)
                    for (int g = 0; g + 4 <= rows; g += 4)
                        Transpose4x16Float((float*)s + g * lds + p, lds, (float*)d + p * ds + g, ds);
            }
            for (; r + 4 <= rows; r += 4)
                Transpose4RowsFloat((float*)s + r * lds + done, lds, steps - done, (float*)d + done * ds + r, ds);
        }
        else if (typeof(T) == typeof(double) && Avx.IsSupported)
        {
            for (; r + 4 <= rows; r += 4)
                Transpose4RowsDouble((double*)s + r * lds, lds, steps, (double*)d + r, ds);
        }
        for (; r < rows; r++)
        {
            T* sr = s + r * lds;
            T* dd = d + r;
            for (int p = 0; p < steps; p++, dd += ds) *dd = sr[p];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose4RowsFloat(float* s0, nint lds, int steps, float* d, nint ds)
    {
        float* s1 = s0 + lds, s2 = s1 + lds, s3 = s2 + lds;
        int p = 0;
        for (; p + 4 <= steps; p += 4)
        {
            Vector128<float> r0 = Sse.LoadVector128(s0 + p);
            Vector128<float> r1 = Sse.LoadVector128(s1 + p);
            Vector128<float> r2 = Sse.LoadVector128(s2 + p);
            Vector128<float> r3 = Sse.LoadVector128(s3 + p);
            Vector128<float> t0 = Sse.UnpackLow(r0, r1);   // a0 b0 a1 b1
            Vector128<float> t1 = Sse.UnpackHigh(r0, r1);  // a2 b2 a3 b3
            Vector128<float> t2 = Sse.UnpackLow(r2, r3);   // c0 d0 c1 d1
            Vector128<float> t3 = Sse.UnpackHigh(r2, r3);  // c2 d2 c3 d3
            Sse.Store(d, Sse.MoveLowToHigh(t0, t2));           // a0 b0 c0 d0
            Sse.Store(d + ds, Sse.MoveHighToLow(t2, t0));      // a1 b1 c1 d1
            Sse.Store(d + 2 * ds, Sse.MoveLowToHigh(t1, t3));  // a2 b2 c2 d2
            Sse.Store(d + 3 * ds, Sse.MoveHighToLow(t3, t1));  // a3 b3 c3 d3
            d += 4 * ds;
        }
        for (; p < steps; p++, d += ds)
        {
            d[0] = s0[p];
            d[1] = s1[p];
            d[2] = s2[p];
            d[3] = s3[p];
        }
    }

    /// <summary>
    /// Sixteen 4x4 transposes at once: d[q*ds + r] = s[r*lds + q] for r &lt; 4, q &lt; 16. The unpacks work
    /// within 128-bit lanes, so after two rounds lane L of o_q holds column 4L + q of the four rows, stored as
    /// one 16-byte piece: a quarter of the loads and shuffles of four SSE 4x4 transposes for the same stores.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose4x16Float(float* s0, nint lds, float* d, nint ds)
    {
        Vector512<float> r0 = Avx512F.LoadVector512(s0);
        Vector512<float> r1 = Avx512F.LoadVector512(s0 + lds);
        Vector512<float> r2 = Avx512F.LoadVector512(s0 + 2 * lds);
        Vector512<float> r3 = Avx512F.LoadVector512(s0 + 3 * lds);
        Vector512<double> t0 = Avx512F.UnpackLow(r0, r1).AsDouble();   // a0 b0 a1 b1 per lane
        Vector512<double> t1 = Avx512F.UnpackHigh(r0, r1).AsDouble();  // a2 b2 a3 b3
        Vector512<double> t2 = Avx512F.UnpackLow(r2, r3).AsDouble();   // c0 d0 c1 d1
        Vector512<double> t3 = Avx512F.UnpackHigh(r2, r3).AsDouble();  // c2 d2 c3 d3
        StoreLanes(Avx512F.UnpackLow(t0, t2).AsSingle(), d, 4 * ds);             // a0 b0 c0 d0
        StoreLanes(Avx512F.UnpackHigh(t0, t2).AsSingle(), d + ds, 4 * ds);       // a1 b1 c1 d1
        StoreLanes(Avx512F.UnpackLow(t1, t3).AsSingle(), d + 2 * ds, 4 * ds);    // a2 b2 c2 d2
        StoreLanes(Avx512F.UnpackHigh(t1, t3).AsSingle(), d + 3 * ds, 4 * ds);   // a3 b3 c3 d3
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreLanes(Vector512<float> v, float* d, nint stride)
    {
        Sse.Store(d, v.GetLower().GetLower());
        Sse.Store(d + stride, Avx512F.ExtractVector128(v, 1));
        Sse.Store(d + 2 * stride, Avx512F.ExtractVector128(v, 2));
        Sse.Store(d + 3 * stride, Avx512F.ExtractVector128(v, 3));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose4RowsDouble(double* s0, nint lds, int steps, double* d, nint ds)
    {
        double* s1 = s0 + lds, s2 = s1 + lds, s3 = s2 + lds;
        int p = 0;
        for (; p + 4 <= steps; p += 4)
        {
            Vector256<double> r0 = Avx.LoadVector256(s0 + p);
            Vector256<double> r1 = Avx.LoadVector256(s1 + p);
            Vector256<double> r2 = Avx.LoadVector256(s2 + p);
            Vector256<double> r3 = Avx.LoadVector256(s3 + p);
            Vector256<double> t0 = Avx.UnpackLow(r0, r1);   // a0 b0 a2 b2
            Vector256<double> t1 = Avx.UnpackHigh(r0, r1);  // a1 b1 a3 b3
            Vector256<double> t2 = Avx.UnpackLow(r2, r3);   // c0 d0 c2 d2
            Vector256<double> t3 = Avx.UnpackHigh(r2, r3);  // c1 d1 c3 d3
            Avx.Store(d, Avx.Permute2x128(t0, t2, 0x20));           // a0 b0 c0 d0
            Avx.Store(d + ds, Avx.Permute2x128(t1, t3, 0x20));      // a1 b1 c1 d1
            Avx.Store(d + 2 * ds, Avx.Permute2x128(t0, t2, 0x31));  // a2 b2 c2 d2
            Avx.Store(d + 3 * ds, Avx.Permute2x128(t1, t3, 0x31));  // a3 b3 c3 d3
            d += 4 * ds;
        }
        for (; p < steps; p++, d += ds)
        {
            d[0] = s0[p];
            d[1] = s1[p];
            d[2] = s2[p];
            d[3] = s3[p];
        }
    }
}

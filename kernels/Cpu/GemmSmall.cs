using System.Numerics;
using System.Runtime.Intrinsics;

namespace Engine.Kernels.Cpu;

/// <summary>
/// The path without packing: for problems too small to repay copying panels (a few hundred multiply-adds,
/// where the packed path's fixed cost dominates), for matrix-vector-like products with B transposed (each
/// element is then a dot product of two contiguous rows), and as the scalar last resort when no vector ISA
/// is accelerated. Each element (or vector of elements) of C is accumulated in a register over all of k and
/// written once, as alpha * sum + beta * C (beta == 0 does not read C).
/// </summary>
internal static unsafe class GemmSmall
{
    public static void Run<T>(in GemmProblem<T> pr, GemmIsa isa) where T : unmanaged, INumberBase<T>
    {
        int m = pr.M, n = pr.N;
        bool betaZero = T.IsZero(pr.Beta);
        bool use512 = isa == GemmIsa.Vector512 && Vector512.IsHardwareAccelerated;
        bool use256 = isa != GemmIsa.Scalar && Vector256.IsHardwareAccelerated;
        for (int i = 0; i < m; i++)
        {
            T* crow = pr.C + i * pr.Ldc;
            if (pr.TransB)
            {
                for (int j = 0; j < n; j++)
                {
                    T* brow = pr.B + j * pr.Ldb;
                    T dot = pr.TransA ? StridedDot(pr.A + i, pr.Lda, brow, pr.K)
                        : Dot(pr.A + i * pr.Lda, brow, pr.K, use512, use256);
                    crow[j] = betaZero ? pr.Alpha * dot : pr.Alpha * dot + pr.Beta * crow[j];
                }
                continue;
            }

            // B not transposed: vectors run along a row of B and of C.
            int jv = 0;
            if (use512)
            {
                for (; jv + Vector512<T>.Count <= n; jv += Vector512<T>.Count)
                    RowVector512(pr, i, jv, crow + jv, betaZero);
            }
            if (use256)
            {
                for (; jv + Vector256<T>.Count <= n; jv += Vector256<T>.Count)
                    RowVector256(pr, i, jv, crow + jv, betaZero);
            }
            for (; jv < n; jv++)
            {
                T sum = T.Zero;
                for (int p = 0; p < pr.K; p++) sum += pr.A[pr.AOffset(i, p)] * pr.B[p * pr.Ldb + jv];
                crow[jv] = betaZero ? pr.Alpha * sum : pr.Alpha * sum + pr.Beta * crow[jv];
            }
        }
    }

    private static void RowVector512<T>(in GemmProblem<T> pr, int i, int j, T* c, bool betaZero) where T : unmanaged, INumberBase<T>
    {
        Vector512<T> acc = Vector512<T>.Zero;
        T* b = pr.B + j;
        for (int p = 0; p < pr.K; p++, b += pr.Ldb)
            acc = GemmMath.Fma(Vector512.Create(pr.A[pr.AOffset(i, p)]), Vector512.Load(b), acc);
        acc *= Vector512.Create(pr.Alpha);
        if (!betaZero) acc = GemmMath.Fma(Vector512.Create(pr.Beta), Vector512.Load(c), acc);
        acc.Store(c);
    }

    private static void RowVector256<T>(in GemmProblem<T> pr, int i, int j, T* c, bool betaZero) where T : unmanaged, INumberBase<T>
    {
        Vector256<T> acc = Vector256<T>.Zero;
        T* b = pr.B + j;
        for (int p = 0; p < pr.K; p++, b += pr.Ldb)
            acc = GemmMath.Fma(Vector256.Create(pr.A[pr.AOffset(i, p)]), Vector256.Load(b), acc);
        acc *= Vector256.Create(pr.Alpha);
        if (!betaZero) acc = GemmMath.Fma(Vector256.Create(pr.Beta), Vector256.Load(c), acc);
        acc.Store(c);
    }

    private static T Dot<T>(T* x, T* y, int k, bool use512, bool use256) where T : unmanaged, INumberBase<T>
    {
        int p = 0;
        T sum = T.Zero;
        if (use512 && k >= Vector512<T>.Count)
        {
            Vector512<T> acc0 = Vector512<T>.Zero, acc1 = Vector512<T>.Zero;
            for (; p + 2 * Vector512<T>.Count <= k; p += 2 * Vector512<T>.Count)
            {
                acc0 = GemmMath.Fma(Vector512.Load(x + p), Vector512.Load(y + p), acc0);
                acc1 = GemmMath.Fma(Vector512.Load(x + p + Vector512<T>.Count), Vector512.Load(y + p + Vector512<T>.Count), acc1);
            }
            for (; p + Vector512<T>.Count <= k; p += Vector512<T>.Count)
                acc0 = GemmMath.Fma(Vector512.Load(x + p), Vector512.Load(y + p), acc0);
            sum = Vector512.Sum(acc0 + acc1);
        }
        else if (use256 && k >= Vector256<T>.Count)
        {
            Vector256<T> acc0 = Vector256<T>.Zero, acc1 = Vector256<T>.Zero;
            for (; p + 2 * Vector256<T>.Count <= k; p += 2 * Vector256<T>.Count)
            {
                acc0 = GemmMath.Fma(Vector256.Load(x + p), Vector256.Load(y + p), acc0);
                acc1 = GemmMath.Fma(Vector256.Load(x + p + Vector256<T>.Count), Vector256.Load(y + p + Vector256<T>.Count), acc1);
            }
            for (; p + Vector256<T>.Count <= k; p += Vector256<T>.Count)
                acc0 = GemmMath.Fma(Vector256.Load(x + p), Vector256.Load(y + p), acc0);
            sum = Vector256.Sum(acc0 + acc1);
        }
        for (; p < k; p++) sum += x[p] * y[p];
        return sum;
    }

    private static T StridedDot<T>(T* x, nint incx, T* y, int k) where T : unmanaged, INumberBase<T>
    {
        T sum = T.Zero;
        for (int p = 0; p < k; p++, x += incx) sum += *x * y[p];
        return sum;
    }
}

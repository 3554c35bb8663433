using System.Numerics;
using System.Runtime.Intrinsics;

namespace Engine.Kernels.Cpu;

/// <summary>
/// The path without packing, for problems too small (or too thin: m or n of one or two) to repay copying
/// panels, and the scalar last resort when no vector ISA is accelerated. Row by row: with B not transposed
/// each row of C is an axpy over rows of B; with B transposed each element is a dot product of contiguous
/// rows. Vectors are used only when the requested ISA allows them.
/// </summary>
internal static unsafe class GemmSmall
{
    public static void Run<T>(in GemmProblem<T> pr, GemmIsa isa) where T : unmanaged, INumberBase<T>
    {
        int m = pr.M, n = pr.N, k = pr.K;
        int betaKind = GemmMath.BetaKind(pr.Beta);
        for (int i = 0; i < m; i++)
        {
            T* crow = pr.C + i * pr.Ldc;
            if (!pr.TransB)
            {
                Gemm.ScaleRow(crow, n, pr.Beta);
                for (int p = 0; p < k; p++)
                {
                    T s = pr.Alpha * pr.A[pr.AOffset(i, p)];
                    Axpy(crow, s, pr.B + p * pr.Ldb, n, isa);
                }
            }
            else
            {
                for (int j = 0; j < n; j++)
                {
                    T* brow = pr.B + j * pr.Ldb;
                    T dot = pr.TransA ? StridedDot(pr.A + i, pr.Lda, brow, k) : Dot(pr.A + i * pr.Lda, brow, k, isa);
                    crow[j] = betaKind == GemmMath.BetaZero ? pr.Alpha * dot : pr.Alpha * dot + pr.Beta * crow[j];
                }
            }
        }
    }

    private static void Axpy<T>(T* c, T s, T* b, int n, GemmIsa isa) where T : unmanaged, INumberBase<T>
    {
        int j = 0;
        if (isa == GemmIsa.Vector512 && Vector512.IsHardwareAccelerated)
        {
            Vector512<T> vs = Vector512.Create(s);
            for (; j + Vector512<T>.Count <= n; j += Vector512<T>.Count)
                GemmMath.Fma(vs, Vector512.Load(b + j), Vector512.Load(c + j)).Store(c + j);
        }
        if (isa != GemmIsa.Scalar && Vector256.IsHardwareAccelerated)
        {
            Vector256<T> vs = Vector256.Create(s);
            for (; j + Vector256<T>.Count <= n; j += Vector256<T>.Count)
                GemmMath.Fma(vs, Vector256.Load(b + j), Vector256.Load(c + j)).Store(c + j);
        }
        for (; j < n; j++) c[j] += s * b[j];
    }

    private static T Dot<T>(T* x, T* y, int k, GemmIsa isa) where T : unmanaged, INumberBase<T>
    {
        int p = 0;
        T sum = T.Zero;
        if (isa == GemmIsa.Vector512 && Vector512.IsHardwareAccelerated && k >= Vector512<T>.Count)
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
        else if (isa != GemmIsa.Scalar && Vector256.IsHardwareAccelerated && k >= Vector256<T>.Count)
        {
            Vector256<T> acc = Vector256<T>.Zero;
            for (; p + Vector256<T>.Count <= k; p += Vector256<T>.Count)
                acc = GemmMath.Fma(Vector256.Load(x + p), Vector256.Load(y + p), acc);
            sum = Vector256.Sum(acc);
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

using Engine.Kernels.Cpu;

namespace Engine.Kernels.Reference;

/// <summary>
/// The obviously-correct GEMM the fast one is tested against: a plain triple loop straight from the
/// definition, same contract and argument checks as <see cref="Gemm"/>. Sums run in double for both
/// element types (for float that makes the reference about 2^29 times more accurate than what it checks).
/// </summary>
public static class ReferenceGemm
{
    /// <summary>C = alpha * op(A) * op(B) + beta * C; see <see cref="Gemm.Compute(bool, bool, int, int, int, float, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, float, Span{float}, int)"/>.</summary>
    public static void Compute(bool transA, bool transB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        Gemm.Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                if (alpha != 0)
                {
                    for (int p = 0; p < k; p++)
                    {
                        double x = transA ? a[p * lda + i] : a[i * lda + p];
                        double y = transB ? b[j * ldb + p] : b[p * ldb + j];
                        sum += x * y;
                    }
                }
                double old = beta == 0 ? 0 : (double)beta * c[i * ldc + j];
                c[i * ldc + j] = (float)(alpha * sum + old);
            }
        }
    }

    /// <summary>C = alpha * op(A) * op(B) + beta * C; see <see cref="Gemm.Compute(bool, bool, int, int, int, double, ReadOnlySpan{double}, int, ReadOnlySpan{double}, int, double, Span{double}, int)"/>.</summary>
    public static void Compute(bool transA, bool transB, int m, int n, int k, double alpha, ReadOnlySpan<double> a, int lda,
        ReadOnlySpan<double> b, int ldb, double beta, Span<double> c, int ldc)
    {
        Gemm.Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0;
                if (alpha != 0)
                {
                    for (int p = 0; p < k; p++)
                    {
                        double x = transA ? a[p * lda + i] : a[i * lda + p];
                        double y = transB ? b[j * ldb + p] : b[p * ldb + j];
                        sum += x * y;
                    }
                }
                double old = beta == 0 ? 0 : beta * c[i * ldc + j];
                c[i * ldc + j] = alpha * sum + old;
            }
        }
    }
}

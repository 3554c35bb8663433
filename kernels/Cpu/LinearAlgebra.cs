using System.Numerics.Tensors;

namespace Engine.Kernels.Cpu;

/// <summary>
/// Dense linear algebra on small row-major double matrices (n x n, leading dimension n): Cholesky factorization,
/// triangular solves and inverses, log-determinants, and the symmetric eigendecomposition
/// (<see cref="SymmetricEigen"/>). Each routine has a scalar twin in
/// <see cref="Reference.ReferenceLinearAlgebra"/> that the tests hold it against.
/// </summary>
/// <remarks>
/// The loops run along rows (the contiguous direction) so the inner products and updates are
/// <see cref="TensorPrimitives"/> calls on contiguous spans. These are the O(n^3) pieces of a Gaussian mixture or
/// PCA, where n is the data dimension (tens to hundreds); the O(N n^2) work over the data points is GEMM.
/// </remarks>
public static partial class LinearAlgebra
{
    /// <summary>
    /// Cholesky factorization A = L L^T in place: reads the lower triangle of the symmetric n x n matrix
    /// <paramref name="a"/>, writes L there and zeros the strict upper triangle. Returns -1 on success, else the
    /// column j whose pivot A[j, j] - sum_k L[j, k]^2 is not positive (or is NaN): A is not positive definite,
    /// and <paramref name="a"/> is left partly overwritten.
    /// </summary>
    /// <remarks>Cholesky-Banachiewicz, row by row: L[i, j] = (A[i, j] - L[i, :j] . L[j, :j]) / L[j, j].</remarks>
    public static int TryCholesky(Span<double> a, int n)
    {
        CheckSquare(a.Length, n, nameof(a));
        for (int i = 0; i < n; i++)
        {
            Span<double> rowI = a.Slice(i * n, n);
            for (int j = 0; j < i; j++)
            {
                ReadOnlySpan<double> rowJ = a.Slice(j * n, j);
                rowI[j] = (rowI[j] - TensorPrimitives.Dot(rowI[..j], rowJ)) / a[j * n + j];
            }
            double pivot = rowI[i] - TensorPrimitives.Dot(rowI[..i], rowI[..i]);
            // !(pivot > 0) also catches NaN.
            if (!(pivot > 0)) return i;
            rowI[i] = Math.Sqrt(pivot);
            rowI[(i + 1)..].Clear();
        }
        return -1;
    }

    /// <summary>
    /// Cholesky factorization in place (see <see cref="TryCholesky"/>); throws when the matrix is not positive
    /// definite.
    /// </summary>
    /// <exception cref="ArgumentException">The matrix is not positive definite (the message names the column).</exception>
    public static void Cholesky(Span<double> a, int n)
    {
        int bad = TryCholesky(a, n);
        if (bad >= 0)
            throw new ArgumentException($"The {n}x{n} matrix is not positive definite: the Cholesky pivot of column {bad} is not positive.", nameof(a));
    }

    /// <summary>
    /// Solves L X = B in place for X (forward substitution), L lower triangular n x n (only its lower triangle is
    /// read), B n x <paramref name="columns"/> row-major, overwritten by X.
    /// </summary>
    public static void SolveLower(ReadOnlySpan<double> l, int n, Span<double> b, int columns)
    {
        CheckSquare(l.Length, n, nameof(l));
        CheckRhs(b.Length, n, columns);
        for (int i = 0; i < n; i++)
        {
            Span<double> rowI = b.Slice(i * columns, columns);
            // X[i, :] = (B[i, :] - sum_{k < i} L[i, k] X[k, :]) / L[i, i]: axpys on contiguous rows.
            for (int k = 0; k < i; k++)
            {
                double lik = l[i * n + k];
                if (lik != 0) TensorPrimitives.MultiplyAdd(b.Slice(k * columns, columns), -lik, rowI, rowI);
            }
            TensorPrimitives.Divide(rowI, l[i * n + i], rowI);
        }
    }

    /// <summary>
    /// Solves L^T X = B in place for X (back substitution with the transpose of the lower triangular L), B n x
    /// <paramref name="columns"/> row-major, overwritten by X.
    /// </summary>
    public static void SolveLowerTransposed(ReadOnlySpan<double> l, int n, Span<double> b, int columns)
    {
        CheckSquare(l.Length, n, nameof(l));
        CheckRhs(b.Length, n, columns);
        for (int i = n - 1; i >= 0; i--)
        {
            Span<double> rowI = b.Slice(i * columns, columns);
            TensorPrimitives.Divide(rowI, l[i * n + i], rowI);
            // Row i of X is final: remove its contribution L^T[k, i] = L[i, k] from the rows k < i.
            for (int k = 0; k < i; k++)
            {
                double lik = l[i * n + k];
                if (lik != 0) TensorPrimitives.MultiplyAdd(rowI, -lik, b.Slice(k * columns, columns), b.Slice(k * columns, columns));
            }
        }
    }

    /// <summary>
    /// The inverse of the lower triangular n x n matrix L (only its lower triangle is read), written to
    /// <paramref name="inverse"/> (lower triangular, strict upper triangle zero). Row i of L^-1 is
    /// (e_i - sum_{k &lt; i} L[i, k] row_k(L^-1)) / L[i, i].
    /// </summary>
    public static void InvertLower(ReadOnlySpan<double> l, int n, Span<double> inverse)
    {
        CheckSquare(l.Length, n, nameof(l));
        CheckSquare(inverse.Length, n, nameof(inverse));
        inverse[..(n * n)].Clear();
        for (int i = 0; i < n; i++)
        {
            Span<double> rowI = inverse.Slice(i * n, i + 1);
            for (int k = 0; k < i; k++)
            {
                double lik = l[i * n + k];
                if (lik != 0) TensorPrimitives.MultiplyAdd(inverse.Slice(k * n, i + 1), -lik, rowI, rowI);
            }
            rowI[i] += 1;
            TensorPrimitives.Divide(rowI, l[i * n + i], rowI);
        }
    }

    /// <summary>
    /// log det A from its Cholesky factor L (A = L L^T): 2 sum_i log L[i, i]. Works in the log domain, so it does
    /// not overflow or underflow where det A itself would.
    /// </summary>
    public static double LogDeterminantFromCholesky(ReadOnlySpan<double> l, int n)
    {
        CheckSquare(l.Length, n, nameof(l));
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Math.Log(l[i * n + i]);
        return 2 * sum;
    }

    /// <summary>C = L L^T (symmetric, both triangles written) from a lower triangular n x n L.</summary>
    /// <remarks>Used to rebuild a matrix from its Cholesky factor; O(n^3 / 3) with row dot products.</remarks>
    public static void MultiplyLowerByTranspose(ReadOnlySpan<double> l, int n, Span<double> c)
    {
        CheckSquare(l.Length, n, nameof(l));
        CheckSquare(c.Length, n, nameof(c));
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                // (L L^T)[i, j] = L[i, :j+1] . L[j, :j+1] (L[j, k] = 0 for k > j).
                double v = TensorPrimitives.Dot(l.Slice(i * n, j + 1), l.Slice(j * n, j + 1));
                c[i * n + j] = v;
                c[j * n + i] = v;
            }
        }
    }

    internal static void CheckSquare(int length, int n, string name)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n, nameof(n));
        if (length < (long)n * n)
            throw new ArgumentException($"Span '{name}' has {length} elements; an {n}x{n} matrix needs {(long)n * n}.", name);
    }

    private static void CheckRhs(int length, int n, int columns)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(columns, nameof(columns));
        if (length < (long)n * columns)
            throw new ArgumentException($"Span 'b' has {length} elements; an {n}x{columns} right-hand side needs {(long)n * columns}.", "b");
    }
}

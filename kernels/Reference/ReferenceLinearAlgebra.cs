namespace Engine.Kernels.Reference;

/// <summary>
/// The obviously-correct twins of <see cref="Cpu.LinearAlgebra"/>: the textbook formulas as plain scalar loops,
/// row-major n x n matrices. The eigendecomposition is a different algorithm (cyclic Jacobi) on purpose, so the
/// two cannot share a mistake.
/// </summary>
public static class ReferenceLinearAlgebra
{
    /// <summary>
    /// Cholesky A = L L^T from the lower triangle of A, into a new array; null when a pivot is not positive.
    /// L[j, j] = sqrt(A[j, j] - sum_{k &lt; j} L[j, k]^2), L[i, j] = (A[i, j] - sum_{k &lt; j} L[i, k] L[j, k]) / L[j, j].
    /// </summary>
    public static double[]? Cholesky(ReadOnlySpan<double> a, int n)
    {
        var l = new double[n * n];
        for (int j = 0; j < n; j++)
        {
            double s = a[j * n + j];
            for (int k = 0; k < j; k++) s -= l[j * n + k] * l[j * n + k];
            if (!(s > 0)) return null;
            l[j * n + j] = Math.Sqrt(s);
            for (int i = j + 1; i < n; i++)
            {
                double t = a[i * n + j];
                for (int k = 0; k < j; k++) t -= l[i * n + k] * l[j * n + k];
                l[i * n + j] = t / l[j * n + j];
            }
        }
        return l;
    }

    /// <summary>x = L^-1 b by forward substitution, one right-hand side.</summary>
    public static double[] SolveLower(ReadOnlySpan<double> l, int n, ReadOnlySpan<double> b)
    {
        var x = new double[n];
        for (int i = 0; i < n; i++)
        {
            double s = b[i];
            for (int k = 0; k < i; k++) s -= l[i * n + k] * x[k];
            x[i] = s / l[i * n + i];
        }
        return x;
    }

    /// <summary>x = L^-T b by back substitution, one right-hand side.</summary>
    public static double[] SolveLowerTransposed(ReadOnlySpan<double> l, int n, ReadOnlySpan<double> b)
    {
        var x = new double[n];
        for (int i = n - 1; i >= 0; i--)
        {
            double s = b[i];
            for (int k = i + 1; k < n; k++) s -= l[k * n + i] * x[k];
            x[i] = s / l[i * n + i];
        }
        return x;
    }

    /// <summary>L^-1, column by column: column j solves L x = e_j.</summary>
    public static double[] InvertLower(ReadOnlySpan<double> l, int n)
    {
        var inv = new double[n * n];
        var e = new double[n];
        for (int j = 0; j < n; j++)
        {
            Array.Clear(e);
            e[j] = 1;
            double[] x = SolveLower(l, n, e);
            for (int i = 0; i < n; i++) inv[i * n + j] = x[i];
        }
        return inv;
    }

    /// <summary>log det A = 2 sum log L[i, i] from the Cholesky factor of A.</summary>
    public static double LogDeterminantFromCholesky(ReadOnlySpan<double> l, int n)
    {
        double s = 0;
        for (int i = 0; i < n; i++) s += 2 * Math.Log(l[i * n + i]);
        return s;
    }

    /// <summary>
    /// Cyclic Jacobi eigendecomposition of the symmetric A (lower triangle read): eigenvalues ascending, row i of
    /// the returned vectors is the eigenvector of eigenvalue i. Each rotation zeroes one off-diagonal pair
    /// (Numerical Recipes, 3rd ed., 11.1: theta = (a_qq - a_pp) / (2 a_pq), t = sgn(theta) / (|theta| +
    /// sqrt(theta^2 + 1))); sweeps repeat until the off-diagonal mass is negligible.
    /// </summary>
    public static (double[] Values, double[] Vectors) SymmetricEigen(ReadOnlySpan<double> a, int n)
    {
        var m = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++)
                m[i * n + j] = m[j * n + i] = a[i * n + j];
        var v = new double[n * n];
        for (int i = 0; i < n; i++) v[i * n + i] = 1;

        double total = 0;
        foreach (double x in m) total += x * x;
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (int p = 0; p < n; p++)
                for (int q = p + 1; q < n; q++)
                    off += 2 * m[p * n + q] * m[p * n + q];
            if (off <= 1e-32 * total) break;
            for (int p = 0; p < n; p++)
            {
                for (int q = p + 1; q < n; q++)
                {
                    double apq = m[p * n + q];
                    if (apq == 0) continue;
                    double theta = (m[q * n + q] - m[p * n + p]) / (2 * apq);
                    double t = (theta >= 0 ? 1 : -1) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    double c = 1 / Math.Sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < n; k++)
                    {
                        // M := M J (columns p and q).
                        double mkp = m[k * n + p], mkq = m[k * n + q];
                        m[k * n + p] = c * mkp - s * mkq;
                        m[k * n + q] = s * mkp + c * mkq;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        // M := J^T M (rows p and q).
                        double mpk = m[p * n + k], mqk = m[q * n + k];
                        m[p * n + k] = c * mpk - s * mqk;
                        m[q * n + k] = s * mpk + c * mqk;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double vkp = v[k * n + p], vkq = v[k * n + q];
                        v[k * n + p] = c * vkp - s * vkq;
                        v[k * n + q] = s * vkp + c * vkq;
                    }
                }
            }
        }

        var order = Enumerable.Range(0, n).OrderBy(i => m[i * n + i]).ToArray();
        var values = new double[n];
        var vectors = new double[n * n];
        for (int r = 0; r < n; r++)
        {
            int i = order[r];
            values[r] = m[i * n + i];
            for (int k = 0; k < n; k++) vectors[r * n + k] = v[k * n + i];
        }
        return (values, vectors);
    }
}

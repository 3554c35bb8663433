using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace Engine.Kernels.Cpu;

public static partial class LinearAlgebra
{
    /// <summary>
    /// Eigendecomposition of the symmetric n x n matrix A (only its lower triangle is read): A v_i = lambda_i v_i
    /// with the eigenvalues in ascending order in <paramref name="eigenvalues"/> and the orthonormal eigenvector
    /// v_i in row i of <paramref name="eigenvectors"/> (row-major n x n), so A = V^T diag(lambda) V.
    /// </summary>
    /// <remarks>
    /// Householder reduction to tridiagonal form T = Q^T A Q, then the implicit QL algorithm with Wilkinson-style
    /// shifts on T (Golub and Van Loan, Matrix Computations, 4th ed., 8.3.1 and 8.3.3; the QL variant of
    /// EISPACK's tql2). O(n^3): about 4/3 n^3 flops to reduce, 4/3 n^3 to form Q and 3 n^3 for the rotations.
    /// Every inner loop runs along a row: the reflections are applied as row dot products and axpys, and the
    /// rotations of the QL sweeps mix two rows of V^T. The slow twin is the cyclic Jacobi method in
    /// <see cref="Reference.ReferenceLinearAlgebra.SymmetricEigen"/>.
    /// </remarks>
    /// <exception cref="ArgumentException">A span is too short, or A holds NaN or infinity.</exception>
    public static void SymmetricEigen(ReadOnlySpan<double> a, int n, Span<double> eigenvalues, Span<double> eigenvectors)
    {
        CheckSquare(a.Length, n, nameof(a));
        CheckSquare(eigenvectors.Length, n, nameof(eigenvectors));
        if (eigenvalues.Length < n)
            throw new ArgumentException($"Span 'eigenvalues' has {eigenvalues.Length} elements; needs {n}.", nameof(eigenvalues));
        if (n == 0) return;

        var work = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j <= i; j++)
            {
                double v = a[i * n + j];
                if (!double.IsFinite(v))
                    throw new ArgumentException($"The matrix holds {v} at [{i}, {j}]; an eigendecomposition needs finite entries.", nameof(a));
                work[i * n + j] = v;
                work[j * n + i] = v;
            }
        }
        var d = new double[n];
        var e = new double[n];
        var beta = new double[n];
        Tridiagonalize(work, n, d, e, beta);
        FormTransposedQ(work, n, beta, eigenvectors);
        TridiagonalQl(d, e, n, eigenvectors);
        SortAscending(d, n, eigenvectors);
        d.CopyTo(eigenvalues);
    }

    /// <summary>
    /// Householder tridiagonalization in place: step k reflects x = A[k+1.., k] onto alpha e_1 with
    /// H = I - beta v v^T (v = x - alpha e_1) and updates the trailing block A' = H A' H as
    /// A' -= v w^T + w v^T with p = beta A' v, w = p - (beta p.v / 2) v. Row k (== column k by symmetry) holds
    /// v afterwards. d gets the diagonal of T, e[k] = T[k+1, k] (e[n-1] = 0).
    /// </summary>
    private static void Tridiagonalize(double[] a, int n, double[] d, double[] e, double[] beta)
    {
        var p = new double[n];
        var w = new double[n];
        for (int k = 0; k < n - 2; k++)
        {
            int m = n - k - 1, start = k + 1;
            Span<double> v = a.AsSpan(k * n + start, m);
            double x0 = v[0];
            double sigma = TensorPrimitives.Dot<double>(v[1..], v[1..]);
            if (sigma == 0)
            {
                // Column already has zeros below the subdiagonal: H = I.
                beta[k] = 0;
                e[k] = x0;
                continue;
            }
            double norm = Math.Sqrt(x0 * x0 + sigma);
            double alpha = x0 >= 0 ? -norm : norm;   // the sign that avoids cancellation in v0 = x0 - alpha
            double v0 = x0 - alpha;
            v[0] = v0;
            double b = -1.0 / (alpha * v0);           // 2 / v.v, since v.v = 2 (alpha^2 - alpha x0) = -2 alpha v0
            beta[k] = b;
            e[k] = alpha;

            Span<double> ps = p.AsSpan(0, m), ws = w.AsSpan(0, m);
            for (int r = 0; r < m; r++) ps[r] = b * TensorPrimitives.Dot<double>(a.AsSpan((start + r) * n + start, m), v);
            double kappa = 0.5 * b * TensorPrimitives.Dot<double>(ps, v);
            TensorPrimitives.MultiplyAdd(v, -kappa, ps, ws);
            for (int r = 0; r < m; r++)
            {
                Span<double> row = a.AsSpan((start + r) * n + start, m);
                TensorPrimitives.MultiplyAdd(ws, -v[r], row, row);
                TensorPrimitives.MultiplyAdd(v, -ws[r], row, row);
            }
        }
        for (int i = 0; i < n; i++) d[i] = a[i * n + i];
        if (n >= 2) e[n - 2] = a[(n - 1) * n + n - 2];
        e[n - 1] = 0;
    }

    /// <summary>
    /// Q = H_0 H_1 ... H_{n-3} by backward accumulation (each H_k only touches the trailing block, which is still
    /// the identity outside rows and columns k+1..), written transposed: row i of <paramref name="qt"/> is column
    /// i of Q, the layout the QL rotations update.
    /// </summary>
    private static void FormTransposedQ(double[] a, int n, double[] beta, Span<double> qt)
    {
        var q = new double[n * n];
        for (int i = 0; i < n; i++) q[i * n + i] = 1;
        var u = new double[n];
        for (int k = n - 3; k >= 0; k--)
        {
            double b = beta[k];
            if (b == 0) continue;
            int m = n - k - 1, start = k + 1;
            ReadOnlySpan<double> v = a.AsSpan(k * n + start, m);
            Span<double> us = u.AsSpan(0, m);
            us.Clear();
            for (int r = 0; r < m; r++) TensorPrimitives.MultiplyAdd(q.AsSpan((start + r) * n + start, m), v[r], us, us);
            for (int r = 0; r < m; r++)
            {
                Span<double> row = q.AsSpan((start + r) * n + start, m);
                TensorPrimitives.MultiplyAdd(us, -b * v[r], row, row);
            }
        }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                qt[j * n + i] = q[i * n + j];
    }

    /// <summary>
    /// Implicit QL iterations on the symmetric tridiagonal (d, e) (e[i] = T[i+1, i]) until every subdiagonal is
    /// negligible; each plane rotation in (i, i+1) is applied to rows i and i+1 of <paramref name="vt"/>.
    /// </summary>
    private static void TridiagonalQl(double[] d, double[] e, int n, Span<double> vt)
    {
        const double Eps = 2.220446049250313e-16;
        const int MaxIterationsPerValue = 60;
        double shiftSum = 0, scale = 0;
        for (int l = 0; l < n; l++)
        {
            scale = Math.Max(scale, Math.Abs(d[l]) + Math.Abs(e[l]));
            int m = l;
            while (m < n - 1 && Math.Abs(e[m]) > Eps * scale) m++;
            if (m > l)
            {
                int iterations = 0;
                do
                {
                    if (++iterations > MaxIterationsPerValue)
                        throw new ArithmeticException($"The QL iteration did not converge for eigenvalue {l} of a {n}x{n} matrix.");
                    // Shift: the eigenvalue of the leading 2x2 block of T[l.., l..] nearer to d[l].
                    double g = d[l];
                    double p = (d[l + 1] - g) / (2 * e[l]);
                    double r = double.Hypot(p, 1);
                    if (p < 0) r = -r;
                    d[l] = e[l] / (p + r);
                    d[l + 1] = e[l] * (p + r);
                    double dl1 = d[l + 1];
                    double h = g - d[l];
                    for (int i = l + 2; i < n; i++) d[i] -= h;
                    shiftSum += h;

                    // Chase the bulge from m up to l with plane rotations.
                    p = d[m];
                    double c = 1, c2 = 1, c3 = 1, s = 0, s2 = 0;
                    double el1 = e[l + 1];
                    for (int i = m - 1; i >= l; i--)
                    {
                        c3 = c2;
                        c2 = c;
                        s2 = s;
                        g = c * e[i];
                        h = c * p;
                        r = double.Hypot(p, e[i]);
                        e[i + 1] = s * r;
                        s = e[i] / r;
                        c = p / r;
                        p = c * d[i] - s * g;
                        d[i + 1] = h + s * (c * g + s * d[i]);
                        Rotate(vt.Slice(i * n, n), vt.Slice((i + 1) * n, n), c, s);
                    }
                    p = -s * s2 * c3 * el1 * e[l] / dl1;
                    e[l] = s * p;
                    d[l] = c * p;
                }
                while (Math.Abs(e[l]) > Eps * scale);
            }
            d[l] += shiftSum;
            e[l] = 0;
        }
    }

    /// <summary>(x, y) := (c x - s y, s x + c y), elementwise; Vector512 where available.</summary>
    private static void Rotate(Span<double> x, Span<double> y, double c, double s)
    {
        int n = x.Length, j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var vc = Vector512.Create(c);
            var vs = Vector512.Create(s);
            for (; j <= n - Vector512<double>.Count; j += Vector512<double>.Count)
            {
                var xv = Vector512.Create<double>(x.Slice(j));
                var yv = Vector512.Create<double>(y.Slice(j));
                (vc * xv - vs * yv).CopyTo(x.Slice(j));
                (vs * xv + vc * yv).CopyTo(y.Slice(j));
            }
        }
        for (; j < n; j++)
        {
            double xj = x[j], yj = y[j];
            x[j] = c * xj - s * yj;
            y[j] = s * xj + c * yj;
        }
    }

    /// <summary>Selection sort of the eigenvalues, swapping the rows of the eigenvector matrix with them.</summary>
    private static void SortAscending(double[] d, int n, Span<double> vt)
    {
        for (int i = 0; i < n - 1; i++)
        {
            int min = i;
            for (int j = i + 1; j < n; j++)
                if (d[j] < d[min]) min = j;
            if (min == i) continue;
            (d[i], d[min]) = (d[min], d[i]);
            Span<double> a = vt.Slice(i * n, n), b = vt.Slice(min * n, n);
            for (int j = 0; j < n; j++) (a[j], b[j]) = (b[j], a[j]);
        }
    }
}

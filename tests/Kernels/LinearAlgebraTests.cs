using Engine.Kernels.Cpu;
using Engine.Kernels.Reference;

namespace Engine.Tests.Kernels;

/// <summary>
/// LinearAlgebra (Cholesky, triangular solves and inverse, log-determinant, symmetric eigendecomposition) against
/// the scalar twins in ReferenceLinearAlgebra (a different eigen algorithm: cyclic Jacobi), plus the defining
/// identities (L L^T = A, A v = lambda v, V V^T = I) and the parallel-parts runner.
/// </summary>
public class LinearAlgebraTests
{
    private static readonly int[] Sizes = [1, 2, 3, 4, 7, 8, 9, 16, 31, 50];

    private static double[] RandomMatrix(int rows, int cols, Random random)
    {
        var a = new double[rows * cols];
        for (int i = 0; i < a.Length; i++) a[i] = 2 * random.NextDouble() - 1;
        return a;
    }

    /// <summary>B B^T + shift I: symmetric positive definite for shift &gt; 0.</summary>
    private static double[] RandomSpd(int n, Random random, double shift = 0.5)
    {
        double[] b = RandomMatrix(n, n, random);
        var a = new double[n * n];
        ReferenceGemm.Compute(false, true, n, n, n, 1.0, b, n, b, n, 0.0, a, n);
        for (int i = 0; i < n; i++) a[i * n + i] += shift;
        return a;
    }

    private static double[] RandomSymmetric(int n, Random random)
    {
        double[] a = RandomMatrix(n, n, random);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < i; j++)
                a[j * n + i] = a[i * n + j];
        return a;
    }

    private static double MaxAbs(ReadOnlySpan<double> a)
    {
        double m = 0;
        foreach (double v in a) m = Math.Max(m, Math.Abs(v));
        return m;
    }

    // ---- Cholesky ----------------------------------------------------------------------------------------------

    [Test]
    public void Cholesky_MatchesReference_AndRebuildsTheMatrix()
    {
        var random = new Random(1);
        foreach (int n in Sizes)
        {
            double[] a = RandomSpd(n, random);
            double[] expected = ReferenceLinearAlgebra.Cholesky(a, n)!;
            var l = (double[])a.Clone();
            for (int i = 0; i < n; i++)
                for (int j = i + 1; j < n; j++)
                    l[i * n + j] = double.NaN;   // the upper triangle must not be read
            Assert.That(LinearAlgebra.TryCholesky(l, n), Is.EqualTo(-1), $"n={n}");
            for (int i = 0; i < n * n; i++) Assert.That(l[i], Is.EqualTo(expected[i]).Within(1e-12 * (1 + Math.Abs(expected[i]))), $"n={n} [{i}]");

            var rebuilt = new double[n * n];
            LinearAlgebra.MultiplyLowerByTranspose(l, n, rebuilt);
            for (int i = 0; i < n * n; i++) Assert.That(rebuilt[i], Is.EqualTo(a[i]).Within(1e-12 * n), $"n={n} L L^T [{i}]");
        }
    }

    [Test]
    public void Cholesky_ReportsTheFirstNonPositivePivot()
    {
        double[] indefinite = [1, 0, 0, 0, -1, 0, 0, 0, 1];
        Assert.That(LinearAlgebra.TryCholesky(indefinite, 3), Is.EqualTo(1));
        double[] singular = [1, 1, 1, 1];
        Assert.That(LinearAlgebra.TryCholesky(singular, 2), Is.EqualTo(1));
        double[] nan = [4, 0, double.NaN, 1];
        Assert.That(LinearAlgebra.TryCholesky(nan, 2), Is.EqualTo(1));
        double[] zero = [0];
        Assert.That(LinearAlgebra.TryCholesky(zero, 1), Is.EqualTo(0));
        Assert.That(ReferenceLinearAlgebra.Cholesky([1, 0, 0, 0, -1, 0, 0, 0, 1], 3), Is.Null);

        var ex = Assert.Throws<ArgumentException>(() => LinearAlgebra.Cholesky(new double[] { 1, 2, 2, 1 }, 2));
        Assert.That(ex!.Message, Does.Contain("column 1"));
        Assert.Throws<ArgumentException>(() => LinearAlgebra.TryCholesky(new double[3], 2));
    }

    [Test]
    public void TriangularSolvesAndInverse_MatchReference()
    {
        var random = new Random(2);
        foreach (int n in Sizes)
        {
            double[] l = ReferenceLinearAlgebra.Cholesky(RandomSpd(n, random), n)!;
            const int Rhs = 3;
            double[] b = RandomMatrix(n, Rhs, random);
            var forward = (double[])b.Clone();
            var backward = (double[])b.Clone();
            LinearAlgebra.SolveLower(l, n, forward, Rhs);
            LinearAlgebra.SolveLowerTransposed(l, n, backward, Rhs);
            for (int r = 0; r < Rhs; r++)
            {
                double[] column = Enumerable.Range(0, n).Select(i => b[i * Rhs + r]).ToArray();
                double[] f = ReferenceLinearAlgebra.SolveLower(l, n, column);
                double[] g = ReferenceLinearAlgebra.SolveLowerTransposed(l, n, column);
                for (int i = 0; i < n; i++)
                {
                    Assert.That(forward[i * Rhs + r], Is.EqualTo(f[i]).Within(1e-10 * (1 + Math.Abs(f[i]))), $"n={n} L x = b");
                    Assert.That(backward[i * Rhs + r], Is.EqualTo(g[i]).Within(1e-10 * (1 + Math.Abs(g[i]))), $"n={n} L^T x = b");
                }
            }

            var inverse = new double[n * n];
            LinearAlgebra.InvertLower(l, n, inverse);
            double[] expected = ReferenceLinearAlgebra.InvertLower(l, n);
            for (int i = 0; i < n * n; i++) Assert.That(inverse[i], Is.EqualTo(expected[i]).Within(1e-10 * (1 + Math.Abs(expected[i]))), $"n={n} L^-1");
            var product = new double[n * n];
            ReferenceGemm.Compute(false, false, n, n, n, 1.0, l, n, inverse, n, 0.0, product, n);
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    Assert.That(product[i * n + j], Is.EqualTo(i == j ? 1.0 : 0.0).Within(1e-10), $"n={n} L L^-1");
        }
    }

    [Test]
    public void LogDeterminant_MatchesReferenceAndTheEigenvalues()
    {
        var random = new Random(3);
        foreach (int n in Sizes)
        {
            double[] a = RandomSpd(n, random);
            double[] l = ReferenceLinearAlgebra.Cholesky(a, n)!;
            double fast = LinearAlgebra.LogDeterminantFromCholesky(l, n);
            Assert.That(fast, Is.EqualTo(ReferenceLinearAlgebra.LogDeterminantFromCholesky(l, n)).Within(1e-12 * (1 + Math.Abs(fast))));
            var (values, _) = ReferenceLinearAlgebra.SymmetricEigen(a, n);
            Assert.That(fast, Is.EqualTo(values.Sum(Math.Log)).Within(1e-9 * (1 + Math.Abs(fast))), $"n={n}");
        }
        // The log domain survives a determinant of 1e-600 (which underflows as a double).
        double[] small = new double[100 * 100];
        for (int i = 0; i < 100; i++) small[i * 100 + i] = 1e-6;
        Assert.That(LinearAlgebra.LogDeterminantFromCholesky(small, 100), Is.EqualTo(200 * Math.Log(1e-6)).Within(1e-9));
    }

    // ---- eigendecomposition ------------------------------------------------------------------------------------

    private static void CheckEigen(double[] a, int n, string what, double tolerance = 1e-10)
    {
        var values = new double[n];
        var vectors = new double[n * n];
        LinearAlgebra.SymmetricEigen(a, n, values, vectors);
        var (refValues, refVectors) = ReferenceLinearAlgebra.SymmetricEigen(a, n);
        double scale = Math.Max(MaxAbs(a), double.Epsilon);

        for (int i = 0; i < n; i++)
        {
            Assert.That(values[i], Is.EqualTo(refValues[i]).Within(tolerance * scale * n), $"{what}: eigenvalue {i}");
            if (i > 0) Assert.That(values[i], Is.GreaterThanOrEqualTo(values[i - 1]), $"{what}: ascending");
        }
        // A v = lambda v and V V^T = I.
        var av = new double[n * n];
        ReferenceGemm.Compute(false, true, n, n, n, 1.0, a, n, vectors, n, 0.0, av, n);   // column i = A v_i
        var gram = new double[n * n];
        ReferenceGemm.Compute(false, true, n, n, n, 1.0, vectors, n, vectors, n, 0.0, gram, n);
        for (int i = 0; i < n; i++)
        {
            for (int r = 0; r < n; r++)
                Assert.That(av[r * n + i], Is.EqualTo(values[i] * vectors[i * n + r]).Within(tolerance * scale * n), $"{what}: A v_{i} = lambda v_{i}");
            for (int j = 0; j < n; j++)
                Assert.That(gram[i * n + j], Is.EqualTo(i == j ? 1.0 : 0.0).Within(1e-12 * n), $"{what}: orthonormal");
        }
        // Where the eigenvalue is simple, the vector agrees with Jacobi's up to sign.
        for (int i = 0; i < n; i++)
        {
            double gap = Math.Min(i > 0 ? values[i] - values[i - 1] : double.PositiveInfinity, i < n - 1 ? values[i + 1] - values[i] : double.PositiveInfinity);
            if (gap < 1e-6 * scale) continue;
            double dot = 0;
            for (int r = 0; r < n; r++) dot += vectors[i * n + r] * refVectors[i * n + r];
            Assert.That(Math.Abs(dot), Is.EqualTo(1.0).Within(1e-8), $"{what}: vector {i} against Jacobi");
        }
    }

    [Test]
    public void SymmetricEigen_RandomMatrices_MatchJacobi()
    {
        var random = new Random(4);
        foreach (int n in Sizes.Append(64))
        {
            CheckEigen(RandomSymmetric(n, random), n, $"random n={n}");
            CheckEigen(RandomSpd(n, random), n, $"spd n={n}");
        }
    }

    [Test]
    public void SymmetricEigen_SpecialStructure()
    {
        // Identity and zero (all eigenvalues repeated), diagonal, already tridiagonal, repeated eigenvalues
        // behind a rotation, a rank-one matrix, and extreme scales.
        int n = 6;
        var identity = new double[n * n];
        for (int i = 0; i < n; i++) identity[i * n + i] = 1;
        CheckEigen(identity, n, "identity");
        CheckEigen(new double[n * n], n, "zero");
        var diagonal = new double[n * n];
        for (int i = 0; i < n; i++) diagonal[i * n + i] = 3 - i;
        CheckEigen(diagonal, n, "diagonal");
        var tridiagonal = new double[n * n];
        for (int i = 0; i < n; i++)
        {
            tridiagonal[i * n + i] = 2;
            if (i > 0) tridiagonal[i * n + i - 1] = tridiagonal[(i - 1) * n + i] = -1;
        }
        CheckEigen(tridiagonal, n, "tridiagonal");

        var random = new Random(5);
        double[] q = new double[n * n];
        LinearAlgebra.SymmetricEigen(RandomSymmetric(n, random), n, new double[n], q);   // a random orthogonal matrix
        double[] lambda = [1, 1, 1, 2, 2, 5];
        var repeated = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                for (int k = 0; k < n; k++)
                    repeated[i * n + j] += q[k * n + i] * lambda[k] * q[k * n + j];
        CheckEigen(repeated, n, "repeated eigenvalues");

        double[] u = RandomMatrix(n, 1, random);
        var rankOne = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                rankOne[i * n + j] = u[i] * u[j];
        CheckEigen(rankOne, n, "rank one");

        foreach (double s in new[] { 1e-150, 1e150 })
            CheckEigen(RandomSymmetric(n, random).Select(v => v * s).ToArray(), n, $"scale {s}");
    }

    [Test]
    public void SymmetricEigen_ReadsOnlyTheLowerTriangle_AndRejectsNaN()
    {
        var random = new Random(6);
        int n = 9;
        double[] a = RandomSymmetric(n, random);
        var garbage = (double[])a.Clone();
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                garbage[i * n + j] = double.NaN;
        var v1 = new double[n];
        var v2 = new double[n];
        LinearAlgebra.SymmetricEigen(a, n, v1, new double[n * n]);
        LinearAlgebra.SymmetricEigen(garbage, n, v2, new double[n * n]);
        Assert.That(v2, Is.EqualTo(v1));

        garbage[5 * n + 2] = double.NaN;
        var ex = Assert.Throws<ArgumentException>(() => LinearAlgebra.SymmetricEigen(garbage, n, v2, new double[n * n]));
        Assert.That(ex!.Message, Does.Contain("[5, 2]"));
    }

    // ---- parallel parts ----------------------------------------------------------------------------------------

    private sealed class CountingParts(int parts) : IParallelPart
    {
        public readonly int[] Runs = new int[parts];
        public readonly double[] Results = new double[parts];
        private readonly double[] _a = Enumerable.Range(0, 96 * 96).Select(i => (i % 7) - 3.0).ToArray();

        public void Execute(int part)
        {
            Interlocked.Increment(ref Runs[part]);
            // A GEMM inside a part runs on its own thread (the workers are held by the job).
            var c = new double[96 * 96];
            Gemm.Compute(false, false, 96, 96, 96, 1.0, _a, 96, _a, 96, 0.0, c, 96);
            Results[part] = c.Sum() + part;
        }
    }

    [Test]
    public void ParallelParts_RunsEveryPartOnce_WithGemmInside()
    {
        foreach (int parts in new[] { 0, 1, 2, 3, 8 })
        {
            var job = new CountingParts(parts);
            ParallelParts.Run(job, parts);
            Assert.That(job.Runs, Is.All.EqualTo(1), $"parts={parts}");
            for (int p = 1; p < parts; p++) Assert.That(job.Results[p] - p, Is.EqualTo(job.Results[0]));
        }
        Assert.That(ParallelParts.Threads, Is.InRange(1, Environment.ProcessorCount));
    }
}

using Engine.Kernels.Reference;
using Engine.Models.Decomposition;
using Engine.Models.Gmm;

namespace Engine.Tests.Gmm;

/// <summary>PCA against the Jacobi eigendecomposition of the plainly computed covariance, on low-rank data, and as the front end of a clustering.</summary>
public class PcaTests
{
    /// <summary>Rank-2 data in 6 dimensions (plus tiny noise), shifted away from the origin.</summary>
    private static double[] LowRank(int n, int seed, double noise = 1e-6)
    {
        var random = new Random(seed);
        double[] basis = [1, 2, 0, -1, 0.5, 0, 0, 1, 1, 0, -2, 3];
        var x = new double[n * 6];
        for (int i = 0; i < n; i++)
        {
            double a = 3 * Synthetic.Normal(random), b = Synthetic.Normal(random);
            for (int j = 0; j < 6; j++) x[i * 6 + j] = 10 + j + a * basis[j] + b * basis[6 + j] + noise * Synthetic.Normal(random);
        }
        return x;
    }

    [Test]
    public void Pca_MatchesTheEigendecompositionOfTheCovariance()
    {
        const int n = 500, d = 6;
        var random = new Random(1);
        double[] x = Enumerable.Range(0, n * d).Select(i => Synthetic.Normal(random) * (1 + i % d) + (i % d == 2 ? 0.5 * i / d / n : 0)).ToArray();
        var pca = new Pca(3).Fit(x, n, d);

        var mean = Enumerable.Range(0, d).Select(j => Enumerable.Range(0, n).Average(i => x[i * d + j])).ToArray();
        var cov = new double[d * d];
        for (int a = 0; a < d; a++)
            for (int b = 0; b < d; b++)
                cov[a * d + b] = Enumerable.Range(0, n).Sum(i => (x[i * d + a] - mean[a]) * (x[i * d + b] - mean[b])) / (n - 1);
        var (values, vectors) = ReferenceLinearAlgebra.SymmetricEigen(cov, d);
        double total = values.Sum();

        Assert.That(pca.Mean, Is.EqualTo(mean).Within(1e-12));
        double[] axes = pca.Axes;
        for (int c = 0; c < 3; c++)
        {
            int source = d - 1 - c;
            Assert.That(pca.ExplainedVariance[c], Is.EqualTo(values[source]).Within(1e-9 * values[source]));
            Assert.That(pca.ExplainedVarianceRatio[c], Is.EqualTo(values[source] / total).Within(1e-9));
            double dot = Enumerable.Range(0, d).Sum(j => axes[c * d + j] * vectors[source * d + j]);
            Assert.That(Math.Abs(dot), Is.EqualTo(1).Within(1e-8), $"axis {c}");
            double largest = Enumerable.Range(0, d).Select(j => axes[c * d + j]).MaxBy(Math.Abs);
            Assert.That(largest, Is.GreaterThan(0), "sign convention");
        }
        // Scores are the centred data projected on the axes.
        double[] z = pca.Transform(x, n, d);
        for (int i = 0; i < n; i += 37)
            for (int c = 0; c < 3; c++)
                Assert.That(z[i * 3 + c], Is.EqualTo(Enumerable.Range(0, d).Sum(j => (x[i * d + j] - mean[j]) * axes[c * d + j])).Within(1e-10));
    }

    [Test]
    public void Pca_OfLowRankData_KeepsAllTheVariance_AndReconstructs()
    {
        const int n = 2000;
        double[] x = LowRank(n, 2);
        var pca = new Pca(2);
        double[] z = pca.FitTransform(x, n, 6);
        Assert.That(pca.ExplainedVarianceRatio.Sum(), Is.EqualTo(1).Within(1e-9));
        double[] back = pca.InverseTransform(z, n);
        for (int i = 0; i < x.Length; i++) Assert.That(back[i], Is.EqualTo(x[i]).Within(1e-4));
        // Float input gives the same axes (to float precision).
        var pcaF = new Pca(2).Fit(x.Select(v => (float)v).ToArray(), n, 6);
        double[] a = pca.Axes, b = pcaF.Axes;
        for (int i = 0; i < a.Length; i++) Assert.That(b[i], Is.EqualTo(a[i]).Within(1e-4));
    }

    [Test]
    public void Pca_ThenGaussianMixture_ClustersInFewDimensions()
    {
        // Three clusters in 40 dimensions that differ along a 2-D subspace: cluster in the PCA coordinates.
        const int n = 900, d = 40;
        var random = new Random(3);
        var x = new double[n * d];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            int c = i % 3;
            labels[i] = c;
            for (int j = 0; j < d; j++) x[i * d + j] = 0.3 * Synthetic.Normal(random) + (c == 0 ? 0 : c == 1 ? (j < 20 ? 2 : 0) : (j >= 20 ? 2 : 0));
        }
        double[] z = new Pca(2).FitTransform(x, n, d);
        int[] predicted = new GaussianMixture(3) { Seed = 1 }.FitPredict(z, n, 2);
        for (int c = 0; c < 3; c++)
        {
            var mine = Enumerable.Range(0, n).Where(i => labels[i] == c).Select(i => predicted[i]).ToArray();
            Assert.That(mine.GroupBy(l => l).Max(g => g.Count()), Is.EqualTo(mine.Length), $"cluster {c}");
        }
    }

    [Test]
    public void Pca_RejectsBadArguments()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => _ = new Pca(0));
        Assert.Throws<ArgumentException>(() => new Pca(4).Fit(new double[30], 10, 3));
        Assert.Throws<ArgumentException>(() => new Pca(1).Fit(new double[29], 10, 3));
        Assert.Throws<InvalidOperationException>(() => new Pca(1).Transform(new double[3], 1, 3));
        var pca = new Pca(1).Fit(Enumerable.Range(0, 30).Select(i => (double)(i * i % 7)).ToArray(), 10, 3);
        Assert.Throws<ArgumentException>(() => pca.Transform(new double[4], 1, 4));
    }
}

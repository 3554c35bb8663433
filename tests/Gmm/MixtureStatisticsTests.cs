using Engine.Devices;
using Engine.Kernels;
using Engine.Mixtures;
using Engine.Models.Gmm;

namespace Engine.Tests.Gmm;

/// <summary>
/// The sufficient statistics of EM reduce over chunks of rows: the statistics of a data set split into two chunks
/// and added equal the statistics of the whole to rounding, for every covariance type (the full scatter included,
/// taken about the same means), and reducing the same chunks in the same order gives the same bits.
/// </summary>
public class MixtureStatisticsTests
{
    private const double Rtol = 1e-12;

    private static double[] Data(int n, int d, int k)
    {
        var r = new Random(11);
        var x = new double[n * d];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++)
                x[i * d + j] = 3.0 * ((i % k) + j % 2) + Synthetic.Normal(r) * (1 + 0.2 * j);
        return x;
    }

    /// <summary>The parameters of the k-means initialization (a fit with no EM iteration).</summary>
    private static MixtureParameters Start(CovarianceType type, double[] x, int n, int d, int k)
    {
        var gm = new GaussianMixture(k) { CovarianceType = type, MaxIterations = 0, Seed = 0 }.Fit(x, n, d);
        var theta = new MixtureParameters(type, k, d);
        gm.Weights.CopyTo(theta.Weights, 0);
        gm.Means.CopyTo(theta.Means, 0);
        gm.Covariances.CopyTo(theta.Covariances, 0);
        gm.PrecisionsCholesky.CopyTo(theta.PrecisionsCholesky, 0);
        return theta;
    }

    /// <summary>Each value within rtol of the expected one, or within atol times the largest expected magnitude.</summary>
    private static void AssertClose(double[] actual, double[] expected, double atol, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what + ": length");
        double scale = expected.Length == 0 ? 0 : expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(Rtol * Math.Abs(expected[i]) + atol * scale), $"{what}[{i}]");
    }

    private sealed unsafe class Chunk(CovarianceType type, int k, int d, double[] x, int row0, int rows)
    {
        public MixtureStatistics Expectation(MixtureParameters theta)
        {
            var s = new MixtureStatistics((MixtureCovariance)type, k, d);
            fixed (double* px = &x[row0 * d])
            {
                using MixtureEStep em = EStep(px);
                em.Expectation(theta.Weights, theta.Means, theta.PrecisionsCholesky, s);
            }
            return s;
        }

        public void Scatter(MixtureParameters theta, double[] means, MixtureStatistics s)
        {
            fixed (double* px = &x[row0 * d])
            {
                using MixtureEStep em = EStep(px);
                em.Expectation(theta.Weights, theta.Means, theta.PrecisionsCholesky, new MixtureStatistics((MixtureCovariance)type, k, d));
                em.Scatter(means, s);
            }
        }

        private MixtureEStep EStep(double* px) => Device.Cpu.Backend.Mixture((MixtureCovariance)type, k, d, px, rows);
    }

    [Test]
    public void TwoChunksReduceToTheWhole([Values] CovarianceType type)
    {
        // 437 rows: neither chunk is a whole number of the workspace's blocks of rows.
        const int n = 1000, d = 4, k = 3, split = 437;
        double[] x = Data(n, d, k);
        MixtureParameters theta = Start(type, x, n, d, k);
        var whole = new Chunk(type, k, d, x, 0, n);
        var first = new Chunk(type, k, d, x, 0, split);
        var second = new Chunk(type, k, d, x, split, n - split);

        MixtureStatistics all = whole.Expectation(theta);
        MixtureStatistics a = first.Expectation(theta), b = second.Expectation(theta);
        MixtureStatistics reduced = a.Clone();
        reduced.Add(b);

        Assert.That(reduced.Rows, Is.EqualTo(n), "rows");
        Assert.That(reduced.LogLikelihood, Is.EqualTo(all.LogLikelihood).Within(Rtol * Math.Abs(all.LogLikelihood)), "log-likelihood");
        AssertClose(reduced.Nk, all.Nk, 0, "N_k");
        AssertClose(reduced.FirstMoments, all.FirstMoments, 0, "first moments");
        if (type != CovarianceType.Full) AssertClose(reduced.SecondMoments, all.SecondMoments, 0, "second moments");

        // The same chunks in the same order: the same bits.
        MixtureStatistics again = a.Clone();
        again.Add(b);
        Assert.That(again.Nk, Is.EqualTo(reduced.Nk));
        Assert.That(again.FirstMoments, Is.EqualTo(reduced.FirstMoments));
        Assert.That(again.SecondMoments, Is.EqualTo(reduced.SecondMoments));
        Assert.That(again.LogLikelihood, Is.EqualTo(reduced.LogLikelihood));

        if (type != CovarianceType.Full) return;
        // The scatter pass about the means of the whole: chunks' scatters and residuals add up too. The residuals
        // are zero in exact arithmetic, so they are compared against the scale of the first moments.
        var means = new double[k * d];
        for (int c = 0; c < k; c++)
            for (int j = 0; j < d; j++)
                means[c * d + j] = all.FirstMoments[c * d + j] / all.Nk[c];
        whole.Scatter(theta, means, all);
        first.Scatter(theta, means, a);
        second.Scatter(theta, means, b);
        MixtureStatistics scatter = a.Clone();
        scatter.AddScatter(b);
        AssertClose(scatter.SecondMoments, all.SecondMoments, 1e-13, "scatter");
        double firstScale = all.FirstMoments.Max(Math.Abs);
        for (int i = 0; i < all.Residuals.Length; i++)
            Assert.That(scatter.Residuals[i], Is.EqualTo(all.Residuals[i]).Within(1e-12 * firstScale), $"residuals[{i}]");
    }

    [Test]
    public void StatisticsOfOtherShapesDoNotAdd()
    {
        var s = new MixtureStatistics(MixtureCovariance.Diagonal, 2, 3);
        Assert.Throws<ArgumentException>(() => s.Add(new MixtureStatistics(MixtureCovariance.Spherical, 2, 3)));
        Assert.Throws<ArgumentException>(() => s.Add(new MixtureStatistics(MixtureCovariance.Diagonal, 3, 3)));
    }
}

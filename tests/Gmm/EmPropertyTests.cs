using Engine.Devices;
using Engine.Kernels;
using Engine.Kernels.Cpu;
using Engine.Mixtures;
using Engine.Models.Gmm;

namespace Engine.Tests.Gmm;

/// <summary>
/// What EM must do beyond matching a reference: never lower the likelihood (with reg_covar = 0), recover a known
/// mixture with errors that shrink like 1 / sqrt(N), recover a model from its own samples, give the same bits
/// on one thread and on two, and run its iterations without allocating.
/// </summary>
public class EmPropertyTests
{
    // A 2-D mixture with unequal weights, well separated means and different shapes.
    private static readonly double[] TrueWeights = [0.5, 0.3, 0.2];
    private static readonly double[] TrueMeans = [0, 0, 6, 1, 2, 7];
    private static readonly double[] TrueCovariances = [1.0, 0.5, 0.5, 1.5, 0.6, -0.2, -0.2, 0.4, 2.0, 0.0, 0.0, 0.3];

    /// <summary>The permutation of fitted components that best matches the true means.</summary>
    private static int[] Match(double[] means, double[] trueMeans, int k, int d)
    {
        int[] best = [];
        double bestError = double.PositiveInfinity;
        foreach (int[] perm in Permutations(k))
        {
            double e = 0;
            for (int c = 0; c < k; c++)
                for (int j = 0; j < d; j++)
                    e += Math.Pow(means[perm[c] * d + j] - trueMeans[c * d + j], 2);
            if (e < bestError)
            {
                bestError = e;
                best = perm;
            }
        }
        return best;
    }

    private static IEnumerable<int[]> Permutations(int k)
    {
        if (k == 1)
        {
            yield return [0];
            yield break;
        }
        foreach (int[] p in Permutations(k - 1))
            for (int pos = 0; pos < k; pos++)
            {
                var q = new List<int>(p);
                q.Insert(pos, k - 1);
                yield return q.ToArray();
            }
    }

    [Test]
    public void LogLikelihood_NeverDecreases_WithoutRegularization([Values] CovarianceType type,
        [Values(MixtureInitialization.KMeans, MixtureInitialization.RandomResponsibilities)] MixtureInitialization init)
    {
        var (x, _) = Synthetic.Draw(TrueWeights, TrueMeans, TrueCovariances, 2, 1500, seed: 3);
        var gmm = new GaussianMixture(3) { CovarianceType = type, RegCovar = 0, Tolerance = 0, MaxIterations = 60, Initialization = init, Seed = 5 };
        gmm.Fit(x, 1500, 2);
        IReadOnlyList<double> lb = gmm.LowerBounds;
        Assert.That(lb, Has.Count.EqualTo(60));
        for (int t = 1; t < lb.Count; t++)
        {
            Assert.That(double.IsFinite(lb[t]), $"iteration {t + 1} is {lb[t]}");
            Assert.That(lb[t], Is.GreaterThanOrEqualTo(lb[t - 1] - 1e-12 * Math.Abs(lb[t - 1])), $"{type}/{init}: iteration {t + 1} lowered the likelihood");
        }
    }

    [Test]
    public void Fit_RecoversATrue2DMixture_WithErrorsShrinkingWithTheSampleSize()
    {
        const int k = 3, d = 2;
        var errors = new List<(double W, double Mu, double Sigma)>();
        foreach (int n in new[] { 2_000, 20_000, 200_000 })
        {
            var (x, _) = Synthetic.Draw(TrueWeights, TrueMeans, TrueCovariances, d, n, seed: n);
            var gmm = new GaussianMixture(k) { Seed = 1, Tolerance = 1e-8, MaxIterations = 500 }.Fit(x, n, d);
            Assert.That(gmm.Converged, $"n={n}");
            int[] perm = Match(gmm.Means, TrueMeans, k, d);
            double[] w = gmm.Weights, mu = gmm.Means, sigma = gmm.Covariances;
            double ew = 0, emu = 0, es = 0;
            for (int c = 0; c < k; c++)
            {
                int f = perm[c];
                ew = Math.Max(ew, Math.Abs(w[f] - TrueWeights[c]));
                for (int j = 0; j < d; j++) emu = Math.Max(emu, Math.Abs(mu[f * d + j] - TrueMeans[c * d + j]));
                for (int j = 0; j < d * d; j++) es = Math.Max(es, Math.Abs(sigma[f * d * d + j] - TrueCovariances[c * d * d + j]));
            }
            // Standard errors: weights sqrt(w(1-w)/N) <= 0.5/sqrt(N); means sigma/sqrt(N w); covariances
            // sigma^2 sqrt(2/(N w)), with sigma^2 <= 2 and w >= 0.2: bounds of about 5 standard errors.
            double root = Math.Sqrt(n);
            Assert.That(ew, Is.LessThan(2.5 / root), $"n={n}: weights");
            Assert.That(emu, Is.LessThan(5 * Math.Sqrt(2 / 0.2) / root), $"n={n}: means");
            Assert.That(es, Is.LessThan(5 * 2 * Math.Sqrt(2 / 0.2) / root), $"n={n}: covariances");
            errors.Add((ew, emu, es));
        }
        // From 2k to 200k points the errors drop by about sqrt(100) = 10; at least by 3.
        Assert.That(errors[2].Mu, Is.LessThan(errors[0].Mu / 3));
        Assert.That(errors[2].Sigma, Is.LessThan(errors[0].Sigma / 3));
    }

    /// <summary>A model with explicit parameters: Fit with MaxIterations = 0 keeps the explicit start.</summary>
    private static GaussianMixture Explicit(CovarianceType type, double[] weights, double[] means, double[] precisions, int d)
    {
        var gmm = new GaussianMixture(weights.Length)
        {
            CovarianceType = type,
            MaxIterations = 0,
            WeightsInit = weights,
            MeansInit = means,
            PrecisionsInit = precisions,
        };
        var anyData = new double[weights.Length * 2 * d];
        for (int i = 0; i < anyData.Length; i++) anyData[i] = i % 7;
        return gmm.Fit(anyData, weights.Length * 2, d);
    }

    [Test]
    public void SampleThenFit_RecoversTheModel([Values] CovarianceType type)
    {
        const int k = 3, d = 2, n = 60_000;
        double[] precisions = type switch
        {
            CovarianceType.Full => [1.2, -0.4, -0.4, 0.8, 2.0, 0.5, 0.5, 3.0, 0.6, 0.0, 0.0, 3.0],
            CovarianceType.Tied => [1.2, -0.4, -0.4, 0.8],
            CovarianceType.Diagonal => [1.0, 0.7, 2.0, 3.0, 0.5, 3.0],
            _ => [1.0, 2.5, 0.6],
        };
        GaussianMixture truth = Explicit(type, TrueWeights, TrueMeans, precisions, d);
        var (x, labels) = truth.Sample(n, seed: 42);
        Assert.That(x, Has.Length.EqualTo(n * d));
        Assert.That(labels, Is.Ordered, "samples come grouped by component, as scikit-learn's");
        for (int c = 0; c < k; c++)
            Assert.That(labels.Count(l => l == c) / (double)n, Is.EqualTo(TrueWeights[c]).Within(0.01), $"share of component {c}");

        var fit = new GaussianMixture(k) { CovarianceType = type, Seed = 3, Tolerance = 1e-8, MaxIterations = 500 }.Fit(x, n, d);
        int[] perm = Match(fit.Means, TrueMeans, k, d);
        double[] cov = truth.Covariances, fitCov = fit.Covariances;
        int per = MixtureCovarianceLength(type, 1, d);
        for (int c = 0; c < k; c++)
        {
            int f = perm[c];
            Assert.That(fit.Weights[f], Is.EqualTo(TrueWeights[c]).Within(0.015), $"{type}: weight {c}");
            for (int j = 0; j < d; j++)
                Assert.That(fit.Means[f * d + j], Is.EqualTo(TrueMeans[c * d + j]).Within(0.05), $"{type}: mean {c}[{j}]");
            if (type == CovarianceType.Tied) continue;
            for (int j = 0; j < per; j++)
                Assert.That(fitCov[f * per + j], Is.EqualTo(cov[c * per + j]).Within(0.05 * (1 + Math.Abs(cov[c * per + j]))), $"{type}: covariance {c}[{j}]");
        }
        if (type == CovarianceType.Tied)
            for (int j = 0; j < d * d; j++) Assert.That(fitCov[j], Is.EqualTo(cov[j]).Within(0.05), $"tied covariance [{j}]");
        // The fitted model explains its training data about as well as the truth does.
        Assert.That(fit.Score(x, n, d), Is.EqualTo(truth.Score(x, n, d)).Within(0.01));
    }

    private static int MixtureCovarianceLength(CovarianceType type, int k, int d) => type switch
    {
        CovarianceType.Full => k * d * d,
        CovarianceType.Tied => d * d,
        CovarianceType.Diagonal => k * d,
        _ => k,
    };

    [Test, NonParallelizable]   // changes CpuThreads.Max for a moment
    public void ThreadedBlocks_MatchTheTextbook_AndOneThread([Values] CovarianceType type, [Values(8, 21)] int d)
    {
        // Big enough that the E-step is split over threads and many blocks (with a ragged last block); d = 21 also
        // takes the triangular split of the full and tied E-step and the vector tails.
        const int n = 6007, k = 4;
        var random = new Random(9);
        var x = new double[n * d];
        for (int i = 0; i < n; i++)
        {
            int c = i % k;
            for (int j = 0; j < d; j++) x[i * d + j] = 3 * c * ((j + c) % 3 - 1) + Synthetic.Normal(random) * (1 + 0.2 * j);
        }
        double[] weights = [0.25, 0.25, 0.25, 0.25];
        double[] means = Enumerable.Range(0, k * d).Select(i => x[(i / d) * d + i % d]).ToArray();
        double[] precisions = type switch
        {
            CovarianceType.Full => Enumerable.Range(0, k).SelectMany(_ => Enumerable.Range(0, d * d).Select(e => e / d == e % d ? 0.5 : 0.0)).ToArray(),
            CovarianceType.Tied => Enumerable.Range(0, d * d).Select(e => e / d == e % d ? 0.5 : 0.0).ToArray(),
            CovarianceType.Diagonal => Enumerable.Repeat(0.5, k * d).ToArray(),
            _ => Enumerable.Repeat(0.5, k).ToArray(),
        };
        GaussianMixture Run() => new GaussianMixture(k)
        {
            CovarianceType = type, Tolerance = 0, MaxIterations = 4, WeightsInit = weights, MeansInit = means, PrecisionsInit = precisions,
        }.Fit(x, n, d);

        GaussianMixture threaded = Run();
        int saved = CpuThreads.Max;
        GaussianMixture single;
        try
        {
            CpuThreads.Max = 1;
            single = Run();
        }
        finally
        {
            CpuThreads.Max = saved;
        }
        var textbook = new TextbookEm(type, x, n, d, 1e-6, weights, means, precisions);
        for (int t = 0; t < 4; t++)
        {
            double expected = textbook.Step();
            Assert.That(threaded.LowerBounds[t], Is.EqualTo(expected).Within(1e-10 * Math.Abs(expected)), $"{type}: threaded, iteration {t + 1}");
        }
        // The partition of the rows does not depend on the thread count: one thread gives the same bits.
        Assert.That(single.LowerBounds, Is.EqualTo(threaded.LowerBounds), $"{type}: one thread");
        Assert.That(Run().LowerBounds, Is.EqualTo(threaded.LowerBounds));
    }

    [Test, NonParallelizable]   // changes CpuThreads.Max for a moment
    public unsafe void OneAndTwoThreads_GiveTheSameBits([Values] CovarianceType type)
    {
        // 12,000 x 20 with K = 5 is enough work for every covariance type to split the rows into several parts (checked
        // below), so the partial statistics of the parts are reduced; the k-means initialization runs on the same data.
        const int n = 12_000, d = 20, k = 5;
        var random = new Random(17);
        var x = new double[n * d];
        for (int i = 0; i < n; i++)
        {
            int c = i % k;
            for (int j = 0; j < d; j++) x[i * d + j] = 2 * c * ((j + c) % 3 - 1) + Synthetic.Normal(random) * (1 + 0.1 * j);
        }
        fixed (double* px = x)
        {
            using var em = (CpuMixtureEStep)Device.Cpu.Backend.Mixture((MixtureCovariance)type, k, d, px, n);
            Assert.That(em.Parts, Is.GreaterThan(1), "the rows are split into parts");
        }

        (GaussianMixture Gmm, double[] LogP) Run(int threads)
        {
            int saved = CpuThreads.Max;
            try
            {
                CpuThreads.Max = threads;
                var gmm = new GaussianMixture(k) { CovarianceType = type, Tolerance = 0, MaxIterations = 8, Seed = 4 }.Fit(x, n, d);
                return (gmm, gmm.ScoreSamples(x, n, d));
            }
            finally
            {
                CpuThreads.Max = saved;
            }
        }

        var (one, logOne) = Run(1);
        var (two, logTwo) = Run(2);
        Assert.That(two.LowerBounds, Is.EqualTo(one.LowerBounds), $"{type}: lower bound per iteration");
        Assert.That(two.Weights, Is.EqualTo(one.Weights), $"{type}: weights");
        Assert.That(two.Means, Is.EqualTo(one.Means), $"{type}: means");
        Assert.That(two.Covariances, Is.EqualTo(one.Covariances), $"{type}: covariances");
        Assert.That(logTwo, Is.EqualTo(logOne), $"{type}: log p(x) of every row");
    }

    [Test, NonParallelizable]   // counts the allocations of the whole process
    public void EmIterations_DoNotAllocate()
    {
        const int n = 20_000, d = 10, k = 5;
        var (x, _) = Synthetic.Draw([0.5, 0.5], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3],
            Enumerable.Range(0, 2).SelectMany(_ => Enumerable.Range(0, d * d).Select(e => e / d == e % d ? 1.0 : 0.0)).ToArray(), d, n, seed: 1);
        foreach (CovarianceType type in Enum.GetValues<CovarianceType>())
        {
            long Allocated(int iterations)
            {
                var gmm = new GaussianMixture(k)
                {
                    CovarianceType = type, Tolerance = 0, MaxIterations = iterations, Seed = 2,
                    Initialization = MixtureInitialization.RandomResponsibilities,
                };
                long before = GC.GetTotalAllocatedBytes(precise: true);
                gmm.Fit(x, n, d);
                return GC.GetTotalAllocatedBytes(precise: true) - before;
            }
            Allocated(30);   // warm up: JIT tiering, worker threads
            // The least of five runs: sporadic allocations elsewhere in the runtime (a few kB, at random, whatever
            // the iteration count) must not count.
            long few = Enumerable.Range(0, 5).Min(_ => Allocated(5));
            long many = Enumerable.Range(0, 5).Min(_ => Allocated(45));
            // 40 more iterations may only lengthen the two arrays of lower bounds (8 bytes per iteration each).
            Assert.That(many - few, Is.LessThan(2 * 8 * 40 + 512), $"{type}: {many - few} bytes for 40 more iterations");
        }
    }
}

using Engine.Models.Gmm;

namespace Engine.Tests.Gmm;

/// <summary>
/// The estimator's surface: Predict / PredictProba / ScoreSamples / Score / BIC / AIC against their definitions,
/// parameter counts, explicit-start validation, warm start, several initializations, seeds, and errors.
/// </summary>
public class GaussianMixtureApiTests
{
    private const int N = 600, D = 2, K = 3;

    private static double[] Data(int seed = 1) => Synthetic.Draw([0.5, 0.3, 0.2], [0, 0, 5, 1, 1, 6],
        [1.0, 0.3, 0.3, 1.0, 0.5, 0.0, 0.0, 0.5, 2.0, -0.4, -0.4, 1.0], D, N, seed).X;

    private static GaussianMixture Fitted(CovarianceType type) =>
        new GaussianMixture(K) { CovarianceType = type, Seed = 3 }.Fit(Data(), N, D);

    [Test]
    public void Inference_MatchesItsDefinitions([Values] CovarianceType type)
    {
        double[] x = Data(2);
        GaussianMixture gmm = Fitted(type);
        double[] proba = gmm.PredictProba(x, N, D);
        int[] labels = gmm.Predict(x, N, D);
        double[] logp = gmm.ScoreSamples(x, N, D);

        // The textbook log-densities of the fitted parameters.
        double[] sigma = gmm.Covariances;
        int per = type switch { CovarianceType.Full => D * D, CovarianceType.Diagonal => D, CovarianceType.Spherical => 1, _ => 0 };
        double[][] full = Enumerable.Range(0, K).Select(c =>
        {
            var s = new double[D * D];
            for (int a = 0; a < D; a++)
                for (int b = 0; b < D; b++)
                    s[a * D + b] = type switch
                    {
                        CovarianceType.Full => sigma[c * per + a * D + b],
                        CovarianceType.Tied => sigma[a * D + b],
                        CovarianceType.Diagonal => a == b ? sigma[c * D + a] : 0,
                        _ => a == b ? sigma[c] : 0,
                    };
            return s;
        }).ToArray();
        double[] w = gmm.Weights, mu = gmm.Means;
        for (int i = 0; i < N; i++)
        {
            var l = Enumerable.Range(0, K).Select(c => Math.Log(w[c]) + TextbookEm.LogGaussian(x.AsSpan(i * D, D), mu.AsSpan(c * D, D), full[c], D)).ToArray();
            double max = l.Max(), lse = max + Math.Log(l.Sum(v => Math.Exp(v - max)));
            Assert.That(logp[i], Is.EqualTo(lse).Within(1e-10 * Math.Abs(lse) + 1e-12), $"log p(x_{i})");
            double rowSum = 0;
            for (int c = 0; c < K; c++)
            {
                Assert.That(proba[i * K + c], Is.EqualTo(Math.Exp(l[c] - lse)).Within(1e-10), $"p(z={c} | x_{i})");
                rowSum += proba[i * K + c];
            }
            Assert.That(rowSum, Is.EqualTo(1).Within(1e-12));
            int argmax = Enumerable.Range(0, K).MaxBy(c => proba[i * K + c]);
            Assert.That(labels[i], Is.EqualTo(argmax));
        }
        double score = gmm.Score(x, N, D);
        Assert.That(score, Is.EqualTo(logp.Average()).Within(1e-12 * Math.Abs(score)));
        long p = gmm.ParameterCount;
        Assert.That(gmm.Bic(x, N, D), Is.EqualTo(-2 * score * N + p * Math.Log(N)).Within(1e-9 * N));
        Assert.That(gmm.Aic(x, N, D), Is.EqualTo(-2 * score * N + 2 * p).Within(1e-9 * N));
    }

    [Test]
    public void ParameterCounts_FollowTheCovarianceType()
    {
        // K = 3, D = 4: K - 1 weights + K D means + the covariance entries.
        double[] x = Enumerable.Range(0, 40 * 4).Select(i => Math.Sin(i * 0.7) * 3 + (i % 5)).ToArray();
        var expected = new Dictionary<CovarianceType, long>
        {
            [CovarianceType.Full] = 3 * 10 + 12 + 2,
            [CovarianceType.Tied] = 10 + 12 + 2,
            [CovarianceType.Diagonal] = 3 * 4 + 12 + 2,
            [CovarianceType.Spherical] = 3 + 12 + 2,
        };
        foreach (var (type, count) in expected)
        {
            var gmm = new GaussianMixture(3) { CovarianceType = type, Seed = 1 }.Fit(x, 40, 4);
            Assert.That(gmm.ParameterCount, Is.EqualTo(count), type.ToString());
        }
    }

    [Test]
    public void FittedArrays_HaveTheDocumentedShapes_AndPrecisionsInvertCovariances([Values] CovarianceType type)
    {
        GaussianMixture gmm = Fitted(type);
        int covLength = type switch { CovarianceType.Full => K * D * D, CovarianceType.Tied => D * D, CovarianceType.Diagonal => K * D, _ => K };
        Assert.That(gmm.Weights, Has.Length.EqualTo(K));
        Assert.That(gmm.Means, Has.Length.EqualTo(K * D));
        Assert.That(gmm.Covariances, Has.Length.EqualTo(covLength));
        Assert.That(gmm.Precisions, Has.Length.EqualTo(covLength));
        Assert.That(gmm.PrecisionsCholesky, Has.Length.EqualTo(covLength));
        Assert.That(gmm.Dimensions, Is.EqualTo(D));
        double[] cov = gmm.Covariances, prec = gmm.Precisions;
        if (type is CovarianceType.Full or CovarianceType.Tied)
        {
            for (int c = 0; c < covLength / (D * D); c++)
                for (int i = 0; i < D; i++)
                    for (int j = 0; j < D; j++)
                    {
                        double s = 0;
                        for (int m = 0; m < D; m++) s += cov[c * D * D + i * D + m] * prec[c * D * D + m * D + j];
                        Assert.That(s, Is.EqualTo(i == j ? 1 : 0).Within(1e-10), $"Sigma P = I ({c}, {i}, {j})");
                    }
        }
        else
        {
            for (int i = 0; i < covLength; i++) Assert.That(cov[i] * prec[i], Is.EqualTo(1).Within(1e-12));
        }
    }

    [Test]
    public void ExplicitStart_IsValidated()
    {
        double[] x = Data();
        GaussianMixture With(double[]? w = null, double[]? mu = null, double[]? p = null, CovarianceType type = CovarianceType.Full) =>
            new() { Components = K, CovarianceType = type, WeightsInit = w, MeansInit = mu, PrecisionsInit = p };

        Assert.That(Assert.Throws<ArgumentException>(() => With(w: [0.5, 0.5]).Fit(x, N, D))!.Message, Does.Contain("3 components"));
        Assert.That(Assert.Throws<ArgumentException>(() => With(w: [0.5, 0.3, 0.3]).Fit(x, N, D))!.Message, Does.Contain("sum to 1"));
        Assert.That(Assert.Throws<ArgumentException>(() => With(w: [1.5, -0.25, -0.25]).Fit(x, N, D))!.Message, Does.Contain("[0, 1]"));
        Assert.That(Assert.Throws<ArgumentException>(() => With(mu: new double[5]).Fit(x, N, D))!.Message, Does.Contain("3 x 2"));
        Assert.That(Assert.Throws<ArgumentException>(() => With(mu: [0, 0, 1, 1, double.NaN, 0]).Fit(x, N, D))!.Message, Does.Contain("component 2"));
        double[] notPd = [1, 0, 0, 1, 1, 2, 2, 1, 1, 0, 0, 1];
        Assert.That(Assert.Throws<ArgumentException>(() => With(p: notPd).Fit(x, N, D))!.Message, Does.Contain("component 1").And.Contain("positive definite"));
        double[] asymmetric = [1, 0.5, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1];
        Assert.That(Assert.Throws<ArgumentException>(() => With(p: asymmetric).Fit(x, N, D))!.Message, Does.Contain("component 0").And.Contain("symmetric"));
        Assert.That(Assert.Throws<ArgumentException>(() => With(p: [1, 1, 1, 1], type: CovarianceType.Diagonal).Fit(x, N, D))!.Message, Does.Contain("3 x 2"));
        Assert.That(Assert.Throws<ArgumentException>(() => With(p: [1, 0, 2], type: CovarianceType.Spherical).Fit(x, N, D))!.Message, Does.Contain("component 1"));

        // A partial explicit start (means only) takes the other parameters from the initialization.
        double[] means = [0, 0, 5, 1, 1, 6];
        var gmm = With(mu: means);
        gmm.MaxIterations = 0;
        gmm.Seed = 1;
        gmm.Fit(x, N, D);
        Assert.That(gmm.Means, Is.EqualTo(means));
        Assert.That(gmm.LowerBound, Is.EqualTo(double.NegativeInfinity), "scikit-learn's lower_bound_ with max_iter = 0");
        Assert.That(gmm.Iterations, Is.Zero);
    }

    [Test]
    public void Options_AreValidated()
    {
        double[] x = Data();
        Assert.Throws<ArgumentOutOfRangeException>(() => new GaussianMixture(0).Fit(x, N, D));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GaussianMixture(2) { Tolerance = -1 }.Fit(x, N, D));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GaussianMixture(2) { RegCovar = double.NaN }.Fit(x, N, D));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GaussianMixture(2) { MaxIterations = -1 }.Fit(x, N, D));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GaussianMixture(2) { Initializations = 0 }.Fit(x, N, D));
        Assert.Throws<ArgumentOutOfRangeException>(() => new GaussianMixture(2) { CovarianceType = (CovarianceType)9 }.Fit(x, N, D));
        Assert.That(Assert.Throws<ArgumentException>(() => new GaussianMixture(2).Fit(x, N, 3))!.Message, Does.Contain("600 rows of 3 columns"));
    }

    [Test]
    public void Unfitted_AndMismatchedDimensions_AreClearErrors()
    {
        var gmm = new GaussianMixture(2);
        Assert.That(gmm.IsFitted, Is.False);
        Assert.That(Assert.Throws<InvalidOperationException>(() => gmm.Predict([1, 2], 1, 2))!.Message, Does.Contain("not fitted"));
        Assert.Throws<InvalidOperationException>(() => _ = gmm.Means);
        Assert.Throws<InvalidOperationException>(() => gmm.Sample(3));
        gmm.Seed = 1;
        gmm.Fit(Data(), N, D);
        Assert.That(Assert.Throws<ArgumentException>(() => gmm.Predict([1, 2, 3], 1, 3))!.Message, Does.Contain("fitted to 2"));
        Assert.Throws<ArgumentOutOfRangeException>(() => gmm.Sample(0));
    }

    [Test]
    public void WarmStart_ContinuesWhereTheLastFitStopped([Values] CovarianceType type)
    {
        double[] x = Data();
        var once = new GaussianMixture(K) { CovarianceType = type, Seed = 2, Tolerance = 0, MaxIterations = 10 }.Fit(x, N, D);
        var twice = new GaussianMixture(K) { CovarianceType = type, Seed = 2, Tolerance = 0, MaxIterations = 4, WarmStart = true };
        twice.Fit(x, N, D);
        var first = twice.LowerBounds.ToArray();
        twice.MaxIterations = 6;
        twice.Fit(x, N, D);
        Assert.That(first.Concat(twice.LowerBounds), Is.EqualTo(once.LowerBounds));
        Assert.That(twice.Means, Is.EqualTo(once.Means));

        twice.CovarianceType = type == CovarianceType.Full ? CovarianceType.Diagonal : CovarianceType.Full;
        Assert.That(Assert.Throws<InvalidOperationException>(() => twice.Fit(x, N, D))!.Message, Does.Contain("Warm start"));
    }

    [Test]
    public void SeveralInitializations_KeepTheBest_AndSeedsReproduce()
    {
        double[] x = Data();
        var one = new GaussianMixture(K) { Seed = 11, Initialization = MixtureInitialization.RandomResponsibilities }.Fit(x, N, D);
        var five = new GaussianMixture(K) { Seed = 11, Initialization = MixtureInitialization.RandomResponsibilities, Initializations = 5 }.Fit(x, N, D);
        Assert.That(five.LowerBound, Is.GreaterThanOrEqualTo(one.LowerBound));
        Assert.That(five.LowerBounds[^1], Is.EqualTo(five.LowerBound));
        Assert.That(five.Iterations, Is.EqualTo(five.LowerBounds.Count));

        var again = new GaussianMixture(K) { Seed = 11, Initialization = MixtureInitialization.RandomResponsibilities, Initializations = 5 }.Fit(x, N, D);
        Assert.That(again.LowerBounds, Is.EqualTo(five.LowerBounds));
        Assert.That(again.Means, Is.EqualTo(five.Means));
        Assert.That(five.Converged, Is.True);
    }

    [Test]
    public void EveryInitialization_FindsTheClusters([Values] MixtureInitialization init)
    {
        // Three well separated clusters: every start should end in the same partition.
        var (x, truth) = Synthetic.Draw([0.4, 0.3, 0.3], [0, 0, 10, 0, 0, 10], [1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1], D, N, seed: 5);
        var gmm = new GaussianMixture(K) { Initialization = init, Seed = 3, Initializations = 2 };
        int[] labels = gmm.FitPredict(x, N, D);
        Assert.That(gmm.Predict(x, N, D), Is.EqualTo(labels), "FitPredict agrees with Fit then Predict");
        // Each true cluster maps to one label.
        for (int c = 0; c < K; c++)
        {
            var mine = Enumerable.Range(0, N).Where(i => truth[i] == c).Select(i => labels[i]).ToArray();
            int majority = mine.GroupBy(l => l).MaxBy(g => g.Count())!.Key;
            Assert.That(mine.Count(l => l == majority), Is.GreaterThanOrEqualTo(mine.Length - 2), $"{init}: cluster {c}");
        }
    }

    [Test]
    public void KMeans_SeparatesClusters_AndSeedsAreDistinctPoints()
    {
        var (x, truth) = Synthetic.Draw([0.25, 0.25, 0.25, 0.25], [0, 0, 8, 0, 0, 8, 8, 8],
            Enumerable.Range(0, 4).SelectMany(_ => new[] { 1.0, 0, 0, 1 }).ToArray(), 2, 1000, seed: 2);
        int[] seeds = KMeans.PlusPlusSeeds(x, 1000, 2, 4, new Random(1));
        Assert.That(seeds.Select(s => truth[s]).Distinct().Count(), Is.EqualTo(4), "k-means++ puts one seed in each cluster");
        KMeansResult result = KMeans.Fit(x, 1000, 2, 4, new Random(1));
        Assert.That(result.Centers, Has.Length.EqualTo(8));
        for (int c = 0; c < 4; c++)
        {
            var mine = Enumerable.Range(0, 1000).Where(i => truth[i] == c).Select(i => result.Labels[i]).ToArray();
            Assert.That(mine.GroupBy(l => l).Max(g => g.Count()), Is.GreaterThanOrEqualTo(mine.Length - 3));
        }
        // Inertia is the sum of squared distances to the assigned centers.
        double inertia = 0;
        for (int i = 0; i < 1000; i++)
        {
            int l = result.Labels[i];
            inertia += Math.Pow(x[2 * i] - result.Centers[2 * l], 2) + Math.Pow(x[2 * i + 1] - result.Centers[2 * l + 1], 2);
        }
        Assert.That(result.Inertia, Is.EqualTo(inertia).Within(1e-8 * inertia));
        Assert.Throws<ArgumentOutOfRangeException>(() => KMeans.Fit(x, 1000, 2, 1001, new Random(1)));
    }
}

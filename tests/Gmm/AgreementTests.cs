using Engine.Models.Gmm;

namespace Engine.Tests.Gmm;

/// <summary>
/// Exact agreement of every EM iteration, from one explicit start, for every covariance type: the mean
/// log-likelihood that GaussianMixture records after each iteration equals (a) the textbook EM in
/// <see cref="TextbookEm"/> and (b) scikit-learn's GaussianMixture (run by tests/Gmm/sklearn_reference.py), to
/// 1e-6 relative as the issue asks; against the textbook the match is in fact 1e-10.
/// </summary>
public class AgreementTests
{
    private const int Iterations = 25;
    private const double RegCovar = 1e-6;

    private static readonly Lazy<(SklearnReference.Result? Result, string Reason)> s_sklearn = new(() =>
    {
        double[] x = Synthetic.AgreementData();
        var cases = Enum.GetValues<CovarianceType>().Select(type =>
        {
            var (w, mu, p) = Synthetic.AgreementStart(type);
            return (object)new
            {
                covariance_type = SklearnReference.Name(type),
                components = Synthetic.AgreementComponents,
                reg_covar = RegCovar,
                iterations = Iterations,
                weights = w,
                means = mu,
                precisions = p,
            };
        }).ToList();
        var result = SklearnReference.Run(x, Synthetic.AgreementRows, Synthetic.AgreementDims, cases, out string reason);
        return (result, reason);
    });

    private static GaussianMixture FitFromStart(CovarianceType type, double[] x, int iterations)
    {
        var (w, mu, p) = Synthetic.AgreementStart(type);
        var gmm = new GaussianMixture(Synthetic.AgreementComponents)
        {
            CovarianceType = type,
            Tolerance = 0,          // run every iteration
            MaxIterations = iterations,
            RegCovar = RegCovar,
            WeightsInit = w,
            MeansInit = mu,
            PrecisionsInit = p,
        };
        return gmm.Fit(x, Synthetic.AgreementRows, Synthetic.AgreementDims);
    }

    private static void AssertClose(double[] actual, double[] expected, double relative, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        double scale = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++)
            Assert.That(actual[i], Is.EqualTo(expected[i]).Within(relative * Math.Max(scale, 1e-300)), $"{what}[{i}]");
    }

    [Test]
    public void EachIteration_EqualsTheTextbookAlgorithm([Values] CovarianceType type)
    {
        double[] x = Synthetic.AgreementData();
        GaussianMixture gmm = FitFromStart(type, x, Iterations);
        var (w, mu, p) = Synthetic.AgreementStart(type);
        var textbook = new TextbookEm(type, x, Synthetic.AgreementRows, Synthetic.AgreementDims, RegCovar, w, mu, p);

        Assert.That(gmm.LowerBounds, Has.Count.EqualTo(Iterations));
        Assert.That(gmm.Converged, Is.False);
        for (int t = 0; t < Iterations; t++)
        {
            double expected = textbook.Step();
            Assert.That(gmm.LowerBounds[t], Is.EqualTo(expected).Within(1e-10 * Math.Abs(expected)), $"{type}: iteration {t + 1}");
        }
        Assert.That(gmm.LowerBound, Is.EqualTo(gmm.LowerBounds[^1]));
        // The log-likelihood actually moves (the test would be weak if EM sat still).
        Assert.That(gmm.LowerBounds[^1] - gmm.LowerBounds[0], Is.GreaterThan(0.05), $"{type}: EM should make progress");

        AssertClose(gmm.Weights, textbook.Weights, 1e-9, $"{type} weights");
        AssertClose(gmm.Means, textbook.Means, 1e-9, $"{type} means");
        AssertClose(gmm.Covariances, textbook.Covariances, 1e-9, $"{type} covariances");
    }

    [Test]
    public void FullCovariances_AreTranslationInvariant_FarFromTheOrigin()
    {
        // The log-likelihood does not change when data and means move together. Full covariances are formed from
        // centred terms, so even 1e4 away from the origin (data spread about 1) every iteration matches the
        // unshifted fit to 1e-11 (dropping the residual correction of the one-sided scatter gives 5e-10; an uncentred
        // E[x x^T] - mu mu^T would lose about 8 digits).
        double[] x = Synthetic.AgreementData();
        const double Offset = 1e4;
        GaussianMixture near = FitFromStart(CovarianceType.Full, x, Iterations);
        var (w, mu, p) = Synthetic.AgreementStart(CovarianceType.Full);
        var far = new GaussianMixture(Synthetic.AgreementComponents)
        {
            Tolerance = 0, MaxIterations = Iterations, RegCovar = RegCovar,
            WeightsInit = w, MeansInit = mu.Select(v => v + Offset).ToArray(), PrecisionsInit = p,
        }.Fit(x.Select(v => v + Offset).ToArray(), Synthetic.AgreementRows, Synthetic.AgreementDims);
        for (int t = 0; t < Iterations; t++)
            Assert.That(far.LowerBounds[t], Is.EqualTo(near.LowerBounds[t]).Within(1e-11 * Math.Abs(near.LowerBounds[t])), $"iteration {t + 1}");
        AssertClose(far.Covariances, near.Covariances, 1e-9, "covariances");
    }

    [Test]
    public void EachIteration_EqualsScikitLearn([Values] CovarianceType type)
    {
        var (result, reason) = s_sklearn.Value;
        if (result == null)
        {
            SklearnReference.Unavailable(reason);
            return;
        }
        double[] x = Synthetic.AgreementData();
        GaussianMixture gmm = FitFromStart(type, x, Iterations);
        SklearnReference.Case peer = result.Cases[type];
        Assert.That(peer.LowerBounds, Has.Length.EqualTo(Iterations));
        double worst = 0;
        for (int t = 0; t < Iterations; t++)
        {
            double expected = peer.LowerBounds[t];
            worst = Math.Max(worst, Math.Abs(gmm.LowerBounds[t] - expected) / Math.Abs(expected));
            Assert.That(gmm.LowerBounds[t], Is.EqualTo(expected).Within(1e-6 * Math.Abs(expected)), $"{type}: iteration {t + 1} (scikit-learn {result.Version})");
        }
        TestContext.Out.WriteLine($"{type}: {Iterations} iterations, largest relative difference from scikit-learn {result.Version}: {worst:E2}");
        AssertClose(gmm.Weights, peer.Weights, 1e-6, $"{type} weights");
        AssertClose(gmm.Means, peer.Means, 1e-6, $"{type} means");
        AssertClose(gmm.Covariances, peer.Covariances, 1e-6, $"{type} covariances");
    }
}

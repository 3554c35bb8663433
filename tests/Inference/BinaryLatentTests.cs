using Engine.Models.Inference;
using Engine.Models.Nn;
using Engine.Tests.Models;

namespace Engine.Tests.Inference;

/// <summary>
/// Discrete latents, where the exact sum over z is within reach: every estimator of log p(x) against the value by
/// enumeration (float64, a decoder with d = 10 binary features and 128 pixels, data drawn from the model). Statistical
/// checks use <see cref="Z"/> standard errors computed from repetitions (the data point repeated as rows of a batch).
/// </summary>
[TestFixture]
public class BinaryLatentTests
{
    private const double Z = 4.5;
    private const int Bits = 10, Pixels = 128, Rows = 24;

    private static BinaryLatentModel Model(int bits = Bits) => new(bits, Pixels, [32], new Generator(1), init: Init.KaimingNormal);

    /// <summary>One data point drawn from the model, repeated <paramref name="rows"/> times.</summary>
    private static Tensor Data(BinaryLatentModel m, int rows = Rows, ulong seed = 3)
    {
        var x = m.Likelihood(m.Prior(1).Sample(new Generator(seed))).Sample(new Generator(seed + 1)).ToDoubleArray();
        return Tensor.FromArray(Enumerable.Repeat(x, rows).SelectMany(v => v).ToArray(), rows, Pixels);
    }

    /// <summary><paramref name="rows"/> different data points drawn from the model.</summary>
    private static Tensor Distinct(BinaryLatentModel m, int rows, ulong seed) =>
        m.Likelihood(m.Prior(rows).Sample(new Generator(seed))).Sample(new Generator(seed + 1));

    [Test]
    public void EnumerationMatchesTheSlowSumOverCompletions()
    {
        // The fast route (all pairs as one matrix product, in chunks) against log sum_z p(x | z) p(z) term by term.
        var m = new BinaryLatentModel(5, 16, [8], new Generator(4));
        var x = m.Likelihood(m.Prior(3).Sample(new Generator(5))).Sample(new Generator(6));
        var fast = BinaryLatentEstimators.ExactLogLikelihood(m, x, chunk: 7);
        var xs = x.ToDoubleArray();
        for (int b = 0; b < 3; b++)
        {
            var terms = new double[32];
            for (int n = 0; n < 32; n++)
            {
                var z = Enumerable.Range(0, 5).Select(j => (double)((n >> j) & 1)).ToArray();
                var p = m.Likelihood(Tensor.FromArray(z, 1, 5)).Probs.ToDoubleArray();
                terms[n] = 5 * Math.Log(0.5);
                for (int j = 0; j < 16; j++) terms[n] += xs[b * 16 + j] == 1 ? Math.Log(p[j]) : Math.Log(1 - p[j]);
            }
            double max = terms.Max();
            double slow = max + Math.Log(terms.Sum(t => Math.Exp(t - max)));
            Assert.That(fast[b], Is.EqualTo(slow).Within(1e-10), $"row {b}");
        }
    }

    [Test]
    public void EveryEstimateAgreesWithTheExactValue()
    {
        var m = Model();
        var x = Data(m);
        double exact = BinaryLatentEstimators.ExactLogLikelihood(m, x)[0];
        var fit = BinaryPosteriorFit.Fit(m, x.SliceRows(0, 1), new Generator(7), new BinaryFitOptions { Gradient = BinaryGradient.Exact, Steps = 200 });
        var q = new Engine.Models.Distributions.Bernoulli(fit.Q.Logits.Expand(new Shape(Rows, Bits)));
        double exactElbo = BinaryLatentEstimators.ExactElbo(m, x.SliceRows(0, 1), fit.Q.Logits).Item();

        var naive = Stats.Of(BinaryLatentEstimators.NaiveMonteCarlo(m, x, new Generator(8), 2000));
        var importance = Stats.Of(BinaryLatentEstimators.ImportanceSampling(m, x, q, new Generator(9), 2000));
        var elbo = Stats.Of(BinaryLatentEstimators.Elbo(m, x, q, new Generator(10), 200));
        TestContext.Out.WriteLine($"exact log p(x) {exact:F4}, exact ELBO of the fitted q {exactElbo:F4}");
        TestContext.Out.WriteLine($"naive Monte Carlo (k = 2000): {naive}\nimportance sampling (k = 2000): {importance}\nELBO (200 draws): {elbo}");
        Assert.That(naive.Mean, Is.EqualTo(exact).Within(Z * naive.Se));
        Assert.That(importance.Mean, Is.EqualTo(exact).Within(Z * importance.Se));
        Assert.That(elbo.Mean, Is.EqualTo(exactElbo).Within(Z * elbo.Se));
        Assert.That(exactElbo, Is.LessThan(exact), "the ELBO bounds log p(x) from below");
    }

    [Test]
    public void NaiveMonteCarloVarianceIsFarAboveImportanceSampling()
    {
        var m = Model();
        var x = Data(m, Rows, seed: 41);
        var fit = BinaryPosteriorFit.Fit(m, x.SliceRows(0, 1), new Generator(11));
        var q = new Engine.Models.Distributions.Bernoulli(fit.Q.Logits.Expand(new Shape(Rows, Bits)));
        const int k = 100;
        var naive = Stats.Of(BinaryLatentEstimators.NaiveMonteCarlo(m, x, new Generator(12), k));
        var importance = Stats.Of(BinaryLatentEstimators.ImportanceSampling(m, x, q, new Generator(13), k));
        double ratio = naive.Variance / importance.Variance;
        TestContext.Out.WriteLine($"k = {k}: naive {naive}; importance sampling {importance}; variance ratio {ratio:F0}");
        // The margin: a factor of 20 (about 100 is typical here; the posterior holds a few of the 1024 completions).
        Assert.That(ratio, Is.GreaterThan(20));
    }

    [Test]
    public void TheBoundIsTightWhenQIsTheExactPosterior()
    {
        var m = Model();
        var x = Distinct(m, 4, seed: 21);
        var posterior = new EnumeratedPosterior(m, x);
        var exact = BinaryLatentEstimators.ExactLogLikelihood(m, x);
        var logW = BinaryLatentEstimators.LogWeights(m, x, posterior, new Generator(14), 300).ToDoubleArray();
        for (int i = 0; i < logW.Length; i++)
            Assert.That(logW[i], Is.EqualTo(exact[i % 4]).Within(1e-9), "every importance weight is p(x)");
        Assert.That(BinaryLatentEstimators.Elbo(m, x, posterior, new Generator(15), 300), Is.EqualTo(exact).AsCollection.Within(1e-9));
        Assert.That(posterior.LogMarginal, Is.EqualTo(exact).AsCollection.Within(1e-9));
        // The best factorized q falls short by KL(q || p(z | x)) > 0 whenever the posterior is not itself factorized.
        var best = BinaryPosteriorFit.Fit(m, x, new Generator(16), new BinaryFitOptions { Gradient = BinaryGradient.Exact, Steps = 200 });
        var gap = BinaryLatentEstimators.ExactElbo(m, x, best.Q.Logits).ToDoubleArray().Zip(exact, (e, l) => l - e).ToArray();
        TestContext.Out.WriteLine($"log p(x) - best factorized ELBO: {string.Join(", ", gap.Select(g => g.ToString("F4")))}");
        Assert.That(gap, Has.All.GreaterThan(0));
    }

    [Test]
    public void ScoreFunctionFitReachesTheExactGradientOptimum()
    {
        var m = Model();
        var x = Distinct(m, 4, seed: 31);
        var exactFit = BinaryPosteriorFit.Fit(m, x, new Generator(17), new BinaryFitOptions { Gradient = BinaryGradient.Exact, Steps = 200 });
        var scoreFit = BinaryPosteriorFit.Fit(m, x, new Generator(18));
        var best = BinaryLatentEstimators.ExactElbo(m, x, exactFit.Q.Logits).ToDoubleArray();
        var reached = BinaryLatentEstimators.ExactElbo(m, x, scoreFit.Q.Logits).ToDoubleArray();
        var start = BinaryLatentEstimators.ExactElbo(m, x, Tensor.Zeros(new Shape(4, Bits), DType.Float64)).ToDoubleArray();
        TestContext.Out.WriteLine($"ELBO at q uniform {string.Join(", ", start.Select(v => v.ToString("F3")))}; score function {string.Join(", ", reached.Select(v => v.ToString("F3")))}; exact gradient {string.Join(", ", best.Select(v => v.ToString("F3")))}");
        for (int b = 0; b < 4; b++)
            Assert.That(reached[b], Is.EqualTo(best[b]).Within(0.1), $"row {b}: the score-function fit must come within 0.1 nats of the optimum");
    }

    [Test]
    public void ThirtyBitsAreBeyondEnumerationButNotImportanceSampling()
    {
        var m = new BinaryLatentModel(30, 64, [16], new Generator(2));
        var x = m.Likelihood(m.Prior(2).Sample(new Generator(3))).Sample(new Generator(4));
        var e = Assert.Throws<ArgumentException>(() => BinaryLatentEstimators.ExactLogLikelihood(m, x));
        Assert.That(e!.Message, Does.Contain("2^30").And.Contain("importance sampling"));
        var fit = BinaryPosteriorFit.Fit(m, x, new Generator(5), new BinaryFitOptions { Steps = 100 });
        var logPx = BinaryLatentEstimators.ImportanceSampling(m, x, fit.Q, new Generator(6), 2000);
        var elbo = BinaryLatentEstimators.Elbo(m, x, fit.Q, new Generator(7), 2000);
        TestContext.Out.WriteLine($"d = 30: log p(x) ~ {string.Join(", ", logPx.Select(v => v.ToString("F3")))}, ELBO {string.Join(", ", elbo.Select(v => v.ToString("F3")))}");
        for (int b = 0; b < 2; b++) Assert.That(logPx[b], Is.GreaterThan(elbo[b]));
    }
}

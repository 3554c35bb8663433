using Engine.Models.Inference;
using Engine.Models.Vae;
using Engine.Tests.Models;

namespace Engine.Tests.Inference;

/// <summary>
/// Per-data-point inference and the masked likelihood on probabilistic PCA (<see cref="LinearGaussianModel"/>, float64),
/// where the posterior is Gaussian and known, and so is the marginal of any subset of the observed dimensions:
/// p(x_o) = N(x_o; b_o, W_o W_o^T + s^2 I).
/// </summary>
[TestFixture]
public class LinearGaussianInferenceTests
{
    private const double Z = 4.5;

    private static Tensor Batch(double[][] xs) => Tensor.FromArray(xs.SelectMany(v => v).ToArray(), xs.Length, xs[0].Length);

    private static Tensor Repeat(double[] x, int rows) => Batch(Enumerable.Repeat(x, rows).ToArray());

    // From the prior, the log-variance has a long way to go (log 0.09 from 0): more steps than a VAE's 100 from its encoder.
    private static readonly LocalInferenceOptions s_long = new() { Steps = 600, LearningRate = 0.1, FinalLearningRate = 1e-4 };

    [TestCase(VariationalStart.Prior)]
    [TestCase(VariationalStart.Encoder)]
    public void OptimizedQIsTheExactPosteriorAndItsElboIsLogPx(VariationalStart start)
    {
        var m = LinearGaussianModel.Create();
        m.SetOffsets([0.8, -0.6], [1.0, -0.7]); // a poor encoder, for the encoder start
        var xs = m.SampleData(4, seed: 11);
        var fit = LocalVariationalInference.Fit(m, Batch(xs), new Generator(5), s_long with { Start = start });
        var mean = fit.Mean.ToDoubleArray();
        var variance = fit.LogVariance.ToDoubleArray().Select(Math.Exp).ToArray();
        for (int b = 0; b < xs.Length; b++)
        {
            var exactMean = m.ExactPosteriorMean(xs[b]);
            var qm = mean.AsSpan(b * 2, 2).ToArray();
            var qv = variance.AsSpan(b * 2, 2).ToArray();
            // ELBO = log p(x) - KL(q || p(z | x)), in closed form.
            double kl = Dense.KlDiagonal(qm, qv, exactMean, m.PosteriorVariance);
            TestContext.Out.WriteLine($"row {b}: q mean [{qm[0]:F6}, {qm[1]:F6}] vs [{exactMean[0]:F6}, {exactMean[1]:F6}], variance [{qv[0]:F6}, {qv[1]:F6}] vs [{m.PosteriorVariance[0]:F6}, {m.PosteriorVariance[1]:F6}], KL {kl:E2}");
            for (int j = 0; j < 2; j++)
            {
                Assert.That(qm[j], Is.EqualTo(exactMean[j]).Within(2e-3), $"row {b}, mean {j}");
                Assert.That(qv[j], Is.EqualTo(m.PosteriorVariance[j]).Within(2e-3 * m.PosteriorVariance[j]), $"row {b}, variance {j}");
            }
            Assert.That(kl, Is.LessThan(1e-5), $"row {b}: the ELBO falls {kl} nats short of log p(x)");
        }
        // And the estimated ELBO of the fitted q equals log p(x) with no spread: at the exact posterior every log-weight
        // log p(x, z) - log q(z) is log p(x).
        var logW = Estimators.ComputeLogWeights(m, Batch(xs), fit.Distribution, 200, new Generator(9)).LogW;
        var elbo = logW.Mean(0).ToDoubleArray();
        var spread = (logW - logW.Mean(0)).Abs().Max().Item();
        TestContext.Out.WriteLine($"largest deviation of a log-weight from the ELBO: {spread:E2}");
        Assert.That(spread, Is.LessThan(1e-2));
        for (int b = 0; b < xs.Length; b++)
            Assert.That(elbo[b], Is.EqualTo(m.ExactLogMarginal(xs[b])).Within(1e-4), $"row {b}");
    }

    [Test]
    public void GapsOfAPoorEncoder()
    {
        // The encoder's q is the posterior shifted and widened: its inference gap is KL(q_enc || p(z | x)) exactly, all of
        // it amortization gap (the Gaussian family holds the posterior, so no approximation gap is left).
        var m = LinearGaussianModel.Create();
        double[] shift = [0.5, -0.4], logVarShift = [0.7, 0.3];
        m.SetOffsets(shift, logVarShift);
        var x = m.SampleData(1, seed: 3)[0];
        int rows = 32;
        var (report, _) = InferenceGaps.Measure(m, Repeat(x, rows), new Generator(2), s_long, k: 500, elboSamples: 400);
        var exactMean = m.ExactPosteriorMean(x);
        double kl = Dense.KlDiagonal(exactMean.Select((v, i) => v + shift[i]).ToArray(),
            m.PosteriorVariance.Select((v, i) => v * Math.Exp(logVarShift[i])).ToArray(), exactMean, m.PosteriorVariance);
        var encoder = Stats.Of(report.EncoderElbo);
        var optimized = Stats.Of(report.OptimizedElbo);
        double logPx = m.ExactLogMarginal(x);
        TestContext.Out.WriteLine($"log p(x) {logPx:F5}; encoder ELBO {encoder}; optimized {report.MeanOptimizedElbo:F5}; IS {report.MeanLogLikelihood:F5}; " +
                                  $"amortization gap {report.AmortizationGap:F5} vs KL {kl:F5}; approximation gap {report.ApproximationGap:E2}");
        Assert.That(encoder.Mean, Is.EqualTo(logPx - kl).Within(Z * encoder.Se));
        Assert.That(report.AmortizationGap, Is.EqualTo(kl).Within(Z * Math.Sqrt(encoder.Se * encoder.Se + optimized.Se * optimized.Se) + 1e-4));
        Assert.That(report.ApproximationGap, Is.EqualTo(0).Within(Z * optimized.Se + 1e-4));
        Assert.That(report.LogLikelihood, Has.All.EqualTo(logPx).Within(1e-3));
    }

    // ------------------------------------------------------------------ the masked likelihood

    private static readonly bool[] s_observed = [true, false, true, true, false];

    private static ObservationMask Mask(int rows) =>
        new(Enumerable.Range(0, rows).SelectMany(_ => s_observed.Select(o => o ? 1f : 0f)).ToArray(), rows, s_observed.Length, DType.Float64);

    /// <summary>log N(x_o; b_o, W_o W_o^T + s^2 I).</summary>
    private static double ExactObservedMarginal(LinearGaussianModel m, double[] x)
    {
        var w = m.W.ToDoubleArray();
        var b = m.B.ToDoubleArray();
        var idx = Enumerable.Range(0, m.D).Where(i => s_observed[i]).ToArray();
        var c = new double[idx.Length, idx.Length];
        for (int i = 0; i < idx.Length; i++)
            for (int j = 0; j < idx.Length; j++)
            {
                double s = i == j ? m.NoiseVariance : 0;
                for (int l = 0; l < m.L; l++) s += w[idx[i] * m.L + l] * w[idx[j] * m.L + l];
                c[i, j] = s;
            }
        return Dense.GaussianLogDensity(idx.Select(i => x[i] - b[i]).ToArray(), c);
    }

    [Test]
    public void MaskedGaussianLikelihoodSumsTheObservedDimensions()
    {
        var m = LinearGaussianModel.Create();
        var xs = m.SampleData(3, seed: 4);
        var z = Tensor.FromArray(new double[] { 0.3, -1.2, 1.1, 0.4, -0.5, 0.9 }, 3, 2);
        var observed = new PartiallyObservedModel(m, Mask(3));
        var got = observed.Likelihood(z).LogProb(Batch(xs)).ToDoubleArray();
        var w = m.W.ToDoubleArray();
        var bias = m.B.ToDoubleArray();
        var zz = z.ToDoubleArray();
        for (int r = 0; r < 3; r++)
        {
            double expected = 0;
            for (int d = 0; d < m.D; d++)
            {
                if (!s_observed[d]) continue;
                double mu = bias[d] + w[d * 2] * zz[r * 2] + w[d * 2 + 1] * zz[r * 2 + 1];
                double e = xs[r][d] - mu;
                expected += -0.5 * (Math.Log(2 * Math.PI * m.NoiseVariance) + e * e / m.NoiseVariance);
            }
            Assert.That(got[r], Is.EqualTo(expected).Within(1e-10), $"row {r}");
        }
    }

    [Test]
    public void MaskedMarginalLikelihoodIsTheExactMarginalOfTheObservedDimensions()
    {
        var m = LinearGaussianModel.Create();
        var xs = m.SampleData(3, seed: 21);
        const int rows = 16;
        foreach (var x in xs)
        {
            double exact = ExactObservedMarginal(m, x);
            var batch = Repeat(x, rows);
            var observed = new PartiallyObservedModel(m, Mask(rows));
            // q(z) fitted to the observed dimensions (from the encoder fed zeros where x is missing) is the proposal.
            var fit = LocalVariationalInference.Fit(observed, batch, new Generator(8), new LocalInferenceOptions { Steps = 300 });
            var estimates = Estimators.LogLikelihood(fit.Over(observed), batch, new Generator(12), k: 5000);
            var s = Stats.Of(estimates);
            var elbo = LocalVariationalInference.Elbo(observed, batch, fit.Distribution, new Generator(13), 400);
            TestContext.Out.WriteLine($"exact log p(x_obs) {exact:F5}; importance sampling (k = 5000) {s}; optimized ELBO {elbo.Average():F5}");
            Assert.That(s.Mean, Is.EqualTo(exact).Within(Z * s.Se + 1e-4));
            Assert.That(estimates, Has.All.EqualTo(exact).Within(0.01));
            Assert.That(elbo.Average(), Is.LessThan(exact + 1e-3), "the masked ELBO bounds log p(x_obs) from below");
        }
    }
}

using Engine.Models.Distributions;
using Engine.Tests.Autograd;

namespace Engine.Tests.Models;

/// <summary>
/// Densities, entropies and KL divergences against closed forms computed in plain C#; samplers against their
/// probabilities within standard errors; reparameterized draws and densities through gradcheck.
/// </summary>
[TestFixture]
public class DistributionTests
{
    private const double Z = 4.5;
    private const double Log2Pi = 1.8378770664093453;

    private static double[] Uniform(int seed, int n, double lo, double hi)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => lo + (hi - lo) * rng.NextDouble()).ToArray();
    }

    private static Tensor T(double[] v, params int[] dims) => Tensor.FromArray(v, dims);

    private static double Sigmoid(double l) => 1 / (1 + Math.Exp(-l));

    private static double[] LogSoftmax(double[] l, int offset, int k)
    {
        double m = l.Skip(offset).Take(k).Max();
        double lse = m + Math.Log(l.Skip(offset).Take(k).Sum(v => Math.Exp(v - m)));
        return l.Skip(offset).Take(k).Select(v => v - lse).ToArray();
    }

    private static Tensor RepeatRows(double[] row, int n) => T(Enumerable.Range(0, n).SelectMany(_ => row).ToArray(), n, row.Length);

    // ------------------------------------------------------------------ Normal

    [Test]
    public void NormalLogProbEqualsClosedFormWithSampleAxes()
    {
        var mu = Uniform(1, 12, -1, 1);
        var lv = Uniform(2, 12, -2, 1);
        var x = Uniform(3, 24, -3, 3); // [2, 3, 4]: a leading sample axis
        var n = new Normal(T(mu, 3, 4), T(lv, 3, 4));
        var lp = n.LogProb(T(x, 2, 3, 4));
        Assert.That(lp.Shape, Is.EqualTo(new Shape(2, 3)));
        var got = lp.ToDoubleArray();
        for (int s = 0; s < 2; s++)
            for (int b = 0; b < 3; b++)
            {
                double e = 0;
                for (int j = 0; j < 4; j++)
                {
                    int p = b * 4 + j;
                    double d = x[s * 12 + p] - mu[p];
                    e += -0.5 * (Log2Pi + lv[p] + d * d / Math.Exp(lv[p]));
                }
                Assert.That(got[s * 3 + b], Is.EqualTo(e).Within(1e-12));
            }
        // FromScale is the same distribution.
        var scale = lv.Select(v => Math.Exp(0.5 * v)).ToArray();
        var n2 = Normal.FromScale(T(mu, 3, 4), T(scale, 3, 4));
        Assert.That(n2.LogProb(T(x, 2, 3, 4)).ToDoubleArray(), Is.EqualTo(got).Within(1e-12));
    }

    [Test]
    public void NormalEntropyEqualsClosedFormAndMonteCarlo()
    {
        var lv = Uniform(4, 3, -2, 1);
        var n = new Normal(T([0.5, -1, 2], 1, 3), T(lv, 1, 3));
        double expected = lv.Sum(v => 0.5 * (Log2Pi + 1 + v));
        Assert.That(n.Entropy().Item(), Is.EqualTo(expected).Within(1e-12));
        // H = -E[log p(z)]: estimated from draws.
        var z = n.Sample(new Generator(5), 20000);
        var s = Stats.Of(n.LogProb(z).ToDoubleArray().Select(v => -v).ToArray());
        Assert.That(s.Mean, Is.EqualTo(expected).Within(Z * s.Se), $"{s}");
    }

    [Test]
    public void NormalSamplesHaveTheRightMoments()
    {
        double[] mu = [0.5, -2], lv = [Math.Log(0.25), Math.Log(4)];
        var n = new Normal(RepeatRows(mu, 20000), RepeatRows(lv, 20000));
        var z = n.RSample(new Generator(6)).ToDoubleArray();
        for (int j = 0; j < 2; j++)
        {
            var s = Stats.Of(Enumerable.Range(0, 20000).Select(i => z[i * 2 + j]).ToArray());
            Assert.That(s.Mean, Is.EqualTo(mu[j]).Within(Z * s.Se), $"mean {j}: {s}");
            Assert.That(s.Variance, Is.EqualTo(Math.Exp(lv[j])).Within(Z * s.VarianceSe), $"variance {j}: {s.Variance}");
        }
    }

    [Test]
    public void NormalRSampleIsDifferentiableAndSampleIsNot()
    {
        var mu = T([0.1, 0.2], 1, 2).RequireGrad();
        var lv = T([0.0, -1.0], 1, 2).RequireGrad();
        var n = new Normal(mu, lv);
        Assert.That(n.HasRSample, Is.True);
        Assert.That(n.RSample(new Generator(1), 3).RequiresGrad, Is.True);
        Assert.That(n.Sample(new Generator(1), 3).RequiresGrad, Is.False);
        Assert.That(n.Sample(new Generator(1)).RequiresGrad, Is.False);
        var d = (Normal)n.Detached();
        Assert.That(d.Mean.RequiresGrad || d.LogVariance.RequiresGrad, Is.False);
        // The same generator state gives the same draw whether or not it is differentiable.
        Assert.That(n.Sample(new Generator(9), 2).ToDoubleArray(), Is.EqualTo(n.RSample(new Generator(9), 2).ToDoubleArray()));
    }

    [Test]
    public void NormalReparameterizePassesGradCheck()
    {
        var eps = T(Uniform(7, 18, -2, 2), 3, 2, 3); // fixed noise with a leading sample axis
        GradCheck.Check(p => new Normal(p[0], p[1]).Reparameterize(eps),
            GradCheck.Rand(8, -1, 1, 2, 3), GradCheck.Rand(9, -2, 1, 2, 3));
    }

    [Test]
    public void NormalLogProbAndKlPassGradCheck()
    {
        var x = GradCheck.Rand(10, -2, 2, 2, 2, 3);
        GradCheck.Check(p => new Normal(p[1], p[2]).LogProb(p[0]), x, GradCheck.Rand(11, -1, 1, 2, 3), GradCheck.Rand(12, -1, 1, 2, 3));
        GradCheck.Check(p => Kl.Divergence(new Normal(p[0], p[1]), new Normal(p[2], p[3])),
            GradCheck.Rand(13, -1, 1, 2, 3), GradCheck.Rand(14, -1, 1, 2, 3), GradCheck.Rand(15, -1, 1, 2, 3), GradCheck.Rand(16, -1, 1, 2, 3));
        GradCheck.Check(p => new Normal(p[0], p[1]).Entropy(), GradCheck.Rand(17, -1, 1, 2, 3), GradCheck.Rand(18, -1, 1, 2, 3));
    }

    [Test]
    public void NormalRejectsMismatchedParameters()
    {
        var ex = Assert.Throws<ArgumentException>(() => _ = new Normal(Tensor.Zeros(2, 3), Tensor.Zeros(3, 2)));
        Assert.That(ex!.Message, Does.Contain("[2, 3]").And.Contain("[3, 2]"));
        var n = new Normal(Tensor.Zeros(2, 3), Tensor.Zeros(2, 3));
        var ex2 = Assert.Throws<ArgumentException>(() => n.LogProb(Tensor.Zeros(2, 4)));
        Assert.That(ex2!.Message, Does.Contain("[2, 4]").And.Contain("[2, 3]"));
    }

    // ------------------------------------------------------------------ KL(Normal || Normal)

    [Test]
    public void NormalKlToStandardNormalMatchesClosedFormAndMonteCarlo()
    {
        double[] mu = [0.7, -0.4, 1.2], lv = [-0.5, 0.3, -1.5];
        double expected = 0;
        for (int j = 0; j < 3; j++) expected += 0.5 * (mu[j] * mu[j] + Math.Exp(lv[j]) - 1 - lv[j]);

        const int r = 4000;
        var p = new Normal(RepeatRows(mu, r), RepeatRows(lv, r));
        var prior = Normal.Standard(new Shape(r, 3), DType.Float64);
        var analytic = Kl.Divergence(p, prior).ToDoubleArray();
        Assert.That(Kl.HasClosedForm(p, prior), Is.True);
        foreach (var a in analytic) Assert.That(a, Is.EqualTo(expected).Within(1e-12));

        // One draw per row: r independent single-sample estimates, whose spread gives the confidence interval.
        var mc1 = Stats.Of(Kl.MonteCarlo(p, prior, new Generator(20), 1).ToDoubleArray());
        Assert.That(mc1.Mean, Is.EqualTo(expected).Within(Z * mc1.Se), $"one sample per row: {mc1} vs {expected}");
        // 25 draws per row, averaged by MonteCarlo itself: the per-row spread shrinks by sqrt(25).
        var mc25 = Stats.Of(Kl.MonteCarlo(p, prior, new Generator(21), 25).ToDoubleArray());
        Assert.That(mc25.Mean, Is.EqualTo(expected).Within(Z * mc25.Se), $"25 samples per row: {mc25} vs {expected}");
        Assert.That(mc25.Variance, Is.EqualTo(mc1.Variance / 25).Within(Z * (mc25.VarianceSe + mc1.VarianceSe / 25)));
    }

    [Test]
    public void NormalKlBetweenTwoNormalsMatchesClosedForm()
    {
        double[] mp = [0.3, -1], lp = [0.2, -0.7], mq = [-0.5, 0.4], lq = [1.0, -0.2];
        double expected = 0;
        for (int j = 0; j < 2; j++)
            expected += 0.5 * (lq[j] - lp[j] + (Math.Exp(lp[j]) + (mp[j] - mq[j]) * (mp[j] - mq[j])) / Math.Exp(lq[j]) - 1);
        var kl = Kl.Divergence(new Normal(T(mp, 1, 2), T(lp, 1, 2)), new Normal(T(mq, 1, 2), T(lq, 1, 2)));
        Assert.That(kl.Item(), Is.EqualTo(expected).Within(1e-12));
        Assert.That(Kl.Divergence(new Normal(T(mp, 1, 2), T(lp, 1, 2)), new Normal(T(mp, 1, 2), T(lp, 1, 2))).Item(), Is.EqualTo(0).Within(1e-15));
    }

    // ------------------------------------------------------------------ Bernoulli

    [Test]
    public void BernoulliLogProbEqualsXLogPPlusOneMinusXLogOneMinusP()
    {
        var logits = Uniform(30, 8, -6, 6);
        double[] x = [1, 0, 1, 1, 0, 0, 0.3, 0.8]; // soft targets too (the Bernoulli decoder on intensities)
        var lp = new Bernoulli(T(logits, 2, 4)).LogProb(T(x, 2, 4)).ToDoubleArray();
        for (int b = 0; b < 2; b++)
        {
            double e = 0;
            for (int j = 0; j < 4; j++)
            {
                double p = Sigmoid(logits[b * 4 + j]);
                e += x[b * 4 + j] * Math.Log(p) + (1 - x[b * 4 + j]) * Math.Log(1 - p);
            }
            Assert.That(lp[b], Is.EqualTo(e).Within(1e-12));
        }
        // Stable far in the tails, where log(1 - sigmoid(l)) would round to log 0.
        var far = new Bernoulli(T([40.0, -40.0], 1, 2)).LogProb(T([0.0, 1.0], 1, 2)).Item();
        Assert.That(far, Is.EqualTo(-80).Within(1e-9));
        GradCheck.Check(p => new Bernoulli(p[0]).LogProb(T(x, 2, 4)), GradCheck.Rand(31, -3, 3, 2, 4));
    }

    [Test]
    public void BernoulliEntropyAndKlMatchHandComputedValues()
    {
        double[] lp = [0.4, -1.3, 2.0], lq = [-0.2, 0.5, 1.0];
        double h = 0, kl = 0;
        for (int j = 0; j < 3; j++)
        {
            double p = Sigmoid(lp[j]), q = Sigmoid(lq[j]);
            h += -(p * Math.Log(p) + (1 - p) * Math.Log(1 - p));
            kl += p * Math.Log(p / q) + (1 - p) * Math.Log((1 - p) / (1 - q));
        }
        var bp = new Bernoulli(T(lp, 1, 3));
        var bq = new Bernoulli(T(lq, 1, 3));
        Assert.That(bp.Entropy().Item(), Is.EqualTo(h).Within(1e-12));
        Assert.That(Kl.Divergence(bp, bq).Item(), Is.EqualTo(kl).Within(1e-12));
        Assert.That(Kl.Divergence(bp, bp).Item(), Is.EqualTo(0).Within(1e-15));
        GradCheck.Check(p => Kl.Divergence(new Bernoulli(p[0]), new Bernoulli(p[1])), GradCheck.Rand(32, -2, 2, 2, 3), GradCheck.Rand(33, -2, 2, 2, 3));
        GradCheck.Check(p => new Bernoulli(p[0]).Entropy(), GradCheck.Rand(34, -2, 2, 2, 3));

        // A distribution without reparameterized draws: Kl.MonteCarlo falls back on Sample.
        const int r = 4000;
        var mc = Stats.Of(Kl.MonteCarlo(new Bernoulli(RepeatRows(lp, r)), new Bernoulli(RepeatRows(lq, r)), new Generator(35), 1).ToDoubleArray());
        Assert.That(mc.Mean, Is.EqualTo(kl).Within(Z * mc.Se), $"{mc} vs {kl}");
    }

    [Test]
    public void BernoulliSampleFrequenciesMatchProbabilities()
    {
        double[] logits = [-3, -0.5, 0, 1.5, 4];
        const int n = 20000;
        var b = new Bernoulli(RepeatRows(logits, n));
        Assert.That(b.HasRSample, Is.False);
        var x = b.Sample(new Generator(36)).ToDoubleArray();
        Assert.That(x.All(v => v == 0 || v == 1), Is.True);
        for (int j = 0; j < logits.Length; j++)
        {
            double p = Sigmoid(logits[j]);
            double f = Enumerable.Range(0, n).Average(i => x[i * logits.Length + j]);
            Assert.That(f, Is.EqualTo(p).Within(Z * Math.Sqrt(p * (1 - p) / n)), $"column {j}");
        }
        Assert.Throws<NotSupportedException>(() => b.RSample(new Generator(1)));
        // float32 logits give float32 draws.
        Assert.That(new Bernoulli(Tensor.Zeros(2, 3)).Sample(new Generator(1)).DType, Is.EqualTo(DType.Float32));
    }

    // ------------------------------------------------------------------ Categorical

    [Test]
    public void CategoricalLogProbEntropyAndKlMatchHandComputedValues()
    {
        var lp = Uniform(40, 8, -2, 2); // [2, 4]
        var lq = Uniform(41, 8, -2, 2);
        var p = new Categorical(T(lp, 2, 4));
        var q = new Categorical(T(lq, 2, 4));
        Assert.That(p.Shape, Is.EqualTo(new Shape(2)));
        var logp = p.LogProb(T([3.0, 1.0], 2)).ToDoubleArray();
        var h = p.Entropy().ToDoubleArray();
        var kl = Kl.Divergence(p, q).ToDoubleArray();
        int[] idx = [3, 1];
        for (int b = 0; b < 2; b++)
        {
            var a = LogSoftmax(lp, b * 4, 4);
            var c = LogSoftmax(lq, b * 4, 4);
            Assert.That(logp[b], Is.EqualTo(a[idx[b]]).Within(1e-12));
            Assert.That(h[b], Is.EqualTo(-a.Sum(v => Math.Exp(v) * v)).Within(1e-12));
            Assert.That(kl[b], Is.EqualTo(a.Zip(c).Sum(t => Math.Exp(t.First) * (t.First - t.Second))).Within(1e-12));
        }
        // Leading sample axes: indices [S = 3, B = 2].
        double[] many = [3, 1, 0, 2, 1, 1];
        var lps = p.LogProb(T(many, 3, 2));
        Assert.That(lps.Shape, Is.EqualTo(new Shape(3, 2)));
        var lpsv = lps.ToDoubleArray();
        for (int i = 0; i < 6; i++)
            Assert.That(lpsv[i], Is.EqualTo(LogSoftmax(lp, (i % 2) * 4, 4)[(int)many[i]]).Within(1e-12));
        GradCheck.Check(t => new Categorical(t[0]).LogProb(T([3.0, 1.0], 2)), GradCheck.Rand(42, -2, 2, 2, 4));
        GradCheck.Check(t => new Categorical(t[0]).LogProb(T(many, 3, 2)), GradCheck.Rand(46, -2, 2, 2, 4));
        GradCheck.Check(t => Kl.Divergence(new Categorical(t[0]), new Categorical(t[1])), GradCheck.Rand(43, -2, 2, 2, 4), GradCheck.Rand(44, -2, 2, 2, 4));
        GradCheck.Check(t => new Categorical(t[0]).Entropy(), GradCheck.Rand(45, -2, 2, 2, 4));
    }

    [Test]
    public void CategoricalLogProbRejectsBadIndices()
    {
        var c = new Categorical(T([0.0, 1, 2, 0, 1, 2], 2, 3));
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => c.LogProb(T([0.0, 3.0], 2)));
        Assert.That(ex!.Message, Does.Contain("[0, 3)"));
        Assert.Throws<ArgumentOutOfRangeException>(() => c.LogProb(T([0.5, 1.0], 2)));
        var ex2 = Assert.Throws<ArgumentException>(() => c.LogProb(T([0.0, 1, 2], 3)));
        Assert.That(ex2!.Message, Does.Contain("[3]").And.Contain("[2]"));
        ex2 = Assert.Throws<ArgumentException>(() => c.LogProb(T([0.0, 1, 2, 0, 1, 2], 2, 3)));
        Assert.That(ex2!.Message, Does.Contain("[2, 3]").And.Contain("[2]"));
    }

    [Test]
    public void CategoricalSampleFrequenciesMatchProbabilities()
    {
        double[] logits = [0.2, -1.0, 1.3, 0.0, -2.5];
        int k = logits.Length;
        const int n = 20000;
        var c = new Categorical(RepeatRows(logits, n));
        var x = c.Sample(new Generator(46)).ToDoubleArray();
        Assert.That(x.Length, Is.EqualTo(n));
        var probs = LogSoftmax(logits, 0, k).Select(Math.Exp).ToArray();
        var counts = new int[k];
        foreach (var v in x) counts[(int)v]++;
        double chi2 = 0;
        for (int j = 0; j < k; j++)
        {
            double f = counts[j] / (double)n;
            Assert.That(f, Is.EqualTo(probs[j]).Within(Z * Math.Sqrt(probs[j] * (1 - probs[j]) / n)), $"class {j}");
            chi2 += Math.Pow(counts[j] - n * probs[j], 2) / (n * probs[j]);
        }
        // Pearson's statistic has mean k - 1 and variance 2 (k - 1) under the null.
        int df = k - 1;
        TestContext.Out.WriteLine($"chi-square {chi2:F2} on {df} degrees of freedom");
        Assert.That(chi2, Is.LessThan(df + Z * Math.Sqrt(2.0 * df)));

        // An event with no batch axis: logits [K] give scalar draws, stacked to [k] by Sample(gen, k).
        var single = new Categorical(T(logits));
        Assert.That(single.Shape.Rank, Is.EqualTo(0));
        Assert.That(single.Sample(new Generator(47)).Shape.Rank, Is.EqualTo(0));
        var draws = single.Sample(new Generator(47), 6);
        Assert.That(draws.Shape, Is.EqualTo(new Shape(6)));
        Assert.That(single.LogProb(T([2.0]).Reshape(Shape.Scalar)).Item(), Is.EqualTo(Math.Log(probs[2])).Within(1e-12));
    }

    [Test]
    public void CategoricalKlMonteCarloMatchesClosedForm()
    {
        // Kl.MonteCarlo evaluates log p on draws with a leading sample axis: LogProb must accept it.
        double[] lp = [0.5, -0.3, 1.1], lq = [-0.4, 0.9, 0.2];
        const int r = 2000;
        var p = new Categorical(RepeatRows(lp, r));
        var q = new Categorical(RepeatRows(lq, r));
        double exact = Kl.Divergence(p, q).ToDoubleArray()[0];
        var mc = Stats.Of(Kl.MonteCarlo(p, q, new Generator(48), 3).ToDoubleArray());
        Assert.That(mc.Mean, Is.EqualTo(exact).Within(Z * mc.Se), $"{mc} vs {exact}");
    }
}

using Engine.Models.Distributions;
using Engine.Models.Inference;

namespace Engine.Tests.Inference;

/// <summary>
/// The masked likelihood against its slow, obviously correct twin: the per-pixel terms x l - softplus(l) multiplied by
/// the mask and summed (float64, values and gradients), and the mask's own checks.
/// </summary>
[TestFixture]
public class MaskedLikelihoodTests
{
    private const int B = 3, D = 7, K = 2;

    private static (Tensor Logits, Tensor X, ObservationMask Mask) Case(int seed)
    {
        var g = new Generator((ulong)seed);
        var logits = Tensor.RandNormal(new Shape(K, B, D), g, std: 3, dtype: DType.Float64).RequireGrad();
        var u = Tensor.RandUniform(new Shape(B, D), g, dtype: DType.Float64).ToDoubleArray();
        var x = Tensor.FromArray(u.Select(v => v < 0.4 ? 1.0 : 0.0).ToArray(), B, D);
        var m = Tensor.RandUniform(new Shape(B, D), g).ToFloatArray().Select(v => v < 0.6f ? 1f : 0f).ToArray();
        m[0] = 0; m[D] = 1; // at least one of each
        return (logits, x, new ObservationMask(m, B, D, DType.Float64));
    }

    [Test]
    public void BernoulliValueAndGradientMatchThePerPixelSum()
    {
        var (logits, x, mask) = Case(1);
        var xk = x.Expand(logits.Shape);
        var fast = new MaskedLikelihood(new Bernoulli(logits), mask).LogProb(xk);
        fast.Sum().Backward();
        var fastGrad = logits.Grad!.ToDoubleArray();
        logits.ZeroGrad();
        var slow = ((xk * logits - logits.Softplus()) * mask.Values).Sum(-1);
        slow.Sum().Backward();
        var slowGrad = logits.Grad!.ToDoubleArray();
        Assert.That(fast.Shape, Is.EqualTo(new Shape(K, B)));
        Assert.That(fast.ToDoubleArray(), Is.EqualTo(slow.ToDoubleArray()).Within(1e-12));
        Assert.That(fastGrad, Is.EqualTo(slowGrad).Within(1e-12));
        // No gradient reaches a missing pixel's logit.
        for (int i = 0; i < fastGrad.Length; i++)
            if (!mask.IsObserved(i / D % B, i % D)) Assert.That(fastGrad[i], Is.Zero, $"entry {i}");
    }

    [Test]
    public void NormalValueMatchesThePerDimensionSum()
    {
        var (mu, x, mask) = Case(2);
        var lv = Tensor.RandNormal(mu.Shape, new Generator(9), std: 0.5, dtype: DType.Float64);
        var xk = x.Expand(mu.Shape);
        var fast = new MaskedLikelihood(new Normal(mu, lv), mask).LogProb(xk).ToDoubleArray();
        var perDim = ((lv + Math.Log(2 * Math.PI) + (xk - mu).Square() * lv.Neg().Exp()) * -0.5 * mask.Values).Sum(-1).ToDoubleArray();
        Assert.That(fast, Is.EqualTo(perDim).Within(1e-11));
    }

    [Test]
    public void AnAllObservedMaskChangesNothing()
    {
        var (logits, x, _) = Case(3);
        var full = new Bernoulli(logits).LogProb(x.Expand(logits.Shape)).ToDoubleArray();
        var masked = new MaskedLikelihood(new Bernoulli(logits), ObservationMask.AllObserved(B, D).To(DType.Float64)).LogProb(x.Expand(logits.Shape)).ToDoubleArray();
        Assert.That(masked, Is.EqualTo(full).Within(1e-12));
    }

    [Test]
    public void EntropyCountsObservedEntriesOnly()
    {
        var (logits, _, mask) = Case(4);
        var h = new MaskedLikelihood(new Bernoulli(logits), mask).Entropy().ToDoubleArray();
        var p = logits.Sigmoid().ToDoubleArray();
        for (int r = 0; r < K * B; r++)
        {
            double e = 0;
            for (int j = 0; j < D; j++)
            {
                if (!mask.IsObserved(r % B, j)) continue;
                double q = p[r * D + j];
                e -= q * Math.Log(q) + (1 - q) * Math.Log(1 - q);
            }
            Assert.That(h[r], Is.EqualTo(e).Within(1e-9), $"row {r}");
        }
    }

    [Test]
    public void MasksOfTheLecture()
    {
        var top = ObservationMask.TopHalf(28, 28);
        Assert.That(top.Rows, Is.EqualTo(1));
        Assert.That(top.MissingPerRow[0], Is.EqualTo(14 * 28));
        Assert.That(top.IsObserved(0, 13 * 28 + 5), Is.False);
        Assert.That(top.IsObserved(0, 14 * 28), Is.True);
        var random = ObservationMask.MissingAtRandom(64, 784, 0.3, new Generator(1));
        double fraction = random.MissingPerRow.Sum() / (64.0 * 784);
        Assert.That(fraction, Is.EqualTo(0.3).Within(0.01));
        Assert.That(random.MissingPerRow.Distinct().Count(), Is.GreaterThan(1), "each image gets its own missing pixels");
        var hidden = top.Hide(Enumerable.Repeat(1f, 784).ToArray(), 0.5f);
        Assert.That(hidden.Count(v => v == 0.5f), Is.EqualTo(14 * 28));
    }

    [Test]
    public void ClearErrors()
    {
        var e = Assert.Throws<ArgumentException>(() => new ObservationMask([1f, 0.5f], 1, 2));
        Assert.That(e!.Message, Does.Contain("0.5"));
        var mask = ObservationMask.TopHalf(4, 4);
        e = Assert.Throws<ArgumentException>(() => new MaskedLikelihood(new Bernoulli(Tensor.Zeros(2, 9)), mask));
        Assert.That(e!.Message, Does.Contain("[2, 9]").And.Contain("[1, 16]"));
        Assert.Throws<ArgumentOutOfRangeException>(() => ObservationMask.HideRectangle(4, 4, 2, 0, 3, 4));
        Assert.Throws<ArgumentOutOfRangeException>(() => ObservationMask.MissingAtRandom(2, 4, 1.5, new Generator(0)));
    }
}

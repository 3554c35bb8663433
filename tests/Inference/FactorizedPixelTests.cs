using Engine.Models.Distributions;
using Engine.Models.Inference;
using Engine.Models.Vae;

namespace Engine.Tests.Inference;

/// <summary>
/// The masked model and the factorized q over missing pixels on a small random Bernoulli VAE, with common random
/// numbers (the same generator seed gives the same draws of z), so identities hold draw by draw.
/// </summary>
[TestFixture]
public class FactorizedPixelTests
{
    private const int D = 12, L = 2, B = 4, S = 3;

    private static VariationalAutoencoder Vae() => new(new VaeOptions { InputSize = D, Hidden = [8], LatentSize = L }, new Generator(1));

    private static Tensor Data() => Tensor.FromArray(Tensor.RandUniform(new Shape(B, D), new Generator(2)).ToFloatArray().Select(v => v < 0.5f ? 1f : 0f).ToArray(), B, D);

    private static ObservationMask Mask() => ObservationMask.HideRectangle(3, 4, 0, 0, 1, 4); // the top row of a 3x4 image

    private static Normal Q(Tensor x, VariationalAutoencoder vae) => (Normal)new PartiallyObservedModel(vae, Mask()).Posterior(x);

    [Test]
    public void AnAllObservedMaskGivesTheCompleteDataLogWeights()
    {
        var vae = Vae();
        var x = Data();
        var q = vae.Posterior(x);
        var full = Estimators.ComputeLogWeights(vae, x, q, S, new Generator(3)).LogW.ToDoubleArray();
        var masked = Estimators.ComputeLogWeights(new PartiallyObservedModel(vae, ObservationMask.AllObserved(1, D)), x, q, S, new Generator(3)).LogW.ToDoubleArray();
        Assert.That(masked, Is.EqualTo(full).Within(1e-4));
    }

    [Test]
    public void FactorizedPixelElboFallsShortOfTheMaskedElboByTheirKl()
    {
        // L_factorized = ELBO_masked - E_q(z) KL(q(x_mis) || p(x_mis | z)): never above it, equal when q(x_mis) is p(x_mis | z).
        var vae = Vae();
        var x = Data();
        var mask = Mask();
        var observed = new PartiallyObservedModel(vae, mask);
        var qz = Q(x, vae);
        var masked = Estimators.Elbo(new NonAmortizedModel(observed, qz), x, new Generator(4), 1).ToDoubleArray();
        var phi = Tensor.RandNormal(x.Shape, new Generator(5), std: 2);
        var factorized = FactorizedPixelInference.Elbo(vae, x, mask, phi, qz, new Generator(4), 1).ToDoubleArray();
        // The KL of the same single draw, in plain C#.
        var z = qz.RSample(new Generator(4), 1);
        var p = ((Bernoulli)vae.Likelihood(z)).Probs.ToDoubleArray();
        var pi = phi.Sigmoid().ToDoubleArray();
        for (int b = 0; b < B; b++)
        {
            double kl = 0;
            for (int j = 0; j < D; j++)
            {
                if (mask.IsObserved(b, j)) continue;
                double a = pi[b * D + j], c = p[b * D + j];
                kl += a * Math.Log(a / c) + (1 - a) * Math.Log((1 - a) / (1 - c));
            }
            Assert.That(factorized[b], Is.EqualTo(masked[b] - kl).Within(1e-3), $"row {b}");
            Assert.That(kl, Is.GreaterThan(0));
        }
        // With q(x_mis) set to p(x_mis | z) of that draw, the two coincide.
        var matched = FactorizedPixelInference.Elbo(vae, x, mask, vae.Likelihood(z).Squeeze0Logits(), qz, new Generator(4), 1).ToDoubleArray();
        Assert.That(matched, Is.EqualTo(masked).Within(1e-3));
    }

    [Test]
    public void FittingTheFactorizedPixelsRaisesTheirElbo()
    {
        var vae = Vae();
        var x = Data();
        var fit = FactorizedPixelInference.Fit(vae, x, Mask(), new Generator(6), new LocalInferenceOptions { Steps = 200 });
        var start = FactorizedPixelInference.Elbo(vae, x, Mask(), Tensor.Zeros(x.Shape), Q(x, vae), new Generator(7), 200).Mean().Item();
        var end = FactorizedPixelInference.Elbo(vae, x, Mask(), fit.PixelLogits, fit.Latent, new Generator(7), 200).Mean().Item();
        TestContext.Out.WriteLine($"ELBO of the joint model: {start:F4} at pi = 1/2 and the encoder's q(z), {end:F4} fitted");
        Assert.That(end, Is.GreaterThan(start + 0.1));
        var filled = fit.Fill(x.ToFloatArray());
        var xs = x.ToFloatArray();
        for (int i = 0; i < filled.Length; i++)
            if (Mask().IsObserved(i / D, i % D)) Assert.That(filled[i], Is.EqualTo(xs[i]));
            else Assert.That(filled[i], Is.InRange(0f, 1f));
    }
}

internal static class BernoulliTestExtensions
{
    /// <summary>The logits [B, D] of a likelihood over [1, B, D].</summary>
    public static Tensor Squeeze0Logits(this Distribution p) => ((Bernoulli)p).Logits.Squeeze(0);
}

using Engine.Autograd;
using Engine.Models.Distributions;
using Engine.Models.Vae;
using Engine.Optim;

namespace Engine.Models.Inference;

/// <summary>
/// A fitted q(x_mis; phi) q(z; mu, sigma): a factorized Bernoulli over the missing pixels themselves, with a diagonal
/// Gaussian over z beside it.
/// </summary>
public sealed class FactorizedPixelPosterior
{
    internal FactorizedPixelPosterior(Tensor pixelLogits, Normal latent, ObservationMask mask, double[] trace)
    {
        PixelLogits = pixelLogits;
        Latent = latent;
        Mask = mask;
        Trace = trace;
    }

    /// <summary>phi [B, D]: logits of q(x_j = 1) (only the missing entries mean anything).</summary>
    public Tensor PixelLogits { get; }

    /// <summary>q(z) [B, L].</summary>
    public Normal Latent { get; }

    public ObservationMask Mask { get; }

    /// <summary>The batch-mean ELBO at every step (one-sample estimates).</summary>
    public IReadOnlyList<double> Trace { get; }

    /// <summary>x with its missing entries replaced by q(x_j = 1) = sigmoid(phi_j).</summary>
    public float[] Fill(float[] x)
    {
        float[] p;
        using (GradMode.NoGrad())
        using (TensorScope.Begin())
            p = PixelLogits.Sigmoid().ToFloatArray();
        return Inpainting.Merge(x, p, Mask);
    }
}

/// <summary>
/// The lecture's simple alternative for missing pixels: treat x_mis as latent variables with their own factorized
/// q(x_mis; phi) = prod_j Bernoulli(sigmoid(phi_j)), and fit phi by maximizing the ELBO of the joint model
/// p(x_obs, x_mis, z). With the VAE's z alongside, the variational family is mean-field, q(x_mis; phi) q(z; mu, sigma):
/// <code>
/// L = E_q(z) [ sum_obs log p(x_j | z) + sum_mis (pi_j l_j(z) - softplus(l_j(z))) ] - KL(q(z) || p(z)) + H(q(x_mis))
/// </code>
/// with pi = sigmoid(phi) and l the decoder's logits. The expectation over the discrete x_mis is exact, not sampled:
/// log p(x | z) is linear in x for Bernoulli pixels, so E_q(x_mis) puts pi where x_mis was. Its gradient in phi is
/// therefore exact (no score-function estimator is needed), z is reparameterized with the closed-form KL.
/// <para>L equals the masked ELBO of <see cref="PartiallyObservedModel"/> for the same q(z) minus
/// E_q(z)[KL(q(x_mis) || p(x_mis | z))]: a factorized q over pixels, independent of z, can never beat summing the
/// pixels out exactly, which is the comparison this class exists for.</para>
/// </summary>
public static class FactorizedPixelInference
{
    /// <summary>
    /// Fits phi (from 0: pi = 1/2 everywhere, the lecture's first guess) and q(z) (from the encoder fed the masked
    /// input, or the prior) by Adam with the options' steps and learning-rate schedule; the model's parameters stay
    /// frozen. Needs a Bernoulli decoder. phi's step size is <paramref name="pixelLearningRateScale"/> times the
    /// options' (the logits must travel from 0 to several units, and their gradient pi (1 - pi) (E_q[l] - phi) shrinks
    /// as they go).
    /// </summary>
    public static FactorizedPixelPosterior Fit(ILatentVariableModel model, Tensor x, ObservationMask mask, Generator gen, LocalInferenceOptions? options = null,
        double pixelLearningRateScale = 4)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentNullException.ThrowIfNull(gen);
        options ??= new LocalInferenceOptions();
        if (model is PartiallyObservedModel po) model = po.Model;
        mask.CheckBatch(x, nameof(x));
        if (x.Rank != 2) throw new ArgumentException($"Expected a batch [B, D]; got {x.Shape}.", nameof(x));
        LocalVariationalInference.CheckGradients();
        var (mean, logVar) = LocalVariationalInference.Start(new PartiallyObservedModel(model, mask), x, options.Start);
        Tensor phi;
        using (TensorScope.Suspend()) phi = Tensor.Zeros(x.Shape, x.DType).RequireGrad();
        var qz = new Normal(mean, logVar);
        if (!(pixelLearningRateScale > 0)) throw new ArgumentOutOfRangeException(nameof(pixelLearningRateScale), $"The scale must be positive; got {pixelLearningRateScale}.");
        var adam = new Adam([mean, logVar], options.LearningRate, beta2: options.Beta2);
        var pixelAdam = new Adam([phi], options.LearningRate * pixelLearningRateScale, beta2: options.Beta2);
        var trace = new double[options.Steps];
        using (FrozenParameters.Of(model))
        {
            for (int step = 0; step < options.Steps; step++)
            {
                using var scope = TensorScope.Begin();
                adam.LearningRate = LocalVariationalInference.CosineStep(options, step);
                pixelAdam.LearningRate = adam.LearningRate * pixelLearningRateScale;
                var elbo = Elbo(model, x, mask, phi, qz, gen, options.Samples);
                var loss = elbo.Sum().Neg();
                adam.ZeroGrad();
                pixelAdam.ZeroGrad();
                loss.Backward();
                adam.Step();
                pixelAdam.Step();
                trace[step] = elbo.Mean().Item();
                if (!double.IsFinite(trace[step]))
                    throw new InvalidOperationException($"The factorized pixel posterior diverged at step {step}: the ELBO is {trace[step]}. Lower the learning rate.");
            }
        }
        mean.RequiresGrad = false;
        logVar.RequiresGrad = false;
        phi.RequiresGrad = false;
        return new FactorizedPixelPosterior(phi, qz, mask, trace);
    }

    /// <summary>
    /// L per row for pixel logits phi [B, D] and q(z), with <paramref name="samples"/> reparameterized draws of z
    /// (differentiable in phi, mu and sigma).
    /// </summary>
    public static Tensor Elbo(ILatentVariableModel model, Tensor x, ObservationMask mask, Tensor pixelLogits, Normal qz, Generator gen, int samples = 1)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(pixelLogits);
        ArgumentNullException.ThrowIfNull(qz);
        if (model is PartiallyObservedModel po) model = po.Model;
        mask.CheckBatch(x, nameof(x));
        if (pixelLogits.Shape != x.Shape) throw new ArgumentException($"Pixel logits {pixelLogits.Shape} must have the data's shape {x.Shape}.", nameof(pixelLogits));
        var z = qz.RSample(gen, samples);                                // [S, B, L]
        if (model.Likelihood(z) is not Bernoulli px)
            throw new NotSupportedException("A factorized Bernoulli q over missing pixels needs a Bernoulli decoder.");
        var m = mask.Values.DType == x.DType ? mask.Values : mask.Values.To(x.DType);
        var missing = 1.0 - m;
        var pi = pixelLogits.Sigmoid();
        var targets = x * m + pi * missing;                              // E_q(x_mis)[x]
        var expectedLogLik = Tensor.BceWithLogits(px.Logits, targets.Expand(px.Shape)).Neg().Mean(0);
        var kl = Kl.Divergence(qz, model.Prior(x.Shape[0], x.DType));
        var entropy = ((pixelLogits.Softplus() - pi * pixelLogits) * missing).Sum(-1);
        return expectedLogLik - kl + entropy;
    }
}

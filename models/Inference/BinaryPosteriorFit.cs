using Engine.Autograd;
using Engine.Models.Distributions;
using Engine.Optim;

namespace Engine.Models.Inference;

/// <summary>How the gradient of the ELBO in the logits of a factorized Bernoulli q(z; phi) is computed.</summary>
public enum BinaryGradient
{
    /// <summary>
    /// The score-function (REINFORCE) estimator of grad E_q[log p(x, z)] = E_q[log p(x, z) grad log q(z)], with the
    /// leave-one-out baseline of Kool, van Hoof and Welling (2019): each of the S draws is centered by the mean of the
    /// other S - 1, which keeps it unbiased and cuts its variance; the entropy's gradient is exact. Works for any d.
    /// </summary>
    ScoreFunction,
    /// <summary>The exact gradient through an ELBO summed over all 2^d completions (small d only).</summary>
    Exact,
}

/// <summary>How q(z; phi) is fitted.</summary>
public sealed record BinaryFitOptions
{
    public int Steps { get; init; } = 300;
    public double LearningRate { get; init; } = 0.1;
    public double FinalLearningRate { get; init; } = 0.01;
    /// <summary>Draws per data point and step for the score-function estimator (at least 2, for the baseline).</summary>
    public int Samples { get; init; } = 16;
    public BinaryGradient Gradient { get; init; } = BinaryGradient.ScoreFunction;
}

/// <summary>A fitted factorized Bernoulli q(z; phi) and the batch-mean ELBO estimate at every step.</summary>
public sealed record BinaryPosterior(Bernoulli Q, IReadOnlyList<double> Trace);

/// <summary>Per-data-point variational inference for a <see cref="BinaryLatentModel"/>: phi maximizes the ELBO with the decoder fixed.</summary>
public static class BinaryPosteriorFit
{
    /// <summary>Fits phi [B, d] from 0 (q uniform, the prior) by Adam with a cosine-decayed step size.</summary>
    public static BinaryPosterior Fit(BinaryLatentModel model, Tensor x, Generator gen, BinaryFitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(gen);
        options ??= new BinaryFitOptions();
        model.CheckData(x);
        if (options.Steps < 0) throw new ArgumentOutOfRangeException(nameof(options), $"Steps must be non-negative; got {options.Steps}.");
        if (options.Gradient == BinaryGradient.ScoreFunction && options.Samples < 2)
            throw new ArgumentOutOfRangeException(nameof(options), $"The leave-one-out baseline needs at least 2 samples; got {options.Samples}.");
        if (options.Gradient == BinaryGradient.Exact) model.CheckEnumerable();
        LocalVariationalInference.CheckGradients();
        Tensor phi;
        using (TensorScope.Suspend()) phi = Tensor.Zeros(new Shape(x.Shape[0], model.LatentBits), model.DType).RequireGrad();
        var adam = new Adam([phi], options.LearningRate);
        var schedule = new LocalInferenceOptions { Steps = options.Steps, LearningRate = options.LearningRate, FinalLearningRate = options.FinalLearningRate };
        var trace = new double[options.Steps];
        using (FrozenParameters.Of(model))
        {
            for (int step = 0; step < options.Steps; step++)
            {
                using var scope = TensorScope.Begin();
                adam.LearningRate = LocalVariationalInference.CosineStep(schedule, step);
                var (surrogate, elbo) = options.Gradient == BinaryGradient.Exact
                    ? Exact(model, x, phi)
                    : ScoreFunction(model, x, phi, gen, options.Samples);
                adam.ZeroGrad();
                surrogate.Sum().Neg().Backward();
                adam.Step();
                trace[step] = elbo;
            }
        }
        phi.RequiresGrad = false;
        return new BinaryPosterior(new Bernoulli(phi), trace);
    }

    private static (Tensor Surrogate, double Elbo) Exact(BinaryLatentModel model, Tensor x, Tensor phi)
    {
        var elbo = BinaryLatentEstimators.ExactElbo(model, x, phi);
        return (elbo, elbo.Mean().Item());
    }

    // surrogate = (1/S) sum_s A_s log q(z_s) + H(q), A_s = S/(S-1) (f_s - mean f): its gradient is the RLOO estimate.
    private static (Tensor Surrogate, double Elbo) ScoreFunction(BinaryLatentModel model, Tensor x, Tensor phi, Generator gen, int samples)
    {
        var q = new Bernoulli(phi);
        Tensor z, advantage;
        double elbo;
        using (GradMode.NoGrad())
        {
            z = BinaryLatentEstimators.Draw(q, gen, samples);        // [S, B, d]
            var f = model.LogJoint(x, z);                            // [S, B]
            advantage = (f - f.Mean(0)).Mul(samples / (samples - 1.0));
            elbo = (f - q.LogProb(z)).Mean().Item();
        }
        return ((advantage * q.LogProb(z)).Mean(0) + q.Entropy(), elbo);
    }
}

using Engine.Autograd;
using Engine.Models.Distributions;
using Engine.Models.Vae;
using Engine.Optim;

namespace Engine.Models.Inference;

/// <summary>Where per-data-point inference starts phi = (mu, log sigma^2).</summary>
public enum VariationalStart
{
    /// <summary>At the encoder's output q(z | x): the amortized guess, refined.</summary>
    Encoder,
    /// <summary>At the prior p(z): no help from the encoder.</summary>
    Prior,
}

/// <summary>How q(z; phi) is fitted to one batch.</summary>
public sealed record LocalInferenceOptions
{
    /// <summary>Adam steps.</summary>
    public int Steps { get; init; } = 100;
    /// <summary>Adam's initial step size; it decays along a half cosine to <see cref="FinalLearningRate"/>.</summary>
    public double LearningRate { get; init; } = 0.1;
    /// <summary>The step size at the last step (the decay averages out the gradient noise at the end).</summary>
    public double FinalLearningRate { get; init; } = 0.01;
    /// <summary>
    /// Adam's second-moment decay. Shorter than the usual 0.999: the gradients shrink by orders of magnitude as q
    /// closes in on the posterior, and a long memory of the first large ones would stall the last steps.
    /// </summary>
    public double Beta2 { get; init; } = 0.99;
    /// <summary>Reparameterized draws of z per data point and step.</summary>
    public int Samples { get; init; } = 1;
    public VariationalStart Start { get; init; } = VariationalStart.Encoder;
    /// <summary>
    /// Sticking the landing by default (Roeder et al. 2017): its gradient vanishes when q is the exact posterior, so
    /// the fit settles there instead of jittering around it. Reparameterization uses the ELBO with the closed-form KL.
    /// </summary>
    public GradientEstimator Estimator { get; init; } = GradientEstimator.StickingTheLanding;
}

/// <summary>A fitted non-amortized q(z; phi) = N(mu, diag exp(logvar)), one row of parameters per data point.</summary>
public sealed class LocalPosterior
{
    internal LocalPosterior(Tensor mean, Tensor logVariance, double[] trace)
    {
        Mean = mean;
        LogVariance = logVariance;
        Distribution = new Normal(mean, logVariance);
        Trace = trace;
    }

    /// <summary>mu [B, L].</summary>
    public Tensor Mean { get; }

    /// <summary>log sigma^2 [B, L].</summary>
    public Tensor LogVariance { get; }

    /// <summary>q(z; phi) over [B, L].</summary>
    public Normal Distribution { get; }

    /// <summary>The batch-mean objective at every step (the optimizer's own one-sample estimates: noisy).</summary>
    public IReadOnlyList<double> Trace { get; }

    /// <summary>The model with q in place of its encoder, for <see cref="Estimators"/> (ELBO, log p(x) with q as proposal).</summary>
    public NonAmortizedModel Over(ILatentVariableModel model) => new(model, Distribution);
}

/// <summary>
/// Per-data-point variational inference. For any q(z; phi), log p(x) = ELBO(x; theta, phi) + KL(q(z; phi) || p(z | x));
/// with the decoder theta fixed, maximizing the ELBO over phi alone (a separate phi for every data point, no encoder)
/// moves q towards the posterior and tightens the bound. The part of the encoder's gap that this closes is the
/// amortization gap; what remains is the approximation gap of the Gaussian family (Cremer et al. 2018).
/// </summary>
public static class LocalVariationalInference
{
    /// <summary>
    /// Fits q(z; phi) to the rows of <paramref name="x"/> [B, D] by Adam on the batch-mean ELBO: each row's phi gets
    /// its own row's gradient only, and Adam's per-coordinate scaling makes the 1/B irrelevant, so the rows are fitted
    /// independently, as if one at a time. The model's parameters are frozen meanwhile. Pass a <see cref="PartiallyObservedModel"/>
    /// to condition on observed pixels only.
    /// </summary>
    public static LocalPosterior Fit(ILatentVariableModel model, Tensor x, Generator gen, LocalInferenceOptions? options = null, Action<int, int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(gen);
        options ??= new LocalInferenceOptions();
        Check(options);
        if (x.Rank != 2) throw new ArgumentException($"Per-data-point inference needs a batch [B, D]; got {x.Shape}.", nameof(x));
        CheckGradients();
        var (mean, logVar) = Start(model, x, options.Start);
        var q = new Normal(mean, logVar);
        var local = new NonAmortizedModel(model, q);
        var objective = new ObjectiveOptions(
            options.Estimator == GradientEstimator.Reparameterization ? Objective.Elbo : Objective.ElboMonteCarlo,
            options.Samples, options.Estimator);
        var adam = new Adam([mean, logVar], options.LearningRate, beta2: options.Beta2);
        var trace = new double[options.Steps];
        using (FrozenParameters.Of(model))
        {
            for (int step = 0; step < options.Steps; step++)
            {
                using var scope = TensorScope.Begin();
                adam.LearningRate = CosineStep(options, step);
                var (loss, _) = Estimators.Loss(local, x, gen, objective);
                adam.ZeroGrad();
                loss.Backward();
                adam.Step();
                trace[step] = -loss.Item();
                if (!double.IsFinite(trace[step]))
                    throw new InvalidOperationException($"Per-data-point inference diverged at step {step}: the ELBO is {trace[step]}. Lower the learning rate.");
                progress?.Invoke(step + 1, options.Steps);
            }
        }
        mean.RequiresGrad = false;
        logVar.RequiresGrad = false;
        return new LocalPosterior(mean, logVar, trace);
    }

    /// <summary>The ELBO per data point of a q over [B, L] (analytic KL when it exists), averaged over <paramref name="samples"/> draws.</summary>
    public static double[] Elbo(ILatentVariableModel model, Tensor x, Distribution q, Generator gen, int samples = 100)
    {
        using var _ = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        return Estimators.Elbo(new NonAmortizedModel(model, q), x, gen, samples).ToDoubleArray();
    }

    internal static void CheckGradients()
    {
        if (!GradMode.Enabled)
            throw new InvalidOperationException("Fitting q follows the gradient of the ELBO; call it outside GradMode.NoGrad().");
    }

    // lr_t = final + (lr - final) (1 + cos(pi t / T)) / 2
    internal static double CosineStep(LocalInferenceOptions o, int step) =>
        o.FinalLearningRate + (o.LearningRate - o.FinalLearningRate) * 0.5 * (1 + Math.Cos(Math.PI * step / Math.Max(o.Steps - 1, 1)));

    private static void Check(LocalInferenceOptions o)
    {
        if (o.Steps < 0) throw new ArgumentOutOfRangeException(nameof(o), $"Steps must be non-negative; got {o.Steps}.");
        if (o.Samples <= 0) throw new ArgumentOutOfRangeException(nameof(o), $"Samples must be positive; got {o.Samples}.");
        if (!(o.LearningRate > 0) || !(o.FinalLearningRate >= 0))
            throw new ArgumentOutOfRangeException(nameof(o), $"Learning rates must be positive; got {o.LearningRate} (final {o.FinalLearningRate}).");
    }

    // Fresh leaves holding the starting phi (copies, kept beyond any scope the caller has open).
    internal static (Tensor Mean, Tensor LogVariance) Start(ILatentVariableModel model, Tensor x, VariationalStart start)
    {
        using var _ = GradMode.NoGrad();
        var q = start == VariationalStart.Encoder ? model.Posterior(x) : model.Prior(x.Shape[0], x.DType);
        if (q is not Normal n)
            throw new NotSupportedException($"Per-data-point inference fits a diagonal Gaussian; the {(start == VariationalStart.Encoder ? "encoder" : "prior")} gives a {q.GetType().Name}.");
        if (n.Shape != new Shape(x.Shape[0], model.LatentSize))
            throw new ArgumentException($"The {(start == VariationalStart.Encoder ? "encoder" : "prior")} gives a distribution over {n.Shape}; expected [{x.Shape[0]}, {model.LatentSize}].", nameof(x));
        return (Copy(n.Mean), Copy(n.LogVariance));
    }

    internal static Tensor Copy(Tensor t)
    {
        Tensor c;
        using (TensorScope.Suspend()) c = Tensor.Zeros(t.Shape, t.DType);
        c.Device.Backend.Copy(t, c, accumulate: false);
        return c.RequireGrad();
    }
}

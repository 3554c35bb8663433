using Engine.Models.Vae;

namespace Engine.Models.Inference;

/// <summary>
/// Per data point (nats): the encoder's ELBO, the ELBO after per-data-point optimization of q, and log p(x) by
/// importance sampling. log p(x) - ELBO_encoder is the inference gap; it splits into the amortization gap
/// (ELBO_optimized - ELBO_encoder) and the approximation gap (log p(x) - ELBO_optimized = KL(q* || p(z | x)), the
/// price of the Gaussian family), after Cremer, Li and Duvenaud (2018), "Inference Suboptimality in VAEs".
/// </summary>
public sealed record InferenceGapReport(double[] EncoderElbo, double[] OptimizedElbo, double[] LogLikelihood, int ImportanceSamples)
{
    public double MeanEncoderElbo => EncoderElbo.Average();
    public double MeanOptimizedElbo => OptimizedElbo.Average();
    public double MeanLogLikelihood => LogLikelihood.Average();
    /// <summary>Mean of ELBO_optimized - ELBO_encoder.</summary>
    public double AmortizationGap => MeanOptimizedElbo - MeanEncoderElbo;
    /// <summary>Mean of log p(x) - ELBO_optimized: the KL from the best q of the family to the posterior.</summary>
    public double ApproximationGap => MeanLogLikelihood - MeanOptimizedElbo;
    /// <summary>Mean of log p(x) - ELBO_encoder.</summary>
    public double InferenceGap => MeanLogLikelihood - MeanEncoderElbo;

    /// <summary>Rows from another batch appended (for data sets measured batch by batch).</summary>
    public InferenceGapReport Append(InferenceGapReport other) =>
        new([.. EncoderElbo, .. other.EncoderElbo], [.. OptimizedElbo, .. other.OptimizedElbo], [.. LogLikelihood, .. other.LogLikelihood], ImportanceSamples);
}

/// <summary>Measures the amortization and approximation gaps of a model on a batch.</summary>
public static class InferenceGaps
{
    /// <summary>
    /// Fits q per data point (from the encoder unless the options say otherwise) and reports the three figures. The
    /// ELBOs average <paramref name="elboSamples"/> draws with the closed-form KL; log p(x) uses
    /// <paramref name="k"/> importance samples from the better of the two q (the optimized one), in bounded-memory
    /// chunks. Pass a <see cref="PartiallyObservedModel"/> to measure everything for the observed pixels: log p(x_obs).
    /// </summary>
    public static (InferenceGapReport Report, LocalPosterior Posterior) Measure(ILatentVariableModel model, Tensor x, Generator gen,
        LocalInferenceOptions? options = null, int k = 5000, int elboSamples = 100, Action<int, int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(x);
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), $"The number of importance samples must be positive; got {k}.");
        if (elboSamples <= 0) throw new ArgumentOutOfRangeException(nameof(elboSamples), $"The number of ELBO samples must be positive; got {elboSamples}.");
        double[] encoder;
        using (Autograd.GradMode.NoGrad())
        using (TensorScope.Begin())
            encoder = Estimators.Elbo(model, x, gen, elboSamples).ToDoubleArray();
        var fitted = LocalVariationalInference.Fit(model, x, gen, options, progress);
        var local = fitted.Over(model);
        var optimized = LocalVariationalInference.Elbo(model, x, fitted.Distribution, gen, elboSamples);
        var logPx = Estimators.LogLikelihood(local, x, gen, k);
        return (new InferenceGapReport(encoder, optimized, logPx, k), fitted);
    }
}

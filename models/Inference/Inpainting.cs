using Engine.Autograd;
using Engine.Models.Distributions;
using Engine.Models.Vae;

namespace Engine.Models.Inference;

/// <summary>
/// How well filled-in entries match the truth, over the missing entries only: accuracy of the thresholded values
/// (both at 0.5: the right measure for binary pixels), the cross-entropy of the filled probabilities against the
/// truth in nats per missing entry (the proper score: it rewards calibrated uncertainty), and the mean absolute error.
/// </summary>
public sealed record InpaintingScore(double Accuracy, double CrossEntropy, double MeanAbsoluteError, long MissingEntries)
{
    /// <summary>Scores <paramref name="filled"/> (values in [0, 1]) against <paramref name="truth"/> on the entries the mask hides.</summary>
    public static InpaintingScore Of(float[] filled, float[] truth, ObservationMask mask)
    {
        ArgumentNullException.ThrowIfNull(filled);
        ArgumentNullException.ThrowIfNull(truth);
        ArgumentNullException.ThrowIfNull(mask);
        if (filled.Length != truth.Length || truth.Length % mask.Dimension != 0 || (mask.Rows != 1 && truth.Length != mask.Rows * mask.Dimension))
            throw new ArgumentException($"InpaintingScore: filled ({filled.Length}) and truth ({truth.Length}) must have one length that matches the mask [{mask.Rows}, {mask.Dimension}].", nameof(filled));
        long n = 0, right = 0;
        double ce = 0, mae = 0;
        int d = mask.Dimension;
        for (int i = 0; i < truth.Length; i++)
        {
            if (mask.IsObserved(i / d, i % d)) continue;
            n++;
            double p = Math.Clamp(filled[i], 1e-6, 1 - 1e-6), t = truth[i];
            if ((filled[i] > 0.5f) == (truth[i] > 0.5f)) right++;
            ce -= t * Math.Log(p) + (1 - t) * Math.Log(1 - p);
            mae += Math.Abs(filled[i] - t);
        }
        return n == 0 ? new InpaintingScore(double.NaN, double.NaN, double.NaN, 0) : new InpaintingScore((double)right / n, ce / n, mae / n, n);
    }
}

/// <summary>What <see cref="Inpainting.Run"/> does.</summary>
public sealed record InpaintingOptions
{
    /// <summary>Per-data-point inference of q(z) from the observed pixels (from the encoder fed the masked input).</summary>
    public LocalInferenceOptions Inference { get; init; } = new();
    /// <summary>Draws z ~ q averaged in the posterior predictive mean.</summary>
    public int PredictiveSamples { get; init; } = 32;
    /// <summary>k for log p(x_obs) by importance sampling.</summary>
    public int ImportanceSamples { get; init; } = 5000;
    /// <summary>Draws per data point for the reported ELBOs.</summary>
    public int ElboSamples { get; init; } = 100;
    /// <summary>Also fit the lecture's factorized Bernoulli q(x_mis; phi) (Bernoulli decoders only).</summary>
    public bool FactorizedPixels { get; init; } = true;
}

/// <summary>
/// One batch inpainted: the images as given, masked (missing entries at <see cref="MissingShade"/>), and filled by the
/// encoder's q (amortized), by per-data-point q (VI), and by the factorized pixel posterior (when fitted); all
/// row-major [B, D]. <see cref="Gaps"/> holds the ELBOs and log p(x_obs) of the observed pixels, per image;
/// <see cref="FactorizedElbo"/> the ELBO of the joint model under the factorized q.
/// </summary>
public sealed record InpaintingBatch(float[] Truth, float[] Masked, float[] EncoderFilled, float[] Filled, float[]? FactorizedFilled,
    InferenceGapReport Gaps, double[]? FactorizedElbo)
{
    /// <summary>The grey level that marks a missing pixel in <see cref="Masked"/>.</summary>
    public const float MissingShade = 0.5f;
}

/// <summary>
/// Filling in missing pixels. With q(z) fitted to the observed pixels, the missing ones are predicted by the posterior
/// predictive p(x_mis | x_obs) ~ E_q[p(x_mis | z)]: its mean E_q[E[x_mis | z]] is what is drawn and scored. The
/// baseline fills every missing pixel with its mean over a training set, ignoring what is observed.
/// </summary>
public static class Inpainting
{
    /// <summary>
    /// Everything the lecture asks of a batch with missing pixels: log p(x_obs) by importance sampling (with the
    /// per-data-point q as proposal), the ELBO of the observed pixels under the encoder fed the masked input and after
    /// per-data-point inference, the missing pixels filled from each, and the factorized-pixel alternative.
    /// </summary>
    public static InpaintingBatch Run(ILatentVariableModel model, Tensor x, ObservationMask mask, Generator gen, InpaintingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(mask);
        options ??= new InpaintingOptions();
        mask.CheckBatch(x, nameof(x));
        if (model is PartiallyObservedModel po) model = po.Model;
        var observed = new PartiallyObservedModel(model, mask);
        var (gaps, fitted) = InferenceGaps.Measure(observed, x, gen, options.Inference, options.ImportanceSamples, options.ElboSamples);
        var truth = x.ToFloatArray();
        float[] encoderFilled;
        using (GradMode.NoGrad())
        using (TensorScope.Begin())
            encoderFilled = Fill(model, x, mask, observed.Posterior(x), gen, options.PredictiveSamples);
        var filled = Fill(model, x, mask, fitted.Distribution, gen, options.PredictiveSamples);
        float[]? factorizedFilled = null;
        double[]? factorizedElbo = null;
        bool bernoulli;
        using (GradMode.NoGrad())
        using (TensorScope.Begin())
            bernoulli = model.Likelihood(Tensor.Zeros(new Shape(1, model.LatentSize), x.DType)) is Bernoulli;
        if (options.FactorizedPixels && bernoulli && mask.MissingPerRow.Any(n => n > 0))
        {
            var f = FactorizedPixelInference.Fit(model, x, mask, gen, options.Inference);
            factorizedFilled = f.Fill(truth);
            using (GradMode.NoGrad())
            using (TensorScope.Begin())
                factorizedElbo = FactorizedPixelInference.Elbo(model, x, mask, f.PixelLogits, f.Latent, gen, options.ElboSamples).ToDoubleArray();
        }
        return new InpaintingBatch(truth, mask.Hide(truth, InpaintingBatch.MissingShade), encoderFilled, filled, factorizedFilled, gaps, factorizedElbo);
    }

    /// <summary>
    /// x [B, D] with its missing entries replaced by the predictive mean E_q[E[x_j | z]] over <paramref name="samples"/>
    /// draws z ~ q (q over [B, L]); observed entries are copied from x. Returns the filled batch row-major.
    /// </summary>
    public static float[] Fill(ILatentVariableModel model, Tensor x, ObservationMask mask, Distribution q, Generator gen, int samples = 32)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(q);
        mask.CheckBatch(x, nameof(x));
        if (samples <= 0) throw new ArgumentOutOfRangeException(nameof(samples), $"Need at least one sample; got {samples}.");
        using var _ = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        var z = q.Sample(gen, samples);                     // [S, B, L]
        var mean = LikelihoodMean(model.Likelihood(z)).Mean(0).ToFloatArray();
        return Merge(x.ToFloatArray(), mean, mask);
    }

    /// <summary>The baseline: missing entries set to <paramref name="pixelMeans"/> [D].</summary>
    public static float[] FillWithMeans(float[] x, ObservationMask mask, float[] pixelMeans)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(pixelMeans);
        if (pixelMeans.Length != mask.Dimension) throw new ArgumentException($"{pixelMeans.Length} pixel means for a mask of dimension {mask.Dimension}.", nameof(pixelMeans));
        var tiled = new float[x.Length];
        for (int i = 0; i < tiled.Length; i++) tiled[i] = pixelMeans[i % mask.Dimension];
        return Merge(x, tiled, mask);
    }

    /// <summary>The mean of every pixel over row-major images [N, D].</summary>
    public static float[] PixelMeans(float[] pixels, int dimension)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        if (dimension <= 0 || pixels.Length % dimension != 0 || pixels.Length == 0)
            throw new ArgumentException($"{pixels.Length} values are not a non-empty set of images of {dimension} pixels.", nameof(pixels));
        var sum = new double[dimension];
        for (int i = 0; i < pixels.Length; i++) sum[i % dimension] += pixels[i];
        int n = pixels.Length / dimension;
        return sum.Select(s => (float)(s / n)).ToArray();
    }

    /// <summary>Observed entries from <paramref name="x"/>, missing ones from <paramref name="fill"/>.</summary>
    public static float[] Merge(float[] x, float[] fill, ObservationMask mask)
    {
        ArgumentNullException.ThrowIfNull(mask);
        if (x.Length != fill.Length) throw new ArgumentException($"Merge: {x.Length} values and {fill.Length} fill values.", nameof(fill));
        var y = new float[x.Length];
        int d = mask.Dimension;
        for (int i = 0; i < y.Length; i++) y[i] = mask.IsObserved(i / d, i % d) ? x[i] : fill[i];
        return y;
    }

    // E[x | z]: pixel probabilities of a Bernoulli decoder, the mean of a Gaussian one.
    internal static Tensor LikelihoodMean(Distribution p) => p switch
    {
        MaskedLikelihood m => LikelihoodMean(m.Full),
        Bernoulli b => b.Probs,
        Normal n => n.Mean,
        _ => throw new NotSupportedException($"Filling in needs a Bernoulli or Normal decoder; got {p.GetType().Name}."),
    };
}

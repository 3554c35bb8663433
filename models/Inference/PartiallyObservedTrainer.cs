using System.Diagnostics;
using Engine.Models.Data;
using Engine.Models.Vae;

namespace Engine.Models.Inference;

/// <summary>
/// Trains a VAE on partially observed images: every image of every batch has its own random set of missing pixels
/// (each missing independently with probability <see cref="MissingFraction"/>), the encoder sees the image with them
/// zeroed, and the objective is the ELBO with a masked likelihood, a lower bound on log p(x_obs) (as in MIWAE, Mattei
/// and Frellsen 2019, with k = 1). Evaluation uses fully observed test images. Optimizer, noise and evaluation are
/// those of a <see cref="VaeTrainer"/>; the masks are a pure function of (seed, epoch, batch), so runs are reproducible.
/// </summary>
public sealed class PartiallyObservedTrainer
{
    public PartiallyObservedTrainer(VariationalAutoencoder model, TrainingOptions options, double missingFraction)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        if (!(missingFraction >= 0 && missingFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(missingFraction), $"The missing fraction must lie in [0, 1); got {missingFraction}.");
        Trainer = new VaeTrainer(model, options);
        MissingFraction = missingFraction;
    }

    /// <summary>The complete-data trainer whose optimizer, noise streams and evaluation this one uses.</summary>
    public VaeTrainer Trainer { get; }

    public VariationalAutoencoder Model => Trainer.Model;

    public TrainingOptions Options => Trainer.Options;

    /// <summary>Probability that a pixel is missing.</summary>
    public double MissingFraction { get; }

    /// <summary>The missing pixels of batch <paramref name="batch"/> of epoch <paramref name="epoch"/>.</summary>
    public ObservationMask MaskFor(int epoch, int batch, int rows) =>
        ObservationMask.MissingAtRandom(rows, Model.InputSize, MissingFraction,
            new Generator(Options.Seed * 0x9E3779B97F4A7C15UL + 0x3A5C, ((ulong)epoch << 40) + ((ulong)batch << 24)));

    /// <summary>One epoch on the masked ELBO; the test ELBO is that of the fully observed test images.</summary>
    public EpochResult TrainEpoch(ImageDataSet train, ImageDataSet? test, int epoch, Action<int, int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        if (train.Dimension != Model.InputSize)
            throw new ArgumentException($"Data set '{train.Name}' has images of {train.Dimension} pixels; the model expects {Model.InputSize}.", nameof(train));
        var sampler = new BatchSampler(train, Options.BatchSize, Options.Binarization, Options.Seed);
        var gen = Trainer.NoiseFor(epoch);
        var optimizer = Trainer.Optimizer;
        var sw = Stopwatch.StartNew();
        double sum = 0;
        int seen = 0, b = 0, total = sampler.BatchesPerEpoch;
        foreach (var (pixels, rows) in sampler.Epoch(epoch))
        {
            using var scope = TensorScope.Begin();
            var x = Tensor.FromArray(pixels, rows.Length, train.Dimension);
            var observed = new PartiallyObservedModel(Model, MaskFor(epoch, b, rows.Length));
            var (loss, bound) = Estimators.Loss(observed, x, gen, Options.Objective);
            optimizer.ZeroGrad();
            loss.Backward();
            optimizer.Step();
            double mean = bound.Mean().Item();
            if (!double.IsFinite(mean))
                throw new TrainingDivergedException(epoch + 1, b + 1, "the masked ELBO", mean, $"Lower the learning rate (it is {Options.LearningRate}).");
            sum += mean * rows.Length;
            seen += rows.Length;
            progress?.Invoke(++b, total);
        }
        double seconds = sw.Elapsed.TotalSeconds;
        double testElbo = test != null ? Trainer.EvaluateElbo(test) : double.NaN;
        return new EpochResult(epoch, sum / Math.Max(seen, 1), testElbo, seconds, seen / Math.Max(seconds, 1e-9));
    }
}

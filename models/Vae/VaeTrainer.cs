using System.Diagnostics;
using Engine.Autograd;
using Engine.Models.Data;
using Engine.Optim;

namespace Engine.Models.Vae;

/// <summary>How a VAE is trained.</summary>
public sealed record TrainingOptions
{
    public int Epochs { get; init; } = 10;
    public int BatchSize { get; init; } = 128;
    public double LearningRate { get; init; } = 1e-3;
    public Binarization Binarization { get; init; } = Binarization.Dynamic;
    public ObjectiveOptions Objective { get; init; } = new();
    public ulong Seed { get; init; } = 0;
    /// <summary>Batch size of evaluation passes (no gradients, so larger).</summary>
    public int EvalBatchSize { get; init; } = 500;
}

/// <summary>One epoch's figures: the training objective's mean and the test ELBO, in nats per data point.</summary>
public sealed record EpochResult(int Epoch, double TrainObjective, double TestElbo, double Seconds, double SamplesPerSecond);

/// <summary>
/// Trains a VAE with Adam on shuffled mini-batches. Every random choice (shuffling, dynamic binarization, the
/// reparameterization noise) is a pure function of (seed, epoch, batch), so the same seed gives bit-identical
/// results on the same machine, and a run resumed at an epoch boundary continues exactly.
/// </summary>
public sealed class VaeTrainer
{
    public VaeTrainer(VariationalAutoencoder model, TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Epochs < 0) throw new ArgumentOutOfRangeException(nameof(options), $"Epochs must be non-negative; got {options.Epochs}.");
        Model = model;
        Options = options;
        Optimizer = new Adam(model.Parameters(), options.LearningRate);
    }

    public VariationalAutoencoder Model { get; }
    public TrainingOptions Options { get; }
    public Adam Optimizer { get; }

    /// <summary>The noise generator of one epoch: its stream depends on nothing but the seed and the epoch.</summary>
    public Generator NoiseFor(int epoch) => new(Options.Seed * 0x9E3779B97F4A7C15UL + 0xA5A5, (ulong)epoch << 40);

    /// <summary>Runs one epoch of training; <paramref name="progress"/> gets (batches done, batches in all).</summary>
    public EpochResult TrainEpoch(ImageDataSet train, ImageDataSet? test, int epoch, Action<int, int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(train);
        CheckData(train);
        var sampler = new BatchSampler(train, Options.BatchSize, Options.Binarization, Options.Seed);
        var gen = NoiseFor(epoch);
        var sw = Stopwatch.StartNew();
        double sum = 0;
        int seen = 0, b = 0, total = sampler.BatchesPerEpoch;
        foreach (var (pixels, rows) in sampler.Epoch(epoch))
        {
            using var scope = TensorScope.Begin();
            var x = Tensor.FromSpan<float>(pixels, [rows.Length, train.Dimension], Model.Device);
            var (loss, bound) = Estimators.Loss(Model, x, gen, Options.Objective);
            Optimizer.ZeroGrad();
            loss.Backward();
            Optimizer.Step();
            double mean = bound.Mean().Item();
            if (!double.IsFinite(mean))
                throw new TrainingDivergedException(epoch + 1, b + 1, $"the training objective ({Options.Objective.Objective})", mean,
                    $"The optimizer stepped too far: lower the learning rate (it is {Options.LearningRate}).");
            sum += mean * rows.Length;
            seen += rows.Length;
            progress?.Invoke(++b, total);
        }
        double seconds = sw.Elapsed.TotalSeconds;
        double testElbo = test != null ? EvaluateElbo(test) : double.NaN;
        if (test != null && !double.IsFinite(testElbo))
            throw new TrainingDivergedException(epoch + 1, null, "the test ELBO", testElbo,
                $"The training objective stayed finite but the model gives a test image zero probability: lower the learning rate (it is {Options.LearningRate}).");
        return new EpochResult(epoch, sum / Math.Max(seen, 1), testElbo, seconds, seen / Math.Max(seconds, 1e-9));
    }

    /// <summary>
    /// Throws <see cref="TrainingDivergedException"/> when a parameter or the optimizer state holds NaN or an infinity
    /// (one scalar read per tensor on a device; <see cref="TrainEpoch"/> itself checks only the objective and the test ELBO).
    /// </summary>
    /// <param name="epoch">The epoch just trained, counted from 0 as in <see cref="TrainEpoch"/>.</param>
    public void CheckFinite(int epoch)
    {
        string hint = $"Lower the learning rate (it is {Options.LearningRate}).";
        foreach (var (name, p) in Model.NamedParameters())
            if (!p.AllFinite()) throw new TrainingDivergedException(epoch + 1, null, $"parameter {name}", double.NaN, hint);
        if (Optimizer.NonFiniteState() is { } state)
            throw new TrainingDivergedException(epoch + 1, null, $"the optimizer state {state}", double.NaN, hint);
    }

    /// <summary>The mean ELBO (analytic KL, one sample) over a data set, binarized with a fixed seed.</summary>
    public double EvaluateElbo(ImageDataSet data, Action<int, int>? progress = null)
    {
        CheckData(data);
        using var _ = GradMode.NoGrad();
        var sampler = new BatchSampler(data, Options.EvalBatchSize, Options.Binarization, Options.Seed ^ 0x5EED);
        var gen = new Generator(Options.Seed ^ 0xE7A1, 0);
        double sum = 0;
        int b = 0;
        foreach (var (pixels, rows) in sampler.Epoch(0, shuffle: false))
        {
            using var scope = TensorScope.Begin();
            var x = Tensor.FromSpan<float>(pixels, [rows.Length, data.Dimension], Model.Device);
            sum += Estimators.Elbo(Model, x, gen).Sum().Item();
            progress?.Invoke(++b, sampler.BatchesPerEpoch);
        }
        return sum / data.Count;
    }

    /// <summary>The images of a data set as the model sees them in evaluation (binarized with a fixed seed).</summary>
    public float[] EvaluationPixels(ImageDataSet data, int[] rows) =>
        new BatchSampler(data, Math.Max(rows.Length, 1), Options.Binarization, Options.Seed ^ 0x5EED).Gather(rows, 0, 0);

    private void CheckData(ImageDataSet d)
    {
        if (d.Dimension != Model.InputSize)
            throw new ArgumentException($"Data set '{d.Name}' has images of {d.Dimension} pixels; the model expects {Model.InputSize}.");
    }
}

using BenchmarkDotNet.Attributes;
using Engine.Autograd;
using Engine.Models.Distributions;
using Engine.Models.Inference;
using Engine.Models.Vae;

namespace Engine.Benchmarks.Inference;

/// <summary>
/// The cost of inference beyond the encoder, as a multiple of one encoder + decoder pass (the baseline: q(z | x),
/// then p(x | z) at its mean and log p(x | z), no gradients) on a batch of 128 Fashion-MNIST-sized images with the
/// CLI's default VAE (784-[512,256]-16, Bernoulli decoder):
/// one step of per-data-point inference (reported per step of a 100-step fit: decoder forward and backward with
/// STL, Adam on phi), one training step for scale, and log p(x_obs) with k = 5000 for the top half hidden (reported per
/// image) beside the complete-data log p(x) with the same k, so the cost of the mask shows as their ratio.
/// Timings do not depend on the weights, so the model is left at its initialization.
/// </summary>
[Config(typeof(ShortConfig))]
public class InferenceBenchmarks
{
    private const int Batch = 128, Images = 8, K = 5000, Steps = 100;
    private VariationalAutoencoder _vae = null!;
    private Tensor _x = null!, _few = null!;
    private PartiallyObservedModel _observed = null!;
    private VaeTrainer _trainer = null!;

    [GlobalSetup]
    public void Setup()
    {
        _vae = new VariationalAutoencoder(new VaeOptions(), new Generator(1));
        var u = Tensor.RandUniform(new Shape(Batch, 784), new Generator(2)).ToFloatArray();
        _x = Tensor.FromArray(u.Select(v => v < 0.3f ? 1f : 0f).ToArray(), Batch, 784);
        _few = _x.SliceRows(0, Images);
        _observed = new PartiallyObservedModel(_vae, ObservationMask.TopHalf(28, 28));
        _trainer = new VaeTrainer(_vae, new TrainingOptions());
        TrainingStep(); // optimizer state and pool buffers exist before measuring
    }

    [Benchmark(Baseline = true, Description = "encoder + decoder pass, batch 128")]
    public double EncoderDecoderPass()
    {
        using var _ = GradMode.NoGrad();
        using var scope = TensorScope.Begin();
        var q = (Normal)_vae.Posterior(_x);
        return _vae.Likelihood(q.Mean).LogProb(_x).Sum().Item();
    }

    [Benchmark(Description = "training step (fwd + bwd + Adam), batch 128")]
    public void TrainingStep()
    {
        using var scope = TensorScope.Begin();
        var (loss, _) = Estimators.Loss(_vae, _x, new Generator(3), new ObjectiveOptions());
        _trainer.Optimizer.ZeroGrad();
        loss.Backward();
        _trainer.Optimizer.Step();
    }

    [Benchmark(OperationsPerInvoke = Steps, Description = "per-data-point VI, per step of 100, batch 128")]
    public LocalPosterior PerDataPointStep() =>
        LocalVariationalInference.Fit(_vae, _x, new Generator(4), new LocalInferenceOptions { Steps = Steps });

    [Benchmark(OperationsPerInvoke = Images, Description = "log p(x_obs), top half hidden, k=5000, per image")]
    public double[] MaskedLogLikelihood() => Estimators.LogLikelihood(_observed, _few, new Generator(5), K);

    [Benchmark(OperationsPerInvoke = Images, Description = "log p(x), complete, k=5000, per image")]
    public double[] CompleteLogLikelihood() => Estimators.LogLikelihood(_vae, _few, new Generator(5), K);
}

using Engine.Models.Data;
using Engine.Models.Inference;
using Engine.Models.Vae;

namespace Engine.Tests.Inference;

/// <summary>
/// Inference on Fashion-MNIST with a small VAE trained in the fixture (784-256-16, 20,000 statically binarized
/// images, 3 epochs: a few seconds). Skipped when the data is not installed, except in CI (CI=true), where that fails.
/// </summary>
[TestFixture]
[NonParallelizable]
public class FashionInferenceTests
{
    private const int Epochs = 3;
    private VariationalAutoencoder _vae = null!;
    private TrainingOptions _training = null!;
    private FashionMnist _data = null!;
    private double _testElbo;

    [OneTimeSetUp]
    public void TrainAVae()
    {
        var dir = FashionMnist.Locate();
        if (dir == null)
        {
            const string where = "looked in $ENGINE_DATA and " + FashionMnist.DebianPath;
            if (Environment.GetEnvironmentVariable("CI") == "true")
                Assert.Fail($"Fashion-MNIST is required in CI but missing ({where}). Install it with `apt-get install dataset-fashion-mnist`.");
            Assert.Ignore($"Fashion-MNIST is not installed ({where}); `apt-get install dataset-fashion-mnist` runs these tests.");
        }
        _data = FashionMnist.Load(dir, trainLimit: 20000, testLimit: 1000);
        _training = new TrainingOptions { Epochs = Epochs, BatchSize = 128, LearningRate = 1e-3, Binarization = Binarization.Static, Seed = 1 };
        _vae = new VariationalAutoencoder(new VaeOptions { Hidden = [256], LatentSize = 16 }, new Generator(1));
        var trainer = new VaeTrainer(_vae, _training);
        for (int e = 0; e < Epochs; e++) _testElbo = trainer.TrainEpoch(_data.Train, e == Epochs - 1 ? _data.Test : null, e).TestElbo;
        TestContext.Out.WriteLine($"VAE trained: test ELBO {_testElbo:F2} nats");
    }

    private Tensor TestImages(int n, int skip = 0)
    {
        var rows = Enumerable.Range(skip, n).ToArray();
        return Tensor.FromArray(new BatchSampler(_data.Test, n, Binarization.Static, 0).Gather(rows, 0, 0), n, 784);
    }

    [Test]
    public void InpaintingTheTopHalfBeatsThePerPixelMean()
    {
        var x = TestImages(128);
        var mask = ObservationMask.TopHalf(28, 28);
        var result = Inpainting.Run(_vae, x, mask, new Generator(2), new InpaintingOptions { ImportanceSamples = 50, ElboSamples = 20 });
        var means = Inpainting.PixelMeans(_data.Train.Pixels.Select(v => v > 0.5f ? 1f : 0f).ToArray(), 784);
        var truth = result.Truth;
        var vi = InpaintingScore.Of(result.Filled, truth, mask);
        var encoder = InpaintingScore.Of(result.EncoderFilled, truth, mask);
        var factorized = InpaintingScore.Of(result.FactorizedFilled!, truth, mask);
        var baseline = InpaintingScore.Of(Inpainting.FillWithMeans(truth, mask, means), truth, mask);
        TestContext.Out.WriteLine($"top half of 128 test images: accuracy (cross-entropy, nats/pixel) per-data-point {vi.Accuracy:P2} ({vi.CrossEntropy:F4}), encoder {encoder.Accuracy:P2} ({encoder.CrossEntropy:F4}), " +
                                  $"factorized q {factorized.Accuracy:P2} ({factorized.CrossEntropy:F4}), per-pixel mean {baseline.Accuracy:P2} ({baseline.CrossEntropy:F4})");
        TestContext.Out.WriteLine($"masked ELBO: encoder {result.Gaps.MeanEncoderElbo:F2}, optimized {result.Gaps.MeanOptimizedElbo:F2}; factorized-pixel ELBO {result.FactorizedElbo!.Average():F2}");
        // The margin: at least 5 points of accuracy over the per-pixel mean (about 12 is typical), and a lower cross-entropy.
        Assert.That(vi.Accuracy, Is.GreaterThan(baseline.Accuracy + 0.05));
        Assert.That(vi.CrossEntropy, Is.LessThan(baseline.CrossEntropy));
        Assert.That(vi.Accuracy, Is.GreaterThan(encoder.Accuracy), "per-data-point inference improves on the encoder fed a masked image");
        Assert.That(result.Gaps.MeanOptimizedElbo, Is.GreaterThan(result.Gaps.MeanEncoderElbo));
        Assert.That(result.FactorizedElbo!.Average(), Is.LessThan(result.Gaps.MeanOptimizedElbo), "a factorized q over pixels cannot beat summing them out");
        // Observed pixels are kept as they are.
        for (int i = 0; i < truth.Length; i++)
            if (mask.IsObserved(0, i % 784)) Assert.That(result.Filled[i], Is.EqualTo(truth[i]));
    }

    [Test]
    public void MaskedMarginalLikelihoodBoundsInOrder()
    {
        // log p(x_obs) >= optimized ELBO >= encoder's ELBO, and log p(x_obs) >= log p(x): summing out pixels only adds mass.
        var x = TestImages(16, skip: 200);
        var observed = new PartiallyObservedModel(_vae, ObservationMask.TopHalf(28, 28));
        var (gaps, _) = InferenceGaps.Measure(observed, x, new Generator(3), k: 5000);
        var (complete, _) = InferenceGaps.Measure(_vae, x, new Generator(4), k: 5000);
        TestContext.Out.WriteLine($"bottom half observed: log p(x_obs) {gaps.MeanLogLikelihood:F2}, ELBO encoder {gaps.MeanEncoderElbo:F2} -> optimized {gaps.MeanOptimizedElbo:F2} " +
                                  $"(amortization gap {gaps.AmortizationGap:F2}, approximation gap {gaps.ApproximationGap:F2}); complete images: log p(x) {complete.MeanLogLikelihood:F2}");
        for (int b = 0; b < 16; b++)
        {
            Assert.That(gaps.LogLikelihood[b], Is.GreaterThan(gaps.OptimizedElbo[b] - 0.5), $"image {b}");
            Assert.That(gaps.LogLikelihood[b], Is.GreaterThan(complete.LogLikelihood[b]), $"image {b}");
        }
        Assert.That(gaps.AmortizationGap, Is.GreaterThan(1));
    }

    [Test]
    public void PerDataPointInferenceClosesPartOfTheGapOnCompleteImages()
    {
        var x = TestImages(64, skip: 300);
        var (report, fitted) = InferenceGaps.Measure(_vae, x, new Generator(5), k: 1000);
        TestContext.Out.WriteLine($"complete images: ELBO encoder {report.MeanEncoderElbo:F2} -> optimized {report.MeanOptimizedElbo:F2}, log p(x) {report.MeanLogLikelihood:F2}: " +
                                  $"amortization gap {report.AmortizationGap:F2}, approximation gap {report.ApproximationGap:F2} nats; first/last step ELBO {fitted.Trace[0]:F2} / {fitted.Trace[^1]:F2}");
        Assert.That(report.AmortizationGap, Is.GreaterThan(0.5));
        Assert.That(report.ApproximationGap, Is.GreaterThan(-0.2), "the optimized ELBO stays below log p(x)");
        var improved = report.OptimizedElbo.Zip(report.EncoderElbo, (o, e) => o > e).Count(v => v);
        Assert.That(improved, Is.GreaterThan(60), "nearly every image gains");
    }

    [Test]
    public void TrainingWithHalfThePixelsMissingStillLearnsTheCompleteImages()
    {
        var vae = new VariationalAutoencoder(new VaeOptions { Hidden = [256], LatentSize = 16 }, new Generator(1));
        var trainer = new PartiallyObservedTrainer(vae, _training, missingFraction: 0.5);
        double untrained = trainer.Trainer.EvaluateElbo(_data.Test);
        EpochResult last = null!;
        for (int e = 0; e < Epochs; e++) last = trainer.TrainEpoch(_data.Train, e == Epochs - 1 ? _data.Test : null, e);
        // The encoder only ever saw half-empty images, so on complete ones its q is off; log p(x) judges the decoder itself.
        var x = TestImages(64, skip: 400);
        var (masked, _) = InferenceGaps.Measure(vae, x, new Generator(6), k: 500, elboSamples: 20);
        var (complete, _) = InferenceGaps.Measure(_vae, x, new Generator(6), k: 500, elboSamples: 20);
        TestContext.Out.WriteLine($"complete test images: ELBO untrained {untrained:F2}, trained with half the pixels missing {last.TestElbo:F2}, trained on complete images {_testElbo:F2} nats; " +
                                  $"train masked ELBO {last.TrainObjective:F2}");
        TestContext.Out.WriteLine($"64 complete test images, half-missing training vs complete training: encoder ELBO {masked.MeanEncoderElbo:F2} vs {complete.MeanEncoderElbo:F2}, " +
                                  $"optimized ELBO {masked.MeanOptimizedElbo:F2} vs {complete.MeanOptimizedElbo:F2}, log p(x) {masked.MeanLogLikelihood:F2} vs {complete.MeanLogLikelihood:F2}");
        Assert.That(last.TestElbo, Is.GreaterThan(untrained + 0.5 * (_testElbo - untrained)), "the encoder's ELBO closes at least half the way");
        // The margin: the decoder's log p(x) within 20 nats of complete training (about 9 is typical), most of the
        // encoder's shortfall being amortization: per-data-point inference recovers it.
        Assert.That(masked.MeanLogLikelihood, Is.GreaterThan(complete.MeanLogLikelihood - 20));
        Assert.That(masked.AmortizationGap, Is.GreaterThan(complete.AmortizationGap));
    }
}

using Engine.Models.Data;
using Engine.Models.Vae;

namespace Engine.Tests.EndToEnd;

/// <summary>
/// Issue 4's quality bar: Fashion-MNIST binarized by pixel &gt; 127, 784-400-(20, 20) / 20-400-784 with ReLU and a
/// Bernoulli decoder, Adam lr 1e-3, batch 128, 10 epochs, fixed seed. PyTorch on this protocol reaches test ELBO
/// -128.9 nats and log-likelihood (k = 1000, first 2000 test images) -119.7 nats; ours must be within 0.5 nats.
/// </summary>
[Category("EndToEnd")]
public class VaeQualityBarTests
{
    [Test]
    public void TenEpochsMatchPyTorchWithinHalfANat()
    {
        var data = FashionMnist.Load(DataRequirement.FashionMnistDir());
        var vae = new VariationalAutoencoder(new VaeOptions { InputSize = 784, Hidden = [400], LatentSize = 20 }, new Generator(0));
        var trainer = new VaeTrainer(vae, new TrainingOptions { Epochs = 10, BatchSize = 128, LearningRate = 1e-3, Binarization = Binarization.Static, Seed = 0 });
        EpochResult last = null!;
        for (int e = 0; e < 10; e++)
        {
            last = trainer.TrainEpoch(data.Train, null, e);
            TestContext.Progress.WriteLine($"epoch {e + 1}: train ELBO {last.TrainObjective:F2}, {last.SamplesPerSecond:F0} images/s");
        }
        double testElbo = trainer.EvaluateElbo(data.Test);

        var first = data.Test.Take(2000);
        var pixels = (float[])first.Pixels.Clone();
        BatchSampler.Binarize(pixels, Binarization.Static, 0, 0, 0);
        double ll = 0;
        var gen = new Generator(99);
        for (int start = 0; start < first.Count; start += 100)
        {
            using var scope = TensorScope.Begin();
            var x = Tensor.FromArray(pixels.AsSpan(start * 784, 100 * 784).ToArray(), 100, 784);
            ll += Estimators.LogLikelihood(vae, x, gen, k: 1000).Sum();
        }
        ll /= first.Count;
        TestContext.Progress.WriteLine($"test ELBO {testElbo:F2} nats (PyTorch -128.9), log p(x) k=1000 {ll:F2} nats (PyTorch -119.7)");
        Assert.Multiple(() =>
        {
            Assert.That(testElbo, Is.GreaterThanOrEqualTo(-128.9 - 0.5), "test ELBO");
            Assert.That(ll, Is.GreaterThanOrEqualTo(-119.7 - 0.5), "IWAE log-likelihood, k = 1000, first 2000 test images");
            Assert.That(ll, Is.GreaterThan(testElbo), "log p(x) estimate above the ELBO");
        });
    }
}

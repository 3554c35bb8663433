using Engine.Devices;
using Engine.Models.Data;
using Engine.Models.Vae;

namespace Engine.Tests.Gpu;

/// <summary>
/// The library's own <see cref="VariationalAutoencoder"/> and <see cref="VaeTrainer"/> with <see cref="VaeOptions.Device"/>
/// set to the ILGPU device: the same seeds give the same initial weights, the same epoch of training (shuffling,
/// dynamic binarization, reparameterization noise, Adam) and the same test ELBO as on the CPU, to float tolerance;
/// and the only host-device copies of a step are the batch going in and the objective coming out.
/// </summary>
public class VaeTrainerDeviceTests
{
    private const int Side = 4, Count = 40, TestCount = 20;

    private static ImageDataSet Images(int count, int seed)
    {
        var r = new Random(seed);
        var pixels = Enumerable.Range(0, count * Side * Side).Select(_ => (float)r.NextDouble()).ToArray();
        return new ImageDataSet(pixels, count, Side, Side, null, $"random-{seed}");
    }

    private static (VaeTrainer Trainer, EpochResult Epoch) TrainOneEpoch(Device? device)
    {
        var options = new VaeOptions { InputSize = Side * Side, Hidden = [8], LatentSize = 2, Device = device };
        var model = new VariationalAutoencoder(options, new Generator(21));
        var trainer = new VaeTrainer(model, new TrainingOptions { Epochs = 1, BatchSize = 10, LearningRate = 1e-2, Seed = 5 });
        var epoch = trainer.TrainEpoch(Images(Count, 1), Images(TestCount, 2), epoch: 1);
        return (trainer, epoch);
    }

    private static double[] Flat(VariationalAutoencoder model) =>
        model.Parameters().SelectMany(p => p.ToDoubleArray()).ToArray();

    [Test]
    public void InitialWeightsAreTheSameOnBothDevices()
    {
        var options = new VaeOptions { InputSize = Side * Side, Hidden = [8], LatentSize = 2 };
        var cpu = new VariationalAutoencoder(options, new Generator(21));
        var dev = new VariationalAutoencoder(options with { Device = GpuTestDevice.Device }, new Generator(21));
        Assert.That(dev.Device, Is.SameAs(GpuTestDevice.Device));
        Assert.That(Flat(dev), Is.EqualTo(Flat(cpu)), "Philox uniforms are bit-identical across devices");
    }

    [Test]
    public void AnEpochOfTrainingGivesTheCpusNumbers()
    {
        var (cpuTrainer, cpuEpoch) = TrainOneEpoch(null);
        var (devTrainer, devEpoch) = TrainOneEpoch(GpuTestDevice.Device);
        Assert.That(devEpoch.TrainObjective, Is.EqualTo(cpuEpoch.TrainObjective).Within(1e-4).Percent, "mean training ELBO");
        Assert.That(devEpoch.TestElbo, Is.EqualTo(cpuEpoch.TestElbo).Within(1e-4).Percent, "test ELBO");
        GpuTestDevice.AssertClose(Flat(devTrainer.Model), Flat(cpuTrainer.Model), 1e-4, 1e-5, "parameters after an epoch");
        Assert.That(devTrainer.Model.Parameters().All(p => p.Device == GpuTestDevice.Device), Is.True, "parameters stay on the device");
    }

    [Test]
    public void AStepCopiesOnlyTheBatchInAndTheObjectiveOut()
    {
        var device = GpuTestDevice.Device;
        var (trainer, _) = TrainOneEpoch(device); // compiles every kernel and fills the pools first
        int batches = (Count + 9) / 10;
        device.ResetTransfers();
        trainer.TrainEpoch(Images(Count, 1), null, epoch: 2);
        var t = device.Transfers;
        Assert.That(t.ToDevice, Is.EqualTo(batches), "one upload per step: the batch");
        Assert.That(t.ToHost, Is.EqualTo(batches), "one download per step: the objective's mean, for the divergence check");
        Assert.That(t.BytesToHost, Is.EqualTo(batches * sizeof(float)), "the objective is one float");
    }
}

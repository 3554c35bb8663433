using Engine.Devices;
using Engine.Models.Vae;
using Engine.Optim;

namespace Engine.Tests.Gpu;

/// <summary>
/// A whole VAE training step (forward, backward, Adam) and the IWAE evaluation with the library's estimators, once on
/// the CPU and once on the ILGPU device from the same seeds: the same numbers to float tolerance, and not one copy
/// between host and device inside a step on the device (the transfer counter stays at zero).
/// </summary>
public class VaeStepDeviceTests
{
    private const int D = 12, H = 8, L = 3, B = 5;

    private static float[] Pixels()
    {
        var r = new Random(80);
        return Enumerable.Range(0, B * D).Select(_ => r.NextDouble() < 0.4 ? 1f : 0f).ToArray();
    }

    private sealed record StepResult(double[] Losses, double[] Bounds, double[] Gradients, double[] Parameters, TransferCounts? Transfers);

    private static StepResult Train(Device device, ObjectiveOptions objective)
    {
        var model = new DeviceVae(device, D, H, L, seed: 3);
        var opt = new Adam(model.Parameters, 1e-2);
        var x = Tensor.FromSpan<float>(Pixels(), [B, D], device);
        var gen = new Generator(11);
        var ilgpu = device as IlgpuDevice;
        var losses = new List<double>();
        var bounds = new List<double>();
        double[] grads = [];
        TransferCounts? transfers = null;
        for (int step = 0; step < 2; step++)
        {
            using var scope = TensorScope.Begin();
            ilgpu?.ResetTransfers();
            var (loss, bound) = Estimators.Loss(model, x, gen, objective);
            opt.ZeroGrad();
            loss.Backward();
            if (step == 1) grads = model.Parameters.SelectMany(p => p.Grad!.ToDoubleArray()).ToArray();
            opt.Step();
            if (ilgpu is not null && step == 0) { ilgpu.Synchronize(); transfers = ilgpu.Transfers; }
            losses.Add(loss.Item());
            bounds.AddRange(bound.ToDoubleArray());
        }
        return new StepResult([.. losses], [.. bounds], grads, model.Parameters.SelectMany(p => p.ToDoubleArray()).ToArray(), transfers);
    }

    public static IEnumerable<TestCaseData> Objectives()
    {
        yield return new TestCaseData(new ObjectiveOptions()).SetName("Training step: ELBO, analytic KL");
        yield return new TestCaseData(new ObjectiveOptions(Objective.ImportanceWeighted, 3)).SetName("Training step: IWAE k=3");
        yield return new TestCaseData(new ObjectiveOptions(Objective.ImportanceWeighted, 3, GradientEstimator.DoublyReparameterized)).SetName("Training step: IWAE k=3, DReG");
    }

    [TestCaseSource(nameof(Objectives))]
    public void ATrainingStepGivesTheCpuNumbersWithoutHostCopies(ObjectiveOptions objective)
    {
        var gpu = Train(GpuTestDevice.Device, objective);
        var cpu = Train(Device.Cpu, objective);
        Assert.That(gpu.Transfers, Is.EqualTo(new TransferCounts(0, 0, 0, 0)), "host-device copies inside the step");
        GpuTestDevice.AssertClose(gpu.Losses, cpu.Losses, 1e-5, 1e-5, "losses");
        GpuTestDevice.AssertClose(gpu.Bounds, cpu.Bounds, 1e-5, 1e-5, "bounds per data point");
        GpuTestDevice.AssertClose(gpu.Gradients, cpu.Gradients, 1e-3, 1e-5, "gradients of the second step");
        GpuTestDevice.AssertClose(gpu.Parameters, cpu.Parameters, 1e-5, 1e-6, "parameters after two Adam steps");
    }

    [Test]
    public void TheIwaeEvaluationGivesTheCpuNumbersWithoutHostCopies()
    {
        (double[] Bound, double[] LogPx, TransferCounts? Transfers) Evaluate(Device device)
        {
            var model = new DeviceVae(device, D, H, L, seed: 5);
            var x = Tensor.FromSpan<float>(Pixels(), [B, D], device);
            var ilgpu = device as IlgpuDevice;
            using var scope = TensorScope.Begin();
            using var noGrad = Engine.Autograd.GradMode.NoGrad();
            ilgpu?.ResetTransfers();
            var bound = Estimators.ImportanceWeightedBound(model, x, new Generator(12), k: 7);
            ilgpu?.Synchronize();
            var transfers = ilgpu?.Transfers;
            // log p(x) in chunks of 4 samples (a running logsumexp across chunks): 10 samples, 3 chunks.
            var logPx = Estimators.LogLikelihood(model, x, new Generator(13), k: 10, maxElements: 4 * B * D * 4);
            return (bound.ToDoubleArray(), logPx, transfers);
        }
        var gpu = Evaluate(GpuTestDevice.Device);
        var cpu = Evaluate(Device.Cpu);
        Assert.That(gpu.Transfers, Is.EqualTo(new TransferCounts(0, 0, 0, 0)), "host-device copies inside the evaluation");
        GpuTestDevice.AssertClose(gpu.Bound, cpu.Bound, 1e-5, 1e-5, "L_7");
        GpuTestDevice.AssertClose(gpu.LogPx, cpu.LogPx, 1e-5, 1e-5, "log p(x)");
    }
}

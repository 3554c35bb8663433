using BenchmarkDotNet.Attributes;
using Engine.Devices;
using Engine.Models.Vae;
using Engine.Optim;

namespace Engine.Benchmarks.Gpu;

/// <summary>
/// One VAE training step (ELBO with analytic KL: forward, backward, Adam) on a batch of 128 binary 784-pixel images,
/// 400 hidden units, 20 latent dimensions, on the accelerator and, as the baseline of the same run, on this machine's
/// CPU (all its cores: two here). Op/s is samples per second (one operation per image); Ratio is device time / CPU
/// time, so the goal of 5x the CPU is a Ratio of 0.2 or less. The device step ends with a synchronize, so its
/// kernels are timed to completion. With no GPU the device case fails in its setup (NA) and the CPU case still runs.
/// </summary>
[Config(typeof(ShortConfig))]
[OperationsPerSecond]
public class GpuTrainingBenchmarks
{
    private const int Batch = 128;
    private static int Input => BenchDevice.IsSimulator ? 64 : 784;
    private static int Hidden => BenchDevice.IsSimulator ? 32 : 400;
    private static int Latent => BenchDevice.IsSimulator ? 8 : 20;

    private sealed class State(Device device)
    {
        public readonly Device Device = device;
        public readonly BenchVae Model = new(device, Input, Hidden, Latent, seed: 1);
        public readonly Generator Gen = new(3);
        public Adam Optimizer = null!;
        public Tensor X = null!;
    }

    private State _state = null!;
    private readonly ObjectiveOptions _objective = new();

    private void Setup(Device device)
    {
        _state = new State(device);
        _state.Optimizer = new Adam(_state.Model.Parameters, 1e-3);
        _state.X = BenchVae.Images(device, Batch, Input, seed: 2);
        for (int i = 0; i < 3; i++) Step(); // steady state: gradients, moments and pooled blocks exist
    }

    [GlobalSetup(Target = nameof(Cpu))]
    public void SetupCpu() => Setup(Device.Cpu);

    [GlobalSetup(Target = nameof(Accelerator))]
    public void SetupAccelerator() => Setup(BenchDevice.Open());

    [Benchmark(Baseline = true, OperationsPerInvoke = Batch)]
    public void Cpu() => Step();

    [Benchmark(OperationsPerInvoke = Batch)]
    public void Accelerator() => Step();

    private void Step()
    {
        var s = _state;
        using (var scope = TensorScope.Begin())
        {
            var (loss, _) = Estimators.Loss(s.Model, s.X, s.Gen, _objective);
            s.Optimizer.ZeroGrad();
            loss.Backward();
            s.Optimizer.Step();
        }
        (s.Device as IlgpuDevice)?.Synchronize();
    }
}
